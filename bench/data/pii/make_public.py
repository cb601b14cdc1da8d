"""Rebuild ``dev.jsonl`` and ``test.jsonl`` (the public part of the personal-data evaluation set).

Inputs: the JSON-lines conversions of presidio-research, CrossWOZ and SGD made by the scripts described in
``README.md`` (default folder ``/tmp/pii-data``), and banking77's ``test.csv``. Deterministic (seeded); run
``python bench/data/pii/make_public.py [PII_DATA_DIR] [BANKING77_TEST_CSV]`` from the repository root.

What it does, and nothing else (no record moves between splits after detector results were seen):
- maps each labelled span to a target type (``TARGET_OF``); labels that are not personal data this project
  targets go to ``other_spans`` under their upstream name; presidio-research ``DATE_TIME`` values that a
  template introduces as a date of birth ("born on", "date of birth", "DOB") become ``BIRTH_DATE``;
- keeps all of presidio-research and CrossWOZ with the splits the conversion assigned (presidio-research by
  template, CrossWOZ val -> dev, test -> test), and a seeded sample of SGD in its upstream splits;
- repairs two artefacts of the CrossWOZ conversion: a value written with spaces upstream ("010 - 65666606") was
  located as separate pieces, so spans of one type separated only by spaces or dashes are merged into one; and
  a record is dropped when one of its PHONE values holds no digit at all (an upstream annotation error, such as
  电话 = "人均消费", which also leaves the sentence's real phone unlabelled);
- samples banking77 test messages, drops any that a screen flags as possibly personal (``screened_out``), and
  assigns the kept ones to dev or test by a seeded shuffle, half each.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 16
SGD_SAMPLE = {"test": 1200, "dev": 800}
BANKING77_SAMPLE = 540  # drawn, then screened; the first 500 kept ones are used
BANKING77_KEEP = 500

TARGET_OF = {
    "PERSON": "PERSON", "STREET_ADDRESS": "ADDRESS", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "BANK_CARD", "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP_ADDRESS", "US_SSN": "ID_NUMBER",
    "US_DRIVER_LICENSE": "ID_NUMBER", "US_PASSPORT": "ID_NUMBER",
}
BIRTH_CUE = re.compile(r"(born on|date of birth|\bDOB\b|birth ?date)[^.?!]{0,12}$", re.I)
# banking77 screen: anything that could be a personal value, or a street, or an own name being given
SCREEN = re.compile(r"\d{5,}|@|https?://|www\.|\b(St|Street|Road|Rd|Ave|Avenue|Lane)\b|my name is|I am [A-Z][a-z]+\b"
                    r"|\b(Mr|Mrs|Ms|Dr)\.? [A-Z]")


def convert(record: dict, source_name: str) -> dict:
    text = record["text"]
    spans, other = [], []
    for span in record["spans"]:
        kind = span["type"]
        target = TARGET_OF.get(kind)
        if kind == "DATE_TIME" and BIRTH_CUE.search(text[:span["start"]]):
            target = "BIRTH_DATE"
        (spans if target else other).append({"type": target or kind, "start": span["start"], "end": span["end"]})
    spans = merge_pieces(text, spans)
    return {"id": record["id"], "text": text, "lang": record["lang"], "spans": spans, "other_spans": other,
            "source": record["source"], "source_name": source_name, "split": record["split"],
            "partial_labels": bool(record.get("partial_labels", False))}


def merge_pieces(text: str, spans: list[dict]) -> list[dict]:
    """Spans of one type separated only by spaces or dashes, merged; pieces without a letter or digit dropped."""
    merged: list[dict] = []
    for span in sorted(spans, key=lambda s: (s["start"], s["end"])):
        last = merged[-1] if merged else None
        if last and last["type"] == span["type"] and re.fullmatch(r"[\s\-]*", text[last["end"]:span["start"]]):
            last["end"] = max(last["end"], span["end"])
        else:
            merged.append(dict(span))
    return [s for s in merged if any(c.isalnum() for c in text[s["start"]:s["end"]])]


def mislabelled(record: dict) -> bool:
    return any(s["type"] == "PHONE" and not any(c.isdigit() for c in record["text"][s["start"]:s["end"]])
               for s in record["spans"])


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def banking77(path: Path) -> tuple[list[dict], list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(SEED)
    drawn = sorted(rng.sample(range(len(rows)), BANKING77_SAMPLE))
    kept, screened_out = [], []
    for i in drawn:
        text = rows[i]["text"]
        (screened_out if SCREEN.search(text) else kept).append(i)
    kept = kept[:BANKING77_KEEP]
    order = kept[:]
    random.Random(SEED + 1).shuffle(order)
    test = set(order[: len(order) // 2])
    records = [{"id": f"banking77-test-{i}", "text": rows[i]["text"], "lang": "en", "spans": [], "other_spans": [],
                "source": f"PolyAI-LDN/task-specific-datasets:banking_data/test.csv#row{i + 2} (CC BY 4.0)",
                "source_name": "banking77", "split": "test" if i in test else "dev", "partial_labels": False,
                "clean_source": True} for i in kept]
    return records, [rows[i]["text"] for i in screened_out]


def main(data_dir: Path, banking77_csv: Path) -> None:
    records = [convert(r, "presidio-research") for r in read(data_dir / "presidio-research.jsonl")]
    crosswoz = [convert(r, "crosswoz") for r in read(data_dir / "crosswoz.jsonl")]
    print("crosswoz: dropped as mislabelled", [r["id"] for r in crosswoz if mislabelled(r)])
    records += [r for r in crosswoz if not mislabelled(r)]
    sgd = read(data_dir / "sgd.jsonl")
    rng = random.Random(SEED)
    for split, size in SGD_SAMPLE.items():
        pool = [r for r in sgd if r["split"] == split]
        records += [convert(r, "sgd") for r in sorted(rng.sample(pool, size), key=lambda r: r["id"])]
    clean, screened_out = banking77(banking77_csv)
    records += clean
    print(f"banking77: kept {len(clean)}, screened out {len(screened_out)}: {screened_out}")
    counts = Counter()
    for split in ("dev", "test"):
        with (HERE / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for r in records:
                if r["split"] == split:
                    out.write(json.dumps(r, ensure_ascii=False) + "\n")
                    counts[(split, r["source_name"], r["lang"])] += 1
                    for s in r["spans"]:
                        counts[(split, s["type"])] += 1
    for key, n in sorted(counts.items()):
        print(key, n)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else Path("/tmp/pii-data"),
         Path(args[1]) if len(args) > 1 else Path("/work/shared/data/banking77/test.csv"))
