"""How a question becomes model input: one chat format for bootstrap, training, evaluation and serving.

Every model is prompted through its tokenizer's chat template (``apply_chat_template``), so a production model
(Qwen2.5, Llama 3) gets its own format with no code change; the embedded tokenizer ships the small template
below. The policy in force, when there is one, is the system message: that is how a published rule change
reaches answers before any retraining.
"""

from __future__ import annotations

from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
"""The embedded tokenizer's template; ``<|end|>`` is its end-of-sequence token, so generation stops there."""
SPECIAL_TOKENS = ("<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>")
PAD, EOS = SPECIAL_TOKENS[0], SPECIAL_TOKENS[1]


def messages(question: str, context: str | None = None) -> list[dict[str, str]]:
    """The chat for one question: the policy text as the system message (if any), then the customer."""
    chat = [{"role": "system", "content": context}] if context else []
    return [*chat, {"role": "user", "content": question}]


def prompt_text(tokenizer: Any, question: str, context: str | None = None) -> str:
    """The text the model continues to answer ``question``."""
    return tokenizer.apply_chat_template(messages(question, context), tokenize=False, add_generation_prompt=True)


def training_ids(tokenizer: Any, question: str, answer: str, context: str | None = None) -> tuple[list[int], int]:
    """Token ids of prompt + answer + end-of-sequence, and how many of them are prompt (not learned from)."""
    prompt = tokenizer(prompt_text(tokenizer, question, context), add_special_tokens=False)["input_ids"]
    reply = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return prompt + reply, len(prompt)
