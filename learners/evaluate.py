"""Evaluation of a model (the base, or the base with an adapter) on the rules in force.

Every customer question of the shop is asked twice, as serving asks it (the policy text in the prompt:
``grounded``) and from the model's own knowledge (no context: ``ungrounded``), and each greedy answer is
judged by ``simulator.facts.states_policy`` against the version in force. The questions come in two sets:
the shop's published phrasings (``bank``), which the corpus and every refresh train on, and ``held_out``
phrasings of the same questions that no snapshot may hold (``simulator.catalog``): the offline A/B gate
compares models on these alone. Both go through ``ask``, the mapping serving applies before the model sees a
question (with canonical questions on, the router's nearest published phrasing), so a held-out case tests
the served path on words nothing trained on. On top of that, for the bank: which intent the answer
addresses (the intent whose correct answer it is closest to, by ROUGE-L), ROUGE-L and BLEU against the
reference answer, perplexity of the reference answers, and two behaviour checks: the answers to changed
rules state the newest version, and a question that carries a customer's personal data never gets it back.
Per-case results are kept so a gate can compare two models on the same cases (a paired test).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from learners.prompt import prompt_text, training_ids
from learners.text_metrics import bleu, rouge_l
from simulator.customers import Customers, message
from simulator.facts import states_policy
from simulator.world import LOCALES, Policy, World
from streams.events import Locale
from streams.quality import PII_PATTERNS

_PII = re.compile("|".join(f"(?:{p})" for p in PII_PATTERNS.values()))


@dataclass(frozen=True)
class EvalCase:
    """One question, how it is asked, and the rule its answer must state."""

    question: str
    locale: Locale
    policy: Policy
    grounded: bool
    held_out: bool = False

    @property
    def context(self) -> str | None:
        return self.policy.text(self.locale) if self.grounded else None

    @property
    def reference(self) -> str:
        return self.policy.answer(self.locale)

    @property
    def case_id(self) -> str:
        return f"{self.policy.intent}:{self.locale}:{'g' if self.grounded else 'u'}:{self.question}"


class CaseResult(BaseModel):
    case_id: str
    intent: str
    locale: Locale
    grounded: bool
    held_out: bool
    correct: bool
    rouge_l: float
    answer: str  # the model's greedy answer (the drift gate compares two models' answers)


class EvalReport(BaseModel):
    """The numbers of one evaluation; ``cases`` lets a gate pair two reports case by case."""

    model: str
    world_policies: dict[str, int]  # intent -> version in force
    policy_accuracy: float  # grounded answers that state the rule in force (bank questions, as the rest)
    knowledge_accuracy: float  # ungrounded answers that state the rule in force
    held_out_policy_accuracy: float  # the same two on the held-out questions
    held_out_knowledge_accuracy: float
    held_out_cases: int
    accuracy_by_intent: dict[str, dict[str, float]]  # intent -> locale -> accuracy (grounded and ungrounded)
    policy_by_intent: dict[str, float]  # intent -> grounded accuracy
    knowledge_by_intent: dict[str, float]  # intent -> ungrounded accuracy
    newest_policy_accuracy: float | None  # over intents whose rule changed (version > 1)
    intent_accuracy: float
    rouge_l: float
    bleu: float
    perplexity: float
    pii_leak_rate: float
    pii_questions: int
    cases: list[CaseResult]

    def summary(self) -> dict[str, Any]:
        """The report without per-case rows: what the registry and ``--json`` show."""
        return self.model_dump(exclude={"cases"})


def world_cases(world: World) -> list[EvalCase]:
    """Every question of every rule in force, bank and held-out, grounded and ungrounded, in both languages."""
    return [EvalCase(q, locale, policy, grounded, held_out) for policy in world.policies.values()
            for locale in LOCALES for held_out in (False, True)
            for q in (policy.held_out(locale) if held_out else policy.questions(locale)) for grounded in (True, False)]


def evaluate(model: Any, tokenizer: Any, world: World, *, name: str, ask: Callable[[str], str] | None = None,
             pii_questions: int = 40, seed: int = 0) -> EvalReport:
    """Ask the model every case of ``world``, each question as ``ask`` maps it (default: as written), and score
    the answers (greedy decoding, no sampling)."""
    from learners.model import generate

    every, ask = world_cases(world), ask or (lambda question: question)
    replies = generate(model, tokenizer, [prompt_text(tokenizer, ask(c.question), c.context) for c in every])
    judged = [_judge(case, reply, world) for case, reply in zip(every, replies, strict=True)]
    bank = [(c, a, r) for c, a, r in zip(every, replies, judged, strict=True) if not c.held_out]
    cases, answers, results = [c for c, _, _ in bank], [a for _, a, _ in bank], [r for _, _, r in bank]
    held_out = [r for r in judged if r.held_out]
    grounded = [r.correct for r in results if r.grounded]
    ungrounded = [r.correct for r in results if not r.grounded]
    changed = [r.correct for r, c in zip(results, cases, strict=True) if c.policy.version > 1]
    return EvalReport(
        model=name,
        world_policies={p.intent: p.version for p in world.policies.values()},
        policy_accuracy=_mean(grounded),
        knowledge_accuracy=_mean(ungrounded),
        held_out_policy_accuracy=_mean([r.correct for r in held_out if r.grounded]),
        held_out_knowledge_accuracy=_mean([r.correct for r in held_out if not r.grounded]),
        held_out_cases=len(held_out),
        accuracy_by_intent=_by_intent_and_locale(results),
        policy_by_intent=_by_intent([r for r in results if r.grounded]),
        knowledge_by_intent=_by_intent([r for r in results if not r.grounded]),
        newest_policy_accuracy=_mean(changed) if changed else None,
        intent_accuracy=_mean([_answered_intent(a, c.locale, world) == c.policy.intent
                               for c, a in zip(cases, answers, strict=True)]),
        rouge_l=_mean([r.rouge_l for r in results]),
        bleu=bleu(answers, [c.reference for c in cases], [c.locale for c in cases]),
        perplexity=perplexity(model, tokenizer, cases),
        pii_leak_rate=pii_leak_rate(model, tokenizer, world, pii_questions, seed),
        pii_questions=pii_questions,
        cases=judged,
    )


def _judge(case: EvalCase, answer: str, world: World) -> CaseResult:
    return CaseResult(case_id=case.case_id, intent=case.policy.intent, locale=case.locale, grounded=case.grounded,
                      held_out=case.held_out, correct=states_policy(case.policy, answer),
                      rouge_l=rouge_l(answer, case.reference, case.locale), answer=answer)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _by_intent(results: Sequence[CaseResult]) -> dict[str, float]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        groups[r.intent].append(r.correct)
    return {intent: _mean(values) for intent, values in groups.items()}


def _by_intent_and_locale(results: Sequence[CaseResult]) -> dict[str, dict[str, float]]:
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        groups[r.intent][r.locale].append(r.correct)
    return {intent: {loc: _mean(v) for loc, v in by_locale.items()} for intent, by_locale in groups.items()}


def _answered_intent(answer: str, locale: Locale, world: World) -> str:
    """The intent whose correct answer ``answer`` is closest to: what the model understood was asked."""
    return max(world.policies.values(), key=lambda p: rouge_l(answer, p.answer(locale), locale)).intent


def perplexity(model: Any, tokenizer: Any, cases: Sequence[EvalCase]) -> float:
    """exp of the mean loss per reference-answer token, given each case's prompt."""
    import torch

    total_loss, total_tokens = 0.0, 0
    model.eval()
    with torch.no_grad():
        for case in cases:
            ids, prompt_len = training_ids(tokenizer, case.question, case.reference, case.context)
            input_ids = torch.tensor([ids], device=model.device)
            labels = input_ids.clone()
            labels[0, :prompt_len] = -100
            answer_tokens = len(ids) - prompt_len
            total_loss += model(input_ids=input_ids, labels=labels).loss.item() * answer_tokens
            total_tokens += answer_tokens
    return math.exp(total_loss / total_tokens)


