"""The policy knowledge base serving answers from: the rules in force, their example Q/A, and the intent router.

The policy team publishes every rule with example questions and answers (``PolicyUpdate.examples``); the stream
workers keep them in the policy log. Serving reads that log, keeps the newest version of each policy, and trains
the intent tier (``learners.intents``) on the example questions, so a service launched this morning is routed
from the moment its policy is published, with no retraining of the language model. Until the log holds a
published version of a rule, the simulated shop's day-one rules stand in (``FLYWHEEL_SEED_POLICIES``; a real
shop turns that off and publishes its own).

The knowledge base answers three questions per customer message: which intent is this (and how sure), which
policy text grounds the answer, and what the FAQ answer is when the model cannot answer (or need not).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from streams.events import Locale, PolicyExample

if TYPE_CHECKING:
    from infra.settings import Settings
    from learners.intents import IntentModel, Prediction

_CJK = re.compile(r"[\u3400-\u9fff]")


def detect_locale(text: str) -> Locale:
    """Chinese when the text has any CJK ideograph (customers mix in English words, never the reverse)."""
    return "zh" if _CJK.search(text) else "en"


@dataclass(frozen=True)
class KnownPolicy:
    """One policy version as serving knows it."""

    policy_id: str
    version: int
    intent: str
    text: Mapping[str, str]  # locale -> rule text
    examples: tuple[PolicyExample, ...]

    def text_for(self, locale: Locale) -> str | None:
        return self.text.get(locale) or next(iter(self.text.values()), None)


def _bigrams(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = re.sub(r"\s+", " ", folded).strip()
    return {folded[i:i + 2] for i in range(len(folded) - 1)} or {folded}


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class KnowledgeBase:
    """The policies in force by intent, with the router trained on their example questions."""

    def __init__(self, policies: Iterable[KnownPolicy]):
        self.policies: dict[str, KnownPolicy] = {p.intent: p for p in policies}
        self.fingerprint = fingerprint(self.policies.values())
        self._router = _train_router(self.policies.values())

    def route(self, question: str) -> Prediction | None:
        """The most likely intent of ``question`` and its probability (None when nothing is known)."""
        if self._router is None:
            return None
        return self._router.predict([question])[0]

    def nearest_example(self, intent: str, locale: Locale, question: str) -> PolicyExample | None:
        """The published example question of ``intent`` in ``locale`` closest to ``question`` (character bigram
        overlap), or None when the policy has no example in that language."""
        policy = self.policies.get(intent)
        examples = [e for e in policy.examples if e.locale == locale] if policy else []
        if not examples:
            return None
        asked = _bigrams(question)
        return max(examples, key=lambda e: _similarity(asked, _bigrams(e.question)))

    def canonical_question(self, question: str, min_confidence: float) -> str:
        """What the model is asked when canonical questions are on: the published example question closest to
        ``question`` in its intent (when the router is at least ``min_confidence`` sure of it), else ``question``.

        Small models that memorise their domain answer the shop's own phrasings reliably and customers' free
        text poorly (the embedded model: 37 % of simulated customer messages right, grounded, against ~100 % of
        the same questions in the shop's words); a real LLM should get the customer's words (the setting off).
        """
        routed = self.route(question)
        if routed is None or routed.confidence < min_confidence:
            return question
        return self.canonical(routed.label, detect_locale(question), question)

    def canonical(self, intent: str, locale: Locale, question: str) -> str:
        """The published example question of ``intent`` closest to ``question``, else ``question`` itself."""
        example = self.nearest_example(intent, locale, question)
        return example.question if example is not None else question

    def faq_answer(self, intent: str, locale: Locale, question: str) -> str | None:
        """The published answer to the example closest to ``question``; the rule's text when there is none."""
        example = self.nearest_example(intent, locale, question)
        if example is not None:
            return example.answer
        policy = self.policies.get(intent)
        return policy.text_for(locale) if policy else None


def _train_router(policies: Iterable[KnownPolicy]) -> IntentModel | None:
    """The intent tier on every example question; None while fewer than two intents have examples."""
    from learners.intents import train_intents

    pairs = [(e.question, p.intent) for p in policies for e in p.examples]
    if len({intent for _, intent in pairs}) < 2:
        return None
    return train_intents([q for q, _ in pairs], [intent for _, intent in pairs])


def seed_policies(world_seed: int) -> list[KnownPolicy]:
    """The simulated shop's day-one rules, as if each had been published."""
    from simulator.world import LOCALES, World

    return [KnownPolicy(p.policy_id, p.version, p.intent, {loc: p.text(loc) for loc in LOCALES}, tuple(p.examples()))
            for p in World.create(world_seed).policies.values()]


def published_policies(settings: Settings, at: datetime | None = None) -> list[KnownPolicy]:
    """The newest version of every policy in the policy log, in force at ``at`` (default now)."""
    from contextlib import closing

    from features.config import store_config
    from features.log import open_log
    from features.tables import POLICY_LOG

    with closing(open_log(store_config(settings))) as offline:
        offline.create()
        rows = offline.read(POLICY_LOG, datetime(1970, 1, 1, tzinfo=UTC), at or datetime.now(UTC), []).to_pylist()
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["policy_id"] not in newest or row["version"] > newest[row["policy_id"]]["version"]:
            newest[row["policy_id"]] = row
    return [_known(row) for row in newest.values()]


def _known(row: dict[str, Any]) -> KnownPolicy:
    examples = tuple(PolicyExample.model_validate(e) for e in json.loads(row["examples"] or "[]"))
    return KnownPolicy(row["policy_id"], row["version"], row["intent"], json.loads(row["text"]), examples)


def policies_in_force(settings: Settings) -> list[KnownPolicy]:
    """The newest version of every rule: published versions over the seed rules (by intent) when seeding is on."""
    by_intent = {p.intent: p for p in seed_policies(settings.world_seed)} if settings.seed_policies else {}
    for policy in sorted(published_policies(settings), key=lambda p: p.version):
        current = by_intent.get(policy.intent)
        if current is None or current.policy_id != policy.policy_id or policy.version >= current.version:
            by_intent[policy.intent] = policy
    return list(by_intent.values())


def model_input(settings: Settings) -> Callable[[str], str]:
    """What the API would put to the model for a question: with canonical questions on, the shop's own phrasing
    of the routed question. The drift gate maps training and live questions through it (one knowledge base,
    built once), so it compares what is asked (a new topic shows), not how customers word it; the evaluation
    maps its questions through it, so a held-out phrasing reaches the model as it would in production."""
    if not settings.canonical_questions:
        return lambda question: question
    knowledge = KnowledgeBase(policies_in_force(settings))
    return lambda question: knowledge.canonical_question(question, settings.route_min_confidence)


def fingerprint(policies: Iterable[KnownPolicy]) -> frozenset[tuple[str, int]]:
    """What changes when any policy does: rebuild the knowledge base only then."""
    return frozenset((p.policy_id, p.version) for p in policies)
