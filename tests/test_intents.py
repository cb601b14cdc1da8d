"""The intent tier: accuracy on real data, Chinese questions, saved models that are plain data, clear errors."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from infra.errors import FlywheelError
from learners.intents import (
    MANIFEST,
    SAG_TOL,
    WEIGHTS,
    IntentModel,
    evaluate_csv,
    evaluate_intents,
    featurize,
    read_labelled_csv,
    train_from_csv,
    train_intents,
)
from simulator.world import QA, World

BANKING77 = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77"


@pytest.fixture(scope="module")
def banking77() -> tuple[IntentModel, list[str], list[str]]:
    """One model trained on banking77's train split (the slow part, shared), with the test split."""
    if not (BANKING77 / "train.csv").is_file():
        pytest.skip(f"banking77 is not at {BANKING77}")
    texts, labels = read_labelled_csv(BANKING77 / "train.csv", "text", "category")
    test_texts, test_labels = read_labelled_csv(BANKING77 / "test.csv", "text", "category")
    return train_intents(texts, labels), test_texts, test_labels


@pytest.fixture(scope="module")
def shop_split() -> tuple[list[QA], list[QA]]:
    """The simulator's zh/en questions split by question: two of each intent and locale held out (seeded)."""
    groups: dict[tuple[str, str], list[QA]] = defaultdict(list)
    for qa in World.create(7).corpus():
        groups[(qa.intent, qa.locale)].append(qa)
    rng = random.Random(0)
    train, held_out = [], []
    for questions in groups.values():
        questions = questions[:]
        rng.shuffle(questions)
        held_out += questions[:2]
        train += questions[2:]
    return train, held_out


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_banking77_test_accuracy_is_at_least_90_percent(banking77: tuple[IntentModel, list[str], list[str]]) -> None:
    model, texts, labels = banking77
    report = evaluate_intents(model, texts, labels)
    assert report["examples"] == 3080
    assert report["accuracy"] >= 0.90, report["accuracy"]
    assert report["macro_f1"] >= 0.90, report["macro_f1"]
    assert len(report["per_label"]) == 77 and report["unseen_labels"] == []
    assert model.metadata["training"]["examples"] == 10003


def test_saved_model_predicts_exactly_as_before_saving(banking77: tuple[IntentModel, list[str], list[str]],
                                                       tmp_path: Path) -> None:
    model, texts, _ = banking77
    model.save(tmp_path / "model")
    loaded = IntentModel.load(tmp_path / "model")
    assert loaded.labels == model.labels
    assert loaded.predict(texts) == model.predict(texts)
    assert [loaded.predict([t]) for t in texts[:50]] == [model.predict([t]) for t in texts[:50]]
    manifest = json.loads((tmp_path / "model" / MANIFEST).read_text())
    assert {"labels", "features", "training", "sklearn_version", "created_at"} <= set(manifest)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [MANIFEST, WEIGHTS]


def test_one_question_path_agrees_with_the_batch_path(banking77: tuple[IntentModel, list[str], list[str]]) -> None:
    model, texts, _ = banking77
    batch = model.predict(texts[:300])
    single = [model.predict([t])[0] for t in texts[:300]]
    assert [p.label for p in single] == [p.label for p in batch]
    assert np.allclose([p.confidence for p in single], [p.confidence for p in batch], atol=1e-5)


def test_one_question_is_classified_in_about_a_millisecond(banking77: tuple[IntentModel, list[str], list[str]]) -> None:
    """Serving classifies every request; the bound is loose because the test machines are shared and noisy."""
    model, texts, _ = banking77
    timings = []
    for text in texts[:300]:
        started = time.perf_counter()
        model.predict([text])
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.005, statistics.median(timings)


def test_confidence_is_a_probability_and_higher_when_right(banking77: tuple[IntentModel, list[str], list[str]]) -> None:
    model, texts, labels = banking77
    predictions = model.predict(texts)
    right = [p.confidence for p, y in zip(predictions, labels, strict=True) if p.label == y]
    wrong = [p.confidence for p, y in zip(predictions, labels, strict=True) if p.label != y]
    assert all(0.0 < p.confidence <= 1.0 for p in predictions)
    assert statistics.mean(right) > statistics.mean(wrong) + 0.2


