"""The weekly refresh dataset against a real feature store: what a refresh keeps, renews and drops, and that
snapshots are immutable, versioned and refused when their checks fail."""

from __future__ import annotations

import itertools
import json
import stat
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from features import repository
from features.config import store_config
from features.writer import FeatureWriter
from infra.errors import FlywheelError
from infra.settings import Settings
from learners import dataset
from learners.corpus import shop_corpus
from learners.dataset import (
    Snapshot,
    build_base_snapshot,
    latest_snapshot,
    list_snapshots,
    load_snapshot,
    refresh_snapshot,
    stratified_sample,
)
from learners.dataset_checks import SnapshotRefused, prompt_key
from learners.examples import Example
from simulator.world import World, policy_update_event
from streams.events import ScoredDialog, Turn
from streams.signing import signer
from tests.conftest import REPO

pytestmark = pytest.mark.integration

WORLD = World.create(7)
LOCALES = WORLD.locales
CHANGED = WORLD.with_rule_change("return_window")
OLD_RULE, NEW_RULE = WORLD["return_window"], CHANGED["return_window"]
START = datetime(2025, 3, 3, tzinfo=UTC)
END = START + timedelta(days=7)
CHANGE_AT = START + timedelta(days=3)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Snapshot creation times, a second apart; a test pins the time by putting one in the returned list."""
    ticks = itertools.count()
    pinned: list[datetime] = []

    def now() -> datetime:
        return pinned[0] if pinned else datetime(2025, 3, 10, tzinfo=UTC) + timedelta(seconds=next(ticks))

    monkeypatch.setattr(dataset, "utcnow", now)
    return pinned


def _settings(tmp_path: Path, kind: str = "embedded", **overrides: object) -> Settings:
    tag = f"t{uuid.uuid4().hex[:12]}"
    return Settings(data_dir=tmp_path / "data", feature_store=kind, feature_project=tag, feature_schema=tag,
                    snapshot_min_examples=100, **overrides)


@pytest.fixture
def settings(tmp_path: Path, clock: list[datetime]) -> Iterator[Settings]:
    """Embedded store, applied before and destroyed after."""
    with _store(_settings(tmp_path)) as configured:
        yield configured


class _store:  # noqa: N801 (a context manager like contextlib's)
    def __init__(self, settings: Settings):
        self.settings, self.config = settings, store_config(settings)

    def __enter__(self) -> Settings:
        repository.apply(self.config)
        return self.settings

    def __exit__(self, *exc: object) -> None:
        repository.destroy(self.config)


def _dialog(n: int, at: datetime, question: str, answer: str, *, intent: str | None, locale: str, nps: int = 3,
            agent: bool = True) -> ScoredDialog:
    turns = [Turn(role="customer", text=question, at=at), Turn(role="bot", text="let me check", at=at)]
    if agent:
        turns.append(Turn(role="agent", text=answer, at=at))
    return ScoredDialog(event_id=f"e{n}", event_time=at, conversation_id=f"c{n}", conversation_event_id=f"ce{n}",
                        satisfaction_event_id=f"se{n}", locale=locale, channel="web", turns=turns,
                        adapter_version="a1", intent=intent, resolved=not agent, handed_off=agent, nps=nps)


def _traffic(count: int, start: datetime, world: World = WORLD, first: int = 0) -> list[ScoredDialog]:
    """``count`` detractor dialogs spread over a day from ``start``, cycling through intents and locales, each
    question made unique and answered by ``world``'s rule."""
    combos = [(intent, locale) for intent in world.intents for locale in LOCALES]
    dialogs = []
    for n in range(first, first + count):
        intent, locale = combos[n % len(combos)]
        question = f"{world.questions(intent, locale)[0]} (#{n})"
        dialogs.append(_dialog(n, start + timedelta(minutes=n), question, world.answer(intent, locale),
                               intent=intent, locale=locale))
    return dialogs


def _write(settings: Settings, dialogs: list[ScoredDialog] = (), policies: tuple = ()) -> None:
    with FeatureWriter(store_config(settings)) as writer:
        for policy, effective_at in policies:
            update = policy_update_event(policy, signer=signer(settings),
                                         event_id=f"p-{policy.policy_id}-v{policy.version}", effective_at=effective_at)
            assert writer.write_policy(update) == "applied"
        if dialogs:
            writer.write_scored(dialogs, settings.nps_threshold)


