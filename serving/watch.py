"""The watch: a promoted adapter is compared with the champion it replaced, and rolled back if it is surely worse.

The canary answers a share of conversations for an hour; a champion answers all of them for weeks, and a
problem too small or too rare for the canary to show shows there. After a promotion, the new champion's scored
conversations are compared with the previous champion's in the ``FLYWHEEL_WATCH_TIMEOUT_S`` before the
promotion, by the canary's always-valid test (``serving.gates.CanaryTest``), on two measures:

- **NPS**, with the canary's margin (``FLYWHEEL_CANARY_MARGIN``): the watch holds the champion to the promise
  its canary made;
- **the resolved share**: the conversations the bot resolved itself (resolved, and not handed to a human
  agent), with the same margin read as a share of the scale (0.5 of NPS's 10 points is 5 points of the
  share). This is the per-adapter error signal the traffic log holds: a request the model failed (an error,
  a timeout) is answered by the FAQ fallback and recorded under ``fallback``, not under the adapter that
  failed, so failed requests themselves cannot be laid at an adapter's door.

The verdict is ``fail`` as soon as either measure is surely worse by more than its margin; with
``FLYWHEEL_WATCH_ROLLBACK`` (on by default) the previous champion is then restored. It is ``pass`` once both are
surely not, with ``FLYWHEEL_WATCH_MIN_SCORES`` scores on each side; after ``FLYWHEEL_WATCH_TIMEOUT_S`` with
neither, the watch ends. A final verdict goes to the registry (``metrics.gates.watch``) and to
``cs.model-events`` like the gates' verdicts; a look without one is only logged.

``watch_champion`` is one look, and keeps no state of its own: the registry says what is watched and whether
it was decided, and the traffic log holds the scores. Whoever runs it (the refresh scheduler, every
``WATCH_EVERY_S``) can stop and start at any time. The first champion is not watched: the registry has no
adapter to return it to (its A/B gate measured it against the base model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from infra.settings import Settings
from learners.registry import Registry
from serving.gates import CanaryTest, GateResult, Verdict
from serving.promotion import record_verdict, roll_back

log = logging.getLogger(__name__)

NPS_SPAN = 10.0  # the NPS scale's width: the resolved share's tuning is the NPS test's, over this


@dataclass(frozen=True)
class Watched:
    """A champion under watch: its name, the champion it replaced and when."""

    champion: str
    previous: str
    promoted_at: datetime


def watched_champion(registry: Registry) -> Watched | None:
    """The champion, if it was promoted over another (not restored by a rollback) and has no watch verdict yet."""
    champion = registry.champion()
    if champion is None or "watch" in champion.metrics.get("gates", {}):
        return None
    crowned = [row for row in registry.history() if row["to_state"] == "champion"]
    mine = max((row for row in crowned if row["name"] == champion.name), key=lambda row: row["id"])
    before = [row for row in crowned if row["id"] < mine["id"] and row["name"] != champion.name]
    if mine["from_state"] not in ("candidate", "canary") or not before:
        return None
    at = mine["at"] if mine["at"].tzinfo else mine["at"].replace(tzinfo=UTC)
    return Watched(champion.name, before[-1]["name"], at)


def watch_tests(settings: Settings) -> tuple[CanaryTest, CanaryTest]:
    """The tests of NPS and of the resolved share, the new champion on the canary's side."""
    scale = 1.0 / NPS_SPAN
    nps = CanaryTest(margin=settings.canary_margin, min_scores=settings.watch_min_scores)
    resolved = CanaryTest(margin=nps.margin * scale, min_scores=nps.min_scores, tau=nps.tau * scale,
                          min_variance=nps.min_variance * scale ** 2)
    return nps, resolved


def watch_verdict(settings: Settings, watched: Watched) -> GateResult:
    """The watch's test on the scored traffic so far: the champion's since its promotion, against the previous
    champion's in the same length of time before it."""
    from features.config import store_config
    from features.traffic import EVER, TrafficQuery, read_traffic

    config, since = store_config(settings), watched.promoted_at
    nps, resolved = watch_tests(settings)
    before = TrafficQuery(since - timedelta(seconds=settings.watch_timeout_s), since,
                          adapter_version=watched.previous)
    for query, new in ((TrafficQuery(since, EVER[1], adapter_version=watched.champion), True), (before, False)):
        rows = read_traffic(config, query)
        if len(rows):
            for score, fine in zip(rows["nps"], rows["resolved"] & ~rows["handed_off"], strict=True):
                nps.add(float(score), canary=new)
                resolved.add(float(fine), canary=new)
    return _verdict(nps, resolved, watched)


def _verdict(nps: CanaryTest, resolved: CanaryTest, watched: Watched) -> GateResult:
    """``fail`` if either measure fails, ``pass`` if both pass, else ``wait``; the detail leads with the measures
    that failed."""
    (nps_verdict, nps_low, nps_high), (share_verdict, share_low, share_high) = nps.verdict(), resolved.verdict()
    failed = [name for name, verdict in (("NPS", nps_verdict), ("resolved share", share_verdict))
              if verdict == "fail"]
    verdict: Verdict = "fail" if failed else "pass" if nps_verdict == share_verdict == "pass" else "wait"
    metrics = {"champion_n": float(nps.canary.n), "previous_n": float(nps.champion.n),
               "champion_mean_nps": nps.canary.mean, "previous_mean_nps": nps.champion.mean,
               "nps_ci_low": nps_low, "nps_ci_high": nps_high,
               "champion_resolved_share": resolved.canary.mean, "previous_resolved_share": resolved.champion.mean,
               "resolved_ci_low": share_low, "resolved_ci_high": share_high,
               "promoted_at": watched.promoted_at.timestamp()}
    summary = {"fail": f"worse by more than the margin on {' and '.join(failed)}",
               "pass": "not worse by more than the margin on either measure", "wait": "no verdict yet"}[verdict]
    return GateResult("watch", verdict, metrics, (
        f"{watched.champion} against {watched.previous}: {summary}; NPS {nps.canary.mean:.2f} against "
        f"{nps.champion.mean:.2f} (interval [{nps_low:+.2f}, {nps_high:+.2f}], margin {nps.margin}), resolved "
        f"share {resolved.canary.mean:.3f} against {resolved.champion.mean:.3f} (interval [{share_low:+.3f}, "
        f"{share_high:+.3f}], margin {resolved.margin:.3f})"))


def watch_champion(settings: Settings, now: datetime | None = None) -> GateResult | None:
    """One look at the champion under watch (None: nothing is watched): record a final verdict, and roll a
    failed champion back when ``FLYWHEEL_WATCH_ROLLBACK`` is on."""
    registry = Registry.open(settings)
    watched = watched_champion(registry)
    if watched is None:
        return None
    result = watch_verdict(settings, watched)
    watched_for = (now or datetime.now(UTC)) - watched.promoted_at
    if result.verdict == "wait" and watched_for < timedelta(seconds=settings.watch_timeout_s):
        log.info("watch: %s", result.detail)
        return result
    if result.verdict == "wait":
        result = replace(result, detail=f"watch ended after {watched_for} without a verdict: {result.detail}")
    record_verdict(settings, registry, watched.champion, result)
    current = registry.champion()  # an operator may have promoted another while the traffic was read
    if result.verdict == "fail" and settings.watch_rollback and current and current.name == watched.champion:
        roll_back(settings, f"watch: {result.detail}")
    return result
