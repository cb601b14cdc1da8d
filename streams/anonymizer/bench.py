"""Throughput of the anonymizer beside Presidio's stock analyzer, on the same texts.

The two numbers answer different questions on purpose: ``presidio_default_texts_per_s`` is what Presidio does
out of the box (detection only, English recognizers, blank spaCy tokenization), ``anonymizer_texts_per_s`` is
the whole scrub this project runs (detection with our recognizers, span resolution and replacement).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from streams.anonymizer.anonymizer import Anonymizer
from streams.anonymizer.engine import presidio_default_analyzer


def texts_per_second(process: Callable[[str], object], texts: Sequence[str], repeats: int = 3) -> float:
    """The best of ``repeats`` timed passes after one warm-up pass: shared machines are noisy, and the best
    pass is the one least disturbed by neighbours."""
    for text in texts[:100]:
        process(text)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for text in texts:
            process(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def measure(texts: Sequence[str], repeats: int = 3) -> dict[str, float | int]:
    """``anonymizer_texts_per_s`` and ``presidio_default_texts_per_s`` on ``texts``, one process, one core."""
    if not texts:
        raise ValueError("measure needs at least one text")
    anonymizer = Anonymizer()
    default = presidio_default_analyzer()
    return {
        "texts": len(texts),
        "anonymizer_texts_per_s": round(texts_per_second(anonymizer.scrub, texts, repeats), 1),
        "presidio_default_texts_per_s": round(texts_per_second(lambda t: default.analyze(t, "en"), texts, repeats), 1),
    }