def _base(settings: Settings) -> Snapshot:
    return build_base_snapshot(settings, shop_corpus(WORLD.rules))


def _strata(examples: list[Example]) -> Counter[tuple[str, str]]:
    return Counter((e.intent, e.locale) for e in examples)


def test_a_refresh_renews_a_tenth_from_low_nps_dialogs_and_keeps_the_rest_in_proportion(settings):
    base = _base(settings)
    size = base.manifest["counts"]["total"]
    ignored = [_dialog(900, START, "q satisfied", "a", intent="coupon", locale="en", nps=9),
               _dialog(901, START, "q no agent", "a", intent="coupon", locale="en", agent=False),
               _dialog(902, END, "q after the window", "a", intent="coupon", locale="en")]
    _write(settings, _traffic(400, START) + ignored)

    snapshot = refresh_snapshot(settings, base, START, END, seed=1)

    refresh = snapshot.manifest["refresh"]
    renewed = round(0.1 * size)
    assert (refresh["renewed"], refresh["renewed_dialog"], refresh["kept"]) == (renewed, renewed, size - renewed)
    assert snapshot.manifest["counts"]["total"] == size
    assert snapshot.manifest["counts"]["by_source"] == {"corpus": size - renewed, "dialog": renewed}
    assert refresh["candidates"]["dialog_rows"] == 400 and not refresh["policy_over_share"]
    examples = snapshot.examples()
    assert {e.source_id for e in examples if e.source == "dialog"} <= {f"e{n}" for n in range(400)}
    kept, before = _strata([e for e in examples if e.source == "corpus"]), _strata(base.examples())
    assert kept.keys() == before.keys()
    assert all(abs(kept[s] - before[s] * (size - renewed) / size) < 1 for s in before)
    assert set(_strata([e for e in examples if e.source == "dialog"])) <= set(before)  # renewed: stratified too
    assert snapshot.manifest["parent"] == base.name
    assert snapshot.manifest["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert snapshot.manifest["checks"]["passed"] and snapshot.manifest["checks"]["failed"] == {}

    again, other = refresh_snapshot(settings, base, START, END, seed=1), refresh_snapshot(settings, base, START, END)
    assert again.manifest["sha256"] == snapshot.manifest["sha256"] != other.manifest["sha256"]
    assert again.name != snapshot.name


@pytest.mark.parametrize("kind", ["embedded", "production"])
def test_a_policy_change_is_learned_whole_and_its_stale_examples_are_dropped(tmp_path, clock, kind):
    with _store(_settings(tmp_path, kind, renew_share=0.01)) as settings:
        base = _base(settings)
        before_change = _traffic(26, START)  # answered by the old rule, grounded in it
        after_change = _traffic(26, CHANGE_AT, CHANGED, first=100)
        _write(settings, before_change + after_change,
               policies=((OLD_RULE, START - timedelta(days=30)), (NEW_RULE, CHANGE_AT)))

        snapshot = refresh_snapshot(settings, base, START, END)

    examples = snapshot.examples()
    taught = [e for e in examples if e.source == "policy"]
    published = policy_update_event(NEW_RULE, signer=signer(settings), event_id="e", effective_at=CHANGE_AT).examples
    assert len(taught) == 2 * len(published)  # every published Q/A, grounded and not
    assert {(e.question, e.context) for e in taught} == (
        {(qa.question, NEW_RULE.text(qa.locale)) for qa in published} | {(qa.question, None) for qa in published})
    assert {(e.policy_id, e.policy_version, e.source_id) for e in taught} == {("return-window", 2, "return-window:v2")}
    refresh = snapshot.manifest["refresh"]
    assert refresh["policy_over_share"] and refresh["renewed_policy"] == len(taught) > refresh["target_renewed"]
    assert snapshot.manifest["policy_changes"] == [{"policy_id": "return-window", "version": 2,
                                                    "intent": "return_window",
                                                    "effective_at": CHANGE_AT.isoformat(),
                                                    "examples": len(published)}]

    rule = [e for e in examples if e.policy_id == "return-window"]
    assert not [e for e in rule if e.context is None and e.policy_version == 1]  # the old rule, stated as knowledge
    assert [e for e in rule if e.context is not None and e.policy_version == 1]  # reading a rule given: kept
    stale_in_base = [e for e in base.examples() if e.policy_id == "return-window" and e.context is None]
    assert refresh["dropped_stale"] >= len(stale_in_base)


def test_dialogs_are_grounded_in_the_rule_in_force_at_their_time(tmp_path, clock):
    """The version published before the dialog, or the shop file's own rule where none was."""
    with _store(_settings(tmp_path, renew_share=0.5)) as settings:
        base = _base(settings)
        old = _dialog(1, CHANGE_AT - timedelta(hours=1), "can I still return it? (old)", OLD_RULE.answer("en"),
                      intent="return_window", locale="en")
        new = _dialog(2, CHANGE_AT + timedelta(hours=1), "can I still return it? (new)", NEW_RULE.answer("en"),
                      intent="return_window", locale="en")
        other = _dialog(3, CHANGE_AT, "nothing published for this one", "ask the agent", intent="coupon",
                        locale="en")
        _write(settings, [old, new, other], policies=((OLD_RULE, START - timedelta(days=30)), (NEW_RULE, CHANGE_AT)))

        examples = refresh_snapshot(settings, base, START, END).examples()

    by_dialog = {(e.source_id, e.context is None): e for e in examples if e.source == "dialog"}
    assert (by_dialog[("e2", False)].context, by_dialog[("e2", False)].policy_version) == (NEW_RULE.text("en"), 2)
    assert by_dialog[("e2", True)].answer == NEW_RULE.answer("en")
    assert (by_dialog[("e1", False)].context, by_dialog[("e1", False)].policy_version) == (OLD_RULE.text("en"), 1)
    assert ("e1", True) not in by_dialog  # stale: it states the old rule without its text
    assert by_dialog[("e3", True)].context is None
    assert (by_dialog[("e3", False)].context, by_dialog[("e3", False)].policy_version) == (
        WORLD["coupon"].text("en"), 1)
    assert by_dialog[("e2", False)].question == "can I still return it? (new)"


def test_duplicate_prompts_keep_the_newest_answer(tmp_path, clock):
    with _store(_settings(tmp_path, renew_share=0.5)) as settings:
        base = _base(settings)
        corpus_question = next(e for e in base.examples() if e.intent == "coupon" and e.context is None)
        asked = ["How do I use a COUPON?", "how do i  use a coupon?", "ｈｏｗ do I use a coupon?"]
        dialogs = [_dialog(n, START + timedelta(hours=n), question, f"answer {n}", intent="coupon", locale="en")
                   for n, question in enumerate(asked)]
        dialogs.append(_dialog(9, START, corpus_question.question, "the newer answer", intent="coupon", locale="en"))
        _write(settings, dialogs)

        snapshot = refresh_snapshot(settings, base, START, END)

    examples = snapshot.examples()
    coupon = [e for e in examples if "use a coupon" in e.question.casefold().replace("ｈｏｗ", "how")]
    assert [(e.answer, e.source_id) for e in coupon] == [("answer 2", "e2")] * 2  # grounded and not
    replaced = [e for e in examples if prompt_key(e) == prompt_key(corpus_question)]
    assert [(e.answer, e.source) for e in replaced] == [("the newer answer", "dialog")]
    assert snapshot.manifest["refresh"]["deduplicated"] == 6  # two older askings, one corpus example; each twice
    assert len({prompt_key(e) for e in examples}) == len(examples)


def test_a_customer_asking_in_the_words_of_the_evaluation_set_never_reaches_training(tmp_path, clock):
    """A dialog whose question is a held-out phrasing is dropped: the A/B gate's evaluation set stays unseen."""
    held_out = WORLD["coupon"].held_out("en")[0]
    with _store(_settings(tmp_path, renew_share=0.5)) as settings:
        base = _base(settings)
        dialogs = [_dialog(1, START, f"  {held_out.upper()} ", "the agent's answer", intent="coupon", locale="en"),
                   _dialog(2, START, "a coupon question in other words", "the agent's answer", intent="coupon",
                           locale="en")]
        _write(settings, dialogs)

        snapshot = refresh_snapshot(settings, base, START, END)

    assert {e.source_id for e in snapshot.examples() if e.source == "dialog"} == {"e2"}
    assert snapshot.manifest["refresh"]["held_out"] == 2  # one dialog: its grounded and its ungrounded copy


def test_a_dialog_without_an_intent_is_read_by_the_router_and_handoff_intents_are_left_out(tmp_path, clock):
    """A chat platform that records no intent still teaches the refresh; a human's intent teaches the model
    nothing it will be asked."""
    abcd = REPO / "shops" / "abcd" / "shop.yaml"
    with _store(_settings(tmp_path, renew_share=0.5, shop=abcd)) as settings:
        shop = World.create(0, abcd)
        base = build_base_snapshot(settings, shop_corpus(shop.rules))
        returns = shop["membership_returns"]
        dialogs = [_dialog(1, START, "hi, I'm a bronze member, how long can i send my jacket back?",
                           returns.answer("en"), intent=None, locale="en"),
                   _dialog(2, START, "why is there a strange fee on my order?", "a colleague checks it",
                           intent="order_mystery_fee", locale="en"),
                   _dialog(3, START, "qwertyuiop", "?", intent=None, locale="en")]
        _write(settings, dialogs)

        snapshot = refresh_snapshot(settings, base, START, END)

    renewed = {(e.source_id, e.intent) for e in snapshot.examples() if e.source == "dialog"}
    assert renewed == {("e1", "membership_returns")}
    candidates = snapshot.manifest["refresh"]["candidates"]
    assert candidates["dialog_rows"] == 2 and candidates["routed_dialog_rows"] == 1


def test_base_snapshot_is_immutable_versioned_and_listed(settings, clock):
    assert latest_snapshot(settings) is None and list_snapshots(settings) == []
    base = _base(settings)

    assert base.name.startswith("ds-20250310-000000-base-") and base.name.endswith(base.manifest["sha256"][:12])
    assert [s.name for s in list_snapshots(settings)] == [base.name] and latest_snapshot(settings).name == base.name
    loaded = load_snapshot(settings, base.name)
    assert loaded.manifest == base.manifest and loaded.examples() == base.examples()
    assert base.manifest["counts"]["total"] == len(shop_corpus(WORLD.rules)) == len(base.examples())
    assert base.manifest["parent"] is None and base.manifest["base"]["deduplicated"] == 0
    for path in (base.path, base.path / "examples.jsonl", base.path / "manifest.json"):
        assert path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert [p.name for p in base.path.parent.iterdir()] == [base.name]  # no staging folder left

    clock.append(datetime(2025, 3, 10, tzinfo=UTC))  # the same time and content again: the same name
    with pytest.raises(FlywheelError, match="exists: snapshots are never rewritten"):
        _base(settings)
    assert loaded.examples() == base.examples()
    with pytest.raises(FlywheelError, match="no snapshot"):
        load_snapshot(settings, "../outside")


def test_a_modified_snapshot_is_detected(settings):
    base = _base(settings)
    body = base.path / "examples.jsonl"
    body.chmod(0o644)
    body.write_text(body.read_text().replace("7", "8"))
    with pytest.raises(FlywheelError, match="does not match its manifest"):
        base.examples()


def test_a_snapshot_with_personal_data_is_refused_naming_ids_only(settings):
    corpus = shop_corpus(WORLD.rules)
    leaked = corpus[5].model_copy(update={"answer": "call our agent Li on 13812345678", "source_id": "leak"})

    with pytest.raises(SnapshotRefused) as refused:
        build_base_snapshot(settings, [*corpus[:5], leaked, *corpus[6:]])

    report = refused.value.report
    assert list(report.failed) == ["no_phone"] and len(report.failed["no_phone"]) == 1
    assert report.failed["no_phone"][0].startswith("leak#") and report.failed["no_phone"][0] in str(refused.value)
    assert "13812345678" not in str(refused.value) + json.dumps(report.summary())
    assert list_snapshots(settings) == [] and not any((settings.data_dir / "datasets").glob("*"))


def test_stratified_sample_is_proportional_and_deterministic():
    corpus = shop_corpus(WORLD.rules)
    sample = stratified_sample(corpus, 100, seed=3)
    assert len(sample) == 100 and sample == stratified_sample(list(reversed(corpus)), 100, seed=3)
    assert sample != stratified_sample(corpus, 100, seed=4)
    shares = _strata(corpus)
    assert all(abs(n - shares[s] * 100 / len(corpus)) < 1 for s, n in _strata(sample).items())
    assert stratified_sample(corpus, 10_000, seed=0) == stratified_sample(corpus, len(corpus), seed=0)
