"""`flywheel bench serve`: the chat API under concurrent load, against the same generation called in-process.

The traffic is the first customer turn of simulated conversations (personal data included, as customers write),
each asked under its conversation's id. One run, on a scratch data directory (registry, feature store,
adapters) with the caller's base model and two healthy LoRA adapters made for it (``bench.adapters``), starts
`flywheel serve` twice, as a user starts it:

1. **cache off**: each question from one client and, alternately, from ``Engine.answer`` in this process on the
   prompt the API builds for it (scrubbed, canonical, grounded in the policy in force), so
   ``serve_overhead_ratio`` compares like with like under the same machine load; then ``CLIENTS`` concurrent
   clients (``uncached``: what the model tier sustains); then a forced swap to the other adapter and a rollback
   while those clients keep asking;
2. **cache on** (the default configuration): ``CLIENTS`` concurrent clients through the traffic from a cold
   cache: the headline ``p50_ms``/``p99_ms``/``requests_per_s`` and ``cache_hit_rate``.

Latencies are taken by the client, from sending the request to the full answer; ``measured`` in the result says
what each number is.
"""

from __future__ import annotations

import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import cycle
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from infra.broker import free_port, stop_pid
from infra.errors import FlywheelError
from infra.settings import Settings
from infra.workers import start_flywheel, wait_ready

CLIENTS = 8
DIALOGS = 400  # simulated conversations: the cache-on load asks each first turn once
UNCACHED_REQUESTS = 160
SINGLE_REQUESTS = 60
WARMUP_REQUESTS = 4
SEED = 11
REQUEST_TIMEOUT_S = 30.0  # slower than this counts as failed (the API's own fallback comes at generate_timeout_s)
READY_TIMEOUT_S = 600.0
SWAP_TIMEOUT_S = 120.0
SETTLE_S = 1.0  # load kept on after the rollback answered, so requests in flight then are counted too
WARMUP_QUESTION = "How many days do I have to return an item?"

MEASURED = {
    "p50_ms": f"client latency of {DIALOGS} requests (one per simulated conversation) from {CLIENTS} concurrent "
              "clients, cache on and cold at the start",
    "p99_ms": "the same requests",
    "requests_per_s": "the same requests over the phase's wall time",
    "cache_hit_rate": "share of those responses with flywheel.tier 'cache' (cached.cache_hits_metric: the API's "
                      "flywheel_serve_cache_hits_total over the phase)",
    "cached": "that phase in detail (tiers, failures, seconds until the server was ready)",
    "uncached": f"{UNCACHED_REQUESTS} requests from {CLIENTS} concurrent clients, cache off: every answer generated",
    "serve_1client_p50_ms": f"client latency, one client, cache off, {SINGLE_REQUESTS} questions for the model",
    "inprocess_p50_ms": "Engine.answer of the champion in the benchmark's process, one question at a time, on "
                        "the prompts the API builds for the same questions, alternating with the API's requests",
    "serve_overhead_ratio": "serve_1client_p50_ms / inprocess_p50_ms",
    "inprocess_same_answers": "share of those questions the API answered exactly as the in-process call did "
                              "(after the API's answer filter): evidence the prompts are the same",
    "inprocess_batch_answers_per_s": "in-process answers per second with the replica's largest batch in one "
                                     "generate call: the ceiling for uncached.requests_per_s here",
    "swap_s": f"from sending POST /admin/promote (force: the gates are not what is measured) to the first answer "
              f"naming the new adapter, cache off, {CLIENTS} clients asking throughout",
    "rollback_s": "from sending POST /admin/rollback to the first answer naming the restored champion, same load",
    "swap_in_service_s": "from the same call until GET /health names the new champion (the replica switched; "
                         "the API refreshes that every registry poll); rollback_in_service_s likewise",
    "failed_during_swap": f"requests that finished between the promote call and {SETTLE_S:.0f} s after the "
                          "rollback's first answer and failed or got the FAQ fallback, of requests_during_swap "
                          "(their p50: swap_window_p50_ms)",
}


def _say(message: str) -> None:
    print(f"bench serve: {message}", file=sys.stderr, flush=True)


# --- numbers ----------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 to 1), interpolated between order statistics (numpy's default): the p99 of a few
    hundred requests then depends on more than the single slowest one."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Outcome:
    """One request as the client saw it: when it was sent and answered (``time.perf_counter``), the ``model`` the
    answer names (an adapter, or the tier that answered), the tier (``failed``: no answer) and the text."""

    started: float
    finished: float
    model: str
    tier: str
    text: str = ""

    @property
    def ms(self) -> float:
        return 1000 * (self.finished - self.started)


