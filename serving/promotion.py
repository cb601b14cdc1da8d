"""Promotion and rollback: the evidence an adapter must show before it answers customers, and the way back.

``promote`` takes a candidate through three gates, each verdict recorded with its numbers in the registry
(``metrics.gates``) and announced on ``cs.model-events``:

1. **offline A/B** (``serving.gates.ab_gate``): candidate and champion answer the held-out evaluation set (the
   rules in force, asked in phrasings no training snapshot holds, as serving would put them to the model);
   the paired bootstrap interval of the accuracy difference must clear zero (clear ``-tolerance`` for the
   first adapter, measured against the bare base model) and no intent may drop by more than the tolerance at
   the lower bound of its own interval. An adapter that does not load or does not answer is refused here;
2. **drift** (``serving.drift.drift_gate``): what the model is asked live (the questions the API would put to
   it) against what the candidate was trained on, and the candidate's answers against the champion's on the
   questions the champion gets right; the Evidently report is saved beside the adapter's other reports;
3. **canary** (``serving.gates.CanaryTest``): the candidate answers ``FLYWHEEL_CANARY_SHARE`` of conversations
   and its NPS is compared with the champion's as scores arrive, with a test that stays valid however often it
   is looked at.

A failed gate rejects the candidate and the champion keeps serving; a passed canary makes it the champion, and
``serving.watch`` goes on comparing it with the champion it replaced (rolling it back on a significant drop).
Every change is a registry transaction; serving replicas follow the registry within ``FLYWHEEL_REGISTRY_POLL_S``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from infra.errors import FlywheelError
from infra.settings import Settings
from learners.registry import AdapterRecord, Registry
from serving.engine import BASE
from serving.gates import CanaryTest, GateResult, ab_gate
from streams.events import ModelEvent
from streams.publish import announce

log = logging.getLogger(__name__)

DRIFT_ROWS = 200  # texts a side: enough for the classifier's AUC to be stable (see serving.drift)


class PromotionResult(BaseModel):
    """What ``promote`` decided and why."""

    adapter: str
    champion_before: str
    state: str
    gates: list[dict[str, Any]]
    drift_report: str | None = None


def promote(settings: Settings, name: str, *, canary: bool = True, force: bool = False,
            traffic: Callable[[], None] | None = None) -> PromotionResult:
    """Take candidate ``name`` through the gates (``force``: straight to champion, recorded as forced).

    ``canary=False`` promotes once the offline gates pass, for deployments without live scores; ``traffic`` is
    called between looks at the canary (the demo uses it to keep customers coming)."""
    registry = Registry.open(settings)
    record, champion = registry.get(name), registry.champion()
    before = champion.name if champion else BASE
    if record.state not in ("candidate", "canary"):
        raise FlywheelError(f"{name} is {record.state}; only a candidate can be promoted")
    if force:
        registry.promote(name, reason="forced by the operator, gates skipped")
        _announce(settings, name, "promoted", detail=f"forced; replaced {before}")
        return PromotionResult(adapter=name, champion_before=before, state="champion", gates=[])
    results, report = offline_gates(settings, registry, record, champion)
    if all(r.passed for r in results) and canary:
        results.append(canary_gate(settings, registry, record, before, traffic))
    state = _decide(settings, registry, name, before, results)
    return PromotionResult(adapter=name, champion_before=before, state=state,
                           gates=[_as_dict(r) for r in results], drift_report=str(report) if report else None)


def _decide(settings: Settings, registry: Registry, name: str, before: str, results: list[GateResult]) -> str:
    """Promote when every gate passed, reject on a failure; a canary still waiting goes back to candidate."""
    failed = next((r for r in results if r.verdict == "fail"), None)
    if failed is not None:
        registry.transition(name, "rejected", f"{failed.gate} gate: {failed.detail}")
        _announce(settings, name, "rejected", detail=f"{failed.gate} gate: {failed.detail}")
        return "rejected"
    if any(r.verdict == "wait" for r in results):
        registry.transition(name, "candidate", "canary ended without a verdict")
        return "candidate"
    registry.promote(name, reason="passed the gates: " + ", ".join(r.gate for r in results))
    _announce(settings, name, "promoted", detail=f"replaced {before}")
    return "champion"


def promote_checked(settings: Settings, name: str, force: bool = False) -> AdapterRecord:
    """Make ``name`` champion at once if its recorded offline gates passed (the admin endpoint's promotion,
    after ``promote --no-canary`` or an outside canary); ``force`` overrides, and says so in the history."""
    registry = Registry.open(settings)
    gates = registry.get(name).metrics.get("gates", {})
    missing = [gate for gate in ("ab", "drift") if gates.get(gate, {}).get("verdict") != "pass"]
    if missing and not force:
        raise FlywheelError(f"{name} has not passed the {' and '.join(missing)} gate(s); run `flywheel promote "
                            f"{name}` or force it")
    before = registry.champion()
    record = registry.promote(name, reason="forced by the operator" if missing else "promoted after its gates")
    _announce(settings, name, "promoted", detail=f"replaced {before.name if before else BASE}")
    return record


def roll_back(settings: Settings, reason: str = "rolled back by the operator") -> AdapterRecord:
    """Reject the champion and restore the one before it (replicas keep it loaded: the switch is a poll away)."""
    registry = Registry.open(settings)
    current = registry.champion()
    restored = registry.rollback(reason)
    _announce(settings, current.name if current else restored.name, "rolled_back",
              detail=f"{reason}; {restored.name} restored")
    return restored


# --- gates ----------------------------------------------------------------------------------------------------


def offline_gates(settings: Settings, registry: Registry, record: AdapterRecord,
                  champion: AdapterRecord | None) -> tuple[list[GateResult], Path | None]:
    """The A/B gate and the drift gate, on one evaluation of each model on the rules in force (the refresh's
    own evaluation of the candidate is reused when the rules have not changed since)."""
    from learners.refresh import evaluate_adapter

    base = record.lineage.get("base_model") or _base(settings)
    try:
        candidate = evaluate_adapter(settings, base, record.path, record.name)
    except FlywheelError as exc:
        result = GateResult("ab", "fail", {}, f"the adapter does not load: {exc}")
        record_verdict(settings, registry, record.name, result)
        return [result], None
    incumbent = evaluate_adapter(settings, base, champion.path if champion else None,
                                 champion.name if champion else BASE)
    if candidate.held_out_cases == 0:
        ab = GateResult("ab", "fail", {"cases": 0.0}, "the rules in force have no held-out question to compare the "
                        "models on: give the shop file held_out questions")
    else:
        ab = ab_gate(held_out_verdicts(candidate), held_out_verdicts(incumbent), tolerance=settings.gate_tolerance,
                     min_gain=0.0 if champion else -settings.gate_tolerance)
    record_verdict(settings, registry, record.name, ab)
    if not ab.passed:
        return [ab], None
    report = settings.data_dir.resolve() / "reports" / record.name / "drift.html"
    drift = _drift(settings, record, candidate.cases, incumbent.cases, report)
    record_verdict(settings, registry, record.name, drift)
    return [ab, drift], report if report.exists() else None


def held_out_verdicts(report: Any) -> dict[str, tuple[str, bool]]:
    """``case_id -> (intent, correct)`` of an evaluation's held-out cases: the A/B gate's evaluation set, questions
    in words no snapshot holds (the bank's phrasings are the training set, on which any adapter looks good)."""
    return {c.case_id: (c.intent, c.correct) for c in report.cases if c.held_out}


def _drift(settings: Settings, record: AdapterRecord, candidate: Sequence[Any], incumbent: Sequence[Any],
           report: Path) -> GateResult:
    """The drift gate: live inputs against the candidate's training questions, both as the model is asked them
    (see ``model_input``), and the candidate's answers against the champion's where the champion answers right
    (a new rule or service it never knew would otherwise count as drift rather than as the improvement it is)."""
    from serving.drift import drift_gate
    from serving.knowledge import model_input

    rng, ask = random.Random(record.name), model_input(settings)
    reference = _sample(rng, {ask(e.question) for e in _snapshot_examples(settings, record)})
    live = _sample(rng, {ask(question) for question in live_questions(settings)})
    pairs = [(c.answer, i.answer) for c, i in zip(candidate, incumbent, strict=True) if i.correct] \
        or [(c.answer, i.answer) for c, i in zip(candidate, incumbent, strict=True)]
    return drift_gate(reference, live, [i for _, i in pairs], [c for c, _ in pairs], report,
                      threshold=settings.drift_threshold)


def _sample(rng: random.Random, texts: set[str]) -> list[str]:
    """``DRIFT_ROWS`` draws from the distinct texts: the gate asks which questions are asked, not how often
    (a snapshot repeats a question once per fact variant, traffic once per customer)."""
    distinct = sorted(texts)
    return [rng.choice(distinct) for _ in range(DRIFT_ROWS)] if distinct else []


def _snapshot_examples(settings: Settings, record: AdapterRecord) -> list[Any]:
    from learners.dataset import load_snapshot

    snapshot = record.lineage.get("snapshot")
    return load_snapshot(settings, snapshot).examples() if snapshot else []


def live_questions(settings: Settings, now: datetime | None = None) -> list[str]:
    """The customers' (anonymized) first messages of the drift window, from the traffic log."""
    from features.config import store_config
    from features.traffic import TrafficQuery, read_traffic

    now = now or datetime.now(UTC)
    rows = read_traffic(store_config(settings), TrafficQuery(now - timedelta(seconds=settings.drift_window_s), now))
    return list(rows["customer_text"].dropna()) if len(rows) else []


def canary_gate(settings: Settings, registry: Registry, record: AdapterRecord, champion: str,
                traffic: Callable[[], None] | None = None) -> GateResult:
    """Serve the candidate to a share of conversations and compare NPS with the champion's until a verdict
    (or ``FLYWHEEL_CANARY_TIMEOUT_S``, which is a ``wait``)."""
    if registry.get(record.name).state != "canary":
        registry.transition(record.name, "canary", "passed the offline gates")
    registry.set_canary_share(settings.canary_share)
    _announce(settings, record.name, "canary_started", detail=f"{settings.canary_share:.0%} of conversations")
    deadline = time.monotonic() + settings.canary_timeout_s
    while True:
        result = canary_verdict(settings, record.name, champion)
        if result.verdict != "wait" or time.monotonic() > deadline:
            break
        log.info("canary %s: %d scores against %d, mean NPS %.2f vs %.2f", record.name,
                 result.metrics["canary_n"], result.metrics["champion_n"], result.metrics["canary_mean_nps"],
                 result.metrics["champion_mean_nps"])
        if traffic is not None:
            traffic()
        else:
            time.sleep(max(1.0, settings.registry_poll_s))
    registry.set_canary_share(0.0)
    record_verdict(settings, registry, record.name, result)
    return result


def canary_verdict(settings: Settings, canary: str, champion: str) -> GateResult:
    """The canary test on the scored traffic so far: the canary's conversations, and the champion's since the
    canary answered its first (scores from before the canary belong to another time)."""
    from features.config import store_config
    from features.traffic import EVER, TrafficQuery, read_traffic

    config = store_config(settings)
    test = CanaryTest(margin=settings.canary_margin, min_scores=settings.canary_min_scores)
    mine = read_traffic(config, TrafficQuery(*EVER, adapter_version=canary))
    if len(mine):
        since = mine["event_timestamp"].min().to_pydatetime()
        theirs = read_traffic(config, TrafficQuery(since, EVER[1], adapter_version=champion))
        for nps in mine["nps"]:
            test.add(float(nps), canary=True)
        for nps in theirs["nps"]:
            test.add(float(nps), canary=False)
    return test.check()


# --- records ------------------------------------------------------------------------------------------------


def _as_dict(result: GateResult) -> dict[str, Any]:
    return {"gate": result.gate, "verdict": result.verdict, "metrics": result.metrics, "detail": result.detail}


def record_verdict(settings: Settings, registry: Registry, name: str, result: GateResult) -> None:
    """Keep a gate's verdict with the adapter and announce it."""
    gates = registry.get(name).metrics.get("gates", {})
    registry.update_metrics(name, {"gates": {**gates, result.gate: _as_dict(result)}})
    log.info("%s gate for %s: %s (%s)", result.gate, name, result.verdict, result.detail)
    finite = {k: v for k, v in result.metrics.items() if v == v and abs(v) != float("inf")}
    announce(settings, [ModelEvent(subject=name, action="gate_verdict", gate=result.gate, passed=result.passed,
                                   metrics=finite, detail=result.detail[:4000])])


def _announce(settings: Settings, name: str, action: str, detail: str) -> None:
    announce(settings, [ModelEvent(subject=name, action=action, detail=detail)])


def _base(settings: Settings) -> str:
    from learners.model import resolve_base_model

    return resolve_base_model(settings, progress=False)
