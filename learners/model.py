"""The one way the project loads and runs a causal LM: the embedded base model and a production one alike.

Everything goes through ``AutoModelForCausalLM``/``AutoTokenizer.from_pretrained``, so a Hugging Face id or a
local directory (Qwen2.5, Llama 3, or the model ``learners.bootstrap`` trains) is a setting, never code.
Generation is batched greedy decoding: the project judges answers by the facts they state, and sampling
would make that judgement noisy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from infra.errors import FlywheelError, first_line
from learners.prompt import prompt_text

if TYPE_CHECKING:
    from infra.settings import Settings

Quantize = Literal["4bit", "8bit"]


def load_model(name_or_path: str | Path, *, quantize: Quantize | None = None,
               device: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) of a Hugging Face id or a local directory, in eval mode on ``device``.

    A local directory never touches the network (``local_files_only``): the embedded stack runs offline.
    ``quantize`` loads the weights through bitsandbytes (QLoRA-style NF4 with bf16 compute, or 8-bit), the
    production path on a GPU. Any failure to load is one ``FlywheelError`` line naming the model.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    source, local = _source(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        model = AutoModelForCausalLM.from_pretrained(source, local_files_only=local, **_placement(quantize, device))
    except Exception as exc:  # from_pretrained fails in many types: OSError, ValueError, SafetensorError...
        raise FlywheelError(f"cannot load model {source!r}: {first_line(exc)}") from exc
    if tokenizer.pad_token is None:  # Llama-style tokenizers have none; batching needs one
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def _source(name_or_path: str | Path) -> tuple[str, bool]:
    """The directory or hub id to load, and whether it is local; a path that names no model directory fails
    here, in words, rather than as a hub lookup of a file name."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FlywheelError(f"cannot load model {str(path)!r}: no config.json, not a model directory")
        return str(path), True
    if isinstance(name_or_path, Path) or path.is_absolute() or str(name_or_path).startswith((".", "~")):
        raise FlywheelError(f"cannot load model {str(path)!r}: no such directory")
    return str(name_or_path), False


def _placement(quantize: Quantize | None, device: str) -> dict[str, Any]:
    """``from_pretrained`` arguments for where the weights live and in which precision."""
    import torch

    if quantize is None:
        return {"dtype": torch.bfloat16 if device.startswith("cuda") else torch.float32, "device_map": device}
    from transformers import BitsAndBytesConfig

    if quantize == "4bit":
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                    bnb_4bit_compute_dtype=torch.bfloat16)
    else:
        config = BitsAndBytesConfig(load_in_8bit=True)
    return {"quantization_config": config, "device_map": {"": device}}


def generate(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int = 64,
             batch_size: int = 32) -> list[str]:
    """The greedy continuation of every prompt (new text only, stripped), in the order given.

    Prompts are batched by length with left padding, so every row's next token sits at the same position
    and little compute goes to padding; each row stops at the end-of-sequence token.
    """
    import torch

    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    replies: dict[int, str] = {}
    stop = eos_ids(model, tokenizer)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer([prompts[i] for i in rows], return_tensors="pt", padding=True, padding_side="left",
                              add_special_tokens=False).to(model.device)
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stop,
                                 pad_token_id=tokenizer.pad_token_id)
            texts = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            replies.update(zip(rows, (text.strip() for text in texts), strict=True))
    return [replies[i] for i in range(len(prompts))]


def eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every id that ends a reply: the tokenizer's eos and those of the model's generation config."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [*ids, tokenizer.eos_token_id] if i is not None})


def answer(model: Any, tokenizer: Any, questions_with_context: Sequence[tuple[str, str | None]], *,
           max_new_tokens: int = 64, batch_size: int = 32) -> list[str]:
    """The model's reply to each (question, policy text or ``None``), prompted in the project's chat format."""
    prompts = [prompt_text(tokenizer, question, context) for question, context in questions_with_context]
    return generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)


def resolve_base_model(settings: Settings, progress: bool = True) -> str:
    """The base model to load: the ``base_model`` setting, else the embedded model (built on first use)."""
    if settings.base_model:
        return settings.base_model
    from learners.bootstrap import bootstrap

    return str(bootstrap(settings, progress=progress).resolve())
