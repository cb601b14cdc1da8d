"""`flywheel bench gates`: how often the gates raise a false alarm when there is nothing to find (A/A).

Every simulation compares two models that are exactly as good; a ``fail`` of the canary, a promotion by the
A/B gate or a rollback by the watch is then a false alarm. The gates' own code decides (``serving.gates``,
``serving.watch``), fed with thousands of simulations at once as numpy arrays:

- ``canary``: customers score conversations as the simulator scores them (the outcome of the answer, right,
  handed to an agent or wrong, in the simulator's default shares, then an NPS drawn from that outcome's
  weights), the canary gets ``FLYWHEEL_CANARY_SHARE`` of them, and the gate is looked at after every score, up
  to ``CANARY_SCORES`` scores, stopping at its first verdict as ``canary_gate`` does. Reported with the
  settings' margin and with margin 0 (where an A/A ``fail`` is not made rarer by the margin), beside a
  fixed-horizon z-test at the same level looked at just as often;
- ``watch``: the new champion's scores, looked at after every one, against a fixed window of the previous
  champion's (``WATCH_REFERENCE`` scores), NPS and resolved share together, as the watch decides;
- ``ab``: the candidate and the champion answer the shop's evaluation cases (its bank and its held-out set,
  intent by intent) with the same accuracy: each case has its own difficulty, shared by both models (drawn
  from a beta distribution of mean ``AB_ACCURACY``), so their verdicts agree on most cases as real adapters'
  do; ``ab_gate`` decides with the settings' tolerance. ``concentration`` sets how strongly they agree: the
  lower, the fewer cases on which they differ (``differing_share``).

Each rate comes with its 95 % Wilson interval; ``*_fail`` is the share of simulations whose first verdict was
``fail``, ``*_pass`` the share that passed first, and the rest waited to the end.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from infra.settings import Settings
from serving.gates import CanaryTest, Moments, ab_gate
from serving.watch import watch_tests
from simulator.options import SimulateOptions
from simulator.scoring import _NPS_WEIGHTS

SIMULATIONS = 4000
CANARY_SCORES = 10_000  # scores of both sides together: 2,000 for a canary at a 20 % share
WATCH_REFERENCE = 1_000  # the previous champion's scores before the promotion
WATCH_SCORES = 3_000  # the new champion's scores, each followed by a look
AB_ACCURACY = 0.88  # the held-out accuracy of the demo's adapters (93 % grounded, 83 % ungrounded)
# How strongly the two models' verdicts agree: at 0.5 they differ on ~7 % of cases, at 2 on ~14 %, at 8 on ~19 %.
# The demo's gate interval (+0.082 [+0.047, +0.117] on 312 cases) puts real adapters at ~11 %.
AB_CONCENTRATIONS = (0.5, 2.0, 8.0)
CHUNK = 100  # simulations per array: 100 x 10,000 looks is ~8 MB an array
PASS, FAIL = 1, -1


class FixedHorizonTest(CanaryTest):
    """The canary's decisions on a fixed-sample z-test interval at the same level: right when looked at once,
    what "looking after every score" does to a test that was not built for it."""

    def radius(self, v: Any) -> Any:
        return statistics.NormalDist().inv_cdf(1 - self.alpha / 2) * np.sqrt(v)


def run(settings: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    rng = np.random.default_rng(15)
    result = {"simulations": SIMULATIONS, **_outcomes(), **_canary(settings, rng), **_watch(settings, rng),
              **_ab(settings, rng)}
    return {**result, "wall_s": round(time.perf_counter() - started, 1)}


# --- what customers do --------------------------------------------------------------------------------------


def _outcome_pmfs() -> tuple[np.ndarray, np.ndarray]:
    """The simulator's outcome shares (right, handed off, wrong) and each outcome's NPS distribution."""
    options = SimulateOptions.model_fields
    error, handoff = options["error_rate"].default, options["handoff_rate"].default
    shares = np.array([1 - error, error * handoff, error * (1 - handoff)])
    weights = np.array([_NPS_WEIGHTS[o] for o in ("right", "handed_off", "wrong")], dtype=float)
    return shares, weights / weights.sum(axis=1, keepdims=True)


def _scores(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """NPS and whether the bot resolved the conversation itself (its answer was right), for conversations of
    an average model: one draw from the joint distribution of outcome and score."""
    shares, pmfs = _outcome_pmfs()
    drawn = rng.choice(pmfs.size, size=shape, p=(shares[:, None] * pmfs).ravel())
    outcome, nps = np.divmod(drawn, pmfs.shape[1])
    return nps.astype(float), (outcome == 0).astype(float)


def _outcomes() -> dict[str, Any]:
    shares, pmfs = _outcome_pmfs()
    pmf = shares @ pmfs
    mean = float(pmf @ np.arange(11))
    return {"nps_mean": round(mean, 3), "nps_sd": round(math.sqrt(pmf @ (np.arange(11) - mean) ** 2), 3),
            "resolved_share": round(float(shares[0]), 3)}


# --- sequential looks ---------------------------------------------------------------------------------------


def _running_moments(values: np.ndarray, mask: np.ndarray | None = None) -> Moments:
    """Count, mean and sample variance of the values (those the mask selects) after each column, one
    simulation a row."""
    taken = np.ones(values.shape, dtype=bool) if mask is None else mask
    n = np.cumsum(taken, axis=1)
    total, squares = np.cumsum(values * taken, axis=1), np.cumsum(values ** 2 * taken, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        return n, mean, np.maximum(squares - total * mean, 0.0) / (n - 1)


def _first_verdicts(failed: np.ndarray, passed: np.ndarray) -> np.ndarray:
    """Each simulation's first verdict over its looks (one a column): ``PASS``, ``FAIL`` or 0 (none)."""
    decided = failed | passed
    first = decided.argmax(axis=1)
    rows = np.arange(len(first))
    return np.where(decided[rows, first], np.where(failed[rows, first], FAIL, PASS), 0)


