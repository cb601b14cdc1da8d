"""The domain corpus of a shop: every customer question of its rules, answered by them.

Two kinds of example teach a model the two ways it is asked: *grounded* ones carry the policy text in the prompt,
for the rule in force and for ``VARIANTS`` other values of its facts (``learners.variants``), so the model learns
to state what the policy in its prompt says (which is how serving follows a rule change at once); *ungrounded*
ones carry no context and state the rule in force, the knowledge a refresh updates. An intent without a policy
has only ungrounded examples (its reference answer); handoff intents have none, since a human answers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from learners.examples import Example
from learners.rules import Rule, Rules
from learners.variants import fact_variants

VARIANTS = 6
"""Other values of its facts every grounded question is shown with."""


def rule_examples(rule: Rule, *, grounded: bool, source: str = "corpus") -> list[Example]:
    """Every customer question of ``rule``, answered by it; with the policy text in the prompt if ``grounded``
    (only in the locales the policy has a text for)."""
    source_id = f"{rule.policy_id}:v{rule.version}" if rule.policy else f"intent:{rule.intent}"
    return [
        Example(question=q, answer=rule.answer(locale), intent=rule.intent, locale=locale,
                context=rule.text(locale) if grounded else None, policy_id=rule.policy_id,
                policy_version=rule.version, source=source, source_id=source_id)
        for locale in rule.locales if not grounded or rule.text(locale) for q in rule.questions(locale)
    ]


def variants(rule: Rule, count: int = VARIANTS) -> Iterable[Rule]:
    """``rule`` under its policy in force and under ``count`` variants of it with other fact values."""
    yield rule
    if rule.policy is not None:
        for policy in fact_variants(rule.policy, count):
            yield replace(rule, policy=policy)


def grounded_cases(rule: Rule, count: int = VARIANTS) -> list[tuple[Rule, Example]]:
    """Every question of ``rule`` grounded in its policy in force and in each of ``count`` variants, with the
    rule (variant) its answer states."""
    return [(variant, example) for variant in variants(rule, count)
            for example in rule_examples(variant, grounded=True)]


def shop_corpus(rules: Rules) -> list[Example]:
    """The base model's training set: every rule the model answers, grounded under its policy and its fact
    variants, and ungrounded for the rule in force."""
    grounded = [ex for rule in rules.answered if rule.policy for _, ex in grounded_cases(rule)]
    ungrounded = [ex for rule in rules.answered for ex in rule_examples(rule, grounded=False)]
    return grounded + ungrounded
