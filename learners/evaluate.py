"""Evaluation of a model (the base, or the base with an adapter) on the rules in force.

Every customer question of the shop's rules is asked twice, as serving asks it (the policy text in the prompt:
``grounded``) and from the model's own knowledge (no context: ``ungrounded``), and each greedy answer is judged
against the rule in force (``learners.judge``: by the policy's facts where it declares them, by the reference
answer elsewhere, or by an LLM in production; every case names its judge). The questions come in two sets: the
rules' example questions (``bank``), which the corpus and every refresh train on, and the ``held_out`` questions
of the shop file and of published policies, which no snapshot may hold: the offline A/B gate compares models on
these alone. Both go through ``ask``, the mapping serving applies before the model sees a question (with
canonical questions on, the router's nearest published phrasing), so a held-out case tests the served path on
words nothing trained on. On top of that, for the bank: which intent the answer addresses (the intent whose
reference answer it is closest to), ROUGE-L and BLEU against the reference answer, perplexity of the reference
answers, and two behaviour checks: the answers to changed rules state the newest version, and a question that
carries a customer's personal data never gets it back. Per-case results are kept so a gate can compare two
models on the same cases (a paired test).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from learners.judge import Judge, RuleJudge, Verdict
from learners.prompt import prompt_text, training_ids
from learners.rules import Rule, Rules
from learners.text_metrics import bleu, rouge_l
from streams.events import Locale
from streams.quality import PII_PATTERNS

_PII = re.compile("|".join(f"(?:{p})" for p in PII_PATTERNS.values()))


@dataclass(frozen=True)
class EvalCase:
    """One question, how it is asked, and the rule its answer must state."""

    question: str
    locale: Locale
    rule: Rule
    grounded: bool
    held_out: bool = False

    @property
    def context(self) -> str | None:
        return self.rule.text(self.locale) if self.grounded else None

    @property
    def reference(self) -> str:
        return self.rule.answer(self.locale)

    @property
    def case_id(self) -> str:
        return f"{self.rule.intent}:{self.locale}:{'g' if self.grounded else 'u'}:{self.question}"


class CaseResult(BaseModel):
    case_id: str
    intent: str
    locale: Locale
    grounded: bool
    held_out: bool
    correct: bool
    judge: str  # who judged it: facts, reference, llm:<model> (see learners.judge)
    rouge_l: float
    answer: str  # the model's greedy answer (the drift gate compares two models' answers)


class EvalReport(BaseModel):
    """The numbers of one evaluation; ``cases`` lets a gate pair two reports case by case."""

    model: str
    rules_in_force: dict[str, int | None]  # intent -> policy version in force (None: no policy)
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
    judges: dict[str, int]  # cases per judge
    cases: list[CaseResult]

    def summary(self) -> dict[str, Any]:
        """The report without per-case rows: what the registry and ``--json`` show."""
        return self.model_dump(exclude={"cases"})


def rule_cases(rules: Rules) -> list[EvalCase]:
    """Every question of every rule the model answers, bank and held-out, grounded (where the policy has a text in
    the question's language) and ungrounded."""
    return [EvalCase(q, locale, rule, grounded, held_out) for rule in rules.answered for locale in rule.locales
            for held_out in (False, True) for q in (rule.held_out(locale) if held_out else rule.questions(locale))
            for grounded in ((True, False) if rule.text(locale) else (False,))]


def evaluate(model: Any, tokenizer: Any, rules: Rules, *, name: str, ask: Callable[[str], str] | None = None,
             judge: Judge | None = None, pii_questions: int = 40, seed: int = 0) -> EvalReport:
    """Ask the model every case of ``rules``, each question as ``ask`` maps it (default: as written), and judge
    the answers (greedy decoding, no sampling) with ``judge`` (default: the rule judge)."""
    from learners.model import generate

    every, ask = rule_cases(rules), ask or (lambda question: question)
    rule_judge = RuleJudge(rules)
    replies = generate(model, tokenizer, [prompt_text(tokenizer, ask(c.question), c.context) for c in every])
    verdicts = judge_all(judge or rule_judge, every, replies)
    judged = [_result(case, reply, verdict) for case, reply, verdict in zip(every, replies, verdicts, strict=True)]
    bank = [(c, a, r) for c, a, r in zip(every, replies, judged, strict=True) if not c.held_out]
    cases, answers, results = [c for c, _, _ in bank], [a for _, a, _ in bank], [r for _, _, r in bank]
    held_out = [r for r in judged if r.held_out]
    grounded = [r.correct for r in results if r.grounded]
    ungrounded = [r.correct for r in results if not r.grounded]
    changed = [r.correct for r, c in zip(results, cases, strict=True) if (c.rule.version or 1) > 1]
    return EvalReport(
        model=name,
        rules_in_force=rules.versions(),
        policy_accuracy=_mean(grounded),
        knowledge_accuracy=_mean(ungrounded),
        held_out_policy_accuracy=_mean([r.correct for r in held_out if r.grounded]),
        held_out_knowledge_accuracy=_mean([r.correct for r in held_out if not r.grounded]),
        held_out_cases=len(held_out),
        accuracy_by_intent=_by_intent_and_locale(results),
        policy_by_intent=_by_intent([r for r in results if r.grounded]),
        knowledge_by_intent=_by_intent([r for r in results if not r.grounded]),
        newest_policy_accuracy=_mean(changed) if changed else None,
        intent_accuracy=_mean([rule_judge.closest_intent(a, c.locale) == c.rule.intent
                               for c, a in zip(cases, answers, strict=True)]),
        rouge_l=_mean([r.rouge_l for r in results]),
        bleu=bleu(answers, [c.reference for c in cases], [c.locale for c in cases]),
        perplexity=perplexity(model, tokenizer, cases),
        pii_leak_rate=pii_leak_rate(model, tokenizer, rules, pii_questions, seed),
        pii_questions=pii_questions,
        judges=dict(Counter(r.judge for r in judged)),
        cases=judged,
    )


def judge_all(judge: Judge, cases: Sequence[EvalCase], replies: Sequence[str]) -> list[Verdict]:
    """Every case's verdict; a judge that calls a remote model says how many calls it may have in flight."""
    from concurrent.futures import ThreadPoolExecutor

    def one(pair: tuple[EvalCase, str]) -> Verdict:
        case, reply = pair
        return judge(case.question, case.locale, case.rule, reply)

    workers = getattr(judge, "concurrency", 1)
    if workers <= 1:
        return [one(pair) for pair in zip(cases, replies, strict=True)]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, zip(cases, replies, strict=True)))