def test_held_out_chinese_and_english_paraphrases_are_classified(shop_split: tuple[list[QA], list[QA]]) -> None:
    """Three to five training questions per intent and language, 13 intents (chance: 8 %). This split scores
    0.77 (zh) and 0.62 (en); over eight seeds zh ranged 0.62-0.77 and en 0.54-0.73. The misses are paraphrases
    that share little with the training questions or share a misleading phrase ("how long does a refund take"
    goes to warranty_repair, "什么时候发货" to refund_time); more labelled traffic is the fix, not a lower bar."""
    train, held_out = shop_split
    model = train_intents([qa.question for qa in train], [qa.intent for qa in train])
    for locale, floor in (("zh", 0.6), ("en", 0.5)):
        questions = [qa for qa in held_out if qa.locale == locale]
        report = evaluate_intents(model, [qa.question for qa in questions], [qa.intent for qa in questions])
        assert report["examples"] == 26
        assert report["accuracy"] >= floor, (locale, report["accuracy"])
    assert all(p.label == qa.intent for p, qa in zip(model.predict([qa.question for qa in train]), train,
                                                       strict=True))


def test_unseen_labels_count_as_errors(shop_split: tuple[list[QA], list[QA]]) -> None:
    train, _ = shop_split
    texts, labels = [qa.question for qa in train], [qa.intent for qa in train]
    model = train_intents(texts, labels)
    seen = evaluate_intents(model, texts, labels)
    assert seen["accuracy"] == 1.0 and seen["macro_f1"] == 1.0
    report = evaluate_intents(model, texts + ["我想以旧换新", "can I trade in my old phone"],
                              labels + ["trade_in", "trade_in"])
    assert report["unseen_labels"] == ["trade_in"] and report["unseen_examples"] == 2
    assert report["per_label"]["trade_in"] == 0.0
    assert report["accuracy"] == round(len(texts) / (len(texts) + 2), 4)
    assert report["macro_f1"] < 1.0


def test_train_and_eval_from_csv_as_the_cli_calls_them(shop_split: tuple[list[QA], list[QA]], tmp_path: Path) -> None:
    train, held_out = shop_split
    train_csv = write_csv(tmp_path / "train.csv", ["question", "intent"], [[qa.question, qa.intent] for qa in train])
    test_csv = write_csv(tmp_path / "test.csv", ["question", "intent"], [[qa.question, qa.intent] for qa in held_out])
    summary = train_from_csv(train_csv, "question", "intent", tmp_path / "model")
    assert summary["examples"] == len(train) and summary["labels"] == 13 and summary["train_s"] >= 0
    report = evaluate_csv(test_csv, tmp_path / "model", "question", "intent")
    assert report["examples"] == len(held_out) and 0.5 <= report["accuracy"] <= 1.0
    assert json.loads((tmp_path / "model" / MANIFEST).read_text())["source"]["label_column"] == "intent"


def test_personal_data_in_a_training_csv_never_reaches_the_saved_model(shop_split: tuple[list[QA], list[QA]],
                                                                      tmp_path: Path) -> None:
    from streams.anonymizer import Anonymizer

    train, _ = shop_split
    phone = "13812345678"
    rows = [[f"{qa.question} 电话{phone}" if qa.locale == "zh" else qa.question, qa.intent] for qa in train]
    train_csv = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    train_from_csv(train_csv, "text", "label", tmp_path / "model", Anonymizer())
    terms = [term for block in IntentModel.load(tmp_path / "model").blocks for term in block.vocab]
    assert any("phone" in term for term in terms)  # the placeholder is a feature...
    assert not [term for term in terms if re.search(r"\d\d", term)]  # ...no piece of the number is


@pytest.fixture
def small_model_dir(shop_split: tuple[list[QA], list[QA]], tmp_path: Path) -> Path:
    train, _ = shop_split
    return train_intents([qa.question for qa in train], [qa.intent for qa in train]).save(tmp_path / "model")


def test_missing_model_directory_or_file_is_one_clear_error(small_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FlywheelError, match="no intent model directory"):
        IntentModel.load(tmp_path / "nowhere")
    (small_model_dir / WEIGHTS).unlink()
    with pytest.raises(FlywheelError, match=f"has no {WEIGHTS}"):
        IntentModel.load(small_model_dir)


