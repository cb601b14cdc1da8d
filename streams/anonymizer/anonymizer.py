"""The anonymizer: Presidio's analyzer with our recognizers finds the spans, Presidio's anonymizer engine replaces
them with per-conversation placeholders."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from presidio_analyzer import EntityRecognizer
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from streams.anonymizer import engine
from streams.anonymizer.entities import Entity, EntityType, ScrubResult
from streams.anonymizer.recognizers import NameReplyRecognizer, entities_in_reach, recognizers
from streams.anonymizer.recognizers.names import asks_for_name
from streams.anonymizer.session import Session, SessionTokenOperator
from streams.anonymizer.spans import resolve
from streams.anonymizer.text import normalize


@dataclass(frozen=True)
class AnonymizerOptions:
    """What to scrub beyond the personal data that is always scrubbed."""

    scrub_order_ids: bool = False
    """Order and tracking numbers are kept by default: the agent needs them, and they identify no one."""
    allow_list: tuple[str, ...] = ()
    """Exact values never replaced, such as the shop's own hotline and support address, which every bot answer
    repeats and a model should learn as they are."""


CLEAN_TEXTS_CACHED = 16_384
"""Texts remembered as clean by default; simulated traffic repeats ~70 % of its turns (bot answers, thanks)."""
MAX_CACHED_CHARS = 512
"""Longer texts are not remembered: they rarely repeat, and the cache stays a few megabytes at most."""


class _CleanTexts:
    """The texts in which the analyzer found nothing to replace (at most a kept order number), least recently
    used dropped first.

    What the analyzer finds is a function of the normalized text and of whether the conversation just asked
    for a name (the reply recognizer), and of nothing else: recognizers are stateless patterns and the options
    are fixed per anonymizer. So a text found clean once is clean in every conversation under the same flag,
    and its analysis can be skipped. Everything that does depend on the conversation (names it learned, the
    placeholder numbering) is still applied on every scrub. Only clean texts are kept, so the cache never
    holds personal data the analyzer recognized. A lock keeps it whole when threads share the anonymizer.
    """

    def __init__(self, capacity: int):
        self._capacity = capacity
        self._texts: OrderedDict[tuple[str, bool], bool] = OrderedDict()
        self._lock = threading.Lock()

    def asks_for_name(self, text: str, expects_name: bool) -> bool | None:
        """Whether the remembered clean ``text`` asks for a name; ``None`` when it is not remembered."""
        key = (text, expects_name)
        with self._lock:
            asks = self._texts.get(key)
            if asks is not None:
                self._texts.move_to_end(key)
        return asks

    def remember(self, text: str, expects_name: bool, asks_for_name: bool) -> None:
        if self._capacity and len(text) <= MAX_CACHED_CHARS:
            with self._lock:
                self._texts[(text, expects_name)] = asks_for_name
                if len(self._texts) > self._capacity:
                    self._texts.popitem(last=False)


class Anonymizer:
    """Replaces personal data in customer-service text with placeholders, consistently within a conversation.

    Build one per process and keep it: importing Presidio takes ~4.5 s here (it imports transformers when that
    is installed), building ~0.05 s. One anonymizer serves any number of conversations, each with its own
    ``session()``. It remembers up to ``clean_texts_cached`` texts it found clean, so repeated ones skip the
    analyzer (0 turns that off; the output is the same either way).
    """

    def __init__(self, options: AnonymizerOptions = AnonymizerOptions(),
                 clean_texts_cached: int = CLEAN_TEXTS_CACHED):
        self.options = options
        self._allow_list = [normalize(value)[0] for value in options.allow_list] or None
        self._analyzer = engine.analyzer(recognizers(engine.LANGUAGE))
        self._name_reply: list[EntityRecognizer] = [NameReplyRecognizer(engine.LANGUAGE)]
        self._keep = frozenset() if options.scrub_order_ids else frozenset({EntityType.ORDER_ID})
        self._engine = AnonymizerEngine()
        self._engine.add_anonymizer(SessionTokenOperator)
        self._clean = _CleanTexts(clean_texts_cached)

    def session(self) -> Session:
        """A fresh conversation: placeholders numbered from 1, nothing learned."""
        return Session()

    def scrub(self, text: str, session: Session | None = None) -> ScrubResult:
        """``text`` with its personal data replaced; pass the conversation's session to keep placeholders stable."""
        session = session if session is not None else self.session()
        normalized, offsets = normalize(text)
        spans = self._find(normalized, session)
        if not spans:
            return ScrubResult(text)
        if offsets is not None:  # characters were dropped: point the spans back into the input
            spans = [Entity(s.type, *offsets.span(s.start, s.end)) for s in spans]
        for span in spans:  # number placeholders in reading order; Presidio replaces from the end backwards
            session.token(span.type, text[span.start:span.end])
        operators = {"DEFAULT": OperatorConfig(SessionTokenOperator.NAME, {SessionTokenOperator.SESSION: session})}
        replaced = self._engine.anonymize(text, [RecognizerResult(s.type, s.start, s.end, 1.0) for s in spans],
                                          operators, merge_entities_with_spaces=False)
        return ScrubResult(replaced.text, tuple(spans))

    def _find(self, text: str, session: Session) -> list[Entity]:
        """The non-overlapping spans to replace in ``text`` (already normalized); notes in ``session`` the
        names found and whether ``text`` asks for one."""
        found, session.expects_name = self._analysis(text, session.expects_name)
        session.learn_names(text[e.start:e.end] for e in found if e.type == EntityType.PERSON)
        found += [Entity(EntityType.PERSON, start, end) for start, end in session.known_name_spans(text)]
        return resolve(found, keep=self._keep)

    def _analysis(self, text: str, expects_name: bool) -> tuple[list[Entity], bool]:
        """What the recognizers find in ``text``, and whether it asks for a name: a function of the text and the
        flag alone (see ``_CleanTexts``), so a text found clean before is looked up instead of analyzed again."""
        asks = self._clean.asks_for_name(text, expects_name)
        if asks is not None:
            return [], asks
        entities = entities_in_reach(text, always=[EntityType.PERSON] if expects_name else [])
        results = self._analyzer.analyze(
            text, engine.LANGUAGE, entities=entities, allow_list=self._allow_list,
            ad_hoc_recognizers=self._name_reply if expects_name else None,
        ) if entities else []
        found = [Entity(EntityType(r.entity_type), r.start, r.end) for r in results]
        asks = asks_for_name(text)
        if all(entity.type in self._keep for entity in found):  # nothing to replace: an order number is kept
            self._clean.remember(text, expects_name, asks)
        return found, asks
