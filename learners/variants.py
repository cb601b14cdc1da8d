"""Other values a rule's facts could take, and the rule's text restated with them.

A model that answers from the policy text in its prompt must read the facts from that text, not recall the ones
it was trained on, or a rule change would wait for the next refresh. The embedded corpus therefore shows every rule
under other values: the round numbers a shop would move it to (``alternatives``: a 7-day return window also as 2,
5, 9, 14, 20 or 28 days), which are also the values the simulator changes rules to. The text is restated by
replacing the value's digits where they stand as a whole number, so the policy team's wording is kept; a text
that does not write a value in digits gets no variant. (Random values drawn per question, which no model can
learn by heart, were tried: the 3 M-parameter embedded model then read neither those nor others reliably, see
README, "Your own shop".)
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from learners.rules import PolicyVersion
from learners.shop import format_fact

LADDER = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 18, 20, 24, 25, 28, 30, 35, 36, 40, 45, 48, 50, 59, 60, 72,
          80, 88, 90, 99, 100, 120, 150, 180, 199, 200, 240, 250, 300, 360, 365, 400, 500, 600, 800, 1000, 1200,
          1500, 2000, 2500, 3000, 5000, 10000)
_SCALES = (0.5, 0.7, 0.8, 1.2, 1.5, 2.0, 3.0)


def nearby(value: int | float) -> list[int | float]:
    """The values a rule at ``value`` could plausibly take instead, smallest first, never ``value`` itself: round
    numbers within a factor of four of an integer, scaled amounts of a decimal."""
    if isinstance(value, bool) or value <= 0:
        return []
    if isinstance(value, int) or float(value).is_integer():
        return [v for v in LADDER if value / 4 <= v <= value * 4 and v != value]
    decimals = len(repr(float(value)).split(".")[1])
    return sorted({round(value * s, decimals) for s in _SCALES} - {value, 0})


def alternatives(value: int | float, count: int, taken: frozenset = frozenset()) -> list[int | float]:
    """``count`` of the ``nearby`` values not in ``taken``, spread evenly from the smallest to the largest (all
    when fewer)."""
    near = [v for v in nearby(value) if v not in taken]
    if len(near) <= count:
        return near
    return [near[round(n * (len(near) - 1) / (count - 1))] for n in range(count)] if count > 1 else near[:1]


def fact_options(policy: PolicyVersion, count: int) -> dict[str, list[int | float]]:
    """Each numeric fact's ``alternatives``, no value shared between two facts of the policy (nor with a value in
    force), so a text never states one fact with a value another fact takes elsewhere."""
    numeric = {name: value for name, value in policy.facts.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    taken, options = set(numeric.values()), {}
    for name, value in numeric.items():
        options[name] = alternatives(value, count, frozenset(taken))
        taken |= set(options[name])
    return {name: values for name, values in options.items() if values}


def number_pattern(value: int | float) -> re.Pattern[str]:
    """``value``'s digits standing as a whole number (not inside "17", "7.5" or "2.7")."""
    return re.compile(rf"(?<![\d.]){re.escape(format_fact(value))}(?!\.?\d)")


def restate(text: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """``text`` with each changed numeric fact's value replaced by the new one; None when a changed value is not
    written in digits in the text, or two changed facts share a value (which one a digit means is unknown)."""
    changed = {name: value for name, value in new.items() if old.get(name) != value}
    olds = [old[name] for name in changed]
    if len({format_fact(v) for v in olds}) != len(olds):
        return None
    marked = text
    for n, name in enumerate(changed):
        pattern = number_pattern(old[name])
        if not pattern.search(marked):
            return None
        marked = pattern.sub(f"\x00{n}\x00", marked)
    for n, name in enumerate(changed):
        marked = marked.replace(f"\x00{n}\x00", format_fact(changed[name]))
    return marked


def with_facts(policy: PolicyVersion, facts: Mapping[str, Any]) -> PolicyVersion | None:
    """``policy`` stating ``facts`` instead of its own, in every locale whose text can be restated (None: none)."""
    texts = {locale: restate(text, policy.facts, facts) for locale, text in policy.text.items()}
    kept = {locale: text for locale, text in texts.items() if text is not None}
    if not kept:
        return None
    return replace(policy, text=MappingProxyType(kept), facts=MappingProxyType(dict(facts)), examples=(),
                   held_out=())


def fact_variants(policy: PolicyVersion, count: int) -> list[PolicyVersion]:
    """Up to ``count`` variants of ``policy``, the n-th with every numeric fact at the n-th of its ``fact_options``,
    restated in its text; fewer when its facts have fewer options."""
    options = fact_options(policy, count)
    if not options:
        return []
    variants = []
    for n in range(max(len(values) for values in options.values())):
        facts = {**policy.facts, **{name: values[n % len(values)] for name, values in options.items()}}
        variant = with_facts(policy, facts)
        if variant is not None:
            variants.append(variant)
    return variants


def changed_facts(policy: PolicyVersion, rng: random.Random, count: int = 6) -> dict[str, Any]:
    """The facts of a changed rule: one of its ``count`` ``fact_variants``, the round numbers near the values in
    force that a shop would move them to (the rule itself when it has none)."""
    variants = fact_variants(policy, count)
    return dict(rng.choice(variants).facts) if variants else dict(policy.facts)
