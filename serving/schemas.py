"""The chat API's wire format: OpenAI's chat completions, so the ``openai`` client and LangChain work unchanged.

Requests accept what those clients send and ignore sampling options (answers are greedy: the project judges them
by the facts they state). Responses carry a ``flywheel`` object beside OpenAI's fields: the adapter that
answered (also in ``model`` and the ``X-Flywheel-Adapter`` header), the tier, the intent and policy version the
answer was grounded on, and whether a human takes over. The chat platform writes the adapter into its
conversation events, which is how every score finds its way back to the model that earned it.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Tier = Literal["model", "cache", "faq", "fallback", "handoff"]
ROUTED = "flywheel"  # the model name that lets serving choose: champion, or canary for the canary's share


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(ROUTED, max_length=128)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=256)
    # OpenAI's limits: 16 pairs, keys up to 64 characters, values up to 512.
    metadata: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]] | None = Field(
        None, max_length=16)

    def conversation_id(self) -> str | None:
        """The conversation the request belongs to: ``metadata.conversation_id``, else ``user``."""
        return (self.metadata or {}).get("conversation_id") or self.user

    def customer_turns(self) -> list[str]:
        return [m.text for m in self.messages if m.role == "user"]


class Served(BaseModel):
    """How an answer was produced (the ``flywheel`` object of every response)."""

    adapter: str | None
    tier: Tier
    conversation_id: str
    intent: str | None = None
    confidence: float | None = None
    policy_id: str | None = None
    policy_version: int | None = None
    handoff: bool = False


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(text: str, served: Served) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    return {"id": new_completion_id(), "object": "chat.completion", "created": int(time.time()),
            "model": served.adapter or served.tier,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "flywheel": served.model_dump()}


def chunk(completion_id: str, model: str, delta: dict[str, str], finish: str | None = None,
          served: Served | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a streamed answer (the last one carries the ``flywheel`` object)."""
    body: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if served is not None:
        body["flywheel"] = served.model_dump()
    return body


def error(message: str, kind: str = "invalid_request_error", code: str | None = None,
          param: str | None = None) -> dict[str, Any]:
    """OpenAI's error body, which its client turns into a typed exception carrying ``message``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}

