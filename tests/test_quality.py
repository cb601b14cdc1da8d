"""The micro-batch Great Expectations suite on scored dialogs: what it catches, what it lets through, and
that it names failing rows by event id only."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from simulator.customers import STRUCTURED
from simulator.options import SimulateOptions
from simulator.sources import events
from simulator.world import World
from streams import quality
from streams.events import Conversation, Satisfaction, ScoredDialog, Turn
from streams.join import score_dialog
from streams.anonymizer import Anonymizer
from streams.quality import CheckError, DialogChecks, anonymizer_detector
from streams.signing import KeyPair

INTENTS = frozenset((*World.create(0).intents, *World.create(0).services))
AT = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)

# Anonymized text as it reaches the suite: placeholders, order and tracking numbers, prices, dates, times.
CLEAN_TEXTS = (
    "我的手机是<PHONE_1>，订单号DD20240714145896，麻烦查一下",
    "收件人<PERSON_1>，地址<ADDRESS_1>，电话<PHONE_2>",
    "身份证<ID_NUMBER_1>已认证，银行卡<BANK_CARD_1>被扣了两次钱",
    "my email is <EMAIL_2>, order DD20250101000001, tracking SF1234567890123",
    "花了1,299.00元，7月14号下的单，等了15天了，满299减30",
    "ordered on 2024-07-14 at 14:30, it cost 89.90 yuan, 30-day returns, +2 items",
    "退货时效为7天无理由，价保期30天，运费12元，客服热线工作时间9:00-21:00",
)
# One value per kind of identifier, in the written forms customers use.
PHONES = ("13812345678", "+86 138 1234 5678", "138-1234-5678", "(010)62345678", "0755-86012345",
          "(212) 555-0123", "+44 20 7946 0958")
EMAIL = "zhang.wei@example.com"
ID_NUMBER = "11010519491231002X"  # valid check characters: the detector, like the anonymizer, checks them
CARD = "6228 4812 3456 7890 128"


DETECTOR = anonymizer_detector(Anonymizer())


@pytest.fixture(scope="module")
def checks() -> DialogChecks:
    """One suite for the module, as one worker holds one for its lifetime."""
    return DialogChecks(known_intents=INTENTS, detector=DETECTOR)


def dialog(event_id: str, text: str = CLEAN_TEXTS[0], *, role: str = "customer", **changes: Any) -> ScoredDialog:
    """A scored dialog whose ``role`` turn says ``text``; built with ``model_construct`` so that a test can
    give it what the contract would refuse (NPS 11, a 9,000-character turn, locale "fr")."""
    turns = [Turn.model_construct(role=r, text=text if r == role else "好的，已为您处理", at=AT)
             for r in ("customer", "bot", "agent")]
    fields = {"event_id": event_id, "event_time": AT, "schema_version": 1, "conversation_id": f"c-{event_id}",
              "conversation_event_id": f"ce-{event_id}", "satisfaction_event_id": f"se-{event_id}",
              "locale": "zh", "channel": "web", "turns": turns, "adapter_version": "base", "intent": "return_window",
              "policy_id": None, "policy_version": None, "resolved": True, "handed_off": True, "nps": 3,
              "comment": None}
    return ScoredDialog.model_construct(**{**fields, **changes})


def clean_batch(size: int) -> list[ScoredDialog]:
    return [dialog(f"clean-{i}", CLEAN_TEXTS[i % len(CLEAN_TEXTS)]) for i in range(size)]


def simulated(pii_share: float, dialogs: int = 400) -> list[tuple[ScoredDialog, bool, bool]]:
    """Scored dialogs of simulated traffic, each with whether the simulator injected a structured identifier
    (phone, email, ID or card number) into it, and whether it injected any personal data (names and addresses
    too): the ground truth the suite is measured against."""
    options = SimulateOptions(start=AT, dialogs=dialogs, seed=21, pii_share=pii_share, order_share=0.6,
                              response_rate=1.0, early_score_share=0.0)
    conversations: dict[str, tuple[Conversation, bool, bool]] = {}
    scored = []
    for event in events(options, KeyPair.generate("test").signer()):
        record = event.record
        if isinstance(record, Conversation):
            types = {e.type for found in event.entities.values() for e in found}
            conversations[record.conversation_id] = (record, bool(types & set(STRUCTURED)), bool(types))
        elif isinstance(record, Satisfaction) and record.conversation_id in conversations:
            conversation, structured, personal = conversations[record.conversation_id]
            scored.append((score_dialog(conversation, record), structured, personal))
    return scored


def test_clean_anonymized_batch_passes_untouched(checks: DialogChecks) -> None:
    batch = clean_batch(len(CLEAN_TEXTS)) + [dialog("commented", comment="<PERSON_1>很耐心，订单DD20240714145896已退款")]
    verdict = checks.check(batch)
    assert verdict.failed == {}
    assert verdict.passed == batch
    assert verdict.stats["rows"] == verdict.stats["passed"] == len(batch)


def test_simulated_traffic_every_structured_identifier_caught_and_nothing_else(checks: DialogChecks) -> None:
    """Realistic traffic: clean sentences keep order numbers, prices and dates; personal ones carry the
    simulator's phones, emails, ID and card numbers in every written form it knows."""
    corpus = simulated(pii_share=0.7)
    verdict = checks.check([scored for scored, _, _ in corpus])
    flagged = {scored.event_id for scored, _, _ in corpus if scored.event_id in verdict.failed}
    structured = {scored.event_id for scored, has_structured, _ in corpus if has_structured}
    personal = {scored.event_id for scored, _, has_any in corpus if has_any}
    assert len(structured) > 100
    assert structured <= flagged <= personal  # every identifier caught, and no clean dialog refused
    assert all(check.startswith("no_") for checks_failed in verdict.failed.values() for check in checks_failed)