@pytest.mark.parametrize("damage", ["truncated weights", "garbage manifest", "manifest list", "other weights",
                                    "wrong labels", "wrong format"])
def test_corrupt_model_directory_is_one_clear_error(small_model_dir: Path, damage: str) -> None:
    weights, manifest_path = small_model_dir / WEIGHTS, small_model_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "garbage manifest":
        manifest_path.write_text("{not json")
    elif damage == "manifest list":
        manifest_path.write_text("[]")
    elif damage == "other weights":  # a weights file from elsewhere whose checksum was updated to match
        np.savez(weights, coef=np.zeros((3, 2)))
        manifest["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
        manifest_path.write_text(json.dumps(manifest))
    elif damage == "wrong labels":
        manifest["labels"] = manifest["labels"][:-1]
        manifest_path.write_text(json.dumps(manifest))
    else:
        manifest["format_version"] = 99
        manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(FlywheelError, match="is corrupt") as caught:
        IntentModel.load(small_model_dir)
    assert "\n" not in str(caught.value)


def test_csv_problems_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FlywheelError, match="no such CSV file"):
        read_labelled_csv(tmp_path / "missing.csv", "text", "category")
    good = write_csv(tmp_path / "good.csv", ["text", "category"], [["where is my card", "card_arrival"]])
    with pytest.raises(FlywheelError, match=r"no column 'label'; its columns are: text, category"):
        read_labelled_csv(good, "text", "label")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(FlywheelError, match="is empty"):
        read_labelled_csv(tmp_path / "empty.csv", "text", "category")
    header_only = write_csv(tmp_path / "header.csv", ["text", "category"], [])
    with pytest.raises(FlywheelError, match="no rows"):
        read_labelled_csv(header_only, "text", "category")
    rows = [["where is my card", "card_arrival"], ["  ", "card_arrival"]]
    with pytest.raises(FlywheelError, match=r"data row 2 \(line 3\) has an empty 'text' cell"):
        read_labelled_csv(write_csv(tmp_path / "blank_text.csv", ["text", "category"], rows), "text", "category")
    rows = [["where is my card", ""]]
    with pytest.raises(FlywheelError, match=r"data row 1 \(line 2\) has an empty 'category' cell"):
        read_labelled_csv(write_csv(tmp_path / "blank_label.csv", ["text", "category"], rows), "text", "category")
    (tmp_path / "latin1.csv").write_bytes("text,category\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(FlywheelError, match="not UTF-8"):
        read_labelled_csv(tmp_path / "latin1.csv", "text", "category")


def test_reads_chinese_csv_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "zh.csv"
    path.write_text("text,category\n退款多久能到账？,refund_time\n", encoding="utf-8-sig")
    assert read_labelled_csv(path, "text", "category") == (["退款多久能到账？"], ["refund_time"])


def test_training_needs_two_labels_and_matching_lengths() -> None:
    with pytest.raises(FlywheelError, match="two distinct labels"):
        train_intents(["a", "b"], ["x", "x"])
    with pytest.raises(FlywheelError, match="2 texts but 1 labels"):
        train_intents(["a", "b"], ["x"])


def test_two_labels_give_the_same_probability_as_logistic_regression() -> None:
    """sklearn stores one weight row for a binary problem; the model must still score both labels."""
    texts = ["退款多久到账", "钱什么时候退回来", "when do i get my refund", "什么时候发货", "多久能收到", "when will it ship"]
    labels = ["refund_time"] * 3 + ["shipping_time"] * 3
    model = train_intents(texts, labels)
    assert model.labels == ["refund_time", "shipping_time"]
    assert [p.label for p in model.predict(texts)] == labels
    reference = LogisticRegression(C=model.settings.c, solver="sag", tol=SAG_TOL, max_iter=500, random_state=0)
    probs = reference.fit(featurize(model.blocks, texts), labels).predict_proba(featurize(model.blocks, texts))
    assert np.allclose([p.confidence for p in model.predict(texts)], probs.max(axis=1), atol=1e-4)
