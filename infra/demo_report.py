"""The demo's report, read back from the running system: the feature store's traffic log (satisfaction and the
answers customers got), the registry (adapters and gate verdicts), the dead-letter topic, and the chat client's
own record of latency and failed requests.

Answers are judged by the rule judge (``learners.judge``) against the rule in force in their phase: the shop's
day-one rules before the change, the changed rules after it, for the intent the customer really asked about (the
simulator knows it; the feature store holds what serving took it for). Phases are sets of conversations (the
client knows which conversation it asked in which phase), so a score that arrives late still counts where its
answer was given.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from infra.settings import Settings
from learners.judge import RuleJudge
from simulator.served import FAILED, ServedAnswerer
from simulator.world import World

if TYPE_CHECKING:
    from infra.demo import Run

WINDOW = 100  # dialogs per point of the plots
AFTER = ("after_change", "canary", "after_swap")


def write_report(settings: Settings, out: Path, run: Run, answerer: ServedAnswerer, wall_s: float) -> dict[str, Any]:
    """Compute the report, write ``report.json`` and ``report.html`` (with the drift report beside it)."""
    from infra.report_html import render

    report = build_report(settings, run, answerer, wall_s)
    report["drift_report"] = _copy_drift_report(settings, run, out)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    render(report, out / "report.html")
    print(json.dumps({k: report[k] for k in HEADLINE}, indent=2))
    for target in report["targets"]:
        print(f"{'met   ' if target['passed'] else 'MISSED'} {target['name']}: {target['detail']}")
    print(f"report: {(out / 'report.html').resolve()}")
    return report


HEADLINE = ("nps_before_change", "nps_after_change", "nps_after_swap", "changed_rule_accuracy",
            "changed_rule_in_force_s", "new_topic_accuracy_before", "new_topic_accuracy_after", "failed_during_swap",
            "pii_in_feature_store", "wall_s")


def build_report(settings: Settings, run: Run, answerer: ServedAnswerer, wall_s: float) -> dict[str, Any]:
    """Every number of the report, from the system's own records."""
    from simulator.traffic import Scenario

    scenario = Scenario.of(run.options)
    changed_rule = scenario.changed[0]
    new_service = scenario.launched[0] if scenario.launched else None
    traffic = judged_traffic(settings, answerer, scenario.initial, scenario.final)
    exchanges = answerer.exchanges
    in_force_at, lag_s = rule_in_force(exchanges, run, changed_rule, scenario.final[changed_rule].version)
    answered_at = {e.conversation_id: e.at for e in exchanges}
    in_force = traffic[traffic["conversation_id"].map(answered_at) >= in_force_at] if in_force_at else traffic[:0]
    report = {
        "shop": scenario.initial.rules.name,
        "changed_rule": changed_rule,
        "new_service": new_service,
        "nps_before_change": mean_nps(traffic, ("before_change",)),
        "nps_after_change": mean_nps(traffic, ("after_change",)),
        "nps_after_swap": mean_nps(traffic, ("after_swap",)),
        "changed_rule_accuracy": accuracy(in_force, ("after_change",), changed_rule),
        "changed_rule_in_force_s": lag_s,
        "changed_rule_accuracy_from_publishing": accuracy(traffic, ("after_change",), changed_rule),
        "new_topic_accuracy_before": accuracy(traffic, ("after_change",), new_service) if new_service else None,
        "new_topic_accuracy_after": accuracy(traffic, ("after_swap",), new_service) if new_service else None,
        "failed_during_swap": sum(e.tier in (FAILED, "fallback") for e in exchanges if e.phase in AFTER[1:]),
        "pii_in_feature_store": pii_in_feature_store(settings, run.injected_pii),
        "wall_s": round(wall_s, 1),
        "phases": run.phases,
        "phase_conversations": _phase_conversations(exchanges),
        "timeline": run.timeline,
        "series": series(traffic, exchanges, dead_letter_keys(settings), settings.nps_threshold),
        **registry_view(settings),
        "settings": _settings_view(settings),
    }
    report["nps_after_swap_margin"] = _margin(traffic)
    report["targets"] = targets(report)
    return report


