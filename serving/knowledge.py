"""The knowledge serving answers from: the shop's rules in force, their questions, and the intent router.

The shop file names the intents, their example questions and reference answers, and the day-one policies; the
policy team publishes later versions and new services with example questions and answers
(``PolicyUpdate.examples``), which the stream workers keep in the policy log. ``learners.rules`` reads the two
together; serving trains the intent tier on every rule's questions, so a service launched this morning is routed
from the moment its policy is published, with no retraining of the language model and no restart.

The knowledge base answers three questions per customer message: which intent is this (and how sure), which
policy text grounds the answer, and what the FAQ answer is when the model cannot answer (or need not).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

from learners.rules import Rule, Rules, rules_in_force, train_router
from streams.events import Locale

if TYPE_CHECKING:
    from infra.settings import Settings
    from learners.intents import Prediction

_CJK = re.compile(r"[\u3400-\u9fff]")


def detect_locale(text: str) -> Locale:
    """Chinese when the text has any CJK ideograph (customers mix in English words, never the reverse)."""
    return "zh" if _CJK.search(text) else "en"


def _bigrams(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = re.sub(r"\s+", " ", folded).strip()
    return {folded[i:i + 2] for i in range(len(folded) - 1)} or {folded}


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _closest(question: str, candidates: list[str]) -> int:
    """Index of the candidate closest to ``question`` by character bigram overlap."""
    asked = _bigrams(question)
    return max(range(len(candidates)), key=lambda n: _similarity(asked, _bigrams(candidates[n])))


class KnowledgeBase:
    """The rules in force by intent, with the router trained on their questions."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self.fingerprint = fingerprint(rules)
        self._router = train_router(rules)

    def rule(self, intent: str | None) -> Rule | None:
        return self.rules.rules.get(intent or "")

    def route(self, question: str) -> Prediction | None:
        """The most likely intent of ``question`` and its probability (None when nothing is known)."""
        if self._router is None:
            return None
        return self._router.predict([question])[0]

    def canonical_question(self, question: str, min_confidence: float) -> str:
        """What the model is asked when canonical questions are on: the intent's example question closest to
        ``question`` (when the router is at least ``min_confidence`` sure of the intent), else ``question``.

        Small models that memorise their domain answer the shop's own phrasings reliably and customers' free
        text poorly (README, "Serving"); a real LLM should get the customer's words (the setting off).
        """
        routed = self.route(question)
        if routed is None or routed.confidence < min_confidence:
            return question
        return self.canonical(routed.label, detect_locale(question), question)

    def canonical(self, intent: str, locale: Locale, question: str) -> str:
        """The example question of ``intent`` in ``locale`` closest to ``question``, else ``question`` itself."""
        rule = self.rule(intent)
        examples = list(rule.questions(locale)) if rule else []
        return examples[_closest(question, examples)] if examples else question

    def faq_answer(self, intent: str, locale: Locale, question: str) -> str | None:
        """The answer of the rule in force: the answer published with the example closest to ``question`` when
        the version in force came with answers in ``locale``, else the reference answer."""
        rule = self.rule(intent)
        if rule is None:
            return None
        published = [e for e in (rule.policy.examples if rule.policy else ()) if e.locale == locale]
        if published:
            return published[_closest(question, [e.question for e in published])].answer
        return rule.answer(locale)


def model_input(settings: Settings) -> Callable[[str], str]:
    """What the API would put to the model for a question: with canonical questions on, the shop's own phrasing
    of the routed question. The drift gate maps training and live questions through it (one knowledge base,
    built once), so it compares what is asked (a new topic shows), not how customers word it; the evaluation
    maps its questions through it, so a held-out phrasing reaches the model as it would in production."""
    if not settings.canonical_questions:
        return lambda question: question
    knowledge = KnowledgeBase(rules_in_force(settings))
    return lambda question: knowledge.canonical_question(question, settings.route_min_confidence)


def fingerprint(rules: Rules) -> tuple[str, frozenset[tuple[str, str | None, int | None]]]:
    """What changes when the shop file or any policy does: rebuild the knowledge base only then."""
    return rules.shop_fingerprint, frozenset((r.intent, r.policy_id, r.version) for r in rules.rules.values())
