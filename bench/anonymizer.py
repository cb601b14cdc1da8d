"""`flywheel bench anonymizer`: how much personal data the anonymizer removes from labelled real-world text, how
often it alters text that holds none, and how fast, beside Presidio's stock analyzer on the same sentences.

The sentences are ``bench/data/pii/`` (see its README): public labelled sets (presidio-research, CrossWOZ, a
sample of SGD), clean banking77 customer messages, and a hand-written supplement. The test split is scored by
default; ``FLYWHEEL_BENCH_PII_SPLIT=dev`` scores the dev split instead (``run(settings, split="dev")`` too).

Metrics (the same for both detectors; the scoring below is pure functions, tested without Presidio):

- **removed**: a labelled value counts as removed when the detected spans, of any type, together cover every
  one of its digits (any Unicode decimal digit, and the Chinese numerals 〇零一二三四五六七八九幺) and at
  least 2/3 of its letters. A value with neither counts as removed when any detected span overlaps it;
- **recall** of a type: the share of its labelled values removed;
- **precision** of a type: the share of detected spans of that type that overlap some labelled target span
  (of any type: a phone replaced as an ID number is still removed), counted only on records without
  ``partial_labels``; a detected span that overlaps no target span and whose letters and digits all lie inside
  ``other_spans`` (organisations, cities, plain dates...) counts neither for nor against;
- **F2** = 5PR / (4P + R): recall weighs four times as much as precision, because a missed value leaks;
- **structured identifiers**: every type except PERSON and ADDRESS, pooled;
- **clean altered**: the share of sentences with no target span, on fully labelled sources (not
  ``partial_labels``), whose text the detector would change (for ours: ``scrub(text).text != text``; for
  Presidio: any result of a type mapped to a target type);
- **texts/s**: both detectors timed on the same sentences in the same run (best of three passes, one core),
  and their ratio.

Presidio's stock analyzer (``presidio_default_analyzer``, blank spaCy pipeline so no NER-based names or places)
reports its own entity names; ``PRESIDIO_TARGET`` maps them to ours and results of other types (URL,
DATE_TIME, NRP...) are dropped. Its overlapping results are resolved greedily, higher score then longer span
first. It is scored twice from one analysis: with every result, as its anonymizer would replace them
(``presidio_default``), and with results of score 0.4 or more (``presidio_default_min_score_0_4``), which
leaves out its catch-all low-score patterns (US bank numbers at 0.05, driver's licences at 0.01).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.settings import Settings

DATA = Path(__file__).resolve().parent / "data" / "pii"
SPLIT_ENV = "FLYWHEEL_BENCH_PII_SPLIT"

TARGET_TYPES = ("PERSON", "ADDRESS", "PHONE", "EMAIL", "BANK_CARD", "IBAN", "IP_ADDRESS", "ID_NUMBER", "BIRTH_DATE")
STRUCTURED = tuple(t for t in TARGET_TYPES if t not in ("PERSON", "ADDRESS"))
OTHER = "OTHER"
"""The type of a detection whose detector type is none of ours: it still altered the text, so it still counts."""

OURS_ALIASES = {"IP": "IP_ADDRESS", "DATE_OF_BIRTH": "BIRTH_DATE", "DOB": "BIRTH_DATE", "CARD": "BANK_CARD",
                "STREET_ADDRESS": "ADDRESS", "PHONE_NUMBER": "PHONE", "ID": "ID_NUMBER"}
PRESIDIO_TARGET = {
    "PERSON": "PERSON", "LOCATION": "ADDRESS", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "BANK_CARD", "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP_ADDRESS", "US_SSN": "ID_NUMBER",
    "US_PASSPORT": "ID_NUMBER", "US_DRIVER_LICENSE": "ID_NUMBER", "US_ITIN": "ID_NUMBER", "US_BANK_NUMBER": "ID_NUMBER",
    "UK_NHS": "ID_NUMBER", "UK_NINO": "ID_NUMBER", "MEDICAL_LICENSE": "ID_NUMBER",
}
PRESIDIO_MIN_SCORE = 0.4
ZH_DIGITS = frozenset("〇零一二三四五六七八九幺")


# --- scoring: pure functions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    type: str
    start: int
    end: int


def is_digit(char: str) -> bool:
    return char.isdigit() or char in ZH_DIGITS


def covered_positions(spans: Iterable[Span], start: int, end: int) -> set[int]:
    covered: set[int] = set()
    for span in spans:
        covered.update(range(max(span.start, start), min(span.end, end)))
    return covered


def removed(text: str, value: Span, detected: Sequence[Span]) -> bool:
    """Whether ``detected`` (spans of any type) cover every digit and at least 2/3 of the letters of ``value``."""
    covered = covered_positions(detected, value.start, value.end)
    digits = [i for i in range(value.start, value.end) if is_digit(text[i])]
    letters = [i for i in range(value.start, value.end) if text[i].isalpha() and not is_digit(text[i])]
    if not digits and not letters:
        return bool(covered)
    if any(i not in covered for i in digits):
        return False
    return 3 * sum(i in covered for i in letters) >= 2 * len(letters)


def overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def detection_outcome(text: str, detection: Span, targets: Sequence[Span], others: Sequence[Span]) -> bool | None:
    """True: it overlaps a labelled target span. None: it falls only on ``other_spans`` (every letter and digit of
    it lies inside them), so it counts neither way. False: a false positive."""
    if any(overlaps(detection, t) for t in targets):
        return True
    chars = [i for i in range(detection.start, detection.end) if text[i].isalnum() or is_digit(text[i])]
    if others and chars:
        inside = covered_positions(others, detection.start, detection.end)
        if all(i in inside for i in chars):
            return None
    return False


def f2(precision: float | None, recall: float | None) -> float | None:
    """5PR / (4P + R); 0 when both are 0, None when either is unknown."""
    if precision is None or recall is None:
        return None
    return 0.0 if precision == recall == 0 else 5 * precision * recall / (4 * precision + recall)


def resolve_overlaps(scored: Iterable[tuple[Span, float]]) -> list[Span]:
    """Non-overlapping spans, greedily by higher score, then longer span, then earlier start."""
    kept: list[Span] = []
    for span, _ in sorted(scored, key=lambda s: (-s[1], -(s[0].end - s[0].start), s[0].start)):
        if not any(overlaps(span, k) for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


@dataclass
class Tally:
    """Counts for one detector, by (language, type); ``lang`` "all" is not stored, it is summed on report."""

    values: Counter  # (lang, type) -> labelled values
    removed: Counter  # (lang, type) -> of those, removed
    detections: Counter  # (lang, type) -> detections counted for precision
    hits: Counter  # (lang, type) -> of those, overlapping a target span
    clean: Counter  # lang -> clean sentences (no target span, fully labelled)
    altered: Counter  # lang -> of those, altered

    @classmethod
    def empty(cls) -> Tally:
        return cls(Counter(), Counter(), Counter(), Counter(), Counter(), Counter())

    def add(self, record: dict[str, Any], detected: Sequence[Span], altered: bool) -> None:
        """Score one record's detections (``detected`` typed with target types or ``OTHER``)."""
        text, lang = record["text"], record["lang"]
        targets = [Span(s["type"], s["start"], s["end"]) for s in record["spans"]]
        others = [Span(s["type"], s["start"], s["end"]) for s in record.get("other_spans", ())]
        for value in targets:
            self.values[(lang, value.type)] += 1
            self.removed[(lang, value.type)] += removed(text, value, detected)
        if record.get("partial_labels"):
            return
        for detection in detected:
            outcome = detection_outcome(text, detection, targets, others)
            if outcome is not None:
                self.detections[(lang, detection.type)] += 1
                self.hits[(lang, detection.type)] += outcome
        if not targets:
            self.clean[lang] += 1
            self.altered[lang] += altered

    def metrics(self, langs: Iterable[str] | None = None, types: Iterable[str] | None = None) -> dict[str, Any]:
        """Recall, precision and F2 over the given languages and types (all when None)."""
        def total(counter: Counter) -> int:
            return sum(n for (lang, kind), n in counter.items()
                       if (langs is None or lang in langs) and (types is None or kind in types))

        values, hit_values, detections, hits = (total(c) for c in (self.values, self.removed, self.detections,
                                                                      self.hits))
        recall = hit_values / values if values else None
        precision = hits / detections if detections else None
        return {"values": values, "removed": hit_values, "recall": _round(recall), "detections": detections,
                "precision": _round(precision), "f2": _round(f2(precision, recall))}

    def report(self) -> dict[str, Any]:
        langs = sorted({lang for lang, _ in self.values} | {lang for lang, _ in self.detections} | set(self.clean))
        kinds = [*TARGET_TYPES, OTHER]
        clean, altered = sum(self.clean.values()), sum(self.altered.values())
        return {
            "overall": self.metrics(),
            "structured": self.metrics(types=STRUCTURED),
            "by_type": {kind: self.metrics(types=[kind]) for kind in kinds},
            "by_lang": {lang: {"overall": self.metrics(langs=[lang]),
                               "structured": self.metrics(langs=[lang], types=STRUCTURED),
                               "by_type": {kind: self.metrics(langs=[lang], types=[kind]) for kind in kinds},
                               "clean_sentences": self.clean[lang],
                               "clean_altered": self.altered[lang],
                               "clean_altered_share": _round(self.altered[lang] / self.clean[lang]
                                                             if self.clean[lang] else None)}
                        for lang in langs},
            "clean_sentences": clean,
            "clean_altered": altered,
            "clean_altered_share": _round(altered / clean if clean else None),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def target_type(name: str) -> str:
    """Our detector's type name as a target type (``OTHER`` when it is none)."""
    name = OURS_ALIASES.get(name, name)
    return name if name in TARGET_TYPES else OTHER


def presidio_spans(results: Iterable[Any], min_score: float = 0.0) -> list[Span]:
    """Presidio results of target types (``PRESIDIO_TARGET``) at ``min_score`` or more, overlaps resolved."""
    return resolve_overlaps((Span(PRESIDIO_TARGET[r.entity_type], r.start, r.end), r.score) for r in results
                            if r.entity_type in PRESIDIO_TARGET and r.score >= min_score)


# --- data --------------------------------------------------------------------------------------------------------


SUPPLEMENTS = ("supplement.jsonl", "names.jsonl")
"""Hand-written files holding both splits (a ``split`` field per record)."""


def load(split: str, data: Path = DATA) -> list[dict[str, Any]]:
    """The records of ``split``: ``{split}.jsonl`` and that split's part of the hand-written supplements
    (``supplement.jsonl``, ``names.jsonl``)."""
    if split not in ("dev", "test"):
        raise ValueError(f"split must be dev or test, not {split!r}")
    records = []
    for path in (data / f"{split}.jsonl", *(data / name for name in SUPPLEMENTS)):
        with path.open(encoding="utf-8") as lines:
            records += [r for r in map(json.loads, lines) if r["split"] == split]
    return records


def counts(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_source: Counter = Counter()
    by_lang: Counter = Counter()
    by_type: defaultdict[str, Counter] = defaultdict(Counter)
    for r in records:
        by_source[r.get("source_name", r["source"])] += 1
        by_lang[r["lang"]] += 1
        for s in r["spans"]:
            by_type[r["lang"]][s["type"]] += 1
    return {"sentences": len(records), "by_source": dict(by_source), "by_lang": dict(by_lang),
            "values_by_lang_type": {lang: dict(c) for lang, c in by_type.items()}}


# --- the benchmark -----------------------------------------------------------------------------------------------


def score_ours(records: Sequence[dict[str, Any]], scrub: Callable[[str], Any]) -> Tally:
    tally = Tally.empty()
    for record in records:
        result = scrub(record["text"])
        detected = [Span(target_type(str(e.type)), e.start, e.end) for e in result.entities]
        tally.add(record, detected, result.text != record["text"])
    return tally


def score_presidio(records: Sequence[dict[str, Any]], analyze: Callable[[str], list[Any]],
                   min_scores: Sequence[float]) -> list[Tally]:
    tallies = [Tally.empty() for _ in min_scores]
    for record in records:
        results = analyze(record["text"])
        for tally, min_score in zip(tallies, min_scores):
            detected = presidio_spans(results, min_score)
            tally.add(record, detected, bool(detected))
    return tallies


def run(settings: Settings, split: str | None = None) -> dict[str, Any]:
    from streams.anonymizer import Anonymizer, presidio_default_analyzer
    from streams.anonymizer.bench import texts_per_second

    started = time.perf_counter()
    split = split or os.environ.get(SPLIT_ENV, "test")
    records = load(split)
    texts = [r["text"] for r in records]
    anonymizer = Anonymizer()
    presidio = presidio_default_analyzer()
    ours = score_ours(records, anonymizer.scrub).report()
    stock, stock_min = (t.report() for t in score_presidio(records, lambda text: presidio.analyze(text, "en"),
                                                            (0.0, PRESIDIO_MIN_SCORE)))
    uncached = Anonymizer(clean_texts_cached=0)
    ours["texts_per_s"] = round(texts_per_second(lambda: uncached.scrub, texts), 1)
    stock["texts_per_s"] = round(texts_per_second(lambda: lambda text: presidio.analyze(text, "en"), texts), 1)
    return {
        "split": split,
        "data": counts(records),
        "anonymizer": ours,
        "presidio_default": stock,
        "presidio_default_min_score_0_4": stock_min,
        "throughput_ratio": round(ours["texts_per_s"] / stock["texts_per_s"], 2),
        "wall_s": round(time.perf_counter() - started, 1),
    }
