"""The training example: the one record every learner stage passes on (corpus, snapshots, training, evaluation).

An example is a question, the answer to learn, and the policy text serving puts in the prompt when it answers
(``context``; ``None`` when the model must answer from its weights alone). ``policy_id``/``policy_version`` say
which version of which rule the answer states, so a refresh can drop examples a policy change made stale.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.events import Locale

Source = Literal["corpus", "dialog", "policy", "import"]


class Example(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=4000)
    intent: str = Field(min_length=1, max_length=64)
    locale: Locale
    context: str | None = Field(default=None, max_length=4000)
    policy_id: str | None = None
    policy_version: int | None = Field(default=None, ge=1)
    source: Source
    source_id: str = Field(min_length=1, max_length=200)  # the dialog's event_id, "policy_id:vN", a file row...
