"""Real LoRA adapters made in seconds, for benchmarks and tests of serving (training one takes minutes).

With zero ``noise`` an adapter leaves the base model's answers as they are: a healthy build under a new name,
all a hot-swap needs. With noise it scrambles them: a deliberately degraded build the gates must refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learners.registry import Registry, new_adapter_name


def make_adapter(base_model: str | Path, root: Path, noise: float, seed: int = 0) -> Path:
    """A LoRA adapter on the base model's linear layers; ``noise`` is the spread of its up-projection weights."""
    import torch
    from peft import LoraConfig, get_peft_model

    from learners.model import load_model

    torch.manual_seed(seed)
    model, _ = load_model(base_model)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj",
                                                                                     "up_proj", "down_proj"]))
    with torch.no_grad():
        for name, weight in peft_model.named_parameters():
            if "lora_B" in name:
                weight.normal_(0.0, noise)
    out = root / new_adapter_name()
    peft_model.save_pretrained(out)
    return out.resolve()


def register_adapter(settings: Any, path: Path) -> str:
    """Register the adapter at ``path`` as a candidate named after its directory."""
    Registry.open(settings).register(path.name, path, lineage={"base_model": settings.base_model,
                                                               "snapshot": None}, metrics={})
    return path.name
