"""The anonymizer: Presidio's analyzer with our recognizers finds the spans, Presidio's anonymizer engine replaces
them with per-conversation placeholders."""

from __future__ import annotations

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
from streams.anonymizer.text import fold_width


@dataclass(frozen=True)
class AnonymizerOptions:
    """What to scrub beyond the personal data that is always scrubbed."""

    scrub_order_ids: bool = False
    """Order and tracking numbers are kept by default: the agent needs them, and they identify no one."""
    allow_list: tuple[str, ...] = ()
    """Exact values never replaced, such as the shop's own hotline and support address, which every bot answer
    repeats and a model should learn as they are."""


class Anonymizer:
    """Replaces personal data in customer-service text with placeholders, consistently within a conversation.

    Build one per process and keep it: importing Presidio takes ~4.5 s here (it imports transformers when that
    is installed), building ~0.05 s. One anonymizer serves any number of conversations, each with its own
    ``session()``.
    """

    def __init__(self, options: AnonymizerOptions = AnonymizerOptions()):
        self.options = options
        self._analyzer = engine.analyzer(recognizers(engine.LANGUAGE))
        self._name_reply: list[EntityRecognizer] = [NameReplyRecognizer(engine.LANGUAGE)]
        self._keep = frozenset() if options.scrub_order_ids else frozenset({EntityType.ORDER_ID})
        self._engine = AnonymizerEngine()
        self._engine.add_anonymizer(SessionTokenOperator)

    def session(self) -> Session:
        """A fresh conversation: placeholders numbered from 1, nothing learned."""
        return Session()

    def scrub(self, text: str, session: Session | None = None) -> ScrubResult:
        """``text`` with its personal data replaced; pass the conversation's session to keep placeholders stable."""
        session = session if session is not None else self.session()
        folded = fold_width(text)
        spans = self._find(folded, session)
        session.expects_name = asks_for_name(folded)
        if not spans:
            return ScrubResult(text)
        for span in spans:  # number placeholders in reading order; Presidio replaces from the end backwards
            session.token(span.type, text[span.start:span.end])
        operators = {"DEFAULT": OperatorConfig(SessionTokenOperator.NAME, {SessionTokenOperator.SESSION: session})}
        replaced = self._engine.anonymize(text, [RecognizerResult(s.type, s.start, s.end, 1.0) for s in spans],
                                          operators, merge_entities_with_spaces=False)
        return ScrubResult(replaced.text, tuple(spans))

    def _find(self, text: str, session: Session) -> list[Entity]:
        """The non-overlapping spans to replace in ``text`` (already width-folded)."""
        entities = entities_in_reach(text, always=[EntityType.PERSON] if session.expects_name else [])
        results = self._analyzer.analyze(
            text, engine.LANGUAGE, entities=entities, allow_list=list(self.options.allow_list) or None,
            ad_hoc_recognizers=self._name_reply if session.expects_name else None,
        ) if entities else []
        found = [Entity(EntityType(r.entity_type), r.start, r.end) for r in results]
        session.learn_names(text[e.start:e.end] for e in found if e.type == EntityType.PERSON)
        found += [Entity(EntityType.PERSON, start, end) for start, end in session.known_name_spans(text)]
        return resolve(found, keep=self._keep)
