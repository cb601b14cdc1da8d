"""The model engine's bounds: no generation outlives its request, and no reader waits forever on one.

The model that must be stopped is the embedded base model with its end-of-answer tokens forbidden through its
generation config: it talks until something stops it.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from infra.errors import FlywheelError
from serving.engine import BASE, Engine

QUESTION = "How many days do I have to return an item?"
MAX_NEW_TOKENS = 480  # about 5 s of generation here unbounded; the prompt and this stay in 512 positions


def generation_ends_within(seconds: float) -> bool:
    """Whether the engine's generation thread is gone within ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(t.name == f"stream-{BASE}" for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture(scope="module")
def endless(base_model_dir, tmp_path_factory) -> Path:
    """A copy of the base model that never ends its answer."""
    from transformers import AutoTokenizer, GenerationConfig

    target = tmp_path_factory.mktemp("endless") / "model"
    shutil.copytree(base_model_dir, target)
    config, tokenizer = GenerationConfig.from_pretrained(target), AutoTokenizer.from_pretrained(target)
    ends = config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id]
    config.suppress_tokens = sorted({*ends, tokenizer.eos_token_id} - {None})
    config.save_pretrained(target)
    return target


def test_an_answer_that_would_never_end_stops_at_the_request_timeout(endless):
    engine = Engine(str(endless), max_new_tokens=MAX_NEW_TOKENS, timeout_s=0.3)
    started = time.perf_counter()
    [answer] = engine.answer(BASE, [(QUESTION, None)])
    assert answer and time.perf_counter() - started < 2.0


def test_a_stream_whose_reader_leaves_stops_generating(endless):
    engine = Engine(str(endless), max_new_tokens=MAX_NEW_TOKENS, timeout_s=30)
    stop = threading.Event()
    pieces = engine.stream(BASE, QUESTION, None, stop)
    assert next(pieces)
    started = time.perf_counter()
    stop.set()  # what the model replica does when its caller times out or its client goes away
    list(pieces)
    assert time.perf_counter() - started < 1.0 and generation_ends_within(1.0)  # unstopped: seconds more


def test_a_generation_that_fails_ends_its_stream_with_the_error_at_once(base_model_dir):
    engine = Engine(str(base_model_dir), max_new_tokens=0, timeout_s=30)
    with pytest.raises(FlywheelError, match="failed while answering: `max_new_tokens` must be greater than 0"):
        list(engine.stream(BASE, QUESTION, None, threading.Event()))
