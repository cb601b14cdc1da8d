"""One refresh, end to end: base model → training snapshot → Ray Train LoRA job → evaluation → registry.

The first refresh trains on the base snapshot (the corpus the base model came from), so the first champion
is an adapter like every later one; each later refresh renews a share of the previous snapshot from the
feature store (``learners.dataset``). The new adapter is registered as a candidate with its lineage and
metrics and announced on the model-events topic; promotion is the gates' decision, not this module's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from infra.errors import FlywheelError, first_line
from infra.settings import Settings
from learners.registry import AdapterRecord, Registry, new_adapter_name

log = logging.getLogger(__name__)


class RefreshResult(BaseModel):
    adapter: str
    state: str
    snapshot: str
    base_model: str
    examples: int
    train: dict[str, Any]
    evaluation: dict[str, Any]
    wall_s: float
    announced: bool


def run_refresh(settings: Settings, *, now: datetime | None = None, seed: int = 0,
                progress: bool = True) -> RefreshResult:
    """Build, evaluate and register a new adapter from the data up to ``now``."""
    from learners.model import resolve_base_model
    from learners.train import train_adapter

    started, now = time.perf_counter(), now or datetime.now(UTC)
    base = resolve_base_model(settings, progress=progress)
    snapshot = next_snapshot(settings, now, seed)
    examples = snapshot.examples()
    name = new_adapter_name(now)
    log.info("refresh %s: %d examples from snapshot %s on %s", name, len(examples), snapshot.name, base)
    outcome = train_adapter(settings, examples, base, name, renewed=renewed_flags(settings, snapshot, examples),
                            seed=seed)
    report = evaluate_adapter(settings, base, outcome.adapter_dir, name)
    record = Registry.open(settings).register(
        name, outcome.adapter_dir.resolve(), lineage=lineage(settings, base, snapshot.name),
        metrics={"train": outcome.metrics, "evaluation": report.summary()})
    return RefreshResult(adapter=name, state=record.state, snapshot=snapshot.name, base_model=base,
                         examples=len(examples), train=outcome.metrics, evaluation=report.summary(),
                         wall_s=time.perf_counter() - started, announced=announce_candidate(settings, record))


def next_snapshot(settings: Settings, now: datetime, seed: int) -> Any:
    """The base snapshot on the first run, else the previous snapshot refreshed with the data since its window
    ended. A base snapshot came from the corpus and read none of the feature store, so the refresh after it
    reads everything the store holds up to ``now``."""
    from learners.corpus import shop_corpus
    from learners.dataset import build_base_snapshot, latest_snapshot, refresh_snapshot
    from learners.rules import shop_rules

    previous = latest_snapshot(settings)
    if previous is None:
        return build_base_snapshot(settings, shop_corpus(shop_rules(settings)))
    window = previous.manifest.get("window")
    start = datetime.fromisoformat(window["end"]) if window else datetime(1970, 1, 1, tzinfo=UTC)
    if start >= now:
        raise FlywheelError(f"snapshot {previous.name} already covers the data up to {start.isoformat()}")
    return refresh_snapshot(settings, previous, start, now, seed=seed)


def renewed_flags(settings: Settings, snapshot: Any, examples: list[Any]) -> list[bool]:
    """Which examples the snapshot has that its parent had not (all of them for a base snapshot)."""
    from learners.dataset import load_snapshot

    parent = snapshot.manifest.get("parent")
    if parent is None:
        return [True] * len(examples)
    before = set(load_snapshot(settings, parent).examples())
    return [example not in before for example in examples]


def evaluate_adapter(settings: Settings, base: str, adapter_dir: Path | None, name: str) -> Any:
    """The evaluation of ``base`` (+ the adapter in ``adapter_dir``) on the rules in force now, each question put
    to the model as serving would put it (``serving.knowledge.model_input``) and judged by the judge the
    settings name (``learners.llm_judge.judge_for``).

    It is kept in ``data_dir/reports/<name>/evaluation.json`` and reused while the shop, the rules in force, the
    base model, the judge and the way questions are asked are the ones it was made on: adapters are immutable, so
    the same model on the same rules answers the same (greedy decoding), and the promotion gates need not ask
    again what the refresh just asked.
    """
    import torch

    from learners.evaluate import EvalReport, evaluate
    from learners.llm_judge import judge_for
    from learners.rules import rules_in_force
    from serving.knowledge import model_input

    rules = rules_in_force(settings)
    judge = judge_for(settings, rules)
    cache = settings.data_dir / "reports" / name / "evaluation.json"
    made_on = {"base_model": base, "canonical_questions": settings.canonical_questions, "judge": judge.name,
               "shop": rules.shop_fingerprint, "rules_in_force": rules.versions(), "applied": list(rules.applied)}
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("made_on") == json.loads(json.dumps(made_on)):
            return EvalReport.model_validate(cached["report"])
    torch.set_num_threads(settings.torch_threads)
    model, tokenizer = load_with_adapter(base, adapter_dir)
    report = evaluate(model, tokenizer, rules, name=name, ask=model_input(settings), judge=judge)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"made_on": made_on, "report": report.model_dump(mode="json")}, ensure_ascii=False))
    return report


def load_with_adapter(base: str, adapter_dir: Path | None) -> tuple[Any, Any]:
    """The base model with the adapter merged in (merged weights generate as fast as the plain model)."""
    from learners.model import load_model

    model, tokenizer = load_model(base)
    return (model if adapter_dir is None else merge_adapter(model, adapter_dir)), tokenizer


def merge_adapter(model: Any, adapter_dir: Path) -> Any:
    """``model`` with the LoRA adapter in ``adapter_dir`` merged into its weights (``model`` is consumed); an
    adapter that cannot be read or does not fit the model is one ``FlywheelError`` line."""
    from peft import PeftModel

    try:
        merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    except Exception as exc:  # noqa: BLE001 - a bad file fails in many types (OSError, SafetensorError, ...)
        raise FlywheelError(f"cannot load adapter {adapter_dir}: {first_line(exc)}") from None
    return merged.eval()


def lineage(settings: Settings, base: str, snapshot: str) -> dict[str, Any]:
    """Where an adapter came from: enough to rebuild it or to explain what it learned."""
    return {"base_model": base, "base_model_sha256": model_digest(base), "snapshot": snapshot,
            "hyperparameters": {"rank": settings.lora_rank, "alpha": settings.lora_alpha,
                                "dropout": settings.lora_dropout, "target_modules": list(settings.lora_target_modules),
                                "steps": settings.train_steps, "batch_size": settings.train_batch_size,
                                "learning_rate": settings.learning_rate, "workers": settings.train_workers}}


def model_digest(base: str) -> str | None:
    """SHA-256 over a local model's config and weights (None for a hub id: its revision names it)."""
    root = Path(base)
    if not root.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(root.iterdir()):
        if path.suffix in {".safetensors", ".bin"} or path.name == "config.json":
            digest.update(path.name.encode())
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def announce_candidate(settings: Settings, record: AdapterRecord) -> bool:
    """Tell serving (``cs.model-events``) that a candidate exists; False when no broker is reachable."""
    from streams.events import ModelEvent
    from streams.publish import announce

    evaluation = record.metrics.get("evaluation", {})
    event = ModelEvent(subject=record.name, action="candidate_built",
                       metrics={k: float(evaluation[k]) for k in ("policy_accuracy", "knowledge_accuracy")
                                if evaluation.get(k) is not None},
                       detail=f"snapshot {record.lineage['snapshot']}")
    return announce(settings, [event])
