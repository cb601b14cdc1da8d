"""The Evidently drift gate for promoting a LoRA adapter: are the live inputs still the training distribution, and
does the candidate answer like the champion?

Two text comparisons run in one Evidently report (``ValueDrift`` per text column, method
``abs_text_content_drift``):

* **inputs**: live customer questions (current) against the questions the adapter was trained and evaluated on
  (reference). If they drifted, the offline A/B evidence was measured on a distribution that is no longer the
  one customers send, so "better than the champion" is not known for today's traffic: the gate blocks the
  promotion until the training/evaluation set is refreshed from the live distribution.
* **answers**: the candidate's answers against the champion's answers to the same questions. A fine-tune that
  suddenly answers in another style, language or template (or falls back to "I don't know") drifts here even
  when an accuracy metric happens to agree; the gate fails so that a human looks at the report.

Evidently 0.7 scores text drift with a domain classifier (TF-IDF + linear model) that tries to tell the current
rows from the reference rows; the score is its ROC AUC on a held-out half (0.5: indistinguishable, 1.0: fully
separable). ``abs_text_content_drift`` compares that AUC to a fixed threshold (~0.4 s on 1k vs 1k rows); the
default percentile method bootstraps a random classifier for its threshold and costs ~9 s for the same rows.

**The report is safe to open**: it embeds example texts and typical words of both sides, as JSON inside a
``<script>`` block. Every text is scrubbed by the anonymizer before Evidently sees it (callers should already pass
anonymized text; the report does not count on it), and the embedded JSON is written with ``<``, ``>`` and ``&``
as ``\\u`` escapes, so a customer's ``</script><img onerror=...>`` stays a string instead of closing the block.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.gates import GateResult

if TYPE_CHECKING:
    from streams.anonymizer import Anonymizer

METHOD = "abs_text_content_drift"
COLUMNS = ("input", "answer")

# Measured on the simulator corpus (200 draws of questions vs questions from the *same* distribution): the
# classifier's AUC has a 95th percentile of 0.57 and a 99th of 0.60-0.61 at 100-200 rows a side (0.54 at 1000), so
# Evidently's own 0.55 default would block ~5% of healthy promotions and 0.6 blocks <=1%; a real shift (another
# language, a new topic, a fallback template) scores above 0.9.
DEFAULT_THRESHOLD = 0.6
MIN_ROWS = 50


def drift_gate(reference_inputs: Sequence[str], live_inputs: Sequence[str], champion_answers: Sequence[str],
               candidate_answers: Sequence[str], report_path: Path, *, threshold: float = DEFAULT_THRESHOLD,
               min_rows: int = MIN_ROWS) -> GateResult:
    """Gate ``drift``: fail when live inputs drifted from the training reference or the candidate's answers
    drifted from the champion's (domain-classifier AUC above ``threshold``); the HTML report goes to
    ``report_path``.

    ``champion_answers`` and ``candidate_answers`` are the two models' answers to the same questions, in the
    same order. The texts come anonymized; the report scrubs them again all the same. With fewer than ``min_rows``
    rows on a side the classifier's AUC is noise: too few answers fail the gate without judging (and write no
    report); too few live inputs (a deployment with no traffic yet) skip the input comparison, which the
    metrics and the detail say.
    """
    if len(champion_answers) != len(candidate_answers):
        raise ValueError("champion and candidate must answer the same questions")
    sizes = {"reference_rows": len(reference_inputs), "live_rows": len(live_inputs),
             "answer_rows": len(candidate_answers)}
    metrics = {name: float(size) for name, size in sizes.items()} | {"threshold": threshold}
    if sizes["answer_rows"] < min_rows:
        return GateResult("drift", "fail", metrics, f"too few rows to judge drift (< {min_rows} answers)")
    columns = COLUMNS if min(sizes["reference_rows"], sizes["live_rows"]) >= min_rows else ("answer",)
    metrics["input_skipped"] = float("input" not in columns)
    scores = run_drift_report(reference_inputs, live_inputs, champion_answers, candidate_answers, report_path,
                              threshold=threshold, columns=columns)
    for column, score in scores.items():
        metrics[f"{column}_drift_score"] = score
        metrics[f"{column}_drifted"] = float(score > threshold)
    return _verdict(metrics, threshold)


def run_drift_report(reference_inputs: Sequence[str], live_inputs: Sequence[str], champion_answers: Sequence[str],
                     candidate_answers: Sequence[str], report_path: Path, *, threshold: float,
                     columns: Sequence[str] = COLUMNS) -> dict[str, float]:
    """Run the Evidently report (reference = training inputs + champion answers, current = live inputs +
    candidate answers) on ``columns``, save its HTML and return the drift score per column.

    The texts are scrubbed first, so the classifier judges exactly the texts the report shows."""
    from evidently import Report
    from evidently.metrics import ValueDrift

    report = Report([ValueDrift(column=column, method=METHOD, threshold=threshold) for column in columns])
    reference = _dataset(_scrubbed(reference_inputs), _scrubbed(champion_answers))
    current = _dataset(_scrubbed(live_inputs), _scrubbed(candidate_answers))
    with warnings.catch_warnings():  # Evidently's SGDClassifier stops at max_iter=50; the AUC is still usable
        warnings.filterwarnings("ignore", message="Maximum number of iteration")
        snapshot = report.run(current, reference)
    report_path = Path(report_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(script_safe(snapshot.get_html_str(as_iframe=False)), encoding="utf-8")
    return _scores(snapshot.dict())


@cache
def _anonymizer() -> Anonymizer:
    """One anonymizer per process (building it imports Presidio, seconds); default options, which scrub more
    than a shop's allow list would: a report needs no hotline numbers."""
    from streams.anonymizer import Anonymizer

    return Anonymizer()


