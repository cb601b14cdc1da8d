"""Reference-based text metrics (ROUGE-L, BLEU, chrF) for Chinese and English answers, without extra packages.

Chinese is scored per character and English per lower-cased word, the usual choice for each when no word
segmenter is at hand; the metrics follow their standard definitions (ROUGE-L: LCS F-measure; BLEU: corpus
BLEU-4 with brevity penalty and add-one smoothing of the higher orders, as sentence-level tools do; chrF:
character n-gram F-score, n = 1..6, beta = 2, whitespace ignored, as sacrebleu computes it, on a 0-1 scale).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from streams.events import Locale

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokens(text: str, locale: Locale) -> list[str]:
    """Characters (Chinese, spaces dropped) or lower-cased words and punctuation marks (English)."""
    if locale == "zh":
        return [ch for ch in text if not ch.isspace()]
    return _EN_TOKEN.findall(text.lower())


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str, locale: Locale) -> float:
    """ROUGE-L F1 of one answer against its reference."""
    cand, ref = tokens(candidate, locale), tokens(reference, locale)
    common = _lcs(cand, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(cand), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def bleu(candidates: Sequence[str], references: Sequence[str], locales: Sequence[Locale], max_n: int = 4) -> float:
    """Corpus BLEU of answers against one reference each, in [0, 1]."""
    matches, totals = [0] * max_n, [0] * max_n
    cand_len = ref_len = 0
    for candidate, reference, locale in zip(candidates, references, locales, strict=True):
        cand, ref = tokens(candidate, locale), tokens(reference, locale)
        cand_len, ref_len = cand_len + len(cand), ref_len + len(ref)
        for n in range(1, max_n + 1):
            grams, ref_grams = _ngrams(cand, n), _ngrams(ref, n)
            matches[n - 1] += sum(min(count, ref_grams[gram]) for gram, count in grams.items())
            totals[n - 1] += max(0, len(cand) - n + 1)
    if cand_len == 0 or matches[0] == 0:
        return 0.0
    log_precision = sum(math.log((matches[n] + (n > 0)) / (totals[n] + (n > 0))) for n in range(max_n)) / max_n
    brevity = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    return brevity * math.exp(log_precision)


def _char_ngrams(text: str, n: int) -> Counter:
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def chrf(candidate: str, reference: str, max_n: int = 6, beta: float = 2.0) -> float:
    """chrF of one answer against its reference, in [0, 1]: the same for any language, no tokenizer needed."""
    cand, ref = ("".join(text.split()) for text in (candidate, reference))
    precisions, recalls = [], []
    for n in range(1, max_n + 1):
        grams, ref_grams = _char_ngrams(cand, n), _char_ngrams(ref, n)
        if not grams or not ref_grams:
            continue
        common = sum(min(count, ref_grams[gram]) for gram, count in grams.items())
        precisions.append(common / sum(grams.values()))
        recalls.append(common / sum(ref_grams.values()))
    if not precisions:
        return 0.0
    precision, recall = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if precision + recall == 0:
        return 0.0
    return (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall)
