"""The rules in force: the shop file overlaid with every policy version the policy team published since.

The shop file (``FLYWHEEL_SHOP``, ``learners.shop``) says what customers ask and how each intent is answered on
day one; the policy log (written by the stream workers from signed ``PolicyUpdate`` events) holds every version
published after. ``Rules`` is the two read together as of a moment: per intent, the questions customers ask
(the shop's examples and every published example), its held-out evaluation questions, the reference answer
rendered with the facts in force, and the policy version in force. An update for an intent the shop does not have
is a new service: it becomes an intent of its own, routed, grounded, evaluated and trained on like the others.

The corpus, the refresh, the evaluation, the gates, the router and the FAQ tier all read this, so a published
rule reaches every one of them with no code change and no restart.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from learners.shop import EPOCH, IntentSpec, PolicySpec, Shop, load_shop, normalize, render, slots
from streams.events import Locale, PolicyExample, PolicyQuestion, PolicyUpdate

if TYPE_CHECKING:
    from infra.settings import Settings
    from learners.intents import IntentModel

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True)
class PolicyVersion:
    """One version of one policy: the shop file's day-one rule, or a version read back from the policy log."""

    policy_id: str
    version: int
    intent: str
    effective_at: datetime
    text: Mapping[Locale, str]
    facts: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    examples: tuple[PolicyExample, ...] = ()  # the Q/A published with this version
    held_out: tuple[PolicyQuestion, ...] = ()

    @classmethod
    def from_spec(cls, spec: PolicySpec) -> PolicyVersion:
        return cls(spec.id, spec.version, spec.intent, spec.effective_at, MappingProxyType(dict(spec.text)),
                   MappingProxyType(dict(spec.facts)))

    @classmethod
    def from_update(cls, update: PolicyUpdate) -> PolicyVersion:
        return cls(update.policy_id, update.version, update.intent, update.effective_at,
                   MappingProxyType(dict(update.text)), MappingProxyType(dict(update.facts)), tuple(update.examples),
                   tuple(update.held_out))

    @classmethod
    def from_log_row(cls, row: Mapping[str, Any]) -> PolicyVersion:
        """A row of the policy log (``features.tables.POLICY_LOG``) as a version."""
        examples = tuple(PolicyExample.model_validate(e) for e in json.loads(row.get("examples") or "[]"))
        held_out = tuple(PolicyQuestion.model_validate(q) for q in json.loads(row.get("held_out") or "[]"))
        effective_at = row["event_timestamp"]
        if hasattr(effective_at, "to_pydatetime"):
            effective_at = effective_at.to_pydatetime()
        return cls(row["policy_id"], int(row["version"]), row["intent"], effective_at,
                   MappingProxyType(json.loads(row["text"])), MappingProxyType(json.loads(row["facts"] or "{}")),
                   examples, held_out)

    def published_answer(self, locale: Locale) -> str | None:
        """The answer published with this version's first example in ``locale``, if any."""
        return next((e.answer for e in self.examples if e.locale == locale), None)


