"""IP addresses, v4 and v6 (compressed forms included), each checked by ``ipaddress``.

A dotted quad is only one when it stands alone: ``1.2.3`` (a version), ``12.05.2024`` (a date) and
``01.84.17.61.18`` (a French phone) have the wrong number of parts, and a quad after "version"/"v"/"版本" is a
version number. Private and loopback addresses are kept: ``192.168.1.100`` (the customer's router) or
``127.0.0.1`` is the same in millions of homes and points at no one. A v6 candidate needs two colons and hex
digits only, and ``ipaddress`` rejects times (``10:30:00``), which lack the eight groups or the ``::``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import regex

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import FinderRecognizer

TRIGGER = regex.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]?:[0-9A-Fa-f]{0,4}:")

_V4 = regex.compile(r"(?<![0-9A-Za-z.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9A-Za-z]|\.[0-9])")
_V6 = regex.compile(r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}"
                    r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![0-9A-Za-z:])")
# Local-only networks: RFC 1918 private, loopback, link-local, unspecified; v6 unique-local, link-local, loopback.
# (Documentation ranges such as 203.0.113.0/24 are scrubbed: a typed one is as likely a real address.)
_LOCAL = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/32",
    "fc00::/7", "fe80::/10", "::1/128", "::/128"))
_VERSION_CUE = regex.compile(r"(?i:version|ver\.?|v|build|版本|版本号)[ ]*(?:是|为|:|：)?[ ]*$")


def _local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in _LOCAL if network.version == address.version)


def find_ips(text: str) -> Iterator[tuple[int, int]]:
    for match in _V4.finditer(text):
        if _VERSION_CUE.search(text, max(0, match.start() - 12), match.start()):
            continue
        try:
            address = ipaddress.IPv4Address(match[0])
        except ValueError:
            continue
        if not _local(address):
            yield match.span()
    for match in _V6.finditer(text):
        value = match[0].rstrip(":") if not match[0].endswith("::") else match[0]
        if sum(char not in ":." for char in value) < 2:
            continue
        try:
            address6 = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        if not _local(address6):
            yield match.start(), match.start() + len(value)


def ip_recognizer(supported_language: str) -> FinderRecognizer:
    return FinderRecognizer(EntityType.IP_ADDRESS, supported_language, "IpAddressFinder", find_ips, 0.8)
