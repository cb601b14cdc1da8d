"""JSON lines in, JSON lines out: the batch face of the anonymizer (``flywheel anonymize``).

Each input line is ``{"text": ...}``, optionally with a ``"conversation_id"``: lines of one conversation share a
session, so a phone keeps its placeholder across them. Each output line is ``{"text", "entities"}`` with offsets
into the input text, or ``{"error"}`` for a line that could not be read. Error messages never quote the line:
it may hold exactly the personal data this tool exists to remove. Other input fields are not copied to the
output, for the same reason.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, TextIO

from streams.anonymizer.anonymizer import Anonymizer
from streams.anonymizer.entities import ScrubResult
from streams.anonymizer.session import Session

MAX_OPEN_CONVERSATIONS = 10_000
"""Sessions kept for conversations whose lines may still come; the least recently used one is dropped first."""


class LineError(ValueError):
    """A line that is not a usable request; the message is safe to print (it quotes nothing from the line)."""


@dataclass
class BatchReport:
    """What one run did, for the CLI to print."""

    lines: int = 0
    errors: int = 0
    entities: int = 0


class _Sessions:
    """Sessions by conversation id, bounded so a long stream of conversations cannot exhaust memory."""

    def __init__(self, anonymizer: Anonymizer, capacity: int):
        self._anonymizer, self._capacity = anonymizer, capacity
        self._open: OrderedDict[str, Session] = OrderedDict()

    def get(self, conversation_id: str | None) -> Session:
        if conversation_id is None:
            return self._anonymizer.session()
        session = self._open.pop(conversation_id, None) or self._anonymizer.session()
        self._open[conversation_id] = session
        if len(self._open) > self._capacity:
            self._open.popitem(last=False)
        return session


def parse_line(line: str) -> tuple[str, str | None]:
    """The text and optional conversation id of one input line, or ``LineError``."""
    if not line.strip():
        raise LineError("empty line")
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(request, dict):
        raise LineError("expected a JSON object")
    text, conversation_id = request.get("text"), request.get("conversation_id")
    if not isinstance(text, str):
        raise LineError("field 'text' must be a string")
    if conversation_id is not None and not isinstance(conversation_id, str):
        raise LineError("field 'conversation_id' must be a string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an escaped lone surrogate ("\ud800"): the output line could not be written
        raise LineError("field 'text' is not valid Unicode") from None
    return text, conversation_id


def render(result: ScrubResult) -> dict[str, Any]:
    """The output line of one scrubbed text."""
    return {
        "text": result.text,
        "entities": [{"type": e.type.value, "start": e.start, "end": e.end} for e in result.entities],
    }


def anonymize_lines(in_stream: TextIO, out_stream: TextIO, anonymizer: Anonymizer | None = None,
                    max_open_conversations: int = MAX_OPEN_CONVERSATIONS) -> BatchReport:
    """Scrub every JSON line of ``in_stream`` to ``out_stream``, one output line per input line, in order."""
    anonymizer = anonymizer if anonymizer is not None else Anonymizer()
    sessions = _Sessions(anonymizer, max_open_conversations)
    report = BatchReport()
    for line in in_stream:
        report.lines += 1
        try:
            text, conversation_id = parse_line(line)
            result = anonymizer.scrub(text, sessions.get(conversation_id))
        except LineError as exc:
            report.errors += 1
            out = {"error": str(exc)}
        else:
            report.entities += len(result.entities)
            out = render(result)
        out_stream.write(json.dumps(out, ensure_ascii=False) + "\n")
    return report
