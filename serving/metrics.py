"""Prometheus metrics of the chat API, behind typed helpers so handlers never spell a metric or a label.

Labels are closed sets (tiers, outcomes, fallback reasons) or adapter names, never anything a customer wrote.
Each API replica counts its own requests; Prometheus scrapes every replica and sums.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from serving.schemas import Tier
from streams.metrics import CONTENT_TYPE  # importing it also pins in-process metric values (see there)

__all__ = ["CONTENT_TYPE", "ServeMetrics"]

PREFIX = "flywheel_serve_"
# A cache hit or FAQ answer takes a few ms, a generated one 100-500 ms on the embedded model, a fallback up to
# the generation timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServeMetrics:
    """Requests by tier and status, latency, errors, fallbacks, cache hits and the adapters in service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(PREFIX + "requests", "Chat requests answered, by tier and HTTP status.",
                                 ["tier", "status"], registry=self.registry)
        self._errors = Counter(PREFIX + "errors", "Requests refused or failed, by reason.", ["reason"],
                               registry=self.registry)
        self._fallbacks = Counter(PREFIX + "fallbacks", "Answers from the FAQ because the model could not answer.",
                                  ["reason"], registry=self.registry)
        self._cache_hits = Counter(PREFIX + "cache_hits", "Model answers served from the response cache.",
                                   registry=self.registry)
        self._answers = Counter(PREFIX + "answers", "Model answers, by adapter.", ["adapter"],
                                registry=self.registry)
        self._latency = Histogram(PREFIX + "latency_seconds", "Seconds from request to complete answer, by tier.",
                                  ["tier"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._adapter = Gauge(PREFIX + "adapter_info", "The adapters in service (1), by role.", ["role", "adapter"],
                              registry=self.registry)

    def answered(self, tier: Tier, seconds: float, adapter: str | None) -> None:
        self._requests.labels(tier=tier, status="200").inc()
        self._latency.labels(tier=tier).observe(seconds)
        if tier == "cache":
            self._cache_hits.inc()
        if adapter is not None and tier in ("model", "cache"):
            self._answers.labels(adapter=adapter).inc()

    def refused(self, status: int, reason: str) -> None:
        self._requests.labels(tier="none", status=str(status)).inc()
        self._errors.labels(reason=reason).inc()

    def fell_back(self, reason: str) -> None:
        self._fallbacks.labels(reason=reason).inc()
        self._errors.labels(reason=f"model_{reason}").inc()

    def in_service(self, roles: dict[str, str | None]) -> None:
        """Set the adapter in service for each role (``champion``, ``canary``), clearing what was before."""
        self._adapter.clear()
        for role, adapter in roles.items():
            if adapter is not None:
                self._adapter.labels(role=role, adapter=adapter).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
