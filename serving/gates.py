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
the true difference at every look at once. (Looked at after every score, with no margin, a 5 % z-test failed
19 % of canaries as good as their champion in ``flywheel bench gates``, this test 0.6 %.) The canary fails as
soon as the sequence lies wholly below ``-margin`` (the candidate is worse), passes once it lies wholly above
it (not worse than the margin) with enough scores on both sides, and waits otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

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


def paired_bootstrap(candidate: Sequence[bool], champion: Sequence[bool], *,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean paired difference (candidate − champion) and its percentile bootstrap interval."""
    if len(candidate) != len(champion) or not candidate:
        raise ValueError("a paired test needs the same, non-empty, list of cases on both sides")
    diffs = np.asarray(candidate, dtype=int) - np.asarray(champion, dtype=int)
    low, high = _bootstrap_bounds(np.bincount(diffs + 1, minlength=3)[None, :], confidence)
    return float(diffs.mean()), float(low[0]), float(high[0])


def _bootstrap_bounds(counts: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap interval of the mean paired difference for groups of cases, each given by its
    counts of differences −1, 0 and +1 (one row a group).

    The interval comes from the bootstrap distribution itself, not from a sample of resamples: a case's
    difference is −1, 0 or +1, so a resample's sum is the sum of n independent draws of three values, whose
    distribution is the n-th power of one draw's in Fourier space. Exact, free of resampling noise, and one
    transform for all the groups (the bench runs the gate thousands of times)."""
    n = counts.sum(axis=1)
    widest = int(n.max())
    step = np.zeros((len(counts), 2 * widest + 1))  # one draw's distribution, d at index d mod (2 widest + 1)
    step[:, [-1, 0, 1]] = counts / n[:, None]
    sums = np.fft.irfft(np.fft.rfft(step) ** n[:, None], step.shape[1])
    cdf = np.cumsum(np.roll(sums, widest, axis=1), axis=1)  # sums -widest .. widest in order
    tail = (1 - confidence) / 2
    low, high = ((np.argmax(cdf > q, axis=1) - widest) / n for q in (tail, 1 - tail))
    return low, high


def ab_gate(candidate: Mapping[str, tuple[str, bool]], champion: Mapping[str, tuple[str, bool]], *,
            tolerance: float = 0.05, confidence: float = 0.95, min_gain: float = 0.0) -> GateResult:
    """The offline A/B gate on per-case verdicts ``case_id -> (intent, correct)`` of both models.

    The interval's lower bound must exceed ``min_gain``: 0 asks for a better model (a candidate against a
    champion adapter); ``-tolerance`` asks only for one no worse, which is what the first adapter must show
    against the bare base model it is trained on.
    """
    shared = sorted(set(candidate) & set(champion))
    if not shared:
        return GateResult("ab", "fail", {"cases": 0.0}, "the two evaluations share no case")
    mean, low, high = paired_bootstrap([candidate[c][1] for c in shared], [champion[c][1] for c in shared],
                                       confidence=confidence)
    worst_intent, drop, drop_low = _worst_regression(shared, candidate, champion, confidence)
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
                      champion: Mapping[str, tuple[str, bool]], confidence: float) -> tuple[str, float, float]:
    """The intent whose accuracy surely drops most from champion to candidate: its name, its drop and the lower
    bound of the drop's paired interval (both 0 when no intent drops)."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for case in cases:
        by_intent[champion[case][0]].append(int(champion[case][1]) - int(candidate[case][1]))
    counts = np.array([np.bincount(np.array(d) + 1, minlength=3) for d in by_intent.values()])
    lows, _ = _bootstrap_bounds(counts, confidence)
    drops = (counts[:, 2] - counts[:, 0]) / counts.sum(axis=1)
    intent, drop, low = max(zip(by_intent, drops, lows), key=lambda item: (item[2], item[1]))
    return intent, max(0.0, float(drop)), max(0.0, float(low))


Moments = tuple[Any, Any, Any]
"""One side's count, mean and sample variance: numbers, or numpy arrays of them (the bench evaluates thousands
of simulated looks at once with the same code)."""


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
    def moments(self) -> Moments:
        return self.n, self.mean, self.m2 / (self.n - 1) if self.n > 1 else 0.0


@dataclass
class CanaryTest:
    """Always-valid comparison of mean NPS, canary versus champion; ``check`` may be called after every score.

    ``tau`` is the spread of differences the test is tuned to find (NPS points); ``min_variance`` keeps looks
    at scores that happen to be all equal from claiming certainty; ``burn_in`` is the scores a side needs
    before the test decides anything. The mixture's guarantee rests on a normal approximation with the sample
    variance, and the variance of two or three scores is noise: two unhappy customers were enough to fail a
    canary as good as its champion (``flywheel bench gates``). Ten scores a side end those false alarms, and a
    canary every customer hates still fails at its tenth score.
    """

    alpha: float = 0.05
    margin: float = 0.5
    min_scores: int = 100
    tau: float = 1.0
    min_variance: float = 1.0
    burn_in: int = 10
    canary: _Arm = field(default_factory=_Arm)
    champion: _Arm = field(default_factory=_Arm)

    def add(self, nps: float, *, canary: bool) -> None:
        (self.canary if canary else self.champion).add(nps)

    def radius(self, v: Any) -> Any:
        """Half the width of the confidence sequence when the difference of means has variance ``v``: where
        the normal-mixture likelihood ratio reaches ``1 / alpha``."""
        t2 = self.tau ** 2
        return np.sqrt(2 * v * (v + t2) / t2 * (np.log(1 / self.alpha) + 0.5 * np.log((v + t2) / v)))

    def bounds(self, canary: Moments, champion: Moments) -> tuple[Any, Any]:
        """The confidence sequence for mean(canary) − mean(champion) at a look where the sides have these
        moments; unbounded while a side has fewer than two scores."""
        (n_a, mean_a, var_a), (n_b, mean_b, var_b) = canary, champion
        few = (np.asarray(n_a) < 2) | (np.asarray(n_b) < 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.maximum(var_a, self.min_variance) / n_a + np.maximum(var_b, self.min_variance) / n_b
            diff, half = np.subtract(mean_a, mean_b), self.radius(v)
            return np.where(few, -np.inf, diff - half), np.where(few, np.inf, diff + half)

    def decisions(self, low: Any, high: Any, fewest: Any) -> tuple[Any, Any]:
        """Where the canary fails (surely worse by more than the margin) and where it passes (surely not, with
        ``min_scores`` on the side with fewer scores), once that side has its ``burn_in``."""
        fewest = np.asarray(fewest)
        return ((fewest >= self.burn_in) & (high < -self.margin),
                (fewest >= max(self.burn_in, self.min_scores)) & (low > -self.margin))

    def interval(self) -> tuple[float, float]:
        """The confidence sequence for mean(canary) − mean(champion) at this look."""
        low, high = self.bounds(self.canary.moments, self.champion.moments)
        return float(low), float(high)

    def verdict(self) -> tuple[Verdict, float, float]:
        """The decision at this look, with the interval it rests on."""
        low, high = self.interval()
        failed, passed = self.decisions(low, high, min(self.canary.n, self.champion.n))
        return ("fail" if failed else "pass" if passed else "wait"), low, high

    def check(self) -> GateResult:
        verdict, low, high = self.verdict()
        metrics = {"canary_n": float(self.canary.n), "champion_n": float(self.champion.n),
                   "canary_mean_nps": self.canary.mean, "champion_mean_nps": self.champion.mean,
                   "ci_low": low, "ci_high": high}
        detail = {"fail": f"canary NPS lower by more than {self.margin}",
                  "pass": f"canary NPS not lower by more than {self.margin}", "wait": "not enough evidence yet"}
        return GateResult("canary", verdict, metrics, detail[verdict])
