"""Export to the formats LLaMA-Factory reads and import of the same plus labelled-question CSV: round trips,
what a foreign file's rows become, anonymization on the way in, and one-line errors for malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.errors import FlywheelError
from learners.corpus import shop_corpus
from learners.examples import Example
from learners.formats import (
    export_dataset,
    read_alpaca,
    read_sharegpt,
)
from simulator.world import World
from streams.anonymizer import Anonymizer

PHONE = "13812345678"
CORPUS = shop_corpus(World.create(7).rules)
# Both kinds of corpus example in both languages, and examples from every other source.
EXAMPLES = [
    *CORPUS[:3], *CORPUS[-3:], *[e for e in CORPUS if e.locale == "en"][:3],
    Example(question="还能退吗？订单DD20240714145896", answer="可以，15天内都能退。", intent="return_window", locale="zh",
            context="自签收之日起15天内可退货。", policy_id="return-window", policy_version=2, source="dialog",
            source_id="e1"),
    Example(question="Is the window 15 days now?", answer="Yes, 15 days.", intent="return_window", locale="en",
            policy_id="return-window", policy_version=2, source="policy", source_id="return-window:v2"),
    Example(question="Do you ship abroad?", answer="Not yet.", intent="shipping_time", locale="en", source="import",
            source_id="mine.csv:3"),
]
READERS = {"alpaca": read_alpaca, "sharegpt": read_sharegpt}


@pytest.fixture(scope="module")
def anonymizer() -> Anonymizer:
    return Anonymizer()


def _file(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
    return path


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_export_then_import_gives_the_same_examples(tmp_path, anonymizer, fmt):
    path = export_dataset(EXAMPLES, tmp_path, f"snapshot-{fmt}", fmt)
    assert READERS[fmt](path, anonymizer) == EXAMPLES


def test_exports_are_registered_as_llama_factory_reads_them(tmp_path):
    export_dataset(EXAMPLES, tmp_path, "ds-a", "alpaca")
    export_dataset(EXAMPLES, tmp_path, "ds-s", "sharegpt")

    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info == {
        "ds-a": {"file_name": "ds-a.json",
                 "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}},
        "ds-s": {"file_name": "ds-s.json", "formatting": "sharegpt",
                 "columns": {"messages": "conversations", "system": "system"}},
    }
    grounded, plain = EXAMPLES[0], EXAMPLES[-1]
    assert grounded.context is not None
    alpaca = json.loads((tmp_path / "ds-a.json").read_text())
    assert alpaca[0] == {  # the policy context is the system prompt, as serving gives it
        "instruction": grounded.question, "input": "", "output": grounded.answer, "system": grounded.context,
        "intent": grounded.intent, "locale": grounded.locale, "policy_id": grounded.policy_id,
        "policy_version": grounded.policy_version, "source": "corpus", "source_id": grounded.source_id}
    sharegpt = json.loads((tmp_path / "ds-s.json").read_text())
    assert sharegpt[-1]["conversations"] == [{"from": "human", "value": plain.question},
                                             {"from": "gpt", "value": plain.answer}]
    assert sharegpt[-1]["system"] == "" and alpaca[-1]["system"] == ""


def test_foreign_records_get_defaults_and_are_anonymized(tmp_path, anonymizer):
    alpaca = _file(tmp_path, "mine.json", [
        {"instruction": "Where is my parcel?", "input": f"I am John Smith, call me on {PHONE}",
         "output": "It left the warehouse today."},
        {"instruction": "我的快递到哪了", "output": "今天已经发货。", "system": "发货时间：48小时内。", "intent": "shipping_time"},
    ])
    record = {"conversations": [{"from": "system", "value": "Returns: 15 days."},
                                {"from": "human", "value": "Returns?"}, {"from": "gpt", "value": "15 days."}]}
    sharegpt = _file(tmp_path, "mine.jsonl", json.dumps(record) + "\n\n")  # blank lines are skipped

    first, second = read_alpaca(alpaca, anonymizer, intent="order_status")
    assert first.question == "Where is my parcel?\nI am <PERSON_1>, call me on <PHONE_1>"
    assert (first.intent, first.locale, first.source) == ("order_status", "en", "import")
    assert first.source_id == "mine.json:1"
    assert (second.intent, second.locale, second.context) == ("shipping_time", "zh", "发货时间：48小时内。")
    [only] = read_sharegpt(sharegpt, anonymizer, intent="return_window")
    assert (only.question, only.answer, only.context, only.source_id) == (
        "Returns?", "15 days.", "Returns: 15 days.", "mine.jsonl:1")


@pytest.mark.parametrize(("name", "content", "reader", "message"), [
    ("a.json", '[{"instruction": "q", "output": "a"', read_alpaca, r"a\.json: the file: not valid JSON"),
    ("a.json", {"instruction": "q"}, read_alpaca, r"a\.json: expected a JSON array"),
    ("a.json", [{"instruction": "q", "output": "a"}, "text"], read_alpaca, r"a\.json: row 2: a record must be"),
    ("a.json", [{"instruction": "q", "output": "a", "intent": "coupon"}, {"instruction": "q"}], read_alpaca,
     r"a\.json: row 2: field 'output': must be a non-empty string"),
    ("a.json", [{"instruction": "q", "output": "a", "history": [["q0", "a0"]]}], read_alpaca,
     r"row 1: field 'history': multi-turn records are not supported"),
    ("a.json", [{"instruction": "q", "output": "a", "locale": "fr", "intent": "x"}], read_alpaca,
     r"row 1: field 'locale': Input should be 'zh' or 'en'"),
    ("a.json", [{"instruction": "q", "output": "a"}], read_alpaca, r"row 1: field 'intent': Field required"),
    ("s.jsonl", '{"conversations": []}\n{"conversations": [', read_sharegpt, r"s\.jsonl: row 2: not valid JSON"),
    ("s.json", [{"conversations": [{"from": "human", "value": "q"}]}], read_sharegpt,
     r"row 1: field 'conversations': must be one human turn then one gpt turn"),
    ("missing.json", None, read_alpaca, r"missing\.json: cannot be read"),
])
def test_malformed_files_fail_in_one_line_naming_file_and_row(tmp_path, anonymizer, name, content, reader, message):
    path = tmp_path / name if content is None else _file(tmp_path, name, content)
    with pytest.raises(FlywheelError, match=message) as error:
        reader(path, anonymizer)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_errors_never_repeat_the_offending_value(tmp_path, anonymizer):
    path = _file(tmp_path, "leak.json", [{"instruction": f"call {PHONE}", "output": "ok", "intent": "x" * 65}])
    with pytest.raises(FlywheelError, match="field 'intent'") as error:
        read_alpaca(path, anonymizer)
    assert PHONE not in str(error.value) and "xxx" not in str(error.value)


def test_non_utf8_files_are_refused(tmp_path, anonymizer):
    path = tmp_path / "latin.json"
    path.write_bytes('[{"instruction": "café", "output": "ok", "intent": "coupon"}]'.encode("latin-1"))
    with pytest.raises(FlywheelError, match="latin.json: cannot be read .not UTF-8."):
        read_alpaca(path, anonymizer)
