"""Word lists the name and address recognizers look words up in, bundled as data files.

No NER model can be downloaded here, so personal names are found from dialog cues plus gazetteers. The lists
come from Faker's locale providers (MIT-licensed, realistic, and the same source the traffic simulator draws
personal data from), plus the few entries Faker lacks: the common compound Chinese surnames and the USPS
street-suffix abbreviations. They are generated once at build time (``python -m streams.anonymizer.gazetteers``)
and read from ``data/`` at runtime, so scrubbing never imports Faker and never depends on its version.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")

# Faker zh_CN lists only 欧阳 among the compound surnames; these are the others still common today.
EXTRA_ZH_SURNAMES = ("司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯", "端木")
# Faker spells suffixes out ("Street"); people abbreviate them ("St.").
USPS_SUFFIX_ABBREVIATIONS = (
    "Ave", "Blvd", "Cir", "Ct", "Dr", "Hwy", "Ln", "Pkwy", "Pl", "Rd", "Sq", "St", "Ter", "Trl",
)


class Gazetteer(StrEnum):
    """One bundled list; the value is its file name without the ``.txt``."""

    ZH_SURNAMES = "zh_surnames"
    ZH_GIVEN_NAMES = "zh_given_names"
    EN_FIRST_NAMES = "en_first_names"
    EN_LAST_NAMES = "en_last_names"
    EN_STREET_SUFFIXES = "en_street_suffixes"
    EN_STATE_CODES = "en_state_codes"


@cache
def load(gazetteer: Gazetteer) -> frozenset[str]:
    """The entries of one list (read once per process)."""
    lines = (DATA_DIR / f"{gazetteer.value}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line)


def _faker_lists() -> dict[Gazetteer, Iterable[str]]:
    """Every list, read from Faker's provider classes (build time only)."""
    from faker.providers.address import en_US as en_address
    from faker.providers.person import en_GB as gb_person
    from faker.providers.person import en_US as us_person
    from faker.providers.person import zh_CN as zh_person

    address = en_address.Provider
    return {
        Gazetteer.ZH_SURNAMES: [*zh_person.Provider.last_names, *EXTRA_ZH_SURNAMES],
        Gazetteer.ZH_GIVEN_NAMES: zh_person.Provider.first_names,
        Gazetteer.EN_FIRST_NAMES: [*us_person.Provider.first_names, *gb_person.Provider.first_names],
        Gazetteer.EN_LAST_NAMES: [*us_person.Provider.last_names, *gb_person.Provider.last_names],
        Gazetteer.EN_STREET_SUFFIXES: [*address.street_suffixes, *USPS_SUFFIX_ABBREVIATIONS],
        Gazetteer.EN_STATE_CODES: [
            *address.states_abbr, *address.territories_abbr,
            *address.freely_associated_states_abbr, *address.military_state_abbr,
        ],
    }


def build(data_dir: Path = DATA_DIR) -> None:
    """Write every list to ``data_dir``, sorted and de-duplicated so rebuilds diff cleanly."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for gazetteer, entries in _faker_lists().items():
        text = "\n".join(sorted(set(entries))) + "\n"
        (data_dir / f"{gazetteer.value}.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    build()
