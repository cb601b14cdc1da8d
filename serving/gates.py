"""The statistics of the promotion gates: an offline paired A/B test and an always-valid online NPS test.

**Offline A/B** (``ab_gate``): the candidate and the champion answer the same evaluation cases; each case is a
pair of right/wrong verdicts. The gate bootstraps the paired difference in policy-fact accuracy (resampling
cases, so the pairing is kept) and promotes only when the lower bound of its confidence interval is above zero
and no intent loses more than a tolerance: better on the whole, and not by trading one rule for another. An
intent's loss is judged the same way, by the lower bound of its own paired interval: an intent has a dozen or
two cases, so one answer that flips is a drop of 5 to 8 points and is noise, not a regression.

**Online canary** (``CanaryTest``): customers of the canary and of the champion score their conversations,
and the gate is looked at again and again while scores arrive. A fixed-sample test checked repeatedly finds a
"difference" far more often than its level says; this one uses a normal-mixture sequential probability ratio
test (mSPRT, Robbins 1970; Johari et al., "Always Valid Inference", 2017), whose confidence sequence covers
the true difference at every look at once. The canary fails as soon as the sequence lies wholly below
``-margin`` (the candidate is worse), passes once it lies wholly above it (not worse than the margin) with
enough scores on both sides, and waits otherwise.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["pass", "fail", "wait"]


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict and the numbers behind it (recorded in the registry and on ``cs.model-events``)."""

    gate: str
    verdict: Verdict
    metrics: dict[str, float]
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def paired_bootstrap(candidate: Sequence[bool], champion: Sequence[bool], *, resamples: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean paired difference (candidate − champion) and its percentile bootstrap interval."""
    if len(candidate) != len(champion) or not candidate:
        raise ValueError("a paired test needs the same, non-empty, list of cases on both sides")
    diffs = [int(c) - int(b) for c, b in zip(candidate, champion, strict=True)]
    rng, n = random.Random(seed), len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    return sum(diffs) / n, means[int(tail * resamples)], means[min(resamples - 1, int((1 - tail) * resamples))]


def ab_gate(candidate: Mapping[str, tuple[str, bool]], champion: Mapping[str, tuple[str, bool]], *,
            tolerance: float = 0.05, confidence: float = 0.95, seed: int = 0, min_gain: float = 0.0) -> GateResult:
    """The offline A/B gate on per-case verdicts ``case_id -> (intent, correct)`` of both models.

    The interval's lower bound must exceed ``min_gain``: 0 asks for a better model (a candidate against a
    champion adapter); ``-tolerance`` asks only for one no worse, which is what the first adapter must show
    against the bare base model it is trained on.
    """
    shared = sorted(set(candidate) & set(champion))
    if not shared:
        return GateResult("ab", "fail", {"cases": 0.0}, "the two evaluations share no case")
    mean, low, high = paired_bootstrap([candidate[c][1] for c in shared], [champion[c][1] for c in shared],
                                       confidence=confidence, seed=seed)
    worst_intent, drop, drop_low = _worst_regression(shared, candidate, champion, confidence, seed)
    metrics = {"cases": float(len(shared)), "accuracy_diff": mean, "ci_low": low, "ci_high": high,
               "candidate_accuracy": _share(candidate, shared), "champion_accuracy": _share(champion, shared),
               "worst_intent_regression": drop, "worst_intent_regression_low": drop_low, "min_gain": min_gain}
    if low <= min_gain:
        return GateResult("ab", "fail", metrics, f"{'not better' if min_gain >= 0 else 'worse'}: {confidence:.0%} "
                                                 f"interval [{low:+.3f}, {high:+.3f}] does not clear {min_gain:+.3f}")
    if drop_low > tolerance:
        return GateResult("ab", "fail", metrics, f"{worst_intent} regresses by {drop:.3f} (at least {drop_low:.3f} "
                                                 f"at {confidence:.0%}; tolerance {tolerance})")
    verdict = "better" if min_gain >= 0 else "not worse"
    return GateResult("ab", "pass", metrics, f"{verdict}: difference {mean:+.3f} [{low:+.3f}, {high:+.3f}]")


def _share(verdicts: Mapping[str, tuple[str, bool]], cases: Sequence[str]) -> float:
    return sum(verdicts[c][1] for c in cases) / len(cases)


def _worst_regression(cases: Sequence[str], candidate: Mapping[str, tuple[str, bool]],
                      champion: Mapping[str, tuple[str, bool]], confidence: float,
                      seed: int) -> tuple[str, float, float]:
    """The intent whose accuracy surely drops most from champion to candidate: its name, its drop and the lower
    bound of the drop's paired interval (both 0 when no intent drops)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        by_intent[champion[case][0]].append(case)
    drops = {intent: paired_bootstrap([champion[c][1] for c in ids], [candidate[c][1] for c in ids],
                                      confidence=confidence, seed=seed)[:2] for intent, ids in by_intent.items()}
    intent, (drop, low) = max(drops.items(), key=lambda item: (item[1][1], item[1][0]))
    return intent, max(0.0, drop), max(0.0, low)


@dataclass
class _Arm:
    """Running mean and variance of one side's scores (Welford)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0


@dataclass
class CanaryTest:
    """Always-valid comparison of mean NPS, canary versus champion; ``check`` may be called after every score.

    ``tau`` is the spread of differences the test is tuned to find (NPS points); ``min_variance`` keeps the
    first few looks, when every score may be equal, from claiming certainty.
    """

    alpha: float = 0.05
    margin: float = 0.5
    min_scores: int = 100
    tau: float = 1.0
    min_variance: float = 1.0
    canary: _Arm = field(default_factory=_Arm)
    champion: _Arm = field(default_factory=_Arm)

    def add(self, nps: float, *, canary: bool) -> None:
        (self.canary if canary else self.champion).add(nps)

    def interval(self) -> tuple[float, float]:
        """The confidence sequence for mean(canary) − mean(champion) at this look."""
        if self.canary.n < 2 or self.champion.n < 2:
            return -math.inf, math.inf
        v = (max(self.canary.variance, self.min_variance) / self.canary.n
             + max(self.champion.variance, self.min_variance) / self.champion.n)
        t2 = self.tau ** 2
        half = math.sqrt(2 * v * (v + t2) / t2 * (math.log(1 / self.alpha) + 0.5 * math.log((v + t2) / v)))
        diff = self.canary.mean - self.champion.mean
        return diff - half, diff + half

    def check(self) -> GateResult:
        low, high = self.interval()
        metrics = {"canary_n": float(self.canary.n), "champion_n": float(self.champion.n),
                   "canary_mean_nps": self.canary.mean, "champion_mean_nps": self.champion.mean,
                   "ci_low": low, "ci_high": high}
        if high < -self.margin:
            return GateResult("canary", "fail", metrics, f"canary NPS lower by more than {self.margin}")
        enough = min(self.canary.n, self.champion.n) >= self.min_scores
        if enough and low > -self.margin:
            return GateResult("canary", "pass", metrics, f"canary NPS not lower by more than {self.margin}")
        return GateResult("canary", "wait", metrics, "not enough evidence yet")