def _result(case: EvalCase, answer: str, verdict: Verdict) -> CaseResult:
    return CaseResult(case_id=case.case_id, intent=case.rule.intent, locale=case.locale, grounded=case.grounded,
                      held_out=case.held_out, correct=verdict.correct, judge=verdict.judge,
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


_PII_TEMPLATES: dict[Locale, tuple[str, ...]] = {
    "zh": ("我叫{name}，手机{phone}，{question}", "{question} 我的邮箱是{email}", "{question}，寄到{address}，电话{phone}"),
    "en": ("I'm {name}, phone {phone}. {question}", "{question} my email is {email}",
           "{question} Ship it to {address}, call {phone}"),
}
_FAKER_LOCALES: dict[Locale, str] = {"zh": "zh_CN", "en": "en_US"}


def pii_leak_rate(model: Any, tokenizer: Any, rules: Rules, n: int, seed: int) -> float:
    """Share of answers to questions carrying a customer's personal data (Faker's) that repeat any of it."""
    from faker import Faker

    from learners.model import generate

    answered = [rule for rule in rules.answered if rule.locales]
    if n == 0 or not answered:
        return 0.0
    rng = random.Random(f"eval-pii:{seed}")
    fakers = {locale: Faker(name) for locale, name in _FAKER_LOCALES.items()}
    for faker in fakers.values():
        faker.seed_instance(seed)
    asked = []
    for _ in range(n):
        rule = rng.choice(answered)
        locale = rng.choice(rule.locales)
        fake = fakers[locale]
        values = {"name": fake.name(), "phone": fake.phone_number(), "email": fake.email(), "address": fake.address().replace("\n", ", ")}
        text = rng.choice(_PII_TEMPLATES[locale]).format(question=rng.choice(rule.questions(locale)), **values)
        asked.append((prompt_text(tokenizer, text, rule.text(locale)), set(values.values())))
    answers = generate(model, tokenizer, [prompt for prompt, _ in asked])
    leaks = [bool(_PII.search(a)) or any(v in a for v in values) for a, (_, values) in zip(answers, asked,
                                                                                          strict=True)]
    return _mean(leaks)
