"""The Great Expectations suite a training snapshot must pass before it is written.

A snapshot is what an adapter learns to say, so it is held to the project's invariants before it exists:

- **No personal data** in any text the model reads or learns to say (question, answer, policy context): the
  stream suite's regexes (``streams.quality.PII_PATTERNS``), a safety net behind the anonymizer.
- **Text sizes** within the ``Example`` contract (rows read back from disk or imported bypassed it once); an
  empty context is refused too, since serving would put no system message where training had one.
- **Known locales** and **one example per prompt**: the normalized (question, context) key of ``prompt_key``
  is unique, since two answers to one prompt teach noise.
- **No evaluation question**: no question is one of the held-out questions the A/B gate evaluates on (the shop
  file's and those published with policies, ``Rules.held_out_keys``), or the gate would measure recall of its
  own training set.
- **Balance**: every intent and every locale holds at least a floor share of the snapshot, and one the parent
  snapshot had keeps at least ``keep_parent_share`` of its share there (a refresh may not starve an intent the
  model already serves); and the snapshot has at least ``min_examples`` rows.

Any failure refuses the snapshot (``SnapshotRefused``): a training set is rebuilt, never patched by hand.

As in ``streams/quality.py`` only ids leave the suite (its ids-only result format and reduction are reused):
rows are named ``<source_id>#<line>`` (the line ``examples.jsonl`` would give them), groups ``intent:<name>``,
``locale:<name>`` and ``snapshot:size``; never a text. Context and suites are built once per ``DatasetChecks``
(Great Expectations is imported then, ~3 s), and per run only data frames are handed over.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.errors import FlywheelError
from learners.examples import Example
from learners.shop import normalize
from streams.quality import LOCALES, PII_PATTERNS, contract_bound, ephemeral_context, failed_ids, ids_only_result_format

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.expectations import Expectation

ROW_ID, GROUP_ID = "row_id", "group"
SIZE_GROUP = "snapshot:size"
MIN_INTENT_SHARE = 0.005  # under 1 example in 200, an intent drowns among the others
MIN_LOCALE_SHARE = 0.05
KEEP_PARENT_SHARE = 0.5
MAX_SHOWN_IDS = 5  # per check in an error message; the report keeps them all

def prompt_key(example: Example) -> str:
    """The dedup key: a digest of the normalized question and context, the prompt the model is given."""
    joined = f"{normalize(example.question)}\x1f{normalize(example.context or '')}"
    return hashlib.sha256(joined.encode()).hexdigest()


def count_examples(examples: Sequence[Example]) -> dict[str, Any]:
    """Total and counts by source, intent and locale, sorted by name: the manifest's counts."""
    def by(attribute: str) -> dict[str, int]:
        return dict(sorted(Counter(getattr(e, attribute) for e in examples).items()))

    return {"total": len(examples), "by_source": by("source"), "by_intent": by("intent"), "by_locale": by("locale")}


@dataclass(frozen=True)
class CheckReport:
    """What the suite decided: ids by failed check (empty when the snapshot passed) and the floors applied."""

    checks: tuple[str, ...]
    failed: dict[str, list[str]]
    floors: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, Any]:
        """The manifest's record of the run: ids only."""
        return {"passed": self.passed, "checks": list(self.checks), "failed": self.failed, "floors": self.floors}


class SnapshotRefused(FlywheelError):
    """A snapshot failed its checks and was not written; the message and ``report`` name ids, never texts."""

    def __init__(self, report: CheckReport):
        self.report = report
        shown = "; ".join(f"{check}: {', '.join(ids[:MAX_SHOWN_IDS])}" + (" ..." if len(ids) > MAX_SHOWN_IDS else "")
                          for check, ids in report.failed.items())
        super().__init__(f"snapshot refused by its checks ({shown})")


class DatasetChecks:
    """The suite, built once; ``run`` it on every snapshot about to be written."""

    def __init__(self, *, min_intent_share: float = MIN_INTENT_SHARE, min_locale_share: float = MIN_LOCALE_SHARE,
                 keep_parent_share: float = KEEP_PARENT_SHARE):
        import great_expectations as gx

        self._floors = {"min_intent_share": min_intent_share, "min_locale_share": min_locale_share,
                        "keep_parent_share": keep_parent_share}
        context = ephemeral_context(gx)
        source = context.data_sources.add_pandas("snapshot")
        self._rows = source.add_dataframe_asset("examples").add_batch_definition_whole_dataframe("whole")
        self._groups = source.add_dataframe_asset("groups").add_batch_definition_whole_dataframe("whole")
        rows, groups = _row_expectations(gx), _group_expectations(gx)
        self._row_suite = context.suites.add(gx.ExpectationSuite(name="rows", expectations=list(rows.values())))
        self._group_suite = context.suites.add(gx.ExpectationSuite(name="groups", expectations=list(groups.values())))
        self._checks = (*rows, *groups)

    def run(self, examples: Sequence[Example], *, parent_counts: Mapping[str, Any] | None, min_examples: int,
            held_out: frozenset[str] = frozenset()) -> CheckReport:
        """Check ``examples`` in the order they will be written; ``parent_counts`` are the parent snapshot's
        ``count_examples`` (None for a snapshot without parent), ``held_out`` the normalized evaluation questions."""
        failed: dict[str, list[str]] = {}
        if examples:
            frame = _row_frame(examples, held_out)
            _merge(failed, self._validate(self._rows, self._row_suite, frame, ROW_ID))
        groups = _group_frame(count_examples(examples), parent_counts, min_examples, self._floors)
        _merge(failed, self._validate(self._groups, self._group_suite, groups, GROUP_ID))
        return CheckReport(self._checks, failed, dict(self._floors))

    @staticmethod
    def _validate(batches: BatchDefinition, suite: ExpectationSuite, frame: pd.DataFrame,
                  id_column: str) -> dict[str, list[str]]:
        batch = batches.get_batch(batch_parameters={"dataframe": frame})
        return failed_ids(batch.validate(suite, result_format=ids_only_result_format(id_column)), id_column)


