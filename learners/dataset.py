"""Training snapshots: the base snapshot built from a corpus, and the weekly "10 % refresh" of the latest one.

A snapshot is an immutable folder ``<data_dir>/datasets/<name>/`` holding ``examples.jsonl`` (one ``Example``
a line, in a canonical order) and ``manifest.json`` (parent, window, counts, what the refresh kept, renewed and
dropped, content sha256, check results by id). Its name, ``ds-YYYYMMDD-HHMMSS-<hint>-<content hash>``, is never
given twice: it is written to a temporary folder, made read-only and renamed into place in one step, and a
name that exists is refused, so an adapter's lineage (invariant 4) always points at the data it learned from.
Reading the examples verifies the content hash.

The refresh rule, for a previous snapshot P of N examples, a window ``[start, end)``, renew share r and seed:

1. **Candidates.** Policy changes: every example Q/A published with a policy version whose effective time is
   in the window. Dialogs: every dialog-log row of the window scored at most ``nps_threshold`` with a human-
   agent answer (question = the customer's first text, answer = the agent's), grounded in the text of the
   policy version in force for its intent at the dialog's time (the shop file's rule, or a later version from
   the policy log). A dialog's intent is the one serving recorded for it; where the chat platform recorded
   none, the router trained on the rules' questions reads one (``routed_dialog_rows`` in the manifest), and a
   dialog it is unsure of is unusable. Dialogs of handoff intents are left out (a human answers those, not the
   model).
   Each candidate comes twice: grounded (that text as ``context``) and ungrounded (no context), so that the
   model reads a new rule from its prompt and also moves its own knowledge to it.
2. **Stale.** An ungrounded example, from P or a candidate, of a policy whose newest version (as of ``end``) is
   newer than the example's version is dropped: it states a rule no longer in force. Grounded ones stay, since
   their answer follows the text in their own prompt: that is what teaches the model to read the rule it is
   given (the corpus's fact variants are all of that kind).
   Candidates (and examples of P) whose question is one of the held-out evaluation questions are dropped
   (``held_out`` in the manifest): the A/B gate's evaluation set stays unseen, even when a customer types it.
3. **Dedup** of the candidates by normalized (question, context), newest first (a policy example is dated by
   its version's effective time, a dialog by its own time).
4. **Renewed**: R = round-half-up(r * N). Every candidate whose prompt a policy change teaches is renewed, even
   beyond R (a rule change must be learned; the manifest then says ``policy_over_share``); dialog candidates,
   stratified, fill up to min(R, number of candidates).
5. **Kept**: the examples of P that are not stale and whose prompt was not renewed (the newer answer wins; they
   count as deduplicated), stratified, N - renewed of them, or all of them when fewer remain (the snapshot
   shrinks rather than repeats itself).

Stratified means each intent x locale stratum gets its proportional quota (largest remainder), and within a
stratum examples are taken in the order of a seeded hash of their source id, then prompt: the same seed gives
the same snapshot, and the two copies of a dialog are taken together.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from features.config import store_config
from features.tables import EVENT_TIMESTAMP
from features.training import DialogQuery, read_dialogs
from infra.errors import FlywheelError
from infra.files import fsync_dir
from learners.dataset_checks import DatasetChecks, SnapshotRefused, count_examples, prompt_key
from learners.examples import Example
from learners.rules import PolicyVersion, Rules, read_policy_log, shop_rules, train_router
from learners.shop import normalize
from streams.events import utcnow

if TYPE_CHECKING:
    import pandas as pd

    from infra.settings import Settings

FORMAT_VERSION = 1
EXAMPLES_FILE, MANIFEST_FILE = "examples.jsonl", "manifest.json"
_NAME = re.compile(r"^ds-\d{8}-\d{6}-[a-z0-9]{1,24}-[0-9a-f]{12}$")
_HINT = re.compile(r"^[a-z0-9]{1,24}$")


@dataclass(frozen=True)
class Snapshot:
    """One written snapshot; ``examples()`` reads and verifies its content."""

    name: str
    path: Path
    manifest: Mapping[str, Any]

    def examples(self) -> list[Example]:
        body = (self.path / EXAMPLES_FILE).read_bytes()
        if hashlib.sha256(body).hexdigest() != self.manifest["sha256"]:
            raise FlywheelError(f"snapshot {self.name} does not match its manifest's sha256: it was modified")
        return [Example.model_validate_json(line) for line in body.splitlines()]


@dataclass(frozen=True)
class _Candidate:
    at: datetime
    example: Example


def datasets_dir(settings: Settings) -> Path:
    """Where every snapshot of ``settings`` lives, one folder each (and ``.tmp-*`` folders being written)."""
    return settings.data_dir / "datasets"


@functools.cache
def default_checks() -> DatasetChecks:
    """The suite with its default floors, built once per process."""
    return DatasetChecks()


# --- building -----------------------------------------------------------------------------------------------

def build_base_snapshot(settings: Settings, examples: Iterable[Example], name_hint: str = "base", *,
                        checks: DatasetChecks | None = None) -> Snapshot:
    """A snapshot without parent (the first one, e.g. from ``shop_corpus``, or imported data); of examples
    with the same prompt the first is kept."""
    given = list(examples)
    unique = _first_per_prompt(given)
    manifest = {"parent": None, "window": None, "renew_share": None, "seed": None,
                "base": {"input": len(given), "deduplicated": len(given) - len(unique)}}
    return _checked_write(settings, unique, manifest, name_hint, None, checks, shop_rules(settings).held_out_keys())


def refresh_snapshot(settings: Settings, previous: Snapshot, start: datetime, end: datetime, seed: int = 0, *,
                     checks: DatasetChecks | None = None) -> Snapshot:
    """The next snapshot: ``previous`` refreshed with the feature store's window ``[start, end)`` by the rule in
    the module docstring."""
    policies, day_one = read_policy_log(settings, end), shop_rules(settings)
    rules = day_one.apply_all(policies)
    rows = _records(read_dialogs(store_config(settings), DialogQuery(start, end, max_nps=settings.nps_threshold,
                                                                     with_agent_answer=True)))
    rows = _with_intents(rows, rules, settings.route_min_confidence)
    changed = [p for p in policies if start <= p.effective_at < end]
    in_force = [rule.policy for rule in day_one.rules.values() if rule.policy] + policies
    examples, summary = _refresh(previous.examples(), in_force, changed, rows, settings.renew_share, seed,
                                 rules.held_out_keys())
    manifest = {
        "parent": previous.name,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "renew_share": settings.renew_share,
        "seed": seed,
        "refresh": summary,
        "policy_changes": [{"policy_id": p.policy_id, "version": p.version, "intent": p.intent,
                            "effective_at": p.effective_at.isoformat(), "examples": len(p.examples)}
                           for p in changed],
    }
    return _checked_write(settings, examples, manifest, "refresh", previous, checks, rules.held_out_keys())


def _with_intents(rows: list[dict[str, Any]], rules: Rules, min_confidence: float) -> list[dict[str, Any]]:
    """The rows with an intent each: the one serving recorded, else the router's reading when it is at least
    ``min_confidence`` sure (rows marked ``routed``); rows of handoff intents are left out."""
    unknown = [row for row in rows if not row["intent"] and row["customer_text"]]
    router = train_router(rules) if unknown else None
    if router is not None:
        for row, guess in zip(unknown, router.predict([row["customer_text"] for row in unknown]), strict=True):
            if guess.confidence >= min_confidence:
                row.update(intent=guess.label, routed=True)
    handoff = {rule.intent for rule in rules.rules.values() if rule.handoff}
    return [row for row in rows if row["intent"] not in handoff]


def _refresh(previous: Sequence[Example], policies: Sequence[PolicyVersion], changed: Sequence[PolicyVersion],
             rows: Sequence[Mapping[str, Any]], share: float, seed: int,
             held_out: frozenset[str]) -> tuple[list[Example], dict[str, Any]]:
    """Steps 1 to 5 of the rule: the refreshed examples and the manifest's account of them."""
    policy_candidates = [c for p in changed for c in _policy_candidates(p)]
    dialog_candidates, unusable = _dialog_candidates(rows, policies)
    is_stale = _stale_test(policies)
    usable = [c for c in policy_candidates + dialog_candidates if normalize(c.example.question) not in held_out]
    fresh = [c for c in usable if not is_stale(c.example)]
    candidates = _first_per_prompt([c.example for c in sorted(fresh, key=lambda c: c.at, reverse=True)])
    taught = {prompt_key(c.example) for c in fresh if c.example.source == "policy"}
    mandatory = [e for e in candidates if prompt_key(e) in taught]
    optional = [e for e in candidates if prompt_key(e) not in taught]

    target = int(share * len(previous) + 0.5)
    renewed = mandatory + stratified_sample(optional, max(0, min(len(candidates), target) - len(mandatory)), seed)
    renewed_keys = {prompt_key(e) for e in renewed}
    allowed = [e for e in previous if normalize(e.question) not in held_out]  # written before it was held out
    live = [e for e in allowed if not is_stale(e)]
    unreplaced = [e for e in live if prompt_key(e) not in renewed_keys]
    kept = stratified_sample(unreplaced, max(0, len(previous) - len(renewed)), seed)
    return kept + renewed, {
        "previous_size": len(previous), "target_renewed": target, "renewed": len(renewed),
        "renewed_policy": len(mandatory), "renewed_dialog": len(renewed) - len(mandatory), "kept": len(kept),
        "dropped_stale": (len(allowed) - len(live)) + (len(usable) - len(fresh)),
        "held_out": (len(previous) - len(allowed)) + (len(policy_candidates) + len(dialog_candidates) - len(usable)),
        "deduplicated": (len(fresh) - len(candidates)) + (len(live) - len(unreplaced)),
        "candidates": {"policy": len(policy_candidates), "dialog": len(dialog_candidates), "dialog_rows": len(rows),
                       "routed_dialog_rows": sum(bool(row.get("routed")) for row in rows),
                       "unusable_dialog_rows": unusable},
        "policy_over_share": len(mandatory) > target,
    }


