"""The model side of serving: the base model, adapters merged into copies of it, batched and streamed answers.

Each adapter is merged into its own copy of the base weights (``merge_and_unload``): a merged model generates
as fast as the plain one, where an unmerged ``PeftModel`` was measured 1.6x slower. Copies cost memory, so at
most ``keep`` adapters stay resident (the champion, the canary and the champion before them, which makes a
rollback instant); on a GPU with a 7B base, unmerged multi-adapter serving would trade that speed for memory.

An adapter joins the pool only after it answers the probe questions: a file that does not load, or weights that
produce nothing, are refused and the pool keeps serving what it had.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from infra.errors import FlywheelError

BASE = "base"
PROBES = (("How many days do I have to return an item?", None), ("退款多久能到账？", None))


class Engine:
    """The base model and the adapters merged into copies of it, by name (``base`` is the plain model)."""

    def __init__(self, base_model: str, *, max_new_tokens: int = 64, keep: int = 3):
        from learners.model import load_model

        self.base_model = base_model
        self.max_new_tokens, self.keep = max_new_tokens, keep
        self._base, self.tokenizer = load_model(base_model)
        self._models: OrderedDict[str, Any] = OrderedDict({BASE: self._base})
        self._lock = threading.Lock()

    def has(self, name: str) -> bool:
        return name in self._models

    @property
    def loaded(self) -> list[str]:
        return list(self._models)

    def load(self, name: str, adapter_dir: Path) -> None:
        """Merge the adapter into a copy of the base and keep it once it answers the probes."""
        from learners.refresh import merge_adapter

        if self.has(name):
            return
        if not Path(adapter_dir).is_dir():
            raise FlywheelError(f"adapter {name} has no files at {adapter_dir}")
        model = merge_adapter(copy.deepcopy(self._base), Path(adapter_dir))
        replies = self._generate(model, PROBES)
        if not all(reply.strip() for reply in replies):
            raise FlywheelError(f"adapter {name} loaded but gave an empty answer to a probe question")
        with self._lock:
            self._models[name] = model

    def retain(self, names: Sequence[str]) -> None:
        """Drop adapters beyond ``keep``, least recently loaded first, never one of ``names`` or the base."""
        with self._lock:
            for name in list(self._models):
                if len(self._models) <= self.keep + 1:
                    break
                if name != BASE and name not in names:
                    del self._models[name]

    def answer(self, name: str, asked: Sequence[tuple[str, str | None]]) -> list[str]:
        """Greedy answers of adapter ``name`` to (question, policy text) pairs, batched."""
        return self._generate(self._model(name), asked)

    def stream(self, name: str, question: str, context: str | None) -> Iterator[str]:
        """The answer of adapter ``name`` piece by piece, as the model produces it."""
        import torch
        from transformers import TextIteratorStreamer

        from learners.model import eos_ids
        from learners.prompt import prompt_text

        model = self._model(name)
        inputs = self.tokenizer([prompt_text(self.tokenizer, question, context)], return_tensors="pt",
                                add_special_tokens=False).to(model.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)

        def run() -> None:
            with torch.inference_mode():
                model.generate(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens, do_sample=False,
                               eos_token_id=eos_ids(model, self.tokenizer), pad_token_id=self.tokenizer.pad_token_id)

        worker = threading.Thread(target=run, daemon=True, name=f"stream-{name}")
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()

    def _model(self, name: str) -> Any:
        model = self._models.get(name)
        if model is None:
            raise FlywheelError(f"adapter {name} is not loaded")
        return model

    def _generate(self, model: Any, asked: Sequence[tuple[str, str | None]]) -> list[str]:
        from learners.model import answer

        return answer(model, self.tokenizer, asked, max_new_tokens=self.max_new_tokens, batch_size=len(asked) or 1)