def judged_traffic(settings: Settings, answerer: ServedAnswerer, before: World, after: World) -> pd.DataFrame:
    """The traffic log's scored dialogs of the demo's conversations, each with its phase, the intent the customer
    asked about (``asked``) and whether the answer stated the rule in force in that phase."""
    from features.config import store_config
    from features.traffic import EVER, TrafficQuery, read_traffic

    phase_of = {e.conversation_id: e.phase for e in answerer.exchanges}
    asked = {e.conversation_id: e.intent for e in answerer.exchanges}
    rows = read_traffic(store_config(settings), TrafficQuery(*EVER))
    rows = rows[rows["conversation_id"].isin(phase_of.keys())].copy()
    rows["phase"] = rows["conversation_id"].map(phase_of)
    rows["asked"] = rows["conversation_id"].map(asked)
    rows["correct"] = [_states(after if phase in AFTER else before, intent, locale, question, answer)
                       for phase, intent, locale, question, answer in zip(
                           rows["phase"], rows["asked"], rows["locale"], rows["customer_text"], rows["bot_answer"],
                           strict=True)]
    return rows


def _states(world: World, intent: str | None, locale: str, question: str | None, answer: str | None) -> bool:
    rule = world.rules.rules.get(intent or "")
    return bool(rule is not None and answer and RuleJudge(world.rules)(question or "", locale, rule, answer).correct)


def rule_in_force(exchanges: Sequence[Any], run: Run, intent: str, version: int) -> tuple[float | None, float | None]:
    """When serving first grounded an answer on the changed rule's new version, and how many seconds after
    the policy team published it: the changed rule's accuracy counts the answers from then on (those before
    were given while the update was still on its way through the stream, and the report says how long that
    was)."""
    published = next((datetime.fromisoformat(t["at"]).timestamp() for t in run.timeline
                      if t["event"] == "policy change"), None)
    first = next((e.at for e in exchanges if e.intent == intent and e.policy_version == version), None)
    if published is None or first is None:
        return None, None
    return first, round(first - published, 2)


def mean_nps(traffic: pd.DataFrame, phases: Sequence[str]) -> float | None:
    scores = traffic.loc[traffic["phase"].isin(phases), "nps"]
    return round(float(scores.mean()), 3) if len(scores) else None


def accuracy(traffic: pd.DataFrame, phases: Sequence[str], intent: str) -> float | None:
    """Share of the answers to questions about ``intent`` in ``phases`` that state the rule in force."""
    judged = traffic.loc[traffic["phase"].isin(phases) & (traffic["asked"] == intent), "correct"]
    return round(float(judged.mean()), 3) if len(judged) else None


def _margin(traffic: pd.DataFrame) -> float | None:
    """Half the 95 % interval of the difference of the two mean NPS (after the swap minus before the change):
    below it, a lower "after" is noise, not a worse model (customers with the same answers score differently)."""
    groups = [traffic.loc[traffic["phase"] == phase, "nps"].astype(float) for phase in ("before_change", "after_swap")]
    if any(len(g) < 2 for g in groups):
        return None
    return round(1.96 * math.sqrt(sum(g.var() / len(g) for g in groups)), 3)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo's targets (issue 7), each with its verdict and the numbers behind it."""
    before, after, margin = report["nps_before_change"], report["nps_after_swap"], report["nps_after_swap_margin"]
    recovered = None not in (before, after, margin) and after >= before - margin
    changed, new_before, new_after = (report[k] for k in ("changed_rule_accuracy", "new_topic_accuracy_before",
                                                          "new_topic_accuracy_after"))
    service = [{"name": "new service learned by the refresh",
                "passed": None not in (new_before, new_after) and new_after >= 0.9 and new_before <= new_after - 0.3,
                "detail": f"{report['new_service']} accuracy {new_before} before the swap, {new_after} after "
                          f"(target 0.9)"}] if report["new_service"] else []
    return [
        {"name": "NPS back to its level before the change", "passed": recovered,
         "detail": f"{after} after the swap against {before} before the change (noise margin {margin})"},
        {"name": "changed rule answered right at once", "passed": changed is not None and changed >= 0.95
         and (report["changed_rule_in_force_s"] or 0) <= 10,
         "detail": f"in force in answers {report['changed_rule_in_force_s']} s after publishing; from then on "
                   f"{changed} of the {report['changed_rule']} answers state the new rule (target 0.95 within 10 s)"},
        *service,
        {"name": "no failed request during the swap", "passed": report["failed_during_swap"] == 0,
         "detail": f"{report['failed_during_swap']} failed or fallback answers from the canary on"},
        {"name": "no personal data in the feature store", "passed": report["pii_in_feature_store"] == 0,
         "detail": f"{report['pii_in_feature_store']} injected values or identifier patterns found"},
    ]


