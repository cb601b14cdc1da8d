"""What stands between the model and the customer: the answer filter, the length limit and the handoff rule.

The filter masks sensitive words (``FLYWHEEL_SENSITIVE_WORDS``) and any personal data an answer carries, found
by the same anonymizer the stream uses, plus the placeholders (``<PHONE_1>``) a model trained on scrubbed data
may echo. Answers are cut at a sentence end within ``FLYWHEEL_MAX_ANSWER_CHARS``. A conversation goes to a human
agent when the customer asks for one, or after ``FLYWHEEL_HANDOFF_AFTER_TURNS`` customer turns without
resolution (every new customer turn means the last answer did not settle it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from streams.events import Locale

if TYPE_CHECKING:
    from streams.anonymizer import Anonymizer

MASK = "***"
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
_IDENTIFIER_TAIL = re.compile(r"[A-Za-z0-9@._+\-]*$")
_SENTENCE_END = re.compile(r"[。！？!?；;.](?=\s|$)|[。！？；]")
_HUMAN_REQUEST = re.compile(r"转人工|人工客服|找人工|真人|\b(?:human|real person|live agent|talk to (?:a|an) (?:person|agent))\b",
                            re.IGNORECASE)
HANDOFF_REPLY: dict[Locale, str] = {
    "zh": "抱歉没能帮您解决，正在为您转接人工客服，请稍候。",
    "en": "Sorry I couldn't sort this out. I'm connecting you with a human agent now.",
}
UNAVAILABLE_REPLY: dict[Locale, str] = {
    "zh": "抱歉，系统繁忙，暂时无法回答这个问题，正在为您转接人工客服。",
    "en": "Sorry, I can't answer that right now. I'm passing you to a human agent.",
}


class AnswerFilter:
    """Masks sensitive words and personal data in answers and limits their length."""

    def __init__(self, anonymizer: Anonymizer, sensitive_words: Sequence[str], max_chars: int):
        self._anonymizer, self._max_chars = anonymizer, max_chars
        words = sorted({w for w in sensitive_words if w}, key=len, reverse=True)
        self._sensitive = re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None

    def __call__(self, answer: str) -> str:
        return self.limit(self.mask(answer))

    def mask(self, text: str) -> str:
        """``text`` with sensitive words, personal data and echoed placeholders replaced by ``***``."""
        if self._sensitive is not None:
            text = self._sensitive.sub(MASK, text)
        for entity in sorted(self._anonymizer.scrub(text).entities, key=lambda e: e.start, reverse=True):
            text = text[:entity.start] + MASK + text[entity.end:]
        return _PLACEHOLDER.sub(MASK, text)

    def limit(self, text: str) -> str:
        """``text`` cut at the last sentence end within the limit (or hard at the limit when it has none)."""
        text = text.strip()
        if len(text) <= self._max_chars:
            return text
        head = text[:self._max_chars]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        return head[:ends[-1]] if ends else head[:-1].rstrip() + "…"


class StreamGuard:
    """The filter applied to an answer that arrives piece by piece.

    Text is released only once it lies ``holdback`` characters behind the end of what has arrived and before
    any unfinished run of identifier characters (letters, digits, ``@._+-``), so a phone number, an email or a
    sensitive word split across pieces is masked before any of it is sent. 24 characters cover the longest
    identifier written with spaces (a 19-digit card in groups of four) and a Chinese name with its context.
    """

    def __init__(self, answer_filter: AnswerFilter, max_chars: int, holdback: int = 24):
        self._filter, self._max_chars, self._holdback = answer_filter, max_chars, holdback
        self._raw, self._sent = "", 0

    @property
    def full(self) -> bool:
        return self._sent >= self._max_chars

    @property
    def sent(self) -> bool:
        """Whether any of the answer has been released."""
        return self._sent > 0

    def feed(self, piece: str) -> str:
        """The text that may be sent now, given one more piece of the answer."""
        self._raw += piece
        masked = self._filter.mask(self._raw)
        unfinished = _IDENTIFIER_TAIL.search(masked)
        return self._release(masked, max(self._sent, min(len(masked) - self._holdback, unfinished.start())))

    def finish(self) -> str:
        """Everything not sent yet, filtered and cut at the length limit."""
        return self._release(self._filter(self._raw), None)

    def _release(self, masked: str, upto: int | None) -> str:
        upto = min(len(masked) if upto is None else upto, self._max_chars)
        piece = masked[self._sent:upto] if upto > self._sent else ""
        self._sent = max(self._sent, upto)
        return piece


def wants_human(text: str) -> bool:
    """True when the customer asks for a person."""
    return bool(_HUMAN_REQUEST.search(text))


def needs_handoff(customer_turns: Sequence[str], after_turns: int) -> bool:
    """A human takes over when the customer asks for one or has asked ``after_turns`` times already."""
    return len(customer_turns) >= after_turns or (bool(customer_turns) and wants_human(customer_turns[-1]))