def latency(outcomes: Sequence[Outcome], wall_s: float) -> dict[str, Any]:
    """Percentiles of the answered requests, throughput of all of them, and the failures."""
    answered = [o.ms for o in outcomes if o.tier != "failed"]
    if not answered:
        raise FlywheelError(f"all {len(outcomes)} requests failed: {dict(Counter(o.model for o in outcomes))}")
    return {"p50_ms": round(percentile(answered, 0.5), 1), "p99_ms": round(percentile(answered, 0.99), 1),
            "requests_per_s": round(len(outcomes) / wall_s, 1), "requests": len(outcomes),
            "failed": len(outcomes) - len(answered)}


# --- traffic and prompts ----------------------------------------------------------------------------------


def simulated_traffic(dialogs: int = DIALOGS) -> list[tuple[str, str]]:
    """(conversation id, first customer turn) of simulated conversations, the same every run."""
    from simulator.options import SimulateOptions
    from simulator.sources import records
    from streams.events import Conversation
    from streams.signing import KeyPair

    options = SimulateOptions(dialogs=dialogs, seed=SEED, start=datetime(2026, 11, 2, tzinfo=UTC))
    conversations = (r for r in records(options, KeyPair.generate("bench").signer())  # only conversations are kept
                     if isinstance(r, Conversation))
    return [(c.conversation_id, next(t.text for t in c.turns if t.role == "customer")) for c in conversations]


def model_inputs(settings: Settings, texts: Sequence[str]) -> list[tuple[str, str | None]]:
    """The (question, policy text) pairs the API puts to the model for ``texts`` (``ChatAPI._ground`` and
    ``_ask``): scrubbed, canonical when that setting is on, grounded in the policy in force for the routed intent.
    The scratch feature store holds no published policy, so the knowledge base's text is the one in force."""
    from learners.rules import rules_in_force
    from serving.knowledge import KnowledgeBase, detect_locale
    from streams.anonymizer import Anonymizer

    knowledge = KnowledgeBase(rules_in_force(settings))
    anonymizer = Anonymizer(settings.anonymizer_options())
    asked = []
    for text in texts:
        question = anonymizer.scrub(text).text
        routed, context = knowledge.route(question), None
        if routed is not None and routed.confidence >= settings.route_min_confidence:
            context = knowledge.rules[routed.label].text(detect_locale(text))
        if settings.canonical_questions:
            question = knowledge.canonical_question(question, settings.route_min_confidence)
        asked.append((question, context))
    return asked