def canary_verdicts(tests: Sequence[CanaryTest], simulations: int, looks: int, share: float,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Each test's first verdict in A/A canaries: ``share`` of the scores are the canary's, and every test
    looks after each of ``looks`` scores."""

    def chunk(sims: int) -> list[np.ndarray]:
        nps, _ = _scores(rng, (sims, looks))
        canary = rng.random((sims, looks)) < share
        new, old = _running_moments(nps, canary), _running_moments(nps, ~canary)
        fewest = np.minimum(new[0], old[0])
        return [_first_verdicts(*test.decisions(*test.bounds(new, old), fewest)) for test in tests]

    return _chunked(simulations, chunk)


def _watch_verdicts(tests: Sequence[CanaryTest], simulations: int, looks: int, reference: int,
                   rng: np.random.Generator) -> np.ndarray:
    """The watch's first verdict in A/A runs: the new champion's scores, a look after each, against a fixed
    window of ``reference`` scores of the previous one; it fails when any measure fails, passes when all do."""

    def chunk(sims: int) -> list[np.ndarray]:
        failed, passed = np.zeros((sims, looks), dtype=bool), np.ones((sims, looks), dtype=bool)
        for test, after, before in zip(tests, _scores(rng, (sims, looks)), _scores(rng, (sims, reference)),
                                       strict=True):
            new = _running_moments(after)
            old = (reference, before.mean(axis=1, keepdims=True), before.var(axis=1, ddof=1, keepdims=True))
            fails, passes = test.decisions(*test.bounds(new, old), np.minimum(new[0], reference))
            failed, passed = failed | fails, passed & passes
        return [_first_verdicts(failed, passed)]

    return _chunked(simulations, chunk)[0]


def _chunked(simulations: int, simulate: Callable[[int], list[np.ndarray]]) -> list[np.ndarray]:
    """``simulate`` over ``simulations`` in chunks of at most ``CHUNK``, each result concatenated."""
    parts = [simulate(min(CHUNK, simulations - done)) for done in range(0, simulations, CHUNK)]
    return [np.concatenate(found) for found in zip(*parts, strict=True)]


def _canary(settings: Settings, rng: np.random.Generator) -> dict[str, Any]:
    tests = {f"{kind}_margin_{margin:g}": cls(margin=margin, min_scores=settings.canary_min_scores)
             for kind, cls in (("msprt", CanaryTest), ("fixed", FixedHorizonTest))
             for margin in (settings.canary_margin, 0.0)}
    verdicts = canary_verdicts(list(tests.values()), SIMULATIONS, CANARY_SCORES, settings.canary_share, rng)
    report = {"canary_scores": CANARY_SCORES, "canary_share": settings.canary_share}
    for name, found in zip(tests, verdicts, strict=True):
        report |= _rates(f"canary_{name}", found)
    return report


def _watch(settings: Settings, rng: np.random.Generator) -> dict[str, Any]:
    verdicts = _watch_verdicts(watch_tests(settings), SIMULATIONS, WATCH_SCORES, WATCH_REFERENCE, rng)
    return {"watch_reference_scores": WATCH_REFERENCE, "watch_scores": WATCH_SCORES, **_rates("watch", verdicts)}


# --- the offline A/B gate -----------------------------------------------------------------------------------


def _ab(settings: Settings, rng: np.random.Generator) -> dict[str, Any]:
    from learners.evaluate import rule_cases
    from learners.rules import shop_rules

    every = rule_cases(shop_rules(settings))
    report: dict[str, Any] = {"ab_accuracy": AB_ACCURACY}
    for name, held_out in (("bank", False), ("held_out", True)):
        intents = [c.rule.intent for c in every if c.held_out == held_out]
        report[f"ab_{name}_cases"] = len(intents)
        for concentration in AB_CONCENTRATIONS:
            promoted, differing = _ab_runs(settings, rng, intents, concentration)
            key = f"ab_{name}_concentration_{concentration:g}"
            report[f"{key}_differing_share"] = round(differing, 3)
            report |= _rates(key, np.where(promoted, PASS, FAIL), pass_only=True)
    return report


def _ab_runs(settings: Settings, rng: np.random.Generator, intents: list[str],
             concentration: float) -> tuple[np.ndarray, float]:
    """Whether ``ab_gate`` promoted the candidate in each simulation, and the share of cases the models
    answered differently."""
    ids = [f"case-{i}" for i in range(len(intents))]
    difficulty = rng.beta(AB_ACCURACY * concentration, (1 - AB_ACCURACY) * concentration,
                          size=(SIMULATIONS, len(ids)))
    candidate, champion = (rng.random(difficulty.shape) < difficulty for _ in range(2))
    promoted = np.array([ab_gate(dict(zip(ids, zip(intents, a))), dict(zip(ids, zip(intents, b))),
                                 tolerance=settings.gate_tolerance).passed
                         for a, b in zip(candidate.tolist(), champion.tolist())])
    return promoted, float(np.mean(candidate != champion))


# --- numbers ------------------------------------------------------------------------------------------------


def _rates(name: str, verdicts: np.ndarray, pass_only: bool = False) -> dict[str, Any]:
    """The share of simulations per first verdict, each with its 95 % Wilson interval."""
    report: dict[str, Any] = {}
    for verdict, code in (("pass", PASS),) if pass_only else (("fail", FAIL), ("pass", PASS)):
        hits, n = int(np.sum(verdicts == code)), len(verdicts)
        low, high = _wilson(hits, n)
        report |= {f"{name}_{verdict}": round(hits / n, 4), f"{name}_{verdict}_ci95": [round(low, 4),
                                                                                        round(high, 4)]}
    return report


def _wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial share."""
    share, spread = hits / n, z * z / n
    center = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / n + spread / (4 * n)) / (1 + spread)
    return max(0.0, center - half), min(1.0, center + half)
