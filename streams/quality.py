"""Data-quality checks on the scored-dialog stream: a Great Expectations suite run on micro-batches.

The join emits scored dialogs that must be clean before they reach the feature store and training sets:
no personal data left in any text (the anonymizer's own detector, run again on what it scrubbed: a dialog
that bypassed the anonymizer, or a text it would scrub differently now, is caught by the same rules that
scrub), NPS in the contract's range, texts of sane length, known locales and intents, no event id twice in a
batch.

Three rules shape the code:

- **Only ids leave the suite.** Great Expectations copies failing values (that is, personal data) into its
  results unless told otherwise; every expectation here runs with ``exclude_unexpected_values`` and
  ``unexpected_index_column_names=["event_id"]``, and the raw result is reduced to ids and check names at
  once, so a verdict, a dead letter or a log line can name what failed but never show it.
- **Built once.** The ephemeral context, data source and suite are made in ``DialogChecks.__init__`` and
  reused for every batch; per batch only a data frame is handed over. The context keeps everything in
  memory, has analytics and progress bars off, and so writes nothing to disk and calls nobody.
- **Cheap.** Great Expectations costs a fixed ~6 ms per expectation and batch whatever the row count, so the
  suite is a handful of vectorized expectations over one row per dialog (the kinds of personal data the
  detector found in any of its texts, one column per kind), run on batches of hundreds of dialogs. Its import
  (~3 s) happens when the first ``DialogChecks`` is built, not when this module is imported.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel

from streams.events import Locale, ScoredDialog, Turn

if TYPE_CHECKING:
    import pandas as pd
    from streams.anonymizer import Anonymizer
    from great_expectations.core import ExpectationSuite, ExpectationSuiteValidationResult
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation


def contract_bound(model: type[BaseModel], name: str, bound: str) -> int:
    """A bound the event contract declares (``ge``, ``le``, ``max_length``), so that the suite enforces the
    same limits on rows that bypassed validation instead of a copy that could drift from them."""
    return next(getattr(rule, bound) for rule in model.model_fields[name].metadata if hasattr(rule, bound))


NPS_RANGE = (contract_bound(ScoredDialog, "nps", "ge"), contract_bound(ScoredDialog, "nps", "le"))
MAX_TEXT_CHARS = contract_bound(Turn, "text", "max_length")
LOCALES: tuple[str, ...] = get_args(Locale)

# A digit run glued to Latin letters is a code the shop prints (order DD20240714145896, tracking
# SF1234567890123), not personal data; a run inside a longer run, or after a "+", is not one of its own.
_START = r"(?<![0-9A-Za-z+])"
_END = r"(?!\d)"
_PHONE_SHAPES = (
    r"(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}",  # mainland mobile: 138 1234 5678, +86-138...
    r"(?:\(0\d{2,3}\)|0\d{2,3})[ -]?[2-8]\d{2,3}[ -]?\d{4}",  # mainland landline: 010-12345678, (0755)...
    r"(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-]?)[2-9]\d{2}[ .-]?\d{4}",  # North American: (212) 555-0123
    r"\+[1-9](?:[ .()-]{0,2}\d){6,14}",  # any international number: +44 20 7946 0958
)
PII_PATTERNS: Mapping[str, str] = {
    "phone": rf"{_START}(?:{'|'.join(_PHONE_SHAPES)}){_END}",
    # Anchored where a local part starts, and with bounded labels: unanchored, a long run of letters without an
    # "@" was tried from every position (quadratic: 0.1 s on one 8,000-character turn).
    "email": r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
             r"\.[A-Za-z]{2,24}",
    "id_number": rf"{_START}[1-9]\d{{5}}[ -]?(?:18|19|20)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                 rf"[ -]?\d{{3}}[\dXx]{_END}",
    "bank_card": rf"{_START}\d(?:[ -]?\d){{12,18}}{_END}",
}
"""Regexes for the structured identifiers, by kind. Anonymizer placeholders (``<PHONE_1>``) never match.
They overlap on purpose where shapes do (an 18-digit ID is also card-length): a row fails on every kind
its text could be. The stream suite uses the anonymizer's detector instead (``anonymizer_detector``); these
stay an independent net for training snapshots and the demo report, where the texts are not the anonymizer's
to judge (a shop's own policy text, a model's answers)."""

UNIQUE_EVENT_ID = "unique_event_id"

Detector = Callable[[str], Collection[str]]
"""The kinds of personal data in a text, named as the anonymizer names its placeholders (``PHONE``, ``PERSON``)."""


def anonymizer_detector(anonymizer: Anonymizer) -> Detector:
    """What ``anonymizer`` would replace in a text, by kind. Given to the suite, it makes the suite refuse
    exactly what the anonymizer removes, so the two never disagree on what personal data is."""
    def kinds(text: str) -> set[str]:
        return {entity.type.value for entity in anonymizer.scrub(text).entities}
    return kinds


def ids_only_result_format(id_column: str) -> dict[str, Any]:
    """Full index lists (COMPLETE) keyed by ``id_column``, without the values GE would otherwise copy in."""
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [id_column],
        "exclude_unexpected_values": True,
        "return_unexpected_index_query": False,
        "partial_unexpected_count": 0,
    }


_RESULT_FORMAT = ids_only_result_format("event_id")


class CheckError(RuntimeError):
    """A check could not be evaluated on a batch (a value of a type the contract forbids made it raise).
    No verdict is safer than one that passes rows nobody checked; the message names the check only."""

    def __init__(self, check: str):
        self.check = check
        super().__init__(f"data-quality check {check!r} could not be evaluated on this batch")


@dataclass(frozen=True)
class BatchVerdict:
    """What a batch's checks decided. ``failed`` maps event ids to the checks they failed; ``passed`` keeps
    the dialogs that may go on, and is left out of ``repr`` so that logging a verdict logs no text."""

    passed: list[ScoredDialog] = field(repr=False)
    failed: dict[str, list[str]]
    stats: dict[str, float]

    def failures_by_check(self) -> Counter[str]:
        """How many event ids failed each check: the numbers the metrics report."""
        return Counter(check for checks in self.failed.values() for check in checks)


class DialogChecks:
    """The suite for scored dialogs, built once per worker and run on every micro-batch.

    ``known_intents`` is the set of intents the bot serves, or None to accept any; ``detector`` finds the
    personal data (``anonymizer_detector`` of the worker's anonymizer); ``max_text_chars`` bounds every text
    (turns and comment). Rows are expected to be parsed ``ScoredDialog``s: the suite
    re-checks the contract's bounds for rows that bypassed it, but like every GE column check it ignores
    missing values (a null NPS or locale is the contract's to refuse), and a value of the wrong type makes
    ``check`` raise ``CheckError`` rather than pass rows unchecked.
    """

    def __init__(self, known_intents: Collection[str] | None, detector: Detector,
                 max_text_chars: int = MAX_TEXT_CHARS):
        import great_expectations as gx

        from streams.anonymizer import EntityType

        self._detector = detector
        self._kinds = tuple(kind.value for kind in EntityType if kind is not EntityType.ORDER_ID)
        self._batches, self._suite = _ephemeral_suite(gx, _expectations(gx, known_intents, max_text_chars,
                                                                         self._kinds))

    def check(self, dialogs: Sequence[ScoredDialog]) -> BatchVerdict:
        """Validate one batch; failing dialogs are named by event id only."""
        started = time.perf_counter()
        failed = self._failed_ids(dialogs) if dialogs else {}
        passed = _passed(dialogs, failed)
        stats = {"rows": len(dialogs), "passed": len(passed), "failed_ids": len(failed),
                 "seconds": time.perf_counter() - started}
        return BatchVerdict(passed, failed, stats)

    def _failed_ids(self, dialogs: Sequence[ScoredDialog]) -> dict[str, list[str]]:
        frame = _frame(dialogs, self._detector, self._kinds)
        batch = self._batches.get_batch(batch_parameters={"dataframe": frame})
        return _failures(batch.validate(self._suite, result_format=_RESULT_FORMAT))


def _expectations(gx: Any, known_intents: Collection[str] | None, max_text_chars: int,
                  kinds: Sequence[str]) -> list[Expectation]:
    """One expectation per check, named in its ``meta`` so results map back to a stable check name (the
    label of the expectation-failure metric and the detail of a dead letter)."""
    exp = gx.expectations
    checks: dict[str, tuple[type, dict[str, Any]]] = {
        f"no_{kind.lower()}": (exp.ExpectColumnValuesToBeInSet, {"column": _found(kind), "value_set": [False]})
        for kind in kinds
    }
    checks |= {
        "nps_in_range": (exp.ExpectColumnValuesToBeBetween,
                         {"column": "nps", "min_value": NPS_RANGE[0], "max_value": NPS_RANGE[1]}),
        "text_length": (exp.ExpectColumnValuesToBeBetween,
                        {"column": "longest_text_chars", "min_value": 1, "max_value": max_text_chars}),
        "known_locale": (exp.ExpectColumnValuesToBeInSet, {"column": "locale", "value_set": list(LOCALES)}),
        UNIQUE_EVENT_ID: (exp.ExpectColumnValuesToBeUnique, {"column": "event_id"}),
    }
    if known_intents is not None:
        checks["known_intent"] = (exp.ExpectColumnValuesToBeInSet,
                                  {"column": "intent", "value_set": sorted(known_intents)})
    return [kind(**kwargs, meta={"check": name}) for name, (kind, kwargs) in checks.items()]


def ephemeral_context(gx: Any) -> AbstractDataContext:
    """An in-memory context: no project directory, no analytics, no progress bars; it writes and calls nothing."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def _ephemeral_suite(gx: Any, expectations: list[Expectation]) -> tuple[BatchDefinition, ExpectationSuite]:
    """An ephemeral context holding the suite and a data-frame batch definition that each micro-batch is
    handed to."""
    context = ephemeral_context(gx)
    batches = (context.data_sources.add_pandas("scored_dialogs").add_dataframe_asset("micro_batch")
               .add_batch_definition_whole_dataframe("whole"))
    suite = context.suites.add(gx.ExpectationSuite(name="scored_dialogs", expectations=expectations))
    return batches, suite


def _frame(dialogs: Sequence[ScoredDialog], detector: Detector, kinds: Sequence[str]) -> pd.DataFrame:
    """One row per dialog with the columns the expectations read: for each kind of personal data, whether the
    detector found it in any of the dialog's texts (each text on its own, as the anonymizer scrubbed it)."""
    import pandas as pd

    texts = [_texts(dialog) for dialog in dialogs]
    found = [set().union(*map(detector, parts)) for parts in texts]
    return pd.DataFrame({
        "event_id": [dialog.event_id for dialog in dialogs],
        "nps": [dialog.nps for dialog in dialogs],
        "locale": [dialog.locale for dialog in dialogs],
        "intent": [dialog.intent for dialog in dialogs],
        "longest_text_chars": [max(map(len, parts), default=0) for parts in texts],
        **{_found(kind): [kind in kinds_found for kinds_found in found] for kind in kinds},
    })


def _found(kind: str) -> str:
    return f"has_{kind.lower()}"


def _texts(dialog: ScoredDialog) -> list[str]:
    """Every free text of a dialog: the customer's, bot's and agent's turns, and the survey comment."""
    return [turn.text for turn in dialog.turns] + ([dialog.comment] if dialog.comment is not None else [])


def _failures(result: ExpectationSuiteValidationResult) -> dict[str, list[str]]:
    """Event id -> names of the checks it failed."""
    return failed_ids(result, "event_id")


def failed_ids(result: ExpectationSuiteValidationResult, id_column: str) -> dict[str, list[str]]:
    """Id -> names of the checks it failed (each expectation names its check in ``meta``), read from the id
    lists of ``ids_only_result_format(id_column)`` and nothing else of the result."""
    failed: dict[str, list[str]] = {}
    for outcome in result.results:
        if outcome.success:
            continue
        assert outcome.expectation_config is not None  # a suite run's results always carry their expectation
        check = outcome.expectation_config.meta["check"]
        if "unexpected_index_list" not in outcome.result:  # the check raised instead of evaluating
            raise CheckError(check)
        for ids in outcome.result["unexpected_index_list"]:
            for row_id in ids[id_column]:
                checks = failed.setdefault(row_id, [])
                if check not in checks:  # a repeated id is listed once per copy
                    checks.append(check)
    return failed


def _passed(dialogs: Sequence[ScoredDialog], failed: Mapping[str, list[str]]) -> list[ScoredDialog]:
    """The dialogs that go on: those whose id failed nothing, and the first copy of an id whose only fault
    is being repeated. At-least-once delivery replays events; the idempotent sinks need one copy, not none,
    so a replay is dropped (and reported) without losing the dialog."""
    kept: list[ScoredDialog] = []
    seen: set[str] = set()
    for dialog in dialogs:
        faults = failed.get(dialog.event_id, [])
        if dialog.event_id in seen or any(fault != UNIQUE_EVENT_ID for fault in faults):
            continue
        seen.add(dialog.event_id)
        kept.append(dialog)
    return kept