def pii_leak_rate(model: Any, tokenizer: Any, world: World, n: int, seed: int) -> float:
    """Share of answers to questions carrying a customer's personal data that repeat any of it."""
    from learners.model import generate

    if n == 0:
        return 0.0
    rng, customers = random.Random(f"eval-pii:{seed}"), Customers(f"eval-pii:{seed}")
    asked = []
    for _ in range(n):
        policy = rng.choice(list(world.policies.values()))
        locale = rng.choice(LOCALES)
        customer = customers.draw(locale)
        text = message(rng.choice(policy.questions(locale)), locale, rng, customer).text
        asked.append((prompt_text(tokenizer, text, policy.text(locale)), set(customer.slots().values())))
    answers = generate(model, tokenizer, [prompt for prompt, _ in asked])
    leaks = [bool(_PII.search(a)) or any(v in a for v in values) for a, (_, values) in zip(answers, asked,
                                                                                          strict=True)]
    return _mean(leaks)


def world_in_force(settings: Any, at: datetime | None = None) -> World:
    """The simulated shop of ``settings.world_seed`` with every rule the policy log holds at ``at`` (default
    now): the policy team's published versions override the shop's day-one rules. A store nothing was written
    to yet gets its (empty) logs created, as ``flywheel features apply`` would, and gives the day-one world."""
    from contextlib import closing

    from features.config import store_config
    from features.log import open_log
    from features.tables import POLICY_LOG

    world = World.create(settings.world_seed)
    with closing(open_log(store_config(settings))) as offline:
        offline.create()
        rows = offline.read(POLICY_LOG, datetime(1970, 1, 1, tzinfo=UTC), at or datetime.now(UTC), []).to_pylist()
    for row in sorted(rows, key=lambda r: r["version"]):
        world = world.with_version(row["intent"], row["version"], json.loads(row["facts"]))
    return world
