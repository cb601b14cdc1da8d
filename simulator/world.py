"""A seeded world: the shop's policies with concrete fact values, and how they change.

The catalog says what each policy is about; a world fixes the numbers (a 7-day or a 15-day return window)
from its seed, so two worlds differ the way two shops do while the same seed always gives the same shop.
Worlds are immutable: a policy change returns a new world, which lets the simulator, the base-model
bootstrap (its training corpus), serving (its FAQ knowledge base) and the evaluation share one source of
truth and compare the rule in force with the one before it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Literal, NamedTuple

from simulator.catalog import SERVICES, PolicySpec, spec_for
from streams.events import Locale, PolicyExample, PolicyUpdate
from streams.signing import sign

LOCALES: tuple[Locale, ...] = ("zh", "en")
LocaleMode = Literal["zh", "en", "mixed"]


def pick_locale(rng: random.Random, mode: LocaleMode) -> Locale:
    """The language of the next customer: the one asked for, or either at even odds when mixed."""
    return rng.choice(LOCALES) if mode == "mixed" else mode


@dataclass(frozen=True)
class Policy:
    """One version of one policy: its spec with the fact values in force."""

    spec: PolicySpec
    version: int
    facts: Mapping[str, int]

    @property
    def policy_id(self) -> str:
        return self.spec.policy_id

    @property
    def intent(self) -> str:
        return self.spec.intent

    @property
    def keywords(self) -> Mapping[Locale, tuple[str, ...]]:
        return self.spec.keywords

    def text(self, locale: Locale) -> str:
        """The rule as the policy team words it."""
        return self.spec.text[locale].format(**self.facts)

    def answer(self, locale: Locale) -> str:
        """The reply that states this version's facts."""
        return self.spec.answer[locale].format(**self.facts)

    def questions(self, locale: Locale) -> tuple[str, ...]:
        return self.spec.questions[locale]

    def held_out(self, locale: Locale) -> tuple[str, ...]:
        """Phrasings nothing trains on, for evaluation only (see ``simulator.catalog``)."""
        return self.spec.held_out[locale]

    def with_other_facts(self, rng: random.Random) -> Policy:
        """The same version with every fact set to another of its choices: a rule that is not this one."""
        facts = {name: rng.choice([v for v in self.spec.choices[name] if v != value])
                 for name, value in self.facts.items()}
        return replace(self, facts=MappingProxyType(facts))

    def examples(self) -> list[PolicyExample]:
        """Every question customers ask about this policy, answered by this version, in both languages."""
        return [PolicyExample(locale=locale, question=q, answer=self.answer(locale))
                for locale in LOCALES for q in self.questions(locale)]


class QA(NamedTuple):
    question: str
    answer: str
    intent: str
    locale: Locale


def _first_version(spec: PolicySpec, rng: random.Random) -> Policy:
    return Policy(spec, 1, MappingProxyType({name: rng.choice(values) for name, values in spec.choices.items()}))


@dataclass(frozen=True)
class World:
    """The policies in force, by intent."""

    seed: int
    policies: Mapping[str, Policy]

    @classmethod
    def create(cls, seed: int) -> World:
        """The shop of ``seed`` on day one: every service of the catalog at version 1."""
        rng = random.Random(f"world:{seed}")
        return cls(seed, MappingProxyType({spec.intent: _first_version(spec, rng) for spec in SERVICES}))

    @property
    def intents(self) -> tuple[str, ...]:
        return tuple(self.policies)

    def questions(self, intent: str, locale: Locale) -> tuple[str, ...]:
        return self.policies[intent].questions(locale)

    def answer(self, intent: str, locale: Locale) -> str:
        """The correct reply, by the rule in force."""
        return self.policies[intent].answer(locale)

    def corpus(self) -> list[QA]:
        """Every (question, correct answer) pair of the world, both languages: the FAQ and the training set."""
        return [QA(q, policy.answer(locale), policy.intent, locale)
                for policy in self.policies.values() for locale in LOCALES for q in policy.questions(locale)]

    def with_rule_change(self, intent: str, facts: Mapping[str, int] | None = None) -> World:
        """The world after the policy team changes ``intent``'s rule: the next version, with ``facts`` or, by
        default, every fact moved to another of its choices (a 7-day return window becomes 15 days)."""
        current = self.policies[intent]
        rng = random.Random(f"world:{self.seed}:{intent}:v{current.version + 1}")
        if facts is not None and set(facts) != set(current.facts):
            raise ValueError(f"{intent} has facts {sorted(current.facts)}, not {sorted(facts)}")
        new_facts = current.with_other_facts(rng).facts if facts is None else MappingProxyType(dict(facts))
        return self._with(replace(current, version=current.version + 1, facts=new_facts))

    def with_new_service(self, intent: str = "trade_in") -> World:
        """The world after the shop launches a service customers could not ask about before."""
        if intent in self.policies:
            raise ValueError(f"{intent} is already in force")
        return self._with(_first_version(spec_for(intent), random.Random(f"world:{self.seed}:{intent}:v1")))

    def with_version(self, intent: str, version: int, facts: Mapping[str, int]) -> World:
        """The world with ``intent``'s rule as a published version states it (read back from the policy log)."""
        spec = self.policies[intent].spec if intent in self.policies else spec_for(intent)
        if set(facts) != set(spec.choices):
            raise ValueError(f"{intent} has facts {sorted(spec.choices)}, not {sorted(facts)}")
        return self._with(Policy(spec, version, MappingProxyType(dict(facts))))

    def _with(self, policy: Policy) -> World:
        return replace(self, policies=MappingProxyType({**self.policies, policy.intent: policy}))


def policy_update_event(policy: Policy, *, key: str, event_id: str, effective_at: datetime,
                        author: str = "policy-team") -> PolicyUpdate:
    """The signed event the policy team publishes for ``policy`` (``key``: ``Settings.policy_hmac_key``)."""
    update = PolicyUpdate(
        event_id=event_id, event_time=effective_at, policy_id=policy.policy_id, version=policy.version,
        intent=policy.intent, effective_at=effective_at, text={loc: policy.text(loc) for loc in LOCALES},
        facts=dict(policy.facts), examples=policy.examples(), author=author,
    )
    return sign(update, key)
