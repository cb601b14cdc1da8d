"""The bot as customers meet it: the chat API's answers, asked through the OpenAI client like any chat platform.

Plugged into the simulator in place of the policy oracle, the served model's own answers decide satisfaction.
Every exchange is kept (when, how long, which adapter and tier answered, whether it failed), so the demo can
report latency and failed requests as the customers saw them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from simulator.answerer import Answer, Question

NO_ANSWER = "…"  # what a customer sees when the request fails: the conversation still happened
FAILED = "failed"


@dataclass(frozen=True)
class Exchange:
    """One question to the chat API, as the client saw it."""

    at: float  # wall clock (epoch seconds) when the answer came back
    latency_ms: float
    conversation_id: str
    intent: str
    adapter: str  # the adapter that answered, the tier when none did (faq, fallback...), or "failed"
    tier: str
    phase: str
    policy_version: int | None = None  # the version of the intent's policy the answer was grounded on


@dataclass
class ServedAnswerer:
    """Answers through ``POST {base_url}/chat/completions``; ``phase`` labels the exchanges that follow."""

    base_url: str
    timeout_s: float = 30.0
    phase: str = ""
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=self.base_url, api_key="unused", max_retries=0, timeout=self.timeout_s)

    def answer(self, question: Question) -> Answer:
        import openai

        started = time.perf_counter()
        try:
            reply = self._client.chat.completions.create(
                model="flywheel", messages=[{"role": "user", "content": question.text}],
                metadata={"conversation_id": question.conversation_id})
        except openai.APIError:
            self._keep(started, question, FAILED, FAILED, None)
            return Answer(NO_ANSWER, FAILED)
        served = (reply.model_extra or {}).get("flywheel", {})
        self._keep(started, question, reply.model, served.get("tier", "model"), served.get("policy_version"))
        return Answer(reply.choices[0].message.content or NO_ANSWER, reply.model, served.get("intent"),
                      served.get("policy_id"), served.get("policy_version"))

    def _keep(self, started: float, question: Question, adapter: str, tier: str, version: int | None) -> None:
        self.exchanges.append(Exchange(time.time(), 1000 * (time.perf_counter() - started), question.conversation_id,
                                       question.intent, adapter, tier, self.phase, version))
