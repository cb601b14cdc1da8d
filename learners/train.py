"""The LoRA job on Ray Train: a ``TorchTrainer`` fine-tunes a peft adapter on a training snapshot.

The same job runs on this machine's CPU (local Ray, one worker) and on a GPU cluster (``FLYWHEEL_RAY_ADDRESS``,
``FLYWHEEL_TRAIN_WORKERS``), where the base model is loaded in 4 bits (QLoRA, bitsandbytes) when CUDA is
present. Workers report loss through ``ray.train.report`` and the finished adapter as a Ray Train checkpoint;
the driver copies it out of Ray's storage into an immutable directory named after the adapter. Examples
travel inside the job's config, so workers need no shared file system.

Measured here: a short job costs ~20 s of fixed overhead (actors, imports); the dashboard must run (Ray
Train's state API polls it) and every run needs a name of its own (a reused name resumes the old run).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.errors import FlywheelError
from infra.settings import Settings
from learners.examples import Example

LOG_EVERY = 10  # optimizer steps between progress lines


@dataclass(frozen=True)
class TrainOutcome:
    """What a finished job left: the adapter directory and the numbers the workers reported."""

    adapter_dir: Path
    metrics: dict[str, Any]


def job_config(settings: Settings, examples: Sequence[Example], base_model: str, *,
               renewed: Sequence[bool] | None = None, seed: int = 0) -> dict:
    """Everything a worker needs, as plain data (Ray ships it to the workers). ``renewed`` flags the examples
    this refresh brought in: they get ``renewed_batch_share`` of every batch."""
    return {
        "base_model": base_model,
        "examples": [e.model_dump(include={"question", "answer", "context"}) for e in examples],
        "focus": list(renewed) if renewed is not None else [False] * len(examples),
        "focus_share": settings.renewed_batch_share,
        "lora": {"r": settings.lora_rank, "lora_alpha": settings.lora_alpha, "lora_dropout": settings.lora_dropout,
                 "target_modules": list(settings.lora_target_modules)},
        "steps": settings.train_steps,
        "batch_size": settings.train_batch_size,
        "learning_rate": settings.learning_rate,
        "seed": seed,
    }


def train_adapter(settings: Settings, examples: Sequence[Example], base_model: str, name: str,
                  *, renewed: Sequence[bool] | None = None, seed: int = 0) -> TrainOutcome:
    """Run the LoRA job for adapter ``name`` and leave its files in ``data_dir/adapters/<name>``."""
    import ray
    from ray.train import RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchTrainer

    if Path(base_model).exists():  # Ray workers start in a directory of their own: a relative path breaks
        base_model = str(Path(base_model).resolve())
    if not examples:
        raise FlywheelError("the training snapshot is empty")
    target = adapters_dir(settings) / name
    if target.exists():
        raise FlywheelError(f"{target} exists; adapters are immutable and every build needs a new name")
    started = ray_session(settings)
    try:
        trainer = TorchTrainer(
            train_lora,
            train_loop_config=job_config(settings, examples, base_model, renewed=renewed, seed=seed),
            scaling_config=ScalingConfig(num_workers=settings.train_workers, use_gpu=_cuda_on_cluster(),
                                         resources_per_worker={"CPU": settings.train_cpus_per_worker}),
            run_config=RunConfig(name=name, storage_path=str((settings.data_dir / "ray-results").resolve())),
        )
        try:
            result = trainer.fit()
        except TrainingFailedError as exc:
            raise FlywheelError(f"training job {name} failed: {_last_line(exc)}") from None
        if result.checkpoint is None:
            raise FlywheelError(f"training job {name} finished without an adapter checkpoint")
        with result.checkpoint.as_directory() as checkpoint:
            _copy_immutable(Path(checkpoint), target)
        return TrainOutcome(target, dict(result.metrics))
    finally:
        if started:
            ray.shutdown()


def _last_line(exc: BaseException) -> str:
    """The worker's own error, the last line of Ray's report (its first lines are Ray's framing)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


def adapters_dir(settings: Settings) -> Path:
    return settings.data_dir / "adapters"


def ray_session(settings: Settings) -> bool:
    """Connect to the configured Ray cluster, or start a local one; True when this call started it (and the
    caller shuts it down). The dashboard is on because Ray Train's state API needs it.

    A local cluster gets its GCS port chosen here and its actors get that address as ``RAY_ADDRESS``: Ray
    Train's placement-group cleaner looks its cluster up by scanning the machine, and beside another local
    cluster (``flywheel serve``'s) it found two, raised and left its monitor thread dead."""
    import ray

    if ray.is_initialized():
        return False
    if settings.ray_address:
        ray.init(address=settings.ray_address, log_to_driver=True)
        return True
    from infra.broker import free_port

    gcs_port = free_port()
    os.environ["RAY_GCS_SERVER_PORT"] = str(gcs_port)  # read once, by the head node ray.init starts
    try:
        ray.init(include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=free_port(),
                 num_cpus=settings.train_workers * settings.train_cpus_per_worker, configure_logging=False,
                 runtime_env={"env_vars": {"RAY_ADDRESS": f"127.0.0.1:{gcs_port}"}})
    finally:
        del os.environ["RAY_GCS_SERVER_PORT"]
    return True


def _cuda_on_cluster() -> bool:
    """GPUs are asked for when the cluster has any (a CPU-only machine trains on CPU workers)."""
    import ray

    return ray.cluster_resources().get("GPU", 0) > 0


def _copy_immutable(source: Path, target: Path) -> None:
    """Copy the adapter next to its final place, then rename: a crash never leaves half an adapter."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    for path in staging.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    staging.rename(target)


# --- the worker side -------------------------------------------------------------------------------------


def train_lora(config: dict) -> None:
    """Ray Train's per-worker loop: LoRA on the base model, batches from this worker's shard of examples."""
    import ray.train
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    from learners.batching import batches, encode_examples, warmup_cosine
    from learners.model import load_model

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS") or 1)))  # Ray sets it to the worker's CPUs
    torch.manual_seed(config["seed"])
    context = ray.train.get_context()
    cuda = torch.cuda.is_available()
    model, tokenizer = load_model(config["base_model"], quantize="4bit" if cuda else None)
    if cuda:
        model = prepare_model_for_kbit_training(model)
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **config["lora"]))
    trainable, total = _parameter_counts(model)
    if context.get_world_size() > 1:
        model = ray.train.torch.prepare_model(model, move_to_device=not cuda)
    shard = slice(context.get_world_rank(), None, context.get_world_size())
    rows = encode_examples(tokenizer, config["examples"][shard])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config["learning_rate"])
    steps = config["steps"]
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(steps, max(1, steps // 20)))
    stream = batches(rows, config["batch_size"], tokenizer.pad_token_id, random.Random(config["seed"]),
                     focus=config["focus"][shard], focus_share=config["focus_share"])
    model.train()
    started, seen, loss_value = time.perf_counter(), 0, math.nan
    for step in range(1, config["steps"] + 1):
        input_ids, labels, positions = (t.to(model.device) for t in next(stream))
        loss = model(input_ids=input_ids, position_ids=positions, labels=labels, use_cache=False).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        seen, loss_value = seen + config["batch_size"], loss.item()
        if step % LOG_EVERY == 0 and step < config["steps"]:
            ray.train.report({"step": step, "loss": loss_value})
    wall = time.perf_counter() - started
    metrics = {"step": config["steps"], "loss": loss_value, "train_s": wall, "examples_per_s": seen / wall,
               "trainable_parameters": trainable, "total_parameters": total, "trainable_share": trainable / total,
               "peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}
    _report_adapter(model, tokenizer, metrics, rank=context.get_world_rank())


def _report_adapter(model: Any, tokenizer: Any, metrics: dict, rank: int) -> None:
    """The last report carries the adapter (rank 0 saves it; the other ranks report numbers only)."""
    import ray.train

    if rank != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory() as out:
        getattr(model, "module", model).save_pretrained(out)
        tokenizer.save_pretrained(out)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(out))


def _parameter_counts(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
