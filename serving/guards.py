"""What stands between the model and the customer: the answer filter, the length limit and the handoff rule.

The filter masks sensitive words (``FLYWHEEL_SENSITIVE_WORDS``) and any personal data an answer carries, found
by the same anonymizer the stream uses, plus the placeholders (``<PHONE_1>``) a model trained on scrubbed data
may echo. Answers are cut at a sentence end within ``FLYWHEEL_MAX_ANSWER_CHARS``. A conversation goes to a human
agent when the customer asks for one, or after ``FLYWHEEL_HANDOFF_AFTER_TURNS`` customer turns without
resolution (every new customer turn means the last answer did not settle it).

An answer is filtered sentence by sentence, and what is decided about a sentence is final. Its masks are found
in the text up to the end of the sentence after it (or of the answer), so a name the next sentence gives away
("... my name is Li Wei.") is masked where it first appeared too, and a sentence end inside something masked
("Dr. Smith") joins the two sentences. A streamed answer releases a sentence once the one after it is complete
(or the answer ended); a whole answer goes through the same steps at once. So the streamed and the non-streamed answer are
the same text, whatever pieces the model produced, and no character leaves before its masks are known. (A name
given away two sentences later or more is not masked where it stood before: a stream cannot take back what it
sent, and the whole answer follows the same rule so that the two never differ.)
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
# A Latin sentence end counts once the whitespace after it has arrived, so a stream that stops at "3." never
# takes it for one before "5" comes; the end of the answer closes its last sentence.
_SENTENCE_END = re.compile(r"[。！？；]|[!?;.](?=\s)")
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

Span = tuple[int, int]


class AnswerFilter:
    """Masks sensitive words and personal data in answers and limits their length."""

    def __init__(self, anonymizer: Anonymizer, sensitive_words: Sequence[str], max_chars: int):
        self._anonymizer, self.max_chars = anonymizer, max_chars
        words = sorted({w for w in sensitive_words if w}, key=len, reverse=True)
        self._sensitive = re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None

    def __call__(self, answer: str) -> str:
        guard = self.stream()
        return guard.feed(answer) + guard.finish()

    def stream(self) -> StreamGuard:
        """A guard for one answer that arrives piece by piece."""
        return StreamGuard(self)

    def spans(self, text: str) -> list[Span]:
        """Where ``text`` has sensitive words, personal data or echoed placeholders (they may overlap)."""
        found = [(m.start(), m.end()) for m in self._sensitive.finditer(text)] if self._sensitive else []
        found += [(e.start, e.end) for e in self._anonymizer.scrub(text).entities]
        return found + [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]


def masked(text: str, start: int, end: int, spans: Sequence[Span]) -> str:
    """``text[start:end]`` with every run of characters under ``spans`` replaced by one ``***``."""
    pieces, at = [], start
    for s, e in sorted((max(s, start), min(e, end)) for s, e in spans if s < end and e > start):
        if s >= at:
            pieces += [text[at:s], MASK]
        at = max(at, e)
    pieces.append(text[at:end])
    return "".join(pieces)


class StreamGuard:
    """The filter applied to one answer as it arrives: ``feed`` each piece and send what it returns, then send
    what ``finish`` returns. Text is released a sentence at a time, by the rule of the module's docstring."""

    def __init__(self, answer_filter: AnswerFilter):
        self._filter = answer_filter
        self._raw = ""
        self._decided = 0  # the raw text before this offset is released (or cut)
        self._sent = 0  # characters released
        self.full = False  # the length limit is reached: nothing more will be released

    @property
    def sent(self) -> bool:
        """Whether any of the answer has been released."""
        return self._sent > 0

    def feed(self, piece: str) -> str:
        """The text that may be sent now, given one more piece of the answer."""
        self._raw += piece
        return self._release(final=False)

    def finish(self) -> str:
        """Everything not sent yet, now that the answer is complete."""
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        """The sentences whose masks can be decided now (all of them once ``final``)."""
        raw, out = self._raw, []
        ends = [m.end() for m in _SENTENCE_END.finditer(raw, self._decided)]
        if final and (not ends or ends[-1] < len(raw)):
            ends.append(len(raw))
        for i, end in enumerate(ends):
            if self.full:
                break
            context = ends[i + 1] if i + 1 < len(ends) else len(raw) if final else None
            if context is None:
                break  # wait for the next sentence
            spans = self._filter.spans(raw[:context])
            if any(s < end < e for s, e in spans):
                continue  # a masked span runs across this sentence end: decide it with the next sentence
            out.append(self._within_limit(masked(raw, self._decided, end, spans), last=final and end == len(raw)))
            self._decided = end
        return "".join(out)

    def _within_limit(self, sentence: str, last: bool) -> str:
        """``sentence`` if the answer stays within the length limit with it; else the answer ends before it (or,
        when it is the first, is cut hard at the limit)."""
        if not self._sent:
            sentence = sentence.lstrip()
        if last:
            sentence = sentence.rstrip()
        limit = self._filter.max_chars
        if self._sent + len(sentence) > limit:
            self.full = True
            sentence = "" if self._sent else sentence[:limit - 1].rstrip() + "…"
        self._sent += len(sentence)
        return sentence


def wants_human(text: str) -> bool:
    """True when the customer asks for a person."""
    return bool(_HUMAN_REQUEST.search(text))


def needs_handoff(customer_turns: Sequence[str], after_turns: int) -> bool:
    """A human takes over when the customer asks for one or has asked ``after_turns`` times already."""
    return len(customer_turns) >= after_turns or (bool(customer_turns) and wants_human(customer_turns[-1]))