def test_each_kind_of_bad_row_fails_its_own_check(checks: DialogChecks) -> None:
    bad = {
        **{f"phone-{i}": (dialog(f"phone-{i}", f"请拨打 {phone} 联系我们", role=role), {"no_phone"})
           for i, (phone, role) in enumerate(zip(PHONES, ("bot", "agent", "customer") * 3))},
        "email": (dialog("email", comment=f"回复发到 {EMAIL}"), {"no_email"}),
        "card": (dialog("card", f"卡号{CARD}被扣了两次"), {"no_bank_card"}),
        "id": (dialog("id", f"身份证号{ID_NUMBER}"), {"no_id_number"}),
        "name": (dialog("name", "张伟说快递还没到"), {"no_person"}),
        "address": (dialog("address", "寄到北京市朝阳区建国路88号"), {"no_address"}),
        "nps-high": (dialog("nps-high", nps=11), {"nps_in_range"}),
        "nps-low": (dialog("nps-low", nps=-1), {"nps_in_range"}),
        "locale": (dialog("locale", locale="fr"), {"known_locale"}),
        "intent": (dialog("intent", intent="refund_crypto"), {"known_intent"}),
        "long": (dialog("long", "长" * (quality.MAX_TEXT_CHARS + 1)), {"text_length"}),
        "no-turns": (dialog("no-turns", turns=[]), {"text_length"}),
    }
    clean = clean_batch(20)
    verdict = checks.check(clean[:10] + [row for row, _ in bad.values()] + clean[10:])
    assert {event_id: set(failed) for event_id, failed in verdict.failed.items()} == {
        event_id: expected for event_id, (_, expected) in bad.items()}
    assert verdict.passed == clean
    assert verdict.failures_by_check()["no_phone"] == len(PHONES)


def test_duplicate_event_id_is_reported_and_only_its_first_copy_goes_on(checks: DialogChecks) -> None:
    first, replay = dialog("twice"), dialog("twice", CLEAN_TEXTS[1])
    verdict = checks.check([first, *clean_batch(3), replay])
    assert verdict.failed == {"twice": ["unique_event_id"]}
    assert verdict.passed[0] is first and replay not in verdict.passed


def test_duplicate_that_also_fails_another_check_is_dropped_entirely(checks: DialogChecks) -> None:
    verdict = checks.check([dialog("twice"), dialog("twice", nps=42)])
    assert set(verdict.failed["twice"]) == {"unique_event_id", "nps_in_range"}
    assert verdict.passed == []