def _to_the_model(settings: Settings, traffic: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The traffic the model tier answers: without the requests for a person (those go to the handoff tier)."""
    from serving.guards import needs_handoff

    return [(cid, text) for cid, text in traffic if not needs_handoff([text], settings.handoff_after_turns)]


# --- in-process ---------------------------------------------------------------------------------------------


class InProcess:
    """The champion's ``Engine`` in this process, called as the model replica calls it (same torch threads)."""

    def __init__(self, settings: Settings, base: str, adapter: tuple[str, Path]):
        import torch

        from serving.engine import Engine
        from serving.guards import AnswerFilter
        from streams.anonymizer import Anonymizer

        torch.set_num_threads(settings.torch_threads)
        self.name = adapter[0]
        self.engine = Engine(base, max_new_tokens=settings.max_new_tokens, timeout_s=settings.generate_timeout_s)
        self.engine.load(*adapter)
        self.filter = AnswerFilter(Anonymizer(settings.anonymizer_options()), settings.sensitive_words,
                                   settings.max_answer_chars)

    def ask(self, asked: tuple[str, str | None]) -> tuple[float, str]:
        """Milliseconds of one answer, and the answer as the API's filter sends it (filtered after the clock)."""
        started = time.perf_counter()
        [answer] = self.engine.answer(self.name, [asked])
        return 1000 * (time.perf_counter() - started), self.filter(answer)

    def batch_rate(self, asked: Sequence[tuple[str, str | None]]) -> float:
        """Answers per second when the replica's largest batch is generated in one call: the ceiling
        ``serve.batch`` can reach on this machine, to read the uncached throughput against."""
        from serving.model_service import MAX_BATCH

        batches = [asked[i:i + MAX_BATCH] for i in range(0, len(asked) - MAX_BATCH + 1, MAX_BATCH)]
        started = time.perf_counter()
        for batch in batches:
            self.engine.answer(self.name, batch)
        return sum(map(len, batches)) / (time.perf_counter() - started)


# --- the API over HTTP --------------------------------------------------------------------------------------


class ChatClient:
    """The chat API as customers' apps and an operator call it; one pooled client, safe across threads."""

    def __init__(self, url: str, token: str):
        self.token = token
        self.http = httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S,
                                 limits=httpx.Limits(max_connections=CLIENTS + 2))

    def ask(self, conversation_id: str, text: str, model: str = "flywheel") -> Outcome:
        """One chat completion; any error (status, timeout, connection) is a ``failed`` outcome, not a raise."""
        body = {"model": model, "messages": [{"role": "user", "content": text}],
                "metadata": {"conversation_id": conversation_id}}
        started = time.perf_counter()
        try:
            response = self.http.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            reply = response.json()
            return Outcome(started, time.perf_counter(), reply["model"], reply["flywheel"]["tier"],
                           reply["choices"][0]["message"]["content"])
        except Exception as exc:  # noqa: BLE001 - a failure is what the benchmark counts
            return Outcome(started, time.perf_counter(), type(exc).__name__, "failed")

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code != 200:
            raise FlywheelError(f"{path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def champion(self) -> str | None:
        """The champion the API last heard of from the model replicas (it asks every registry poll)."""
        return self.http.get("/health").json().get("champion")

    def cache_hits(self) -> float:
        """The API's cache-hit counter (Prometheus text format)."""
        found = re.search(r"^flywheel_serve_cache_hits_total (\S+)$", self.http.get("/metrics").text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    def close(self) -> None:
        self.http.close()


class Clients:
    """``count`` customers, each asking its share of ``asks`` one after another (closed loop); with ``repeat``
    they go round again until stopped. Every outcome is kept, in the order requests finished."""

    def __init__(self, api: ChatClient, asks: Sequence[tuple[str, str]], count: int, repeat: bool = False):
        self.api, self._stop = api, threading.Event()
        self.outcomes: list[Outcome] = []
        shares = [asks[n::count] for n in range(count)]
        self._threads = [threading.Thread(target=self._ask, args=(cycle(s) if repeat else s,), daemon=True)
                         for s in shares if s]
        self.started = self.finished = 0.0

    def _ask(self, asks: Any) -> None:
        for conversation_id, text in asks:
            if self._stop.is_set():
                return
            self.outcomes.append(self.api.ask(conversation_id, text))

    def start(self) -> Clients:
        self.started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> float:
        """Wait for every customer to finish (ask those that repeat to stop first); the wall seconds."""
        for thread in self._threads:
            thread.join()
        self.finished = time.perf_counter()
        return self.finished - self.started

    def stop(self) -> float:
        self._stop.set()
        return self.join()

    def first_answer(self, model: str, since: float) -> float:
        """Seconds from ``since`` to the first answer naming ``model`` that finished after it."""

        def answered() -> list[float]:
            return [o.finished for o in list(self.outcomes) if o.finished >= since and o.model == model]

        seconds_until(lambda: bool(answered()), since, f"an answer from {model}")
        return min(answered()) - since


def seconds_until(condition: Callable[[], bool], since: float, what: str) -> float:
    """Poll ``condition``; the seconds from ``since`` until it held, or an error naming ``what``."""
    while time.perf_counter() - since < SWAP_TIMEOUT_S:
        if condition():
            return time.perf_counter() - since
        time.sleep(0.05)
    raise FlywheelError(f"no {what} within {SWAP_TIMEOUT_S:.0f} s")


def drive(api: ChatClient, asks: Sequence[tuple[str, str]], count: int) -> dict[str, Any]:
    """``count`` concurrent clients through ``asks``: latency, throughput and the tiers that answered."""
    clients = Clients(api, asks, count).start()
    wall_s = clients.join()
    return {**latency(clients.outcomes, wall_s), "clients": count,
            "tiers": dict(Counter(o.tier for o in clients.outcomes)), "outcomes": clients.outcomes}


@contextmanager
def serving(settings: Settings, log: Path) -> Iterator[tuple[ChatClient, float]]:
    """`flywheel serve` as a user starts it, ready, with a client; stopped (its Ray cluster with it) on exit."""
    from serving.app import READY_LINE

    process = start_flywheel(["serve"], settings, log)
    try:
        ready_s = wait_ready(process, log, timeout_s=READY_TIMEOUT_S, ready_line=READY_LINE, what="chat API")
        token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        api = ChatClient(f"http://127.0.0.1:{settings.serve_port}", token)
        try:
            for _ in range(WARMUP_REQUESTS):  # pinned to the base: the champion's cache entries stay cold
                api.ask("warmup", WARMUP_QUESTION, model="base")
            yield api, ready_s
        finally:
            api.close()
    except Exception as exc:
        raise FlywheelError(f"{exc}; the serve log ends: {log_tail(log)}") from exc
    finally:
        stop_pid(process.pid, timeout_s=60, popen=process)


def log_tail(log: Path, lines: int = 8) -> str:
    return " | ".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def log_errors(log: Path, most: int = 5) -> dict[str, Any]:
    """How many lines of a serve log report an error or a traceback, and the first few distinct ones."""
    found = [line.strip()[:200] for line in log.read_text(errors="replace").splitlines()
             if re.search(r"\bERROR\b|Traceback|\bWARNING\b.*(failed|refused)", line)]
    return {"lines": len(found), "first": list(dict.fromkeys(found))[:most]}


# --- phases -------------------------------------------------------------------------------------------------


def paired(api: ChatClient, local: InProcess, asks: Sequence[tuple[str, str]],
           asked: Sequence[tuple[str, str | None]]) -> tuple[list[Outcome], list[tuple[float, str]]]:
    """Each question from one client to the API and in-process, alternately: both sides see the same machine,
    whose load from other work changes by the minute here, and the same prompts."""
    for pair in asked[:WARMUP_REQUESTS]:
        local.ask(pair)
    served, inprocess = [], []
    for (conversation_id, text), pair in zip(asks, asked, strict=True):
        inprocess.append(local.ask(pair))
        served.append(api.ask(conversation_id, text))
    return served, inprocess


def switch(api: ChatClient, load: Clients, path: str, body: dict[str, Any], to: str) -> dict[str, float]:
    """Call an admin endpoint under load; the seconds until the API reports ``to`` as champion (the replica
    switched) and until the first answer naming ``to`` (that, plus an answer's latency under the load)."""
    called = time.perf_counter()
    api.admin(path, body)
    in_service_s = seconds_until(lambda: api.champion() == to, called, f"{to} in service")
    return {"answered_s": round(load.first_answer(to, called), 2), "in_service_s": round(in_service_s, 2),
            "called": called}


def swap_under_load(api: ChatClient, traffic: Sequence[tuple[str, str]], champion: str,
                    candidate: str) -> dict[str, Any]:
    """Force ``candidate`` in and roll it back while ``CLIENTS`` customers keep asking; time each switch."""
    load = Clients(api, traffic, CLIENTS, repeat=True).start()
    try:
        while len(load.outcomes) < 2 * CLIENTS:
            time.sleep(0.05)
        swap = switch(api, load, "/admin/promote", {"adapter": candidate, "force": True}, candidate)
        rollback = switch(api, load, "/admin/rollback", {}, champion)
        time.sleep(SETTLE_S)
    finally:
        load.stop()
    window = [o for o in load.outcomes if o.finished >= swap["called"]]
    return {"swap_s": swap["answered_s"], "rollback_s": rollback["answered_s"],
            "failed_during_swap": sum(o.tier in ("failed", "fallback") for o in window),
            "requests_during_swap": len(window), "swap_in_service_s": swap["in_service_s"],
            "rollback_in_service_s": rollback["in_service_s"],
            "swap_window_p50_ms": round(percentile([o.ms for o in window], 0.5), 1)}


def uncached_phase(settings: Settings, log: Path, traffic: Sequence[tuple[str, str]], local: InProcess,
                   adapters: tuple[str, str]) -> dict[str, Any]:
    """The cache-off server: one client paired with in-process calls, then concurrent load, then the swap."""
    asks = _to_the_model(settings, traffic)[:SINGLE_REQUESTS]
    _say("building the prompts the API will build (router, anonymizer); starting `flywheel serve`, cache off")
    asked = model_inputs(settings, [text for _, text in asks])
    with serving(settings.model_copy(update={"cache_size": 0}), log) as (api, ready_s):
        _say(f"cache off: ready in {ready_s:.0f} s; {len(asks)} questions from one client and in-process")
        served, inprocess = paired(api, local, asks, asked)
        batch_rate = local.batch_rate(asked)
        _say(f"cache off: {CLIENTS} clients, {UNCACHED_REQUESTS} requests")
        loaded = drive(api, traffic[:UNCACHED_REQUESTS], CLIENTS)
        _say("cache off: swap and rollback under load")
        swap = swap_under_load(api, traffic, *adapters)
    return {**overhead(served, inprocess), "inprocess_batch_answers_per_s": round(batch_rate, 1),
            "uncached": {**{k: v for k, v in loaded.items() if k != "outcomes"}, "ready_s": round(ready_s, 1)},
            **swap}


def overhead(served: Sequence[Outcome], inprocess: Sequence[tuple[float, str]]) -> dict[str, Any]:
    """Serve p50 against in-process p50 on the same questions, and how often the answers agree."""
    serve_ms = percentile([o.ms for o in served if o.tier == "model"], 0.5)
    inprocess_ms = percentile([ms for ms, _ in inprocess], 0.5)
    same = sum(o.text == text for o, (_, text) in zip(served, inprocess, strict=True))
    return {"serve_1client_p50_ms": round(serve_ms, 1), "inprocess_p50_ms": round(inprocess_ms, 1),
            "serve_overhead_ratio": round(serve_ms / inprocess_ms, 2),
            "overhead_requests": sum(o.tier == "model" for o in served),
            "inprocess_same_answers": round(same / len(served), 3)}


def cached_phase(settings: Settings, log: Path, traffic: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The cache-on server: every conversation once from ``CLIENTS`` clients, the cache cold at the start."""
    _say("starting `flywheel serve`, cache on")
    with serving(settings, log) as (api, ready_s):
        _say(f"cache on: ready in {ready_s:.0f} s; {CLIENTS} clients, {len(traffic)} requests")
        hits_before = api.cache_hits()
        loaded = drive(api, traffic, CLIENTS)
        hits = api.cache_hits() - hits_before
    loaded.pop("outcomes")
    return {**loaded, "cache_hit_rate": round(loaded["tiers"].get("cache", 0) / loaded["requests"], 3),
            "cache_hits_metric": int(hits), "ready_s": round(ready_s, 1)}


def scratch_settings(settings: Settings, data_dir: Path, base_model: str) -> Settings:
    """The caller's settings on a scratch, embedded stack. Services are blanked with empty strings, not None:
    children inherit the caller's environment, and an unset field would let its ``FLYWHEEL_*`` variable point
    them back at a shared registry, broker or Ray cluster."""
    return settings.model_copy(update={
        "data_dir": data_dir, "base_model": base_model, "serve_host": "127.0.0.1", "serve_port": free_port(),
        "admin_token": SecretStr(secrets.token_hex(16)), "feature_store": "embedded", "bootstrap_servers": "",
        "registry_url": SecretStr(""), "ray_address": ""})


def make_adapters(settings: Settings, base: str) -> tuple[tuple[str, Path], str]:
    """A champion (promoted) and a candidate, both healthy (noise 0): what a swap needs."""
    from bench.adapters import make_adapter, register_adapter
    from learners.registry import Registry

    root = settings.data_dir / "adapters"
    champion_dir = make_adapter(base, root, noise=0.0, seed=0)
    champion = register_adapter(settings, champion_dir)
    Registry.open(settings).promote(champion, reason="benchmark champion")
    candidate = register_adapter(settings, make_adapter(base, root, noise=0.0, seed=1))
    return (champion, champion_dir), candidate


def run(settings: Settings) -> dict[str, Any]:
    from learners.model import resolve_base_model

    base = resolve_base_model(settings)
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-serve-") as tmp:
        scratch = scratch_settings(settings, Path(tmp), base)
        _say("making a champion and a candidate adapter; loading the champion in-process")
        champion, candidate = make_adapters(scratch, base)
        local = InProcess(scratch, base, champion)
        traffic = simulated_traffic()
        uncached = uncached_phase(scratch, Path(tmp) / "serve-uncached.log", traffic, local,
                                  (champion[0], candidate))
        cached = cached_phase(scratch, Path(tmp) / "serve-cached.log", traffic)
        errors = {name: log_errors(Path(tmp) / f"serve-{name}.log") for name in ("uncached", "cached")}
    headline = {k: cached.pop(k) for k in ("p50_ms", "p99_ms", "requests_per_s", "cache_hit_rate")}
    return {**headline, "cached": cached, **uncached, "serve_log_errors": errors, "measured": MEASURED}
