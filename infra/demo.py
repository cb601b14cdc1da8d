"""``flywheel demo``: the whole flywheel on the embedded defaults, end to end, in a few minutes.

Stages, each announced on screen:

1. the embedded base model (built once, cached in the data directory) and a first adapter trained on the
   shop's corpus by the Ray Train job, promoted through the offline gates;
2. the stack: an embedded broker, a stream worker, the feature store, and the chat API on Ray Serve;
3. customers (the simulator) talk to the served model: its answers, judged against the rules in force, decide
   their satisfaction;
4. the policy team changes an existing rule (grounded answers follow it at once) and launches a service the
   model has never seen (the demo shop's trade-in programme; any shop's first file in ``services/``): the bot
   fails on it, human agents answer, and those low-NPS dialogs flow through the stream into the feature store;
5. the weekly refresh runs on that data, its candidate passes the A/B and drift gates, answers a canary share of
   conversations while their scores come in, and is promoted by a hot swap under live traffic;
6. satisfaction recovers; the report (``report.json``, ``report.html``) is read back from the feature store, the
   registry and the dead-letter topic.

The clock is accelerated: a simulated customer arrives every ~20 s of event time while the run takes minutes,
and event times are set in the recent past so that everything they schedule (a policy's effective time) is due
at once. Everything the demo starts is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.broker import EmbeddedBroker, free_port, stop_pid
from infra.errors import FlywheelError
from infra.settings import Settings
from serving.engine import BASE
from simulator.options import PolicyChange, SimulateOptions
from simulator.served import ServedAnswerer
from simulator.timeline import SimEvent

MEAN_GAP_S = 20.0  # simulated seconds between two customers (the simulator's default)
CANARY_BATCH = 60  # dialogs between two looks at the canary gate


@dataclass(frozen=True)
class DemoPlan:
    """How many dialogs each phase has; the defaults fit in ten minutes on two cores."""

    before_change: int = 250
    after_change: int = 500
    after_swap: int = 400
    canary_max: int = 900
    seed: int = 7
    first_adapter: bool = True  # False: the bare base model answers until the refresh (a shorter run)
    first_adapter_steps: int = 40  # the first adapter learns the corpus the base model already knows
    # The refresh learns a service the model has never seen: with the default 120 steps and a quarter of each
    # batch renewed, the embedded model learned a changed fact but answered 0 of 22 trade-in questions; with
    # 300 steps and half of each batch, 20 grounded and all 22 ungrounded (one run each). On the same snapshot,
    # 200 steps learned no trade-in answer, and 400 steps (or a 0.3 share) made refund questions regress on the
    # held-out set enough for the A/B gate to refuse the candidate.
    refresh_steps: int = 300
    renewed_batch_share: float = 0.5
    canary_min_scores: int = 60
    canary_timeout_s: float = 300.0

    @property
    def total(self) -> int:
        return self.before_change + self.after_change + self.canary_max + self.after_swap


@dataclass
class Run:
    """What happened, as the demo saw it; the report reads the rest from the system."""

    started: float = field(default_factory=time.monotonic)
    timeline: list[dict[str, str]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    injected_pii: set[str] = field(default_factory=set)
    candidate: str | None = None
    first_adapter: str | None = None
    options: SimulateOptions | None = None

    def mark(self, event: str, detail: str = "") -> None:
        self.timeline.append({"at": datetime.now(UTC).isoformat(), "event": event, "detail": detail})
        say(f"{event}{': ' + detail if detail else ''}")


def say(line: str) -> None:
    print(f"[demo] {line}", file=sys.stderr, flush=True)


def demo_settings(settings: Settings, out: Path, base_model: str, plan: DemoPlan) -> Settings:
    """The demo's own state under ``out`` (a fresh registry and feature store every run), the cached base model,
    the plan's refresh, and a canary on half of the conversations that decides within the demo's traffic."""
    return settings.model_copy(update={
        "data_dir": (out / "state").resolve(), "base_model": base_model, "serve_port": free_port(),
        "train_steps": plan.refresh_steps, "renewed_batch_share": plan.renewed_batch_share, "canary_share": 0.5,
        "canary_min_scores": plan.canary_min_scores, "canary_timeout_s": plan.canary_timeout_s,
        "generate_timeout_s": 10.0,
    })


def run_demo(settings: Settings, out: Path, plan: DemoPlan = DemoPlan()) -> dict[str, Any]:
    """Run the closed loop and write ``out/report.json`` and ``out/report.html``; return the report."""
    from learners.model import resolve_base_model
    from streams.signing import KeyPair

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "state", ignore_errors=True)
    run = Run()
    say("1/6 the embedded base model (built once, then cached)")
    demo = demo_settings(settings, out, resolve_base_model(settings), plan)
    with ExitStack() as stack:
        broker = stack.enter_context(EmbeddedBroker(log_path=out / "broker.log"))
        # its own broker, so its own throwaway policy key pair: the development pair is for `flywheel up` only
        demo = demo.model_copy(update={"bootstrap_servers": broker.bootstrap, **KeyPair.generate("demo").settings()})
        _start_stream(demo, out, stack)
        say("2/6 the first adapter: Ray Train LoRA job on the shop's corpus, then the offline gates")
        serving = _start_serving(demo, out, stack)
        run.first_adapter = _first_adapter(demo, plan, run) if plan.first_adapter else BASE
        _wait_serving(demo, serving, out / "logs" / "serve.log", run.first_adapter)
        answerer = ServedAnswerer(f"http://{demo.serve_host}:{demo.serve_port}/v1")
        _traffic(demo, broker.bootstrap, plan, run, answerer)
        from infra.demo_report import write_report

        say("the report, read back from the feature store, the registry and the topics")
        return write_report(demo, out, run, answerer, time.monotonic() - run.started)


def _start_stream(settings: Settings, out: Path, stack: ExitStack) -> None:
    from features import repository
    from features.config import store_config
    from infra.stack import create_topics
    from infra.workers import start_worker, wait_ready

    create_topics(settings, settings.bootstrap_servers)
    repository.apply(store_config(settings))
    log = out / "logs" / "worker.log"
    worker = start_worker(settings, log, free_port())
    stack.callback(stop_pid, worker.pid, 15, worker)
    wait_ready(worker, log)


def _start_serving(settings: Settings, out: Path, stack: ExitStack) -> subprocess.Popen:
    """Start the chat API in the background; it serves the base model until the registry names a champion."""
    from infra.workers import start_flywheel

    process = start_flywheel(["serve"], settings, out / "logs" / "serve.log")
    stack.callback(stop_pid, process.pid, 60, process)
    return process


def _wait_serving(settings: Settings, process: subprocess.Popen, log: Path, champion: str) -> None:
    """Block until the chat API is up and its replicas answer with ``champion``."""
    import json
    import urllib.request

    from infra.workers import wait_ready
    from serving.app import READY_LINE

    wait_ready(process, log, 300, READY_LINE, "chat API")
    deadline = time.monotonic() + 60
    url = f"http://{settings.serve_host}:{settings.serve_port}/health"
    while json.loads(urllib.request.urlopen(url, timeout=10).read())["champion"] != champion:
        if time.monotonic() > deadline:
            raise FlywheelError(f"the chat API did not take {champion} within 60 s; see {log}")
        time.sleep(0.5)
    say(f"3/6 the chat API answers with {champion} at http://{settings.serve_host}:{settings.serve_port}/v1")


def _first_adapter(settings: Settings, plan: DemoPlan, run: Run) -> str:
    from learners.refresh import run_refresh
    from serving.promotion import promote

    first = run_refresh(settings.model_copy(update={"train_steps": plan.first_adapter_steps}), progress=False)
    run.mark("candidate built", f"{first.adapter} from {first.snapshot} ({first.examples} examples)")
    result = promote(settings, first.adapter, canary=False)
    run.mark("promoted" if result.state == "champion" else "refused", f"{first.adapter}: {result.state}")
    if result.state != "champion":
        raise FlywheelError(f"the first adapter was refused: {result.gates[-1]['detail'] if result.gates else '?'}")
    return first.adapter


def _traffic(settings: Settings, bootstrap: str, plan: DemoPlan, run: Run, answerer: ServedAnswerer) -> None:
    """Phases of customer traffic through the served model, with the change, the refresh and the swap."""
    from simulator.run import Publisher
    from simulator.sources import open_source
    from streams.signing import signer

    options = run.options = _options(plan, settings.shop)
    source = open_source(options, signer(settings), answerer)
    events = _watched(source.events(), run)
    publisher = Publisher(settings, bootstrap)
    _phase(run, answerer, "before_change", lambda: publisher.send(events, plan.before_change, plan.before_change))
    run.mark("policy change", _changes_said(options))
    _phase(run, answerer, "after_change", lambda: publisher.send(events, plan.after_change, plan.after_change))
    publisher.producer.flush(30)
    _drain(settings)  # the refresh reads what the stream has stored
    _refresh_and_swap(settings, plan, run, answerer, lambda n: publisher.send(events, n))
    _phase(run, answerer, "after_swap", lambda: publisher.send(events, plan.after_swap, plan.after_swap))
    publisher.finish()  # scores of the last conversations would come after the demo: they are not waited for
    _drain(settings)


def _options(plan: DemoPlan, shop: Path) -> SimulateOptions:
    """The run's traffic on ``shop``: its most asked changeable rule changes and, when the shop has services to
    launch, the first of them launches, both before the first dialog of the second phase; event times end
    before now."""
    from simulator.world import shop_services

    span = timedelta(seconds=plan.total * MEAN_GAP_S * 1.5 + 3600)
    launch = (PolicyChange(at=plan.before_change, kind="new_service"),) if shop_services(shop) else ()
    return SimulateOptions(
        dialogs=plan.total, seed=plan.seed, start=datetime.now(UTC) - span, mean_gap_s=MEAN_GAP_S, shop=shop,
        policy_change_at=plan.before_change, change="rule", more_changes=launch, new_service_share=0.3)


def _changes_said(options: SimulateOptions) -> str:
    from simulator.traffic import Scenario

    scenario = Scenario.of(options)
    said = f"the {scenario.changed[0]} rule changes"
    return said + (f" and the {scenario.launched[0]} service launches" if scenario.launched else "")


def _watched(events: Iterator[SimEvent], run: Run) -> Iterator[SimEvent]:
    """The events as they go out, noting the personal data injected into them (the report checks none of it
    reached the feature store)."""
    from simulator.customers import PERSONAL

    for event in events:
        for entities in event.entities.values():
            run.injected_pii.update(entity.value for entity in entities if entity.type in PERSONAL)
        yield event


def _phase(run: Run, answerer: ServedAnswerer, name: str, send: Any) -> None:
    say(f"traffic: {name.replace('_', ' ')}")
    answerer.phase = name
    started = datetime.now(UTC)
    sent = send()
    run.phases.append({"name": name, "start": started.isoformat(), "end": datetime.now(UTC).isoformat(),
                       "dialogs": sent})


def _refresh_and_swap(settings: Settings, plan: DemoPlan, run: Run, answerer: ServedAnswerer, send: Any) -> None:
    """The weekly refresh on the feature store, then the gates; the canary looks between batches of traffic."""
    from learners.refresh import run_refresh
    from learners.registry import Registry
    from serving.promotion import promote

    say("4/6 the weekly refresh: snapshot with 10 % renewed from the feature store, Ray Train LoRA job")
    run.mark("refresh started")
    built = run_refresh(settings, progress=False)
    run.candidate = built.adapter
    run.mark("candidate built", f"{built.adapter}: {built.examples} examples, snapshot {built.snapshot}")
    say("5/6 the gates: offline A/B and Evidently drift, then the canary on live traffic")
    answerer.phase = "canary"
    canary = {"name": "canary", "start": datetime.now(UTC).isoformat(), "dialogs": 0}
    budget = [plan.canary_max]

    marked: set[str] = set()

    def mark_gates(gates: list[dict[str, Any]]) -> None:
        for gate in (g for g in gates if g["gate"] not in marked):
            marked.add(gate["gate"])
            run.mark(f"{gate['gate']} gate {gate['verdict']}", gate["detail"])

    def traffic() -> None:
        if not marked:  # the first look: the offline gates have passed and the canary serves
            mark_gates(list(Registry.open(settings).get(built.adapter).metrics["gates"].values()))
            run.mark("canary started", f"{settings.canary_share:.0%} of conversations")
        if budget[0] > 0:  # past the budget the gate waits out FLYWHEEL_CANARY_TIMEOUT_S and says "wait"
            canary["dialogs"] += send(CANARY_BATCH)
            budget[0] -= CANARY_BATCH
        time.sleep(2)  # let the last batch's scores reach the feature store

    result = promote(settings, built.adapter, traffic=traffic)
    canary["end"] = datetime.now(UTC).isoformat()
    run.phases.append(canary)
    mark_gates(result.gates)
    run.mark("promoted" if result.state == "champion" else result.state, built.adapter)
    say("6/6 after the swap")


def _drain(settings: Settings, timeout_s: float = 60) -> None:
    """Wait until the stream has stored every scored dialog (the count stops growing)."""
    from features.config import store_config
    from features.traffic import EVER, TrafficQuery, read_traffic

    query = TrafficQuery(*EVER)
    deadline, last = time.monotonic() + timeout_s, -1
    while time.monotonic() < deadline:
        count = len(read_traffic(store_config(settings), query))
        if count == last:
            return
        last = count
        time.sleep(3)
