"""Dead letters: what was rejected, where it came from and why; never the payload (it may be personal data)."""

from __future__ import annotations

from streams.events import DeadLetter, DeadLetterReason


def dead_letter(topic: str, partition: int, offset: int, key: bytes | None, reason: DeadLetterReason,
                detail: str, original_event_id: str | None = None) -> DeadLetter:
    """A dead letter for the message at ``topic[partition]@offset``; ``detail`` must already be value-free
    (contract errors name fields, never values)."""
    return DeadLetter(original_key=(key or b"").decode(errors="replace")[:256], original_event_id=original_event_id,
                      source_topic=topic, partition=partition, offset=offset, reason=reason, detail=detail[:1000])
