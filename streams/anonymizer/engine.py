"""Presidio's analyzer set up for machines that cannot download anything.

Presidio wants an NLP engine, and its default one is spaCy with a trained pipeline (``en_core_web_lg``) that it
downloads on first use; none can be downloaded here. Our recognizers read no NLP output at all: their context
cues are part of their patterns, because a blank Chinese pipeline splits text into single characters and
Presidio's token-based context words ("订单号") could never match. So our analyzer runs Presidio's no-op engine;
tokenizing every text with ``spacy.blank`` anyway cost a third of the analyzer's time (4,900 vs 6,800 texts/s,
measured on the test mix). The stock-recognizer baseline does read context words from tokens, so it gets blank
spaCy pipelines (``BlankSpacyNlpEngine``).

Presidio's email recognizer validates domains with ``tldextract``, which fetches the public-suffix list over the
network at first use (measured: it tries, and logs a failed download, here); it is pointed at the snapshot that
ships inside ``tldextract`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NoOpNlpEngine, SpacyNlpEngine
from tldextract import tldextract as tldextract_module

LANGUAGE = "xx"
"""The one Presidio language of our analyzer (spaCy's code for "multi-language"): every recognizer covers Chinese
and English alike, because customers mix them ("邮箱是 john@example.com"), and none reads language-specific NLP
output, so splitting the registry by language would only duplicate it."""


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on ``spacy.blank`` pipelines, so that nothing is downloaded."""

    def __init__(self, languages: Sequence[str]):
        super().__init__(models=[{"lang_code": lang, "model_name": f"blank:{lang}"} for lang in languages])

    def load(self) -> None:
        pipelines = {model["lang_code"]: spacy.blank(model["lang_code"]) for model in self.models}
        self.nlp = pipelines  # type: ignore[assignment]  # SpacyNlpEngine types ``nlp`` as None until loaded


class PatternContextOnly(ContextAwareEnhancer):
    """Leaves scores as the recognizers set them.

    Our recognizers carry their context cues inside their patterns; with the no-op NLP engine Presidio's lemma
    enhancer has no tokens to look at and would only deep-copy every result (~50 µs a text, measured).
    """

    def __init__(self) -> None:
        super().__init__(context_similarity_factor=0, min_score_with_context_similarity=0,
                         context_prefix_count=0, context_suffix_count=0)

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult], *args: object, **kwargs: object
                              ) -> list[RecognizerResult]:
        return raw_results


def use_offline_suffix_list() -> None:
    """Make every ``tldextract.extract`` call (Presidio's included) use the bundled public-suffix snapshot.

    ``tldextract.extract`` delegates to the module-level ``TLD_EXTRACTOR`` at call time, so replacing that one
    object covers callers we do not own. Idempotent.
    """
    if tldextract_module.TLD_EXTRACTOR.suffix_list_urls:
        tldextract_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def analyzer(recognizers: Iterable[EntityRecognizer]) -> AnalyzerEngine:
    """An analyzer for ``LANGUAGE`` that runs exactly ``recognizers`` (none of Presidio's predefined ones)."""
    use_offline_suffix_list()
    registry = RecognizerRegistry(recognizers=list(recognizers), supported_languages=[LANGUAGE])
    nlp_engine = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE],
                          context_aware_enhancer=PatternContextOnly())


def presidio_default_analyzer() -> AnalyzerEngine:
    """Presidio's stock English recognizers on a blank pipeline: the baseline the benchmark compares against."""
    use_offline_suffix_list()
    return AnalyzerEngine(nlp_engine=BlankSpacyNlpEngine(("en",)), supported_languages=["en"])
