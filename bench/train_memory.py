"""Peak memory of a few training steps, LoRA or full fine-tuning, measured in this process alone.

``python -m bench.train_memory MODEL lora|full STEPS`` (LoRA shape and batch size from the ``FLYWHEEL_*``
settings, which the benchmark passes on through the environment) prints one JSON line ``{"peak_mb": ...}``:
the memory the steps add over the loaded model (the largest resident set seen after a backward pass or an
optimizer step on CPU, peak allocated memory on CUDA). Both modes train on the same batches of the embedded
corpus of the shop in force: the difference is the gradients and optimizer state LoRA does not keep for the frozen weights, against
the activations its adapters add.
"""

from __future__ import annotations

import json
import os
import random
import sys


def main(model_name: str, mode: str, steps: int) -> float:
    import torch
    from peft import LoraConfig, get_peft_model

    from infra.settings import load_settings
    from learners.batching import batches, encode_examples
    from learners.corpus import shop_corpus
    from learners.model import load_model
    from learners.rules import shop_rules

    settings = load_settings()
    torch.manual_seed(0)
    model, tokenizer = load_model(model_name)
    if mode == "lora":
        model = get_peft_model(model, LoraConfig(
            task_type="CAUSAL_LM", r=settings.lora_rank, lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout, target_modules=list(settings.lora_target_modules)))
    rows = encode_examples(tokenizer, [e.model_dump() for e in shop_corpus(shop_rules(settings))])
    stream = batches(rows, settings.train_batch_size, tokenizer.pad_token_id, random.Random(0))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    cuda = model.device.type == "cuda"
    before = torch.cuda.memory_allocated() if cuda else _rss()
    peak = before
    model.train()
    for _ in range(steps):
        input_ids, labels, positions = (t.to(model.device) for t in next(stream))
        model(input_ids=input_ids, position_ids=positions, labels=labels, use_cache=False).loss.backward()
        peak = max(peak, _rss())  # gradients exist now; the optimizer state from the first step on
        optimizer.step()
        peak = max(peak, _rss())
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
    return (peak - before) / 2**20


def _rss() -> int:
    """The process's resident set now, in bytes (a lifetime peak would include loading, not training)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


if __name__ == "__main__":
    name, mode, steps = sys.argv[1:4]
    print(json.dumps({"peak_mb": main(name, mode, int(steps))}))
