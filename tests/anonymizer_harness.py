"""What the anonymizer tests ask of a scrub, in one place."""

from __future__ import annotations

from streams.anonymizer import Anonymizer, EntityType


def found(anonymizer: Anonymizer, text: str) -> list[tuple[EntityType, str]]:
    """What a scrub of ``text`` replaced: (type, the input it replaced)."""
    return [(e.type, text[e.start:e.end]) for e in anonymizer.scrub(text).entities]
