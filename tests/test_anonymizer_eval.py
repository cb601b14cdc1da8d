"""The personal-data evaluation set (``bench/data/pii/``) and the scoring of ``flywheel bench anonymizer``.

The set must stay usable: offsets that index each sentence exactly, only known types, disjoint splits, enough
test sentences in both languages, every source named in the README with its licence, valid checksums in the
hand-written supplement. The scorer's rules are checked on tiny crafted cases, without Presidio. Nothing here
asserts what the detector reaches: the benchmark reports that.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.anonymizer import (
    DATA, OTHER, STRUCTURED, SUPPLEMENTS, TARGET_TYPES, Span, Tally, detection_outcome, f2, load, presidio_spans, removed,
    resolve_overlaps, target_type,
)
from bench.common import BENCHMARKS
from infra.cli import build_parser

FILES = ("dev.jsonl", "test.jsonl", *SUPPLEMENTS)
LICENCE_OF = {"presidio-research": "presidio-research-MIT.txt", "crosswoz": "CrossWOZ-Apache-2.0.txt",
              "sgd": "SGD-CC-BY-SA-4.0.txt", "banking77": "banking77-CC-BY-4.0.txt",
              "supplement": "supplement.txt", "names": "supplement.txt"}


def read(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict]]:
    return {name: read(name) for name in FILES}


# --- the shipped set ---------------------------------------------------------------------------------------------


def test_every_record_has_the_schema_and_offsets_that_index_its_text(records):
    keys = {"id", "text", "lang", "spans", "other_spans", "source", "split", "partial_labels"}
    for name, recs in records.items():
        for r in recs:
            assert keys <= r.keys(), (name, r["id"])
            assert r["lang"] in ("en", "zh") and isinstance(r["partial_labels"], bool)
            assert name in SUPPLEMENTS or r["split"] == name.removesuffix(".jsonl")
            text = r["text"]
            text.encode("utf-8")  # no lone surrogates
            for span in r["spans"] + r["other_spans"]:
                assert 0 <= span["start"] < span["end"] <= len(text), (r["id"], span)
                assert text[span["start"]:span["end"]].strip(), (r["id"], span)
                for at in (span["start"], span["end"]):  # no boundary inside a surrogate pair or before a mark
                    assert at == len(text) or not 0xDC00 <= ord(text[at]) <= 0xDFFF, (r["id"], span)
                    assert at == len(text) or not unicodedata.combining(text[at]), (r["id"], span)


def test_types_are_known_and_other_spans_hold_no_target_type(records):
    for recs in records.values():
        for r in recs:
            assert {s["type"] for s in r["spans"]} <= set(TARGET_TYPES), r["id"]
            assert not {s["type"] for s in r["other_spans"]} & set(TARGET_TYPES), r["id"]
            spans = sorted(r["spans"], key=lambda s: s["start"])
            for span in spans:  # a phone with no digit is a conversion error
                assert span["type"] != "PHONE" or any(c.isdigit() or c in "〇零一二三四五六七八九幺"
                                                      for c in r["text"][span["start"]:span["end"]]), r["id"]
            for a, b in zip(spans, spans[1:]):  # one value is one span, not pieces
                assert a["type"] != b["type"] or not re.fullmatch(r"[\s\-]*", r["text"][a["end"]:b["start"]]), r["id"]


def test_ids_are_unique_and_splits_are_disjoint(records):
    everything = [r for recs in records.values() for r in recs]
    ids = Counter(r["id"] for r in everything)
    assert not [i for i, n in ids.items() if n > 1]
    supplements = [r for name in SUPPLEMENTS for r in records[name]]
    dev_texts = {r["text"] for r in supplements if r["split"] == "dev"}
    assert not [r["text"] for r in supplements if r["split"] == "test" and r["text"] in dev_texts]
    split_of = {r["id"]: r["split"] for r in everything}
    assert {r["id"] for r in load("dev")}.isdisjoint({r["id"] for r in load("test")})
    assert all(split_of[r["id"]] == "test" for r in load("test"))


def test_the_test_split_is_large_enough_in_both_languages():
    test = load("test")
    assert len(test) >= 1000
    langs = Counter(r["lang"] for r in test)
    assert langs["en"] >= 200 and langs["zh"] >= 200
    types = Counter(s["type"] for r in test for s in r["spans"])
    assert set(TARGET_TYPES) <= types.keys()  # every type has labelled values to score
    assert sum(1 for r in test if not r["spans"] and not r["partial_labels"]) >= 200  # clean sentences


def test_every_source_is_named_in_the_readme_with_a_licence_file(records):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    sources = {r["source_name"] for recs in records.values() for r in recs}
    assert sources == set(LICENCE_OF)
    for source in sources:
        assert source in readme
        licence = DATA / "LICENSES" / LICENCE_OF[source]
        assert licence.is_file() and LICENCE_OF[source] in readme
        assert len(licence.read_text(encoding="utf-8")) > 200


def test_clean_banking77_messages_carry_no_span(records):
    banking = [r for recs in records.values() for r in recs if r["source_name"] == "banking77"]
    assert len(banking) >= 400
    assert all(r.get("clean_source") and not r["spans"] and not r["partial_labels"] for r in banking)


def _digits(value: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in value if c.isalnum())


def _luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _cn_id(number: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(number, weights)) % 11] == number[17].upper()


def _iban(value: str) -> bool:
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def test_supplement_is_large_covers_both_languages_and_has_valid_checksums(records):
    supplement = records["supplement.jsonl"]
    assert len(supplement) >= 600
    assert sum(1 for r in supplement if not r["spans"]) >= 200
    assert Counter(r["split"] for r in supplement)["test"] == len(supplement) // 2
    assert {(r["lang"], s["type"]) for r in supplement for s in r["spans"]} >= {
        (lang, kind) for lang in ("en", "zh") for kind in TARGET_TYPES}
    checked = Counter()
    for r in supplement:
        for s in r["spans"]:
            value = _digits(r["text"][s["start"]:s["end"]])
            if s["type"] == "BANK_CARD":
                assert _luhn(value), value
                checked["card"] += 1
            elif s["type"] == "ID_NUMBER" and re.fullmatch(r"\d{17}[\dX]", value):
                assert _cn_id(value), value
                checked["id"] += 1
            elif s["type"] == "IBAN":
                assert _iban(value.upper()), value
                checked["iban"] += 1
    assert min(checked.values()) >= 10 and len(checked) == 3


# --- the scorer ------------------------------------------------------------------------------------------------


def test_a_half_covered_name_is_not_removed_and_a_covered_phone_is():
    text = "Maria Gonzalez called from 138 0013 8000."
    name, phone = Span("PERSON", 0, 14), Span("PHONE", 27, 40)
    assert not removed(text, name, [Span("PERSON", 0, 5)])  # 5 of 13 letters
    assert removed(text, name, [Span("PERSON", 0, 5), Span("PERSON", 6, 14)])  # the space need not be covered
    assert removed(text, phone, [Span("PHONE", 27, 40)])
    assert removed(text, phone, [Span("ID_NUMBER", 26, 30), Span("ORDER_ID", 31, 40)])  # any type counts
    assert not removed(text, phone, [Span("PHONE", 27, 39)])  # one digit left is a leak


def test_two_thirds_of_the_letters_and_chinese_numerals_count_as_digits():
    text = "Abcdefghi 一三八零零"
    assert removed(text, Span("PERSON", 0, 9), [Span("PERSON", 0, 6)])  # 6 of 9
    assert not removed(text, Span("PERSON", 0, 9), [Span("PERSON", 0, 5)])  # 5 of 9
    assert not removed(text, Span("PHONE", 10, 15), [Span("PHONE", 10, 14)])
    assert removed(text, Span("PHONE", 10, 15), [Span("PHONE", 10, 15)])


def test_a_detection_on_other_spans_is_not_a_false_positive():
    text = "Acme Corp in Seattle wrote to Tom"
    others = [Span("ORGANIZATION", 0, 9), Span("GPE", 13, 20)]
    targets = [Span("PERSON", 30, 33)]
    assert detection_outcome(text, Span("PERSON", 0, 4), targets, others) is None
    assert detection_outcome(text, Span("ADDRESS", 5, 20), targets, others) is False  # "in" is on no span
    assert detection_outcome(text, Span("PERSON", 30, 33), targets, others) is True
    assert detection_outcome(text, Span("PERSON", 21, 26), targets, others) is False


def test_f2_arithmetic():
    assert f2(1.0, 1.0) == 1.0
    assert f2(0.5, 1.0) == pytest.approx(5 * 0.5 / (4 * 0.5 + 1))
    assert f2(1.0, 0.5) == pytest.approx(2.5 / 4.5)
    assert f2(0.0, 0.0) == 0.0 and f2(None, 1.0) is None


def test_tally_counts_recall_everywhere_but_precision_and_clean_sentences_on_full_labels_only():
    tally = Tally.empty()
    full = {"text": "call 555 0100 now", "lang": "en", "spans": [{"type": "PHONE", "start": 5, "end": 13}],
            "other_spans": [], "partial_labels": False}
    partial = dict(full, partial_labels=True)
    clean = {"text": "order 12345 shipped", "lang": "en", "spans": [], "other_spans": [], "partial_labels": False}
    clean_zh = dict(clean, text="订单12345已发货", lang="zh")
    tally.add(full, [Span("PHONE", 5, 13)], True)
    tally.add(partial, [Span("PHONE", 0, 4)], True)  # a miss; the detection on unlabelled text is not counted
    tally.add(clean, [Span("PHONE", 6, 11)], True)  # a false positive, and an altered clean sentence
    tally.add(clean_zh, [], False)
    report = tally.report()
    assert report["by_type"]["PHONE"] == {"values": 2, "removed": 1, "recall": 0.5, "detections": 2,
                                          "precision": 0.5, "f2": 0.5}
    assert report["clean_sentences"] == 2 and report["clean_altered"] == 1 and report["clean_altered_share"] == 0.5
    assert report["by_lang"]["zh"]["clean_altered_share"] == 0.0
    assert report["structured"]["values"] == 2 and report["by_type"]["PERSON"]["recall"] is None


def test_types_and_presidio_results_map_to_target_types():
    assert target_type("PHONE") == "PHONE" and target_type("DATE_OF_BIRTH") == "BIRTH_DATE"
    assert target_type("ORDER_ID") == OTHER
    assert "PERSON" not in STRUCTURED and "IBAN" in STRUCTURED
    results = [SimpleNamespace(entity_type="PHONE_NUMBER", start=0, end=12, score=0.4),
               SimpleNamespace(entity_type="US_BANK_NUMBER", start=0, end=12, score=0.05),
               SimpleNamespace(entity_type="URL", start=20, end=30, score=0.6),
               SimpleNamespace(entity_type="US_DRIVER_LICENSE", start=14, end=18, score=0.01)]
    assert presidio_spans(results) == [Span("PHONE", 0, 12), Span("ID_NUMBER", 14, 18)]
    assert presidio_spans(results, 0.4) == [Span("PHONE", 0, 12)]
    assert resolve_overlaps([(Span("A", 0, 4), 0.5), (Span("B", 0, 10), 0.5), (Span("C", 8, 12), 0.9)]) == [
        Span("A", 0, 4), Span("C", 8, 12)]


def test_the_benchmark_is_registered_with_the_cli():
    assert "anonymizer" in BENCHMARKS
    args = build_parser().parse_args(["bench", "anonymizer", "--json", "x.json"])
    assert args.name == "anonymizer"


def test_load_rejects_an_unknown_split(tmp_path: Path):
    with pytest.raises(ValueError, match="dev or test"):
        load("train")
