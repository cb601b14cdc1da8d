"""The embedded domain corpus: every question of a simulated shop, answered by its rules.

Two kinds of example teach the base model the two ways it is asked: *grounded* ones carry the rule's text in
the prompt, for every combination of fact values the rule can take, so the model learns to state what the
policy in the prompt says (which is how serving follows a rule change at once); *ungrounded* ones carry no
context and state the world's rule in force, the knowledge a refresh updates.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType

from learners.examples import Example
from simulator.world import LOCALES, Policy, World


def policy_examples(policy: Policy, *, grounded: bool, source: str = "corpus") -> list[Example]:
    """Every customer question about ``policy``, answered by it; with its text in the prompt if ``grounded``."""
    return [
        Example(question=q, answer=policy.answer(locale), intent=policy.intent, locale=locale,
                context=policy.text(locale) if grounded else None, policy_id=policy.policy_id,
                policy_version=policy.version, source=source, source_id=f"{policy.policy_id}:v{policy.version}")
        for locale in LOCALES for q in policy.questions(locale)
    ]


def fact_variants(policy: Policy) -> Iterable[Policy]:
    """``policy`` with every combination of fact values its spec allows (the rules it could become)."""
    names = list(policy.spec.choices)
    for values in itertools.product(*(policy.spec.choices[n] for n in names)):
        yield replace(policy, facts=MappingProxyType(dict(zip(names, values, strict=True))))


def world_corpus(world: World) -> list[Example]:
    """The base model's training set: grounded examples for every fact variant, ungrounded for the rule in force."""
    grounded = [ex for policy in world.policies.values() for variant in fact_variants(policy)
                for ex in policy_examples(variant, grounded=True)]
    ungrounded = [ex for policy in world.policies.values() for ex in policy_examples(policy, grounded=False)]
    return grounded + ungrounded
