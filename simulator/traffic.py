"""Dialogs in the simulated shop: customers ask, the bot answers, some answers go wrong, agents step in.

A dialog is a customer question (one of the shop's example questions as a customer types it, with personal data
in a share of them) answered by the pluggable answerer, then a follow-up that depends on whether the answer
stated the rule in force: thanks, or a complaint that may end with a human agent giving the right answer; an
intent the shop hands to a person always ends with one. A policy change is published at a chosen dialog; from
then on the world in force is the changed one, and after a new service launches a share of customers ask about
it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from learners.judge import RuleJudge
from learners.rules import Rule
from simulator.answerer import Answerer, PolicyOracle, Question
from simulator.customers import Customers, Entity, Fragment, contact_reply, message, typed
from simulator.options import SimulateOptions
from simulator.scoring import Outcome, Surveys
from simulator.timeline import SimEvent, Timeline
from simulator.world import World, pick_locale, policy_update_event
from streams.events import Conversation, Locale, Role, Turn
from streams.signing import Signer

_CHANNELS: dict[Locale, tuple[str, ...]] = {"zh": ("app", "app", "web", "wechat"),
                                            "en": ("web", "web", "app", "email")}
_THANKS: dict[Locale, tuple[str, ...]] = {"zh": ("好的，谢谢！", "明白了，谢谢", "ok 了解"),
                                          "en": ("Great, thanks!", "ok got it", "Perfect, thank you.")}
_WELCOME: dict[Locale, str] = {"zh": "不客气，祝您购物愉快！", "en": "You're welcome, happy shopping!"}
_COMPLAINTS: dict[Locale, tuple[str, ...]] = {
    "zh": ("不对吧，页面上写的不是这样", "你确定吗？我看的规则不一样", "答非所问，转人工", "这说的不是我问的啊"),
    "en": ("That's not what your website says.", "Are you sure? That doesn't sound right.",
           "That's not what I asked. Can I talk to a person?", "wrong answer, get me a human"),
}
_SORRY: dict[Locale, str] = {"zh": "抱歉给您带来困扰，我再帮您核实一下。", "en": "Sorry for the confusion, let me look into it."}
_ASK_CONTACT: dict[Locale, str] = {
    "zh": "如需回访，方便留一下您的姓名和联系方式吗？",
    "en": "In case we need to follow up, may I have your name and a phone number or email?",
}
_NOTED: dict[Locale, str] = {"zh": "好的，已为您登记，祝您生活愉快！", "en": "Thanks, I've noted that. Have a great day!"}


@dataclass(frozen=True)
class Change:
    """A policy change published at dialog ``at``: a changed rule, or a service it ``launches``; ``world`` is the
    world in force from then on."""

    at: int
    rule: Rule
    launches: bool
    world: World


@dataclass(frozen=True)
class Scenario:
    """The worlds a run goes through: ``initial``, then the world after each change in turn."""

    initial: World
    changes: tuple[Change, ...] = ()

    @classmethod
    def of(cls, options: SimulateOptions) -> Scenario:
        initial = World.create(options.seed, options.shop)
        world, changes = initial, []
        for spec in options.changes():
            intent, launches = options.intent_of(spec, initial), spec.kind == "new_service"
            world = world.with_new_service(intent) if launches else world.with_rule_change(intent)
            changes.append(Change(spec.at, world[intent], launches, world))
        return cls(initial, tuple(changes))

    @property
    def final(self) -> World:
        return self.changes[-1].world if self.changes else self.initial

    @property
    def launched(self) -> tuple[str, ...]:
        """The intents of the services the run launches."""
        return tuple(c.rule.intent for c in self.changes if c.launches)

    @property
    def changed(self) -> tuple[str, ...]:
        """The intents whose rule the run changes."""
        return tuple(c.rule.intent for c in self.changes if not c.launches)


@dataclass
class _Transcript:
    """The turns of one dialog on the simulated clock, with the entities each customer turn carries."""

    timeline: Timeline
    at_s: float
    turns: list[Turn] = field(default_factory=list)
    entities: dict[int, tuple[Entity, ...]] = field(default_factory=dict)

    def say(self, role: Role, said: Fragment | str, pause_s: float = 0.0) -> None:
        said = Fragment(said) if isinstance(said, str) else said
        self.at_s += pause_s
        if said.entities:
            self.entities[len(self.turns)] = said.entities
        self.turns.append(Turn(role=role, text=said.text, at=self.timeline.at(self.at_s)))


class WorldTraffic:
    """Customer-service traffic of the seeded world; ``events()`` replays the same run every time it is
    called (an external ``answerer`` keeps its own state between calls)."""

    def __init__(self, options: SimulateOptions, signer: Signer, answerer: Answerer | None = None):
        self.options, self.signer, self.answerer = options, signer, answerer
        self.scenario = Scenario.of(options)
        self.dialogs = options.dialogs

    def events(self) -> Iterator[SimEvent]:
        return _Run(self).events()


class _Run:
    """The state of one pass over the scenario, built afresh so that every pass gives the same events."""

    def __init__(self, traffic: WorldTraffic):
        options, seed = traffic.options, traffic.options.seed
        self.options, self.scenario, self.signer = options, traffic.scenario, traffic.signer
        self.world = traffic.scenario.initial
        self.pending = list(traffic.scenario.changes)
        self.rng = random.Random(f"{seed}:dialogs")
        self.customers = Customers(f"{seed}:customers")
        self.surveys = Surveys(f"{seed}:surveys", options.response_rate, options.early_score_share)
        self.timeline = Timeline(options.start, f"{seed}:timeline", options.mean_gap_s)
        self.answerer = traffic.answerer or PolicyOracle(
            lambda: self.world, random.Random(f"{seed}:oracle"), options.error_rate, options.stale,
            adapter_version="oracle-stale" if options.stale else "oracle")

    def events(self) -> Iterator[SimEvent]:
        return self.timeline.play(self.options.dialogs, self._dialog)

    def _dialog(self, index: int) -> None:
        while self.pending and self.pending[0].at == index:
            self._publish(self.pending.pop(0))
        options, rng = self.options, self.rng
        intent = self._intent()
        rule = self.world[intent]
        locale = pick_locale(rng, options.locale, rule.locales)
        customer = self.customers.draw(locale) if rng.random() < options.pii_share else None
        question = rng.choice(rule.questions(locale))
        asked = message(typed(question, locale, rng), locale, rng, customer, order=rng.random() < options.order_share)
        conversation_id = self.timeline.conversation_id()
        answer = self.answerer.answer(Question(asked.text, locale, intent, conversation_id))
        right = RuleJudge(self.world.rules)(question, locale, rule, answer.text).correct

        transcript = _Transcript(self.timeline, self.timeline.now_s)
        transcript.say("customer", asked)
        transcript.say("bot", answer.text, rng.uniform(1.0, 4.0))
        outcome: Outcome = "handed_off" if rule.handoff else self._follow_up(transcript, right, locale)
        if outcome == "handed_off":
            transcript.say("agent", rule.answer(locale), rng.uniform(30.0, 240.0))
            if customer:
                transcript.say("agent", _ASK_CONTACT[locale], rng.uniform(2.0, 10.0))
                transcript.say("customer", contact_reply(customer, rng), rng.uniform(5.0, 40.0))
                transcript.say("agent", _NOTED[locale], rng.uniform(2.0, 10.0))
        conversation = Conversation(
            event_id=self.timeline.event_id(), event_time=transcript.turns[-1].at,
            conversation_id=conversation_id, locale=locale, channel=rng.choice(_CHANNELS[locale]),
            turns=transcript.turns, adapter_version=answer.adapter_version, intent=answer.intent,
            policy_id=answer.policy_id, policy_version=answer.policy_version,
            resolved=outcome != "wrong", handed_off=outcome == "handed_off",
        )
        self.surveys.report(self.timeline, conversation, outcome, transcript.entities, intent)

    def _follow_up(self, transcript: _Transcript, right: bool, locale: Locale) -> Outcome:
        """What the customer says after the bot's answer, and how the dialog ends."""
        rng = self.rng
        if right:
            if rng.random() < 0.3:
                transcript.say("customer", rng.choice(_THANKS[locale]), rng.uniform(5.0, 30.0))
                transcript.say("bot", _WELCOME[locale], rng.uniform(1.0, 3.0))
            return "right"
        handed_off = rng.random() < self.options.handoff_rate
        complains = handed_off or rng.random() < 0.5
        if complains:
            transcript.say("customer", rng.choice(_COMPLAINTS[locale]), rng.uniform(5.0, 60.0))
        if handed_off:
            return "handed_off"
        if complains:
            transcript.say("bot", _SORRY[locale], rng.uniform(1.0, 3.0))
        return "wrong"

    def _intent(self) -> str:
        """What the next customer asks about: a launched service for a share of them, otherwise the
        policies in force weighted by how often customers ask about each."""
        launched = self.scenario.launched
        live = [intent for intent in launched if intent in self.world.rules.rules]
        if live and self.rng.random() < self.options.new_service_share:
            return live[0] if len(live) == 1 else self.rng.choice(live)
        asked = [r for r in self.world.rules.rules.values() if r.intent not in launched]
        return self.rng.choices(asked, weights=[r.weight for r in asked])[0].intent

    def _publish(self, change: Change) -> None:
        """The policy team publishes the change; it is in force from this moment."""
        self.world = change.world
        update = policy_update_event(change.rule, signer=self.signer, event_id=self.timeline.event_id(),
                                     effective_at=self.timeline.at(self.timeline.now_s))
        self.timeline.schedule(SimEvent(update))
