"""Policy files: how the policy team writes a rule change, and how it becomes a signed event on the policy topic.

The team keeps one JSON or YAML file per change (``infra/deploy/examples/return-window-v2.json``): the
``PolicyUpdate`` fields without the signature, ``effective_at`` optional (default: now).
``flywheel policy publish FILE`` checks the file against the contract here, before anything is sent, because
the stream workers can only dead-letter a bad update where the team would not see it; then it signs the update
with ``FLYWHEEL_POLICY_SIGNING_KEY`` (naming ``FLYWHEEL_POLICY_KEY_ID``) and publishes it keyed by policy id.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from infra.errors import FlywheelError, first_line
from infra.settings import Settings
from streams.events import ContractError, PolicyUpdate, utcnow
from streams.publish import publish
from streams.signing import signer

SUFFIXES = (".json", ".yaml", ".yml")


def read_policy_file(path: Path, now: datetime | None = None) -> PolicyUpdate:
    """The unsigned update ``path`` describes, in force from ``now`` when the file gives no ``effective_at``;
    a file that does not satisfy the contract is one ``FlywheelError`` naming the file and the field."""
    doc = _load(path)
    if signed := [name for name in ("key_id", "signature") if name in doc]:
        raise FlywheelError(f"{path}: remove the {' and '.join(signed)} field; publishing signs the update")
    if unknown := sorted(set(doc) - set(PolicyUpdate.model_fields)):  # the team's own file: safe to name them
        raise FlywheelError(f"{path}: not a field of a policy update: {', '.join(map(repr, unknown))}")
    doc.setdefault("effective_at", (now or utcnow()).isoformat())
    try:
        return PolicyUpdate.from_bytes(json.dumps(doc, default=_iso_time))
    except (ContractError, TypeError) as exc:
        raise FlywheelError(f"{path}: {exc}") from None


def publish_policy_file(settings: Settings, path: Path, now: datetime | None = None) -> PolicyUpdate:
    """Check, sign and publish the update in ``path`` to the policy topic; returns the update as sent."""
    update = signer(settings).sign(read_policy_file(path, now))
    publish(settings, "policy_updates", [update])
    return update


def _load(path: Path) -> dict[str, Any]:
    """The file's one top-level object, read as JSON or YAML by its suffix."""
    import yaml

    if path.suffix.lower() not in SUFFIXES:
        raise FlywheelError(f"{path}: a policy file is {', '.join(SUFFIXES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlywheelError(f"no policy file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FlywheelError(f"{path}: cannot read it ({type(exc).__name__})") from None
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise FlywheelError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {first_line(exc)}") from None
    if not isinstance(doc, dict):
        raise FlywheelError(f"{path}: a policy file holds one object with the update's fields")
    return doc


def _iso_time(value: object) -> str:
    """YAML reads unquoted times as datetime objects; the contract reads them back from ISO text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"a YAML {type(value).__name__} has no place in a policy update")
