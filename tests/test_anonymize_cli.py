"""`flywheel anonymize` on the simulator's injected personal data: the acceptance bars, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from simulator.customers import STRUCTURED, clean_samples, pii_samples
from tests.conftest import REPO


def anonymize(texts: list[str]) -> list[dict]:
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    run = subprocess.run([str(Path(sys.executable).with_name("flywheel")), "anonymize"], input=lines.encode(),
                         capture_output=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr.decode()
    return [json.loads(line) for line in run.stdout.decode().splitlines()]


def test_finds_99_percent_of_structured_identifiers_and_alters_at_most_1_percent_of_clean_text():
    dirty, clean = pii_samples(1500, seed=11), clean_samples(1500, seed=12)
    results = anonymize([s.text for s in dirty] + [s.text for s in clean])
    found = total = 0
    for sample, result in zip(dirty, results):
        for entity in sample.entities:
            if entity.type in STRUCTURED:
                total += 1
                found += any(e["start"] <= entity.start and entity.end <= e["end"] for e in result["entities"]) \
                    and entity.value not in result["text"]
    altered = sum(result["text"] != sample.text for sample, result in zip(clean, results[len(dirty):]))
    assert total > 1500
    assert found / total >= 0.99, f"recall {found}/{total}"
    assert altered / len(clean) <= 0.01, f"{altered} of {len(clean)} clean sentences altered"


def test_offsets_point_into_the_input_and_bad_lines_get_an_error_line():
    text = "我叫王伟，手机13812345678"
    entities = anonymize([text])[0]["entities"]
    assert {text[e["start"]:e["end"]] for e in entities} == {"王伟", "13812345678"}
    run = subprocess.run([str(Path(sys.executable).with_name("flywheel")), "anonymize"],
                         input=b'{"text": 13812345678}\nnot json\n', capture_output=True, cwd=REPO, timeout=120)
    bad = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert run.returncode == 0 and len(bad) == 2 and all("error" in line for line in bad)
    assert "13812345678" not in run.stdout.decode()
