"""`flywheel bench train`: what one refresh costs, and what LoRA saves over full fine-tuning.

- ``refresh_wall_s``: one whole refresh (snapshot, Ray Train LoRA job, evaluation, registry) in a throwaway data
  directory, on the base model of the settings (the embedded one is built first if it is not cached);
- ``examples_per_s``: training throughput inside the job (examples through forward and backward per second);
- ``lora_trainable_share``: trainable parameters of the adapter over all parameters;
- ``lora_peak_mem_mb`` and ``full_peak_mem_mb``: the peak memory training adds over the loaded model, for the
  same steps on the same batches, LoRA versus full fine-tuning of the same model, each in a fresh process
  (peak resident memory on CPU, peak allocated CUDA memory on a GPU);
- ``adapter_mb``: the adapter's files on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.settings import Settings

MEMORY_STEPS = 20


def run(settings: Settings) -> dict[str, Any]:
    from learners.model import resolve_base_model
    from learners.refresh import run_refresh

    base = resolve_base_model(settings)
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-train-") as tmp:
        scratch = settings.model_copy(update={"data_dir": Path(tmp), "base_model": base})
        result = run_refresh(scratch, progress=False)
        adapter = Path(tmp) / "adapters" / result.adapter
        adapter_bytes = sum(p.stat().st_size for p in adapter.rglob("*") if p.is_file()
                            and "tokenizer" not in p.name and p.suffix != ".jinja")
    return {
        "refresh_wall_s": result.wall_s,
        "examples": result.examples,
        "train_steps": settings.train_steps,
        "examples_per_s": result.train["examples_per_s"],
        "lora_trainable_share": result.train["trainable_share"],
        "lora_peak_mem_mb": peak_training_mb(base, "lora", settings),
        "full_peak_mem_mb": peak_training_mb(base, "full", settings),
        "memory_steps": MEMORY_STEPS,
        "adapter_mb": adapter_bytes / 2**20,
        **{key: result.evaluation[key] for key in ("policy_accuracy", "held_out_policy_accuracy",
                                                   "held_out_knowledge_accuracy")},
    }


def peak_training_mb(base: str, mode: str, settings: Settings) -> float:
    """Run ``bench.train_memory`` in a fresh process (peak memory is a per-process number)."""
    done = subprocess.run([sys.executable, "-m", "bench.train_memory", base, mode, str(MEMORY_STEPS)],
                          env={**os.environ, **settings.as_env()}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe ({mode}) failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"]