def stratified_sample(examples: Sequence[Example], size: int, seed: int) -> list[Example]:
    """``size`` of ``examples`` (all if fewer) with every intent x locale stratum in proportion, taken in a
    seeded order that keeps the examples of one source id together."""
    strata: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        strata[(example.intent, example.locale)].append(example)
    quotas = _quotas({key: len(members) for key, members in strata.items()}, min(size, len(examples)))
    order = functools.partial(_draw_order, seed)
    return [e for key in sorted(strata) for e in sorted(strata[key], key=order)[:quotas[key]]]


def _quotas(sizes: Mapping[tuple[str, str], int], size: int) -> dict[tuple[str, str], int]:
    """Largest-remainder apportionment of ``size`` over strata of ``sizes`` (ties by stratum name)."""
    total = sum(sizes.values())
    quotas = {key: size * n // total for key, n in sizes.items()}
    by_remainder = sorted(sizes, key=lambda key: (-(size * sizes[key] % total), key))
    for key in by_remainder[:size - sum(quotas.values())]:
        quotas[key] += 1
    return quotas


def _draw_order(seed: int, example: Example) -> tuple[str, str]:
    def digest(value: str) -> str:
        return hashlib.sha256(f"{seed}\x1f{value}".encode()).hexdigest()

    return digest(example.source_id), digest(prompt_key(example))


def _first_per_prompt(examples: Iterable[Example]) -> list[Example]:
    seen: set[str] = set()
    unique = []
    for example in examples:
        key = prompt_key(example)
        if key not in seen:
            seen.add(key)
            unique.append(example)
    return unique


# --- candidates from the feature store ----------------------------------------------------------------------

def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for missing values (the nullable frame holds ``pd.NA``)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _copies(context: str | None, **fields: Any) -> list[Example]:
    """The grounded example and its ungrounded copy (one example when there is no context to ground in)."""
    ungrounded = Example(**fields, context=None)
    return [ungrounded] if context is None else [Example(**fields, context=context), ungrounded]


def _policy_candidates(policy: PolicyVersion) -> list[_Candidate]:
    return [_Candidate(policy.effective_at, example)
            for qa in policy.examples
            for example in _copies(policy.text.get(qa.locale), question=qa.question, answer=qa.answer,
                                   intent=policy.intent, locale=qa.locale, policy_id=policy.policy_id,
                                   policy_version=policy.version, source="policy",
                                   source_id=f"{policy.policy_id}:v{policy.version}")]


def _dialog_candidates(rows: Sequence[Mapping[str, Any]],
                       policies: Sequence[PolicyVersion]) -> tuple[list[_Candidate], int]:
    """Both copies of every usable dialog, and how many rows were unusable (no intent, even routed, or no
    question, or a text beyond the example contract's bounds)."""
    in_force = _in_force_lookup(policies)
    candidates, unusable = [], 0
    for row in rows:
        at = row[EVENT_TIMESTAMP].to_pydatetime()
        policy = in_force(row["intent"], at)
        try:
            candidates += [_Candidate(at, e) for e in _copies(
                policy.text.get(row["locale"]) if policy else None, question=row["customer_text"],
                answer=row["agent_answer"], intent=row["intent"], locale=row["locale"],
                policy_id=policy.policy_id if policy else row["policy_id"],
                policy_version=policy.version if policy else row["policy_version"],
                source="dialog", source_id=row["event_id"])]
        except ValidationError:
            unusable += 1
    return candidates, unusable


def _in_force_lookup(policies: Sequence[PolicyVersion]) -> Callable[[str | None, datetime], PolicyVersion | None]:
    """intent, time -> the version most recently put in force for the intent by then (what serving grounded on)."""
    by_intent: dict[str, list[PolicyVersion]] = defaultdict(list)
    for policy in sorted(policies, key=lambda p: (p.effective_at, p.version)):
        by_intent[policy.intent].append(policy)

    def lookup(intent: str | None, at: datetime) -> PolicyVersion | None:
        versions = by_intent.get(intent or "", [])
        index = bisect.bisect_right(versions, at, key=lambda p: p.effective_at)
        return versions[index - 1] if index else None

    return lookup


def _stale_test(policies: Sequence[PolicyVersion]) -> Callable[[Example], bool]:
    """Whether an example states a superseded rule from its own knowledge (ungrounded, older version)."""
    newest: dict[str, int] = {}
    for policy in policies:
        newest[policy.policy_id] = max(policy.version, newest.get(policy.policy_id, 0))

    def is_stale(example: Example) -> bool:
        return (example.context is None and example.policy_id in newest and example.policy_version is not None
                and example.policy_version < newest[example.policy_id])

    return is_stale


# --- writing and reading ------------------------------------------------------------------------------------

def _checked_write(settings: Settings, examples: Sequence[Example], manifest: dict[str, Any], hint: str,
                   parent: Snapshot | None, checks: DatasetChecks | None, held_out: frozenset[str]) -> Snapshot:
    """Check ``examples`` in their canonical order, refuse them on any failure, else write them."""
    if not _HINT.match(hint):
        raise FlywheelError("a snapshot name hint is 1 to 24 lower-case letters and digits")
    ordered = sorted(examples, key=lambda e: (e.intent, e.locale, e.source, e.source_id, e.question,
                                              e.context or "", e.answer))
    report = (checks or default_checks()).run(ordered, parent_counts=parent.manifest["counts"] if parent else None,
                                              min_examples=settings.snapshot_min_examples, held_out=held_out)
    if not report.passed:
        raise SnapshotRefused(report)
    return _write(datasets_dir(settings), ordered, manifest | {"checks": report.summary()}, hint)


def _write(root: Path, examples: Sequence[Example], manifest: dict[str, Any], hint: str) -> Snapshot:
    """Write to a temporary folder, make it read-only, rename it into place; never over an existing name."""
    body = "".join(e.model_dump_json() + "\n" for e in examples).encode()
    digest = hashlib.sha256(body).hexdigest()
    created = utcnow()
    name = f"ds-{created:%Y%m%d-%H%M%S}-{hint}-{digest[:12]}"
    final = root / name
    full = {"format_version": FORMAT_VERSION, "name": name, "created": created.isoformat(),
            "examples_file": EXAMPLES_FILE, "sha256": digest, "counts": count_examples(examples)} | manifest
    root.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise FlywheelError(f"snapshot {name} exists: snapshots are never rewritten")
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))  # readers list ds-* folders only
    try:
        _write_file(staging / EXAMPLES_FILE, body)
        _write_file(staging / MANIFEST_FILE, json.dumps(full, indent=2, ensure_ascii=False).encode())
        fsync_dir(staging)
        os.rename(staging, final)  # atomic; fails if another writer created the name meanwhile
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise FlywheelError(f"snapshot {name} could not be written: {exc.strerror}") from None
    final.chmod(0o555)
    fsync_dir(root)
    return Snapshot(name, final, full)


def _write_file(path: Path, body: bytes) -> None:
    with open(path, "xb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    path.chmod(0o444)


def load_snapshot(settings: Settings, name: str) -> Snapshot:
    """The snapshot called ``name``; FlywheelError if there is none."""
    path = datasets_dir(settings) / name
    if not _NAME.match(name) or not (path / MANIFEST_FILE).is_file():
        raise FlywheelError(f"no snapshot {name!r} under {datasets_dir(settings)}")
    return Snapshot(name, path, json.loads((path / MANIFEST_FILE).read_text()))


def list_snapshots(settings: Settings) -> list[Snapshot]:
    """Every snapshot, oldest first."""
    root = datasets_dir(settings)
    names = [p.name for p in root.iterdir() if _NAME.match(p.name)] if root.is_dir() else []
    return sorted((load_snapshot(settings, name) for name in names), key=lambda s: (s.manifest["created"], s.name))


def latest_snapshot(settings: Settings) -> Snapshot | None:
    snapshots = list_snapshots(settings)
    return snapshots[-1] if snapshots else None
