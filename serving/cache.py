"""The response cache for frequent questions: least recently used out first, and nothing older than a TTL.

Keys are exactly what the answer depends on: the adapter, the (scrubbed) question and the policy text in the
prompt. A published rule change changes the policy text, so answers given under the old rule can never be
served again; they age out. A new adapter is a new name, so its answers never mix with its predecessor's.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ResponseCache(Generic[K, V]):
    """At most ``size`` entries, each served for ``ttl_s`` seconds after it was stored (``size`` 0: off)."""

    def __init__(self, size: int, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self.size, self.ttl_s, self._clock = size, ttl_s, clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] > self.ttl_s:
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if self.size == 0:
            return
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