@dataclass(frozen=True)
class Rule:
    """One intent as it stands: what customers ask, how it is answered, and the policy version in force."""

    intent: str
    description: str
    examples: Mapping[Locale, tuple[str, ...]]
    answers: Mapping[Locale, str]  # the shop's reference answer templates: ``{fact}`` slots take the facts in force
    policy: PolicyVersion | None = None
    held_out_questions: Mapping[Locale, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    handoff: bool = False
    keywords: Mapping[Locale, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    weight: float = 1.0

    @classmethod
    def from_spec(cls, spec: IntentSpec, policy: PolicyVersion | None,
                  held_out: Mapping[Locale, tuple[str, ...]]) -> Rule:
        return cls(spec.id, spec.description, _frozen({k: tuple(v) for k, v in spec.examples.items()}),
                   MappingProxyType(dict(spec.answer)), policy, _frozen(held_out), spec.handoff,
                   _frozen({k: tuple(v) for k, v in spec.keywords.items()}), spec.weight)

    @classmethod
    def from_update(cls, policy: PolicyVersion) -> Rule:
        """A new service: the intent a policy update brings, with the questions published with it; its reference
        answer is the answer published with the version in force (it has no template of its own)."""
        return cls(policy.intent, f"published with policy {policy.policy_id}", _questions(policy.examples),
                   _EMPTY, policy, _questions(policy.held_out))

    @property
    def policy_id(self) -> str | None:
        return self.policy.policy_id if self.policy else None

    @property
    def version(self) -> int | None:
        return self.policy.version if self.policy else None

    @property
    def facts(self) -> Mapping[str, Any]:
        return self.policy.facts if self.policy else _EMPTY

    @property
    def locales(self) -> tuple[Locale, ...]:
        """The languages it is asked and answered in."""
        return tuple(locale for locale, questions in self.examples.items() if questions and self._answerable(locale))

    def _answerable(self, locale: Locale) -> bool:
        return locale in self.answers or bool(self.policy and (self.policy.published_answer(locale)
                                                               or self.text(locale)))

    def text(self, locale: Locale) -> str | None:
        """The policy's text in ``locale``: what grounds an answer (None when no policy or no such text)."""
        return self.policy.text.get(locale) if self.policy else None

    def answer(self, locale: Locale) -> str:
        """The reference answer by the rule in force: the shop's template with the facts in force; for a service
        a policy update launched, or a version that dropped a fact the template names, the answer published with
        the version, else its text."""
        template = self.answers.get(locale)
        if template is not None and set(slots(template)) <= set(self.facts):
            return render(template, self.facts)
        published = self.policy.published_answer(locale) or self.text(locale) if self.policy else None
        return published or template or next(iter(self.answers.values()), "")

    def questions(self, locale: Locale) -> tuple[str, ...]:
        return self.examples.get(locale, ())

    def held_out(self, locale: Locale) -> tuple[str, ...]:
        return self.held_out_questions.get(locale, ())

    def with_policy(self, policy: PolicyVersion) -> Rule:
        """This intent under ``policy``; the questions published with it join the ones customers already ask."""
        return replace(self, policy=policy, examples=_merged(self.examples, _questions(policy.examples)),
                       held_out_questions=_merged(self.held_out_questions, _questions(policy.held_out)))


@dataclass(frozen=True)
class Rules:
    """The shop's rules as of one moment, by intent."""

    name: str
    locales: tuple[Locale, ...]
    rules: Mapping[str, Rule]
    shop_fingerprint: str = ""
    applied: tuple[tuple[str, int], ...] = field(default=())  # (policy_id, version) read from the policy log

    @classmethod
    def from_shop(cls, shop: Shop) -> Rules:
        policies = {p.intent: PolicyVersion.from_spec(p) for p in shop.policies}
        held_out: dict[str, dict[Locale, list[str]]] = {}
        for question in shop.held_out:
            held_out.setdefault(question.intent, {}).setdefault(question.locale, []).append(question.question)
        rules = {i.id: Rule.from_spec(i, policies.get(i.id), {k: tuple(v) for k, v in held_out.get(i.id, {}).items()})
                 for i in shop.intents}
        return cls(shop.name, tuple(shop.locales), MappingProxyType(rules), shop.fingerprint())

    def __getitem__(self, intent: str) -> Rule:
        return self.rules[intent]

    @property
    def intents(self) -> tuple[str, ...]:
        return tuple(self.rules)

    @property
    def answered(self) -> list[Rule]:
        """The rules the model answers (handoff intents go to a human before the model is asked)."""
        return [rule for rule in self.rules.values() if not rule.handoff]

    def apply(self, policy: PolicyVersion) -> Rules:
        """The rules after ``policy`` takes effect: it governs its intent unless a newer version of the same
        policy already does; an intent the shop does not have arrives with it."""
        current = self.rules.get(policy.intent)
        if current is None:
            rule = Rule.from_update(policy)
        elif current.policy is None or current.policy_id != policy.policy_id or policy.version >= current.version:
            rule = current.with_policy(policy)
        else:
            return self
        return replace(self, rules=MappingProxyType({**self.rules, policy.intent: rule}),
                       applied=(*self.applied, (policy.policy_id, policy.version)))

    def apply_all(self, policies: Iterable[PolicyVersion]) -> Rules:
        rules = self
        for policy in sorted(policies, key=lambda p: (p.effective_at, p.version)):
            rules = rules.apply(policy)
        return rules

    def held_out_keys(self) -> frozenset[str]:
        """Every held-out question, normalized: what no training snapshot may hold."""
        return frozenset(normalize(q) for rule in self.rules.values() for questions in rule.held_out_questions.values()
                         for q in questions)

    def versions(self) -> dict[str, int | None]:
        """intent -> version in force (None: no policy): what an evaluation was made on."""
        return {intent: rule.version for intent, rule in self.rules.items()}


def _frozen(by_locale: Mapping[Locale, Any]) -> Mapping[Locale, Any]:
    return MappingProxyType(dict(by_locale))


def _questions(items: Sequence[PolicyExample | PolicyQuestion]) -> Mapping[Locale, tuple[str, ...]]:
    grouped: dict[Locale, list[str]] = {}
    for item in items:
        grouped.setdefault(item.locale, []).append(item.question)
    return _frozen({locale: tuple(questions) for locale, questions in grouped.items()})


def _merged(current: Mapping[Locale, tuple[str, ...]],
            added: Mapping[Locale, tuple[str, ...]]) -> Mapping[Locale, tuple[str, ...]]:
    """``current`` with the questions of ``added`` it does not hold yet (compared normalized), in order."""
    merged = {locale: list(questions) for locale, questions in current.items()}
    for locale, questions in added.items():
        known = {normalize(q) for q in merged.setdefault(locale, [])}
        for question in questions:
            if normalize(question) not in known:
                known.add(normalize(question))
                merged[locale].append(question)
    return _frozen({locale: tuple(questions) for locale, questions in merged.items()})


# --- reading ------------------------------------------------------------------------------------------------


def shop_rules(settings: Settings) -> Rules:
    """The shop file's own rules, before anything was published: what the embedded base model learns."""
    return Rules.from_shop(cached_shop(Path(settings.shop)))


def cached_shop(path: Path) -> Shop:
    """The shop at ``path``, read again only when the file changed (serving re-reads the rules every few seconds)."""
    resolved = path.resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return load_shop(path)  # the one clear error about the missing file
    return _load(resolved, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: Path, _mtime_ns: int, _size: int) -> Shop:
    return load_shop(path)


def read_policy_log(settings: Settings, end: datetime | None = None) -> list[PolicyVersion]:
    """Every version in the policy log in force before ``end`` (default: now). A store nothing was written to yet
    gets its (empty) logs created, as ``flywheel features apply`` would."""
    from contextlib import closing
    from datetime import UTC

    from features.config import store_config
    from features.log import open_log
    from features.tables import POLICY_LOG

    with closing(open_log(store_config(settings))) as offline:
        offline.create()
        rows = offline.read(POLICY_LOG, EPOCH, end or datetime.now(UTC), []).to_pylist()
    return [PolicyVersion.from_log_row(row) for row in rows]


def rules_in_force(settings: Settings, at: datetime | None = None) -> Rules:
    """The shop's rules with every version the policy log holds at ``at`` (default: now)."""
    return shop_rules(settings).apply_all(read_policy_log(settings, at))


def train_router(rules: Rules) -> IntentModel | None:
    """The intent tier trained on every rule's example questions (None while fewer than two intents have any):
    what serving routes customers with, and what the refresh reads a dialog's intent with when the chat platform
    recorded none."""
    from learners.intents import train_intents

    pairs = [(q, rule.intent) for rule in rules.rules.values() for questions in rule.examples.values()
             for q in questions]
    if len({intent for _, intent in pairs}) < 2:
        return None
    return train_intents([q for q, _ in pairs], [intent for _, intent in pairs])


def describe(rules: Rules) -> dict[str, Any]:
    """The rules as ``flywheel shop show --json`` prints them: per intent its policy in force, the reference
    answers by it, and its questions."""
    return {"name": rules.name, "locales": list(rules.locales), "shop_fingerprint": rules.shop_fingerprint,
            "published": [{"policy_id": p, "version": v} for p, v in rules.applied],
            "intents": [{"intent": r.intent, "description": r.description, "handoff": r.handoff,
                         "policy_id": r.policy_id, "version": r.version, "facts": dict(r.facts),
                         "text": dict(r.policy.text) if r.policy else {},
                         "answer": {locale: r.answer(locale) for locale in r.locales},
                         "examples": [q for questions in r.examples.values() for q in questions],
                         "held_out": [q for questions in r.held_out_questions.values() for q in questions]}
                        for r in rules.rules.values()]}
