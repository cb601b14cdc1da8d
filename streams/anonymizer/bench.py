"""Throughput of the anonymizer beside Presidio's stock analyzer, on the same texts.

The numbers answer different questions on purpose: ``presidio_default_texts_per_s`` is what Presidio does out of
the box (detection only, English recognizers, blank spaCy tokenization), ``anonymizer_texts_per_s`` is the whole
scrub this project runs (detection with our recognizers, span resolution and replacement) with every text
analyzed, and ``anonymizer_cached_texts_per_s`` the same scrub as a worker runs it, remembering the clean texts
it has seen (bot answers and thanks repeat), on the texts in their order from a cold start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from streams.anonymizer.anonymizer import Anonymizer
from streams.anonymizer.engine import presidio_default_analyzer


def texts_per_second(processor: Callable[[], Callable[[str], object]], texts: Sequence[str], repeats: int = 3
                     ) -> float:
    """The best of ``repeats`` timed passes, each with a processor ``processor()`` made before it is timed,
    after one warm-up pass: shared machines are noisy, and the best pass is the one least disturbed by
    neighbours."""
    warm_up = processor()
    for text in texts[:100]:
        warm_up(text)
    best = float("inf")
    for _ in range(repeats):
        process = processor()
        started = time.perf_counter()
        for text in texts:
            process(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def measure(texts: Sequence[str], repeats: int = 3) -> dict[str, float | int]:
    """The three throughputs on ``texts``, one process, one core."""
    if not texts:
        raise ValueError("measure needs at least one text")
    uncached = Anonymizer(clean_texts_cached=0)
    default = presidio_default_analyzer()
    return {
        "texts": len(texts),
        "anonymizer_texts_per_s": round(texts_per_second(lambda: uncached.scrub, texts, repeats), 1),
        "anonymizer_cached_texts_per_s": round(texts_per_second(lambda: Anonymizer().scrub, texts, repeats), 1),
        "presidio_default_texts_per_s": round(
            texts_per_second(lambda: lambda text: default.analyze(text, "en"), texts, repeats), 1),
    }