def pii_in_feature_store(settings: Settings, injected: Iterable[str]) -> int:
    """How many texts in the dialog and traffic logs hold an identifier pattern or any personal value the
    simulator injected (names and words are matched whole, so "Ann" does not match "announce")."""
    from features.config import store_config
    from features.tables import DIALOG_LOG, TRAFFIC_LOG
    from features.traffic import EVER
    from features.windows import WindowQuery, read_window
    from streams.quality import PII_PATTERNS

    values = sorted({v for v in injected if len(v) >= 2})
    patterns = [re.compile(p) for p in PII_PATTERNS.values()]
    patterns += [re.compile(rf"(?<![A-Za-z]){re.escape(v)}(?![A-Za-z])") for v in values]
    query = WindowQuery(*EVER)
    texts: list[str] = []
    for log, columns in ((TRAFFIC_LOG, ("customer_text", "bot_answer", "agent_answer")),
                         (DIALOG_LOG, ("transcript",))):
        frame = read_window(store_config(settings), log, query)
        texts += [t for column in columns for t in frame[column].dropna()] if len(frame) else []
    return sum(any(p.search(text) for p in patterns) for text in texts)


def dead_letter_keys(settings: Settings) -> list[str]:
    """The original key (a conversation id, for traffic) of every dead letter on the topic."""
    from infra.stack import kafka_config
    from infra.topics import read_all
    from streams.events import DeadLetter

    letters = read_all(kafka_config(settings), settings.topic_dead_letters, settings.partitions)
    return [DeadLetter.from_bytes(value).original_key for _, value in letters]


def series(traffic: pd.DataFrame, exchanges: Sequence[Any], dead_letters: Sequence[str],
           threshold: int) -> list[dict[str, Any]]:
    """One point per ``WINDOW`` dialogs in the order customers asked: NPS, routed dialogs, dead letters,
    accuracy by adapter, latency."""
    by_id = traffic.set_index("conversation_id")
    dead = set(dead_letters)
    points = []
    for start in range(0, len(exchanges), WINDOW):
        window = exchanges[start:start + WINDOW]
        ids = [e.conversation_id for e in window]
        rows = by_id.loc[by_id.index.intersection(ids)]
        latencies = sorted(e.latency_ms for e in window)
        points.append({
            "start": datetime.fromtimestamp(window[0].at, UTC).isoformat(),
            "end": datetime.fromtimestamp(window[-1].at, UTC).isoformat(),
            "dialogs": len(window),
            "mean_nps": round(float(rows["nps"].mean()), 3) if len(rows) else None,
            "routed": int((rows["nps"] <= threshold).sum()),
            "dead_letters": sum(i in dead for i in ids),
            "accuracy_by_adapter": {str(a): round(float(g["correct"].mean()), 3)
                                    for a, g in rows.groupby("adapter_version")},
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
        })
    return points


def registry_view(settings: Settings) -> dict[str, Any]:
    """The adapters and each one's gate verdicts, as the registry holds them."""
    from learners.registry import Registry

    records = Registry.open(settings).list()
    return {"adapters": [{"name": r.name, "state": r.state, "created": r.created.isoformat()} for r in records],
            "gates": {r.name: r.metrics.get("gates", {}) for r in records if r.metrics.get("gates")}}


def _phase_conversations(exchanges: Sequence[Any]) -> dict[str, list[str]]:
    phases: dict[str, list[str]] = {}
    for e in exchanges:
        phases.setdefault(e.phase, []).append(e.conversation_id)
    return phases


def _copy_drift_report(settings: Settings, run: Run, out: Path) -> str | None:
    """The candidate's Evidently report, copied beside ``report.html`` so the link works anywhere."""
    source = settings.data_dir / "reports" / (run.candidate or "") / "drift.html"
    if not run.candidate or not source.is_file():
        return None
    shutil.copyfile(source, out / "drift.html")
    return "drift.html"


def _settings_view(settings: Settings) -> dict[str, Any]:
    keys = ("base_model", "partitions", "nps_threshold", "renew_share", "train_steps", "renewed_batch_share",
            "lora_rank", "shop",
            "canary_share", "canary_min_scores", "gate_tolerance", "drift_threshold", "canonical_questions")
    return {k: getattr(settings, k) for k in keys}
