"""From overlapping recognizer results to the spans that are replaced.

Recognizers overlap: an 18-digit number can be a valid ID *and* pass Luhn, a strong name cue may run into the
address that follows, an order number may look like a phone. Two rules settle every case, privacy first:

1. a span of a kept type (order numbers, unless configured otherwise) shields what lies wholly inside it,
   and is itself left in the text;
2. the remaining spans that overlap merge into one, typed as the most specific kind among them, so that no
   character any recognizer flagged survives (trimming one span to make room for another could leak half a
   name).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from streams.anonymizer.entities import Entity, EntityType

# Most specific first: a checksum-validated identifier (an IBAN's mod 97 before the Luhn digits inside it) says
# more than a phone pattern, a cued birth date more than a phone-shaped digit run, a phone more than a name cue
# that ran too far.
SPECIFICITY = (
    EntityType.ORDER_ID, EntityType.ID_NUMBER, EntityType.IBAN, EntityType.BANK_CARD, EntityType.EMAIL,
    EntityType.IP_ADDRESS, EntityType.BIRTH_DATE, EntityType.PHONE, EntityType.ADDRESS, EntityType.PERSON,
)
_RANK = {entity_type: rank for rank, entity_type in enumerate(SPECIFICITY)}


def resolve(found: Iterable[Entity], keep: Collection[EntityType]) -> list[Entity]:
    """Non-overlapping spans to replace, in reading order; types in ``keep`` shield and are not replaced."""
    found = list(found)
    shields = [e for e in found if e.type in keep]
    exposed = [e for e in found if e.type not in keep and not any(_inside(e, s) for s in shields)]
    merged: list[Entity] = []
    for entity in sorted(exposed, key=lambda e: (e.start, -e.end)):
        if merged and entity.start < merged[-1].end:
            merged[-1] = _union(merged[-1], entity)
        else:
            merged.append(entity)
    return merged


def _inside(inner: Entity, outer: Entity) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _union(a: Entity, b: Entity) -> Entity:
    specific = min(a.type, b.type, key=_RANK.__getitem__)
    return Entity(specific, min(a.start, b.start), max(a.end, b.end))
