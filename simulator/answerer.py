"""The bot that answers customers: a protocol, and a policy oracle that plays it for now.

Later issues plug the served model in behind the same protocol (over HTTP). The simulator never trusts an
answerer's own opinion of its answer: it judges every answer against the rule in force (``learners.judge``), so
an oracle and a real model are scored the same way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from learners.rules import Rule
from simulator.world import World, other_version
from streams.events import Locale

_DONT_KNOW: dict[Locale, str] = {
    "zh": "抱歉，这个问题我暂时还不了解，建议您转人工客服咨询。",
    "en": "Sorry, I don't have any information about that yet. A human agent can help you with it.",
}


@dataclass(frozen=True)
class Question:
    """What the bot is asked. ``intent`` is the ground truth: an oracle may use it, a model must not. The
    conversation id lets a served model keep a conversation on one adapter (the canary split)."""

    text: str
    locale: Locale
    intent: str
    conversation_id: str = ""


@dataclass(frozen=True)
class Answer:
    """The bot's reply, the adapter version that produced it, the intent the bot took the question for and the
    policy version it relied on, if any: what the chat platform records, never the simulator's ground truth."""

    text: str
    adapter_version: str
    intent: str | None = None
    policy_id: str | None = None
    policy_version: int | None = None


class Answerer(Protocol):
    def answer(self, question: Question) -> Answer: ...


class PolicyOracle:
    """Answers from the policies it knows, wrong on purpose in a share ``error_rate`` of questions.

    A wrong answer states another version of the rule (other fact values) or answers another intent's
    question (and records that intent, as a misrouting bot would). ``knowledge`` returns the world in force at
    the moment of asking; a ``stale`` oracle keeps the world it was built with, so it answers changed rules by
    their previous version and says it does not know about services launched after it was built: the model that
    was never refreshed.
    """

    def __init__(self, knowledge: Callable[[], World], rng: random.Random, error_rate: float = 0.0,
                 stale: bool = False, adapter_version: str = "oracle"):
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error_rate must be within [0, 1], not {error_rate}")
        frozen = knowledge()
        self._knowledge = (lambda: frozen) if stale else knowledge
        self.rng, self.error_rate, self.adapter_version = rng, error_rate, adapter_version

    def answer(self, question: Question) -> Answer:
        world = self._knowledge()
        rule = world.rules.rules.get(question.intent)
        if rule is None:
            return Answer(_DONT_KNOW[question.locale], self.adapter_version)
        if self.rng.random() < self.error_rate:
            rule = self._mistake(rule, world)
        return Answer(rule.answer(question.locale), self.adapter_version, rule.intent, rule.policy_id, rule.version)

    def _mistake(self, rule: Rule, world: World) -> Rule:
        """Another version of the same rule, or another intent's rule (half of the mistakes each, and always the
        latter when the rule has no number to get wrong)."""
        others = [r for r in world.rules.answered if r.intent != rule.intent]
        wrong = other_version(rule, self.rng) if self.rng.random() >= 0.5 or not others else None
        return wrong or (self.rng.choice(others) if others else rule)
