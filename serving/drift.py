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

**Privacy**: the saved HTML report embeds example texts and typical words of both sides. Callers pass only
anonymized text (the output of the anonymizer), never raw customer messages.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from serving.gates import GateResult

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
    same order. All texts must be anonymized: the report embeds examples of them. With fewer than ``min_rows``
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
    candidate answers) on ``columns``, save its HTML and return the drift score per column."""
    from evidently import Report
    from evidently.metrics import ValueDrift

    report = Report([ValueDrift(column=column, method=METHOD, threshold=threshold) for column in columns])
    reference = _dataset(reference_inputs, champion_answers)
    current = _dataset(live_inputs, candidate_answers)
    with warnings.catch_warnings():  # Evidently's SGDClassifier stops at max_iter=50; the AUC is still usable
        warnings.filterwarnings("ignore", message="Maximum number of iteration")
        snapshot = report.run(current, reference)
    report_path = Path(report_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(report_path))
    return _scores(snapshot.dict())


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
