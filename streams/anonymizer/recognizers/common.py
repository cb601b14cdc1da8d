"""Regex fragments the recognizers share.

Patterns use explicit ASCII classes and their own boundaries instead of ``\\b`` and ``\\d``: in Unicode regexes a
CJK character is a word character, so ``\\b`` finds no boundary in ``电话13800138000`` and a ``\\w``-based email
pattern swallows the Chinese around an address. Full-width digits are folded to ASCII before analysis (see
``streams.anonymizer.text``), so ``[0-9]`` covers them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

NOT_AFTER_ALNUM = r"(?<![0-9A-Za-z])"
NOT_BEFORE_ALNUM = r"(?![0-9A-Za-z])"
CJK = r"[\u4e00-\u9fff]"
CUE_GLUE = r"[ ]*(?:是|为|:|：|#|(?i:is|was)\b)?[ ]*"
"""What may sit between a cue and the number it introduces: "订单号：", "order #", "card number is", "卡号是"."""
DIGIT = regex.compile("[0-9]")
"""The trigger of every recognizer of numbers: a text without a digit cannot hold a match."""


def standalone(pattern: str) -> str:
    """``pattern`` only where it is not glued to other letters or digits (a longer number, a tracking code)."""
    return f"{NOT_AFTER_ALNUM}(?:{pattern}){NOT_BEFORE_ALNUM}"


def alternation(words: Iterable[str]) -> str:
    """A non-capturing alternation of literal ``words``, longest first so the longest one wins."""
    return "(?:" + "|".join(regex.escape(word) for word in sorted(set(words), key=len, reverse=True)) + ")"


def digits_of(text: str) -> str:
    """The digits of ``text`` in order (``"138 0013-8000"`` -> ``"13800138000"``)."""
    return "".join(char for char in text if char.isdecimal())


class FinderRecognizer(EntityRecognizer):
    """A recognizer whose matches come from a function instead of a single regex.

    For identifiers whose extent a regex cannot settle alone: an IBAN's length depends on its country, a list of
    phones after one cue ("电话是67080561,67080562") holds several matches.
    """

    def __init__(self, entity_type: str, supported_language: str, name: str,
                 finder: Callable[[str], Iterable[tuple[int, int]]], score: float):
        self._finder, self._score, self._entity_type = finder, score, entity_type
        super().__init__(supported_entities=[entity_type], supported_language=supported_language, name=name)

    def load(self) -> None:
        """Nothing to load: the finder is plain code."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        return [RecognizerResult(self._entity_type, start, end, self._score) for start, end in self._finder(text)]
