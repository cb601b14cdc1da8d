"""An LLM as the judge, over any OpenAI-compatible endpoint (``FLYWHEEL_JUDGE_URL``, ``FLYWHEEL_JUDGE_MODEL``).

Facts and reference similarity judge a tiny model's answers well; a production model paraphrases, and a large
model judges paraphrases better. The judge model is shown the policy in force, the reference answer, the
question and the answer, and must reply YES or NO. A reply it cannot read, or an endpoint that fails, falls back
to the rule judge for that case, and the case says so (``facts (llm unclear)``): a verdict never silently
changes who gave it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from infra.errors import FlywheelError
from learners.judge import Judge, RuleJudge, Verdict
from streams.events import Locale

if TYPE_CHECKING:
    from infra.settings import Settings
    from learners.rules import Rule, Rules

log = logging.getLogger(__name__)

SYSTEM = ("You grade a customer-service answer. It is correct when it answers the customer's question and agrees "
          "with the shop's policy in force (same facts, numbers and conditions) and with the reference answer in "
          "substance. Wording may differ. Reply with exactly one word: YES if it is correct, NO if it is not.")
_YES = re.compile(r"^\W*(yes|correct|是|对|正确)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(no|incorrect|wrong|否|不对|不正确|错)\b", re.IGNORECASE)


def read_verdict(reply: str) -> bool | None:
    """YES -> True, NO -> False, anything else -> None (the reply is not a verdict)."""
    if _NO.match(reply):
        return False
    if _YES.match(reply):
        return True
    return None


def prompt(question: str, locale: Locale, rule: Rule, answer: str) -> str:
    policy = rule.text(locale) or "(no written policy: judge by the reference answer)"
    return (f"Policy in force: {policy}\nReference answer: {rule.answer(locale)}\nCustomer question: {question}\n"
            f"Answer to grade: {answer}\nIs the answer correct? YES or NO.")


class LLMJudge:
    """Asks ``model`` at ``url`` (``/v1``-style base URL) for each verdict, ``concurrency`` at a time."""

    concurrency = 8

    def __init__(self, url: str, model: str, rules: Rules, api_key: str | None = None, timeout_s: float = 60.0):
        from openai import OpenAI

        self.model, self.name = model, f"llm:{model}"
        self.fallback = RuleJudge(rules)
        self._client = OpenAI(base_url=url, api_key=api_key or "unused", max_retries=2, timeout=timeout_s)

    def __call__(self, question: str, locale: Locale, rule: Rule, answer: str) -> Verdict:
        import openai

        try:
            reply = self._client.chat.completions.create(
                model=self.model, temperature=0, max_tokens=8,
                messages=[{"role": "system", "content": SYSTEM},
                          {"role": "user", "content": prompt(question, locale, rule, answer)}])
            verdict = read_verdict(reply.choices[0].message.content or "")
        except openai.APIError as exc:
            log.warning("judge %s failed (%s); the rule judge decides this case", self.model, type(exc).__name__)
            return self._fallback("unavailable", question, locale, rule, answer)
        if verdict is None:
            return self._fallback("unclear", question, locale, rule, answer)
        return Verdict(verdict, self.name)

    def _fallback(self, why: str, question: str, locale: Locale, rule: Rule, answer: str) -> Verdict:
        verdict = self.fallback(question, locale, rule, answer)
        return Verdict(verdict.correct, f"{verdict.judge} (llm {why})")


def judge_for(settings: Settings, rules: Rules) -> Any:
    """The judge the settings name: the LLM at ``FLYWHEEL_JUDGE_URL`` when set, else the rule judge."""
    if not settings.judge_url:
        return RuleJudge(rules)
    if not settings.judge_model:
        raise FlywheelError("FLYWHEEL_JUDGE_URL is set without FLYWHEEL_JUDGE_MODEL: name the judge model")
    key = settings.judge_api_key.get_secret_value() if settings.judge_api_key else None
    judge: Judge = LLMJudge(settings.judge_url, settings.judge_model, rules, key)
    return judge
