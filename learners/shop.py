"""The shop definition: one YAML file that says what a shop's customers ask and how the shop answers.

A shop has locales; intents (what customers ask about: a description, example questions per locale, a
reference answer per locale that may name facts as ``{slot}``, whether a human takes it); policies (the rules the
answers state: versioned, with an effective time, the rule's text per locale and optional typed facts); and
held-out evaluation questions that no training snapshot may hold. Everything in the learning and serving loop
reads this file and the policy log (``learners.rules``); nothing there knows where the file came from.

Every problem in a file is one ``FlywheelError`` naming the file, the line and the field, because the people who
write these files are not the people who read tracebacks.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from infra.errors import FlywheelError, first_line
from streams.events import Locale, Slug

FactName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)]
FactValue = StrictInt | StrictFloat | StrictStr  # a yes/no fact cannot be checked in an answer: say it in the text
Line = Annotated[str, Field(min_length=1, max_length=2000)]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""When a shop file's policy takes effect if it names no time: it is the shop's rule from the start."""

_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_SPACE = re.compile(r"\s+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntentSpec(_Strict):
    """Something customers ask about, and the reference answer to it."""

    id: Slug
    description: Line
    examples: dict[Locale, list[Line]] = Field(description="customer questions per locale: routing and training")
    answer: dict[Locale, Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        description="the reference answer per locale; {fact} slots take the values of the policy in force")
    handoff: bool = Field(False, description="a human agent answers this intent; the model is never asked")
    keywords: dict[Locale, list[Line]] = Field(
        default_factory=dict, description="words an answer about this intent names (optional: the judge's topic test)")
    weight: float = Field(1.0, gt=0, description="how often customers ask about it, relative to the others")


class PolicySpec(_Strict):
    """One rule as the policy team words it; a later version comes as a policy update on the policy topic."""

    id: Slug
    intent: Slug
    version: int = Field(1, ge=1)
    effective_at: AwareDatetime = EPOCH
    text: dict[Locale, Annotated[str, Field(min_length=1, max_length=4000)]]
    facts: dict[FactName, FactValue] = Field(default_factory=dict)


class HeldOutQuestion(_Strict):
    """An evaluation question in words no training snapshot may hold."""

    intent: Slug
    locale: Locale
    question: Line


class Shop(_Strict):
    name: Line
    locales: Annotated[list[Locale], Field(min_length=1)]
    intents: Annotated[list[IntentSpec], Field(min_length=1)]
    policies: list[PolicySpec] = Field(default_factory=list)
    held_out: list[HeldOutQuestion] = Field(default_factory=list)

    def fingerprint(self) -> str:
        """A hash of the shop's content: what the embedded base model and cached evaluations are keyed by."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()

    def intent(self, intent_id: str) -> IntentSpec | None:
        return next((i for i in self.intents if i.id == intent_id), None)


def slots(template: str) -> list[str]:
    """The fact names a reference answer leaves to the policy in force."""
    return _SLOT.findall(template)


def render(template: str, facts: Mapping[str, Any]) -> str:
    """``template`` with every ``{fact}`` slot filled; other braces stay as written. A missing fact is a
    ``KeyError`` naming it."""
    return _SLOT.sub(lambda m: format_fact(facts[m.group(1)]), template)


def format_fact(value: Any) -> str:
    """A fact as an answer states it: ``9.9``, ``30``, ``original payment method``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalize(text: str) -> str:
    """The form two questions are compared in: full-width folded (NFKC), case-folded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


# --- consistency --------------------------------------------------------------------------------------------


Loc = tuple[str | int, ...]


def problems(shop: Shop) -> Iterator[tuple[Loc, str]]:
    """What is wrong with a shop that parses: each problem with the path of the field at fault."""
    yield from _duplicates([("intents", n, "id", i.id) for n, i in enumerate(shop.intents)], "intent")
    yield from _duplicates([("policies", n, "id", p.id) for n, p in enumerate(shop.policies)], "policy")
    yield from _duplicates([("locales", n, "", loc) for n, loc in enumerate(shop.locales)], "locale")
    intents = {i.id: i for i in shop.intents}
    yield from _intent_problems(shop)
    governed: dict[str, int] = {}
    for n, policy in enumerate(shop.policies):
        if policy.intent not in intents:
            yield ("policies", n, "intent"), f"names intent {policy.intent!r}, which the shop does not have"
        elif policy.intent in governed:
            yield ("policies", n, "intent"), f"intent {policy.intent!r} already has policy " \
                                             f"{shop.policies[governed[policy.intent]].id!r} (one policy per intent)"
        else:
            governed[policy.intent] = n
        for locale in shop.locales:
            if locale not in policy.text:
                yield ("policies", n, "text"), f"has no {locale} text (the shop's locales are {shop.locales})"
    yield from _slot_problems(shop, {shop.policies[n].intent: shop.policies[n] for n in governed.values()})
    yield from _held_out_problems(shop, intents)


def _duplicates(entries: list[tuple[str, int, str, str]], what: str) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for section, n, field, value in entries:
        if value in seen:
            yield tuple(x for x in (section, n, field) if x != ""), f"duplicate {what} {value!r}"
        seen.add(value)


def _intent_problems(shop: Shop) -> Iterator[tuple[Loc, str]]:
    for n, intent in enumerate(shop.intents):
        for locale in shop.locales:
            if not intent.examples.get(locale):
                yield ("intents", n, "examples"), f"intent {intent.id!r} has no {locale} example question"
            if locale not in intent.answer:
                yield ("intents", n, "answer"), f"intent {intent.id!r} has no {locale} reference answer"
        for field, by_locale in (("examples", intent.examples), ("answer", intent.answer),
                                 ("keywords", intent.keywords)):
            for locale in by_locale:
                if locale not in shop.locales:
                    yield ("intents", n, field, locale), f"locale {locale!r} is not one of the shop's {shop.locales}"


def _slot_problems(shop: Shop, policies: Mapping[str, PolicySpec]) -> Iterator[tuple[Loc, str]]:
    for n, intent in enumerate(shop.intents):
        policy = policies.get(intent.id)
        declared = set(policy.facts) if policy else set()
        for locale, template in intent.answer.items():
            for slot in slots(template):
                if slot not in declared:
                    owner = f"policy {policy.id!r}" if policy else "no policy"
                    yield ("intents", n, "answer", locale), \
                        f"slot {{{slot}}} names a fact that {owner} of intent {intent.id!r} does not declare"


def _held_out_problems(shop: Shop, intents: Mapping[str, IntentSpec]) -> Iterator[tuple[Loc, str]]:
    examples = {normalize(q) for i in shop.intents for by_locale in i.examples.values() for q in by_locale}
    for n, held in enumerate(shop.held_out):
        if held.intent not in intents:
            yield ("held_out", n, "intent"), f"names intent {held.intent!r}, which the shop does not have"
        if held.locale not in shop.locales:
            yield ("held_out", n, "locale"), f"locale {held.locale!r} is not one of the shop's {shop.locales}"
        if normalize(held.question) in examples:
            yield ("held_out", n, "question"), "is also an example question: an evaluation question may not be " \
                                               "trained on"


# --- reading ------------------------------------------------------------------------------------------------


def load_shop(path: Path) -> Shop:
    """The shop ``path`` describes; any problem is one ``FlywheelError``: ``file:line: field: what is wrong``."""
    import yaml

    text = _read(path)
    try:
        doc, tree = yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise FlywheelError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or first_line(exc)}") from None
    if not isinstance(doc, dict):
        raise FlywheelError(f"{path}: a shop file holds one mapping with name, locales, intents, policies, held_out")
    try:
        shop = Shop.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise _located(path, tree, first["loc"], first["msg"]) from None
    for loc, message in problems(shop):
        raise _located(path, tree, loc, message)
    return shop


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlywheelError(f"no shop file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FlywheelError(f"{path}: cannot read it ({type(exc).__name__})") from None


def _located(path: Path, tree: Any, loc: Loc, message: str) -> FlywheelError:
    field = ".".join(str(part) for part in loc) or "<file>"
    return FlywheelError(f"{path}:{_line(tree, loc)}: {field}: {message}")


def _line(node: Any, loc: Loc) -> int:
    """The 1-based line of the YAML node at ``loc`` (of the deepest node on the way that exists)."""
    import yaml

    line = node.start_mark.line
    for part in loc:
        if isinstance(part, int) and isinstance(node, yaml.SequenceNode) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        elif isinstance(part, str) and isinstance(node, yaml.MappingNode) and \
                (pair := next(((k, v) for k, v in node.value if k.value == part), None)):
            line, node = pair[0].start_mark.line, pair[1]
        else:
            break
    return line + 1