def test_failing_values_never_reach_the_verdict_the_results_or_the_logs(
        checks: DialogChecks, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    identifiers = [*PHONES, EMAIL, ID_NUMBER, CARD]
    batch = [dialog(f"leak-{i}", f"这是我的 {value}", role=("bot", "customer")[i % 2])
             for i, value in enumerate(identifiers)]
    raw_results = []
    reduce_results = quality._failures

    def keep_raw(result: Any) -> dict[str, list[str]]:
        raw_results.append(result)
        return reduce_results(result)

    monkeypatch.setattr(quality, "_failures", keep_raw)
    with caplog.at_level(logging.DEBUG):
        verdict = checks.check(batch)
    assert set(verdict.failed) == {row.event_id for row in batch}
    exposed = [repr(verdict), str(verdict), caplog.text, str(raw_results[0].to_json_dict())]
    assert [value for value in identifiers for text in exposed if value in text] == []


def test_suite_is_built_once_and_batches_do_not_influence_each_other(
        checks: DialogChecks, monkeypatch: pytest.MonkeyPatch) -> None:
    import great_expectations as gx

    monkeypatch.setattr(gx, "get_context", lambda *a, **k: pytest.fail("a context was built per batch"))
    dirty = [*clean_batch(5), dialog("phone", PHONES[0])]
    first, clean, again = checks.check(dirty), checks.check(clean_batch(5)), checks.check(dirty)
    assert first.failed == again.failed == {"phone": ["no_phone"]}
    assert clean.failed == {}


def test_intents_unchecked_when_unknown_and_text_bound_configurable() -> None:
    lenient = DialogChecks(known_intents=None, detector=DETECTOR, max_text_chars=50)
    verdict = lenient.check([dialog("any-intent", intent="brand_new_intent"), dialog("long", "字" * 51)])
    assert verdict.failed == {"long": ["text_length"]}


def test_a_check_that_cannot_run_raises_naming_the_check_only(checks: DialogChecks) -> None:
    with pytest.raises(CheckError, match="nps_in_range") as raised:
        checks.check([*clean_batch(2), dialog("typed-wrong", nps="eleven")])
    assert "eleven" not in str(raised.value) and "typed-wrong" not in str(raised.value)


def test_empty_batch_is_an_empty_verdict(checks: DialogChecks) -> None:
    verdict = checks.check([])
    assert (verdict.passed, verdict.failed, verdict.stats["rows"]) == ([], {}, 0)


def test_a_batch_of_1000_costs_well_under_the_pipeline_budget(checks: DialogChecks) -> None:
    """The pipeline targets 1,000 dialogs/s per worker, 1 ms per dialog for everything: the suite must
    take a small share of it (measured 0.13 ms per dialog whose texts the anonymizer has seen, as the worker's
    has scrubbed them; the bound leaves room for a loaded machine)."""
    batch = [scored for scored, _, _ in simulated(pii_share=0.0, dialogs=1000)]
    checks.check(batch)
    started = time.perf_counter()
    checks.check(batch)
    assert (time.perf_counter() - started) / len(batch) < 0.5e-3


_SANDBOXED = """
import os, sys, tempfile
tempfile.gettempdir()  # Python's once-per-process probe of the temporary directory (a file made, then removed)
written, network = [], []
def audit(event, args):
    if event == "open" and (args[2] or 0) & 3 and args[0] != os.devnull:  # O_WRONLY or O_RDWR
        written.append(str(args[0]))
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg"):
        network.append(event)
sys.addaudithook(audit)
import streams.quality
assert "great_expectations" not in sys.modules and "pandas" not in sys.modules, "imported eagerly"
from tests.test_quality import clean_batch, dialog
from streams.anonymizer import Anonymizer
checks = streams.quality.DialogChecks({"return_window"}, streams.quality.anonymizer_detector(Anonymizer()))
verdict = checks.check([*clean_batch(3), dialog("p", "13812345678")])
assert verdict.failed == {"p": ["no_phone"]}, verdict
assert not written and not network, (written, network)
"""


def test_suite_imports_lazily_writes_nothing_and_calls_nobody(tmp_path) -> None:
    """In a fresh interpreter (run in an empty directory) watched by an audit hook: importing the module
    loads neither GE nor pandas, and building and running the suite opens no file for writing and no
    connection (GE's analytics and version check stay off)."""
    repo = str(quality.__file__).rsplit("/streams/", 1)[0]
    run = subprocess.run([sys.executable, "-c", _SANDBOXED], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": repo, "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []
