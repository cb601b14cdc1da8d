"""What a simulation run does: one typed, validated set of options shared by the CLI and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from infra.settings import DEMO_SHOP
from simulator.world import LocaleMode, World


class PolicyChange(BaseModel):
    """A policy change the policy team publishes before conversation ``at``: a changed rule, or a new service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: int = Field(ge=0)
    kind: Literal["rule", "new_service"] = "rule"
    intent: str | None = Field(None, description="default: the most asked changeable rule, or the shop's first "
                                                  "service")


class SimulateOptions(BaseModel):
    """Options of ``flywheel simulate``. ``start`` is required: the simulated clock never reads the wall
    clock, so the caller decides when the traffic happens (same seed and start, same events)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["world", "banking77"] = "world"
    shop: Path = Field(DEMO_SHOP, description="the shop file whose customers the simulation plays")
    dialogs: int = Field(1000, ge=1, description="conversations to simulate (banking77: at most its rows)")
    seed: int = 0
    start: AwareDatetime
    locale: LocaleMode = "mixed"
    rate_per_s: float | None = Field(None, gt=0, description="conversations per second; None: as fast as possible")
    mean_gap_s: float = Field(20.0, gt=0, description="mean simulated time between two customers")

    policy_change_at: int | None = Field(None, ge=0, description="dialog index at which a policy change is published")
    change: Literal["rule", "new_service"] = Field("rule", description="the kind of policy change")
    change_intent: str | None = Field(None, description="the rule changed or the service launched; default: the "
                                                        "most asked changeable rule / the shop's first service")
    more_changes: tuple[PolicyChange, ...] = Field((), description="further changes, after the one above")
    new_service_share: float = Field(0.3, ge=0.0, le=1.0, description="customers asking about a launched service")

    error_rate: float = Field(0.1, ge=0.0, le=1.0, description="share of questions the oracle answers wrongly")
    stale: bool = Field(False, description="the oracle never learns of policy changes")
    handoff_rate: float = Field(0.6, ge=0.0, le=1.0, description="wrong answers that end with a human agent")
    pii_share: float = Field(0.4, ge=0.0, le=1.0, description="customers who put personal data in their messages")
    order_share: float = Field(0.3, ge=0.0, le=1.0, description="messages that quote an order number")
    response_rate: float = Field(0.7, ge=0.0, le=1.0, description="conversations that get a satisfaction score")
    early_score_share: float = Field(0.1, ge=0.0, le=1.0, description="scores that arrive before their conversation")

    banking77_dir: Path | None = Field(None, description="default: ../shared/data/banking77 from the repository")
    banking77_splits: tuple[Literal["train", "test"], ...] = ("train", "test")

    def changes(self) -> tuple[PolicyChange, ...]:
        """Every change of the run in publishing order: ``policy_change_at``'s, then ``more_changes``."""
        first = () if self.policy_change_at is None else (
            PolicyChange(at=self.policy_change_at, kind=self.change, intent=self.change_intent),)
        return tuple(sorted(first + self.more_changes, key=lambda c: c.at))

    def intent_of(self, change: PolicyChange, world: World) -> str:
        """The intent ``change`` concerns in ``world``: its own, or the default for its kind (None: the shop has
        nothing of that kind)."""
        if change.intent:
            return change.intent
        defaults = world.changeable() if change.kind == "rule" else tuple(world.services)
        if not defaults:
            what = "no rule whose text states a number" if change.kind == "rule" else "no services/ folder"
            raise ValueError(f"a {change.kind} change needs an intent: the shop has {what}")
        return defaults[0]

    @model_validator(mode="after")
    def _changes_fit(self) -> Self:
        changes = self.changes()
        if changes and self.source != "world":
            raise ValueError("policy changes need source 'world': banking77 has no policies")
        world = World.create(self.seed, self.shop) if self.source == "world" else None
        if world is not None and self.locale != "mixed" and self.locale not in world.locales:
            raise ValueError(f"locale {self.locale} is not one of the shop's: {', '.join(world.locales)}")
        for change in changes:
            if change.at >= self.dialogs:
                raise ValueError(f"a policy change at {change.at} must come before dialog {self.dialogs}")
            intent = self.intent_of(change, world)
            known = world.changeable() if change.kind == "rule" else tuple(world.services)
            if intent not in known:
                raise ValueError(f"change_intent for a {change.kind} change must be one of: {', '.join(known)}")
        launched = [self.intent_of(c, world) for c in changes if c.kind == "new_service"]
        if len(set(launched)) != len(launched):
            raise ValueError("a service can be launched once")
        return self