def _scrubbed(texts: Sequence[str]) -> list[str]:
    """Each text with its personal data replaced; every text is its own conversation."""
    anonymizer = _anonymizer()
    return [anonymizer.scrub(text).text for text in texts]


# Evidently's page declares its data in the first <script> of the page, before any library code:
# ``var metric_<id> = {...};`` and ``var additional_graphs_metric_<id> = {...};``, each a JSON value.
_DATA_SCRIPT = re.compile(r"<script>\s*(?=var metric_\w+ = )")
_DECLARATION = re.compile(r"\s*var \w+ = ")
_SCRIPT_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script_safe(page: str) -> str:
    """Evidently's HTML ``page`` with its embedded data unable to end its ``<script>`` block.

    Evidently writes ``json.dumps`` output into the block as it is, so a text holding ``</script>`` ends the
    block and whatever follows is markup. Each declared JSON value is found by parsing it (not by searching for
    an end a text could forge) and written again with ``<``, ``>`` and ``&`` as ``\\u`` escapes: the same
    value to JavaScript, no markup to the HTML parser. (Outside strings, JSON holds none of these characters.)
    A page of another layout raises ``ValueError`` rather than being saved unescaped.
    """
    block = _DATA_SCRIPT.search(page)
    if block is None:
        raise ValueError("Evidently's report has no data script where serving.drift expects it")
    decoder, parts, position = json.JSONDecoder(), [page[:block.end()]], block.end()
    while (declaration := _DECLARATION.match(page, position)) is not None:
        _, end = decoder.raw_decode(page, declaration.end())
        if page[end:end + 1] != ";":
            raise ValueError("Evidently's data script has an unexpected layout")
        parts += [declaration.group(), page[declaration.end():end].translate(_SCRIPT_UNSAFE), ";"]
        position = end + 1
    if len(parts) == 1:
        raise ValueError("Evidently's data script declares no data")
    return "".join(parts) + page[position:]


def _dataset(inputs: Sequence[str], answers: Sequence[str]) -> Any:
    """One Evidently dataset holding both text columns; the shorter is padded with missing values, which the
    drift calculation drops, so the two comparisons may have different row counts."""
    import pandas as pd
    from evidently import DataDefinition, Dataset

    rows = max(len(inputs), len(answers))
    frame = pd.DataFrame({"input": _padded(inputs, rows), "answer": _padded(answers, rows)})
    return Dataset.from_pandas(frame, data_definition=DataDefinition(text_columns=list(COLUMNS)))


def _padded(texts: Sequence[str], rows: int) -> list[str | None]:
    return [*texts, *[None] * (rows - len(texts))]


def _scores(snapshot: dict[str, Any]) -> dict[str, float]:
    """The drift score of each ``ValueDrift`` metric in a snapshot's dict, keyed by its column."""
    return {metric["config"]["column"]: float(metric["value"]) for metric in snapshot["metrics"]
            if metric["config"].get("type", "").endswith("ValueDrift")}


def _verdict(metrics: dict[str, float], threshold: float) -> GateResult:
    """Input drift blocks first (the offline evidence no longer describes live traffic), then answer drift."""
    inputs, answers = metrics.get("input_drift_score"), metrics["answer_drift_score"]
    if inputs is not None and inputs > threshold:
        return GateResult("drift", "fail", metrics,
                          f"live inputs drifted from the training reference (AUC {inputs:.3f} > {threshold})")
    if answers > threshold:
        return GateResult("drift", "fail", metrics,
                          f"candidate answers drifted from the champion's (AUC {answers:.3f} > {threshold})")
    seen = "no live traffic to compare yet" if inputs is None else f"inputs AUC {inputs:.3f}"
    return GateResult("drift", "pass", metrics, f"no drift: {seen}, answers AUC {answers:.3f}")
