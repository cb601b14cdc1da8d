"""The model side of serving: the base model, adapters merged into copies of it, batched and streamed answers.

Each adapter is merged into its own copy of the base weights (``merge_and_unload``): a merged model generates
as fast as the plain one, where an unmerged ``PeftModel`` was measured 1.6x slower. Copies cost memory, so only
the adapters the replica names stay resident (the champion, the canary and the champion before them, which makes
a rollback instant); on a GPU with a 7B base, unmerged multi-adapter serving would trade that speed for memory.

No generation outlives its request: every ``generate`` stops after ``timeout_s`` (the request's own limit, after
which nobody waits for the answer), a streamed one also as soon as its caller sets ``stop`` (it timed out or went
away), and a stream whose model falls silent for ``timeout_s`` raises instead of holding its caller forever.

An adapter joins the pool only after it answers the probe questions: a file that does not load, or weights that
produce nothing, are refused and the pool keeps serving what it had.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from infra.errors import FlywheelError

BASE = "base"
PROBES = (("How many days do I have to return an item?", None), ("退款多久能到账？", None))


class Engine:
    """The base model and the adapters merged into copies of it, by name (``base`` is the plain model)."""

    def __init__(self, base_model: str, *, max_new_tokens: int = 64, timeout_s: float | None = None):
        from learners.model import load_model

        self.base_model = base_model
        self.max_new_tokens, self.timeout_s = max_new_tokens, timeout_s
        self._base, self.tokenizer = load_model(base_model)
        self._base.generation_config.max_time = timeout_s  # copies made for adapters inherit it
        self._models: dict[str, Any] = {BASE: self._base}
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
        """Unload every adapter but ``names`` (the base model always stays)."""
        with self._lock:
            for name in [n for n in self._models if n != BASE and n not in names]:
                del self._models[name]

    def answer(self, name: str, asked: Sequence[tuple[str, str | None]]) -> list[str]:
        """Greedy answers of adapter ``name`` to (question, policy text) pairs, batched."""
        return self._generate(self._model(name), asked)

    def stream(self, name: str, question: str, context: str | None, stop: threading.Event) -> Iterator[str]:
        """The answer of adapter ``name`` piece by piece, as the model produces it, until it ends or ``stop``
        is set; closing the iterator sets ``stop``."""
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        from learners.model import eos_ids
        from learners.prompt import prompt_text

        model = self._model(name)
        inputs = self.tokenizer([prompt_text(self.tokenizer, question, context)], return_tensors="pt",
                                add_special_tokens=False).to(model.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=self.timeout_s)
        stopped = StoppingCriteriaList([lambda ids, _scores, **_: torch.full((ids.shape[0],), stop.is_set())])
        failed: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    model.generate(**inputs, streamer=streamer, stopping_criteria=stopped, do_sample=False,
                                   max_new_tokens=self.max_new_tokens, eos_token_id=eos_ids(model, self.tokenizer),
                                   pad_token_id=self.tokenizer.pad_token_id)
            except BaseException as exc:  # noqa: BLE001 - handed to the reader, which would otherwise wait forever
                failed.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True, name=f"stream-{name}")
        worker.start()
        try:
            yield from (piece for piece in streamer if piece)
        except queue.Empty:
            raise FlywheelError(f"adapter {name} produced nothing for {self.timeout_s:g} s") from None
        finally:
            stop.set()
            worker.join(self.timeout_s)
        if failed:
            raise FlywheelError(f"adapter {name} failed while answering: {failed[0]}") from failed[0]

    def _model(self, name: str) -> Any:
        model = self._models.get(name)
        if model is None:
            raise FlywheelError(f"adapter {name} is not loaded")
        return model

    def _generate(self, model: Any, asked: Sequence[tuple[str, str | None]]) -> list[str]:
        from learners.model import answer

        return answer(model, self.tokenizer, asked, max_new_tokens=self.max_new_tokens, batch_size=len(asked) or 1)
