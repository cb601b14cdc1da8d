"""A simulated shop: the rules of a shop file, the services it may launch, and how its rules change.

The simulator reads a shop the way the product does (``learners.rules``): the shop file says what customers ask
and how each intent is answered; the policy update files in ``services/`` beside it are the services the shop
can launch during a run. A world is immutable: a policy change returns a new world, which lets the traffic, the
oracle and the demo's report compare the rule in force with the one before it. The seed only decides how rules
change (a 7-day return window becomes 14 days), never the shop itself.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple

from infra.errors import FlywheelError
from infra.settings import DEMO_SHOP
from learners.rules import PolicyVersion, Rule, Rules, cached_shop
from learners.shop import EPOCH
from learners.variants import changed_facts, with_facts
from streams.events import Locale, PolicyExample, PolicyUpdate
from streams.signing import Signer

LocaleMode = Literal["zh", "en", "mixed"]
SERVICES_DIR = "services"


def pick_locale(rng: random.Random, mode: LocaleMode, locales: tuple[Locale, ...] = ("zh", "en")) -> Locale:
    """The language of the next customer: the one asked for, or any of ``locales`` at even odds when mixed."""
    return rng.choice(locales) if mode == "mixed" else mode


class QA(NamedTuple):
    question: str
    answer: str
    intent: str
    locale: Locale


def shop_services(shop: Path) -> dict[str, PolicyUpdate]:
    """The services the shop can launch: each ``services/*.yaml|json`` beside the shop file, by intent."""
    from streams.policy_file import SUFFIXES, read_policy_file

    folder = shop.parent / SERVICES_DIR
    files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES) if folder.is_dir() else []
    return {update.intent: update for update in (read_policy_file(p, EPOCH) for p in files)}


@dataclass(frozen=True)
class World:
    """The rules in force, the services not launched yet, and the seed of every change."""

    seed: int
    rules: Rules
    services: Mapping[str, PolicyUpdate]

    @classmethod
    def create(cls, seed: int, shop: Path = DEMO_SHOP) -> World:
        """The shop of ``shop`` on day one."""
        return cls(seed, Rules.from_shop(cached_shop(shop)), MappingProxyType(shop_services(shop)))

    def __getitem__(self, intent: str) -> Rule:
        return self.rules.rules[intent]

    @property
    def intents(self) -> tuple[str, ...]:
        return self.rules.intents

    @property
    def locales(self) -> tuple[Locale, ...]:
        return self.rules.locales

    def questions(self, intent: str, locale: Locale) -> tuple[str, ...]:
        return self[intent].questions(locale)

    def answer(self, intent: str, locale: Locale) -> str:
        """The correct reply, by the rule in force."""
        return self[intent].answer(locale)

    def corpus(self) -> list[QA]:
        """Every (question, correct answer) pair of the world, every locale: the FAQ and the training set."""
        return [QA(q, rule.answer(locale), rule.intent, locale)
                for rule in self.rules.rules.values() for locale in rule.locales for q in rule.questions(locale)]

    def changeable(self) -> tuple[str, ...]:
        """The intents whose rule the simulator can change (a policy text that states a number), most asked first."""
        rules = [r for r in self.rules.answered if other_version(r, random.Random(0)) is not None]
        return tuple(r.intent for r in sorted(rules, key=lambda r: -r.weight))

    def with_rule_change(self, intent: str, facts: Mapping[str, int | float | str] | None = None) -> World:
        """The world after the policy team changes ``intent``'s rule: the next version, with ``facts`` or, by
        default, every numeric fact moved to another plausible value (a 7-day return window becomes 14 days)."""
        rule = self[intent]
        if rule.policy is None:
            raise FlywheelError(f"intent {intent} has no policy to change")
        if facts is not None and set(facts) != set(rule.facts):
            raise ValueError(f"{intent} has facts {sorted(rule.facts)}, not {sorted(facts)}")
        rng = random.Random(f"world:{self.seed}:{intent}:v{rule.version + 1}")
        policy = with_facts(rule.policy, facts if facts is not None else changed_facts(rule.policy, rng))
        if policy is None:
            raise FlywheelError(f"the policy text of {intent} does not state its facts in digits: cannot change it")
        changed = replace(rule, policy=replace(policy, version=rule.policy.version + 1))
        return replace(self, rules=self.rules.apply(_published(changed)))

    def with_new_service(self, intent: str) -> World:
        """The world after the shop launches a service customers could not ask about before."""
        if intent in self.rules.rules:
            raise ValueError(f"{intent} is already in force")
        if intent not in self.services:
            raise FlywheelError(f"the shop has no service {intent!r} to launch (its services: "
                                f"{', '.join(self.services) or 'none'})")
        return replace(self, rules=self.rules.apply(PolicyVersion.from_update(self.services[intent])))


def _published(rule: Rule) -> PolicyVersion:
    """``rule``'s policy as the policy team publishes it: with every question answered by the new version."""
    examples = tuple(PolicyExample(locale=locale, question=q, answer=rule.answer(locale))
                     for locale in rule.locales for q in rule.questions(locale))
    return replace(rule.policy, examples=examples)


def other_version(rule: Rule, rng: random.Random) -> Rule | None:
    """``rule`` stating other fact values: an answer by a rule that is not the one in force (None: no numeric fact
    to move)."""
    if rule.policy is None:
        return None
    policy = with_facts(rule.policy, changed_facts(rule.policy, rng))
    return replace(rule, policy=policy) if policy is not None and policy.facts != rule.facts else None


def policy_update_event(rule: Rule, *, signer: Signer, event_id: str, effective_at: datetime,
                        author: str = "policy-team") -> PolicyUpdate:
    """The signed event the policy team publishes for ``rule``'s policy: its text and facts, every question
    answered by it, and the held-out questions published with it (``signer``: ``streams.signing.signer``)."""
    policy = rule.policy
    if policy is None:
        raise ValueError(f"intent {rule.intent} has no policy to publish")
    update = PolicyUpdate(
        event_id=event_id, event_time=effective_at, policy_id=policy.policy_id, version=policy.version,
        intent=rule.intent, effective_at=effective_at, text=dict(policy.text), facts=dict(policy.facts),
        examples=[PolicyExample(locale=locale, question=q, answer=rule.answer(locale))
                  for locale in rule.locales for q in rule.questions(locale)],
        held_out=list(policy.held_out), author=author,
    )
    return signer.sign(update)