def _merge(failed: dict[str, list[str]], by_id: Mapping[str, list[str]]) -> None:
    """Add ``failed_ids``' id -> checks to ``failed``, check -> ids."""
    for row_id, checks in by_id.items():
        for check in checks:
            failed.setdefault(check, []).append(row_id)


def _row_expectations(gx: Any) -> dict[str, Expectation]:
    """By check name; each expectation carries its name in ``meta``, which ``failed_ids`` reports."""
    exp = gx.expectations

    def length(column: str, field_name: str, minimum: int = 1) -> tuple[type, dict[str, Any]]:
        return exp.ExpectColumnValuesToBeBetween, {
            "column": column, "min_value": minimum, "max_value": contract_bound(Example, field_name, "max_length")}

    checks: dict[str, tuple[type, dict[str, Any]]] = {
        f"no_{kind}": (exp.ExpectColumnValuesToNotMatchRegex, {"column": "text", "regex": pattern})
        for kind, pattern in PII_PATTERNS.items()
    }
    checks |= {
        "question_length": length("question_chars", "question"),
        "answer_length": length("answer_chars", "answer"),
        "context_length": length("context_chars", "context"),  # null (no context) is not checked
        "known_locale": (exp.ExpectColumnValuesToBeInSet, {"column": "locale", "value_set": list(LOCALES)}),
        "unique_prompt": (exp.ExpectColumnValuesToBeUnique, {"column": "key"}),
        "not_held_out": (exp.ExpectColumnValuesToBeInSet, {"column": "held_out", "value_set": [False]}),
    }
    return {name: kind(**kwargs, meta={"check": name}) for name, (kind, kwargs) in checks.items()}


def _group_expectations(gx: Any) -> dict[str, Expectation]:
    """One row per intent, locale and the snapshot as a whole; each check reads its own margin column (share
    or count minus its floor), null on the rows it does not apply to, which column checks skip."""
    return {check: gx.expectations.ExpectColumnValuesToBeBetween(column=f"{check}_margin", min_value=0,
                                                                  meta={"check": check})
            for check in ("intent_share", "locale_share", "min_examples")}


def _row_frame(examples: Sequence[Example], held_out: frozenset[str]) -> pd.DataFrame:
    """One row per example: its id, all its texts in one column (one regex pass per kind of identifier), the
    length of each text, its locale, prompt key and whether its question is a held-out one."""
    import pandas as pd

    return pd.DataFrame({
        ROW_ID: [f"{e.source_id}#{line}" for line, e in enumerate(examples, start=1)],
        "text": ["\n".join([e.question, e.answer, e.context or ""]) for e in examples],
        "question_chars": [len(e.question) for e in examples],
        "answer_chars": [len(e.answer) for e in examples],
        "context_chars": pd.array([None if e.context is None else len(e.context) for e in examples], "Int64"),
        "locale": [e.locale for e in examples],
        "key": [prompt_key(e) for e in examples],
        "held_out": [normalize(e.question) in held_out for e in examples],
    })


def _group_frame(counts: Mapping[str, Any], parent: Mapping[str, Any] | None, min_examples: int,
                 floors: Mapping[str, float]) -> pd.DataFrame:
    import pandas as pd

    rows = [{GROUP_ID: SIZE_GROUP, "min_examples_margin": float(counts["total"] - min_examples)}]
    for dimension, minimum in (("intent", floors["min_intent_share"]), ("locale", floors["min_locale_share"])):
        shares = _shares(counts, dimension)
        before = _shares(parent, dimension) if parent else {}
        rows += [{GROUP_ID: f"{dimension}:{name}",
                  f"{dimension}_share_margin": shares.get(name, 0.0)
                  - max(minimum, floors["keep_parent_share"] * before.get(name, 0.0))}
                 for name in sorted(shares.keys() | before.keys())]
    columns = [GROUP_ID, "intent_share_margin", "locale_share_margin", "min_examples_margin"]
    return pd.DataFrame(rows, columns=columns).astype({c: "float64" for c in columns[1:]})


def _shares(counts: Mapping[str, Any], dimension: str) -> dict[str, float]:
    total = counts["total"]
    return {name: n / total for name, n in counts[f"by_{dimension}"].items()} if total else {}
