"""Character-level preparation of a text before analysis, with a map back to the offsets of the input.

People type identifiers with more than ASCII: Chinese input methods give full-width digits (１３８), copied text
carries non-breaking and thin spaces (``138\\u00a00013``) and zero-width characters, phones on Arabic or Hindi
keyboards come in their own digits (٠١٢, ०१२), and some customers spell a mobile in Chinese numerals
(一三八零零一三八零零零) to get past filters. ``normalize`` folds all of these to the ASCII the recognizers'
patterns know, and returns an ``Offsets`` map so that what is found in the normalized text is replaced and
reported at the right place of the *input*.

Everything is folded one character for one character, except the characters dropped (zero-width ones and the
soft hyphen): only a text holding one of those gets a real offset map. A pure-ASCII text is returned as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

# Full-width ASCII (１３８, ＠, ：) is common in Chinese input methods.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SPACES = (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
_DROPPED = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
"""Zero-width space, non-joiner, joiner, word joiner, byte-order mark, soft hyphen: invisible, so dropped."""

_LAST_DIGIT_PLANE = 0x20000
_WIDTH_ONLY = _FULL_WIDTH | {0x3000: ord(" ")}

# Chinese numerals written as digits, one numeral per digit: only in a run of at least 7 (a phone or an ID,
# not "一二三" or "三三两两"), where 幺 (the spoken 1) and 两 also stand for digits.
_CHINESE_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
                   "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_NUMERAL = "[零〇一幺二两三四五六七八九]"
_NUMERAL_RUN = re.compile(rf"(?:[0-9]|{_NUMERAL})(?:[ -]?(?:[0-9]|{_NUMERAL})){{6,}}")
_CHINESE_DIGIT_TABLE = str.maketrans(_CHINESE_DIGITS)

# Anything that may need folding: a cheap test that lets most non-ASCII texts (plain Chinese) skip the work.
_NEEDS_WORK = re.compile(
    rf"[\u00a0\u00ad\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff\uff01-\uff5e]|(?![0-9])\d|{_NUMERAL}{{2}}")


def fold_width(text: str) -> str:
    """``text`` with full-width ASCII and the ideographic space folded to ASCII; same length, same offsets."""
    return text.translate(_WIDTH_ONLY)


@cache
def _table() -> dict[int, int | None]:
    """The character table of ``normalize``: spaces, full-width ASCII, every Unicode decimal digit, drops."""
    table: dict[int, int | None] = dict(_FULL_WIDTH)
    table.update({code: ord(" ") for code in _SPACES})
    # ``\d`` on a str is exactly Unicode category Nd, whose characters each have a decimal value; all of them
    # lie below U+20000 (the last, U+1FBF9, are segmented digits), which keeps this at ~20 ms.
    everything = "".join(map(chr, range(0x80, _LAST_DIGIT_PLANE)))
    table.update({ord(char): ord("0") + int(char) for char in re.findall(r"\d", everything)})
    table.update({ord(char): None for char in _DROPPED})
    return table


class Offsets:
    """Where each character of a normalized text came from in the input, for texts that lost characters."""

    __slots__ = ("_origin", "_length")

    def __init__(self, origin: Sequence[int], length: int):
        self._origin = origin
        self._length = length

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The input span of normalized ``[start, end)``: from its first character's source to its last's, so
        characters dropped *inside* it (a zero-width space between digits) are covered too."""
        if start >= end:
            position = self._origin[start] if start < len(self._origin) else self._length
            return position, position
        return self._origin[start], self._origin[end - 1] + 1


def normalize(text: str) -> tuple[str, Offsets | None]:
    """``text`` folded for analysis, and the offset map back to ``text`` (``None``: offsets are unchanged)."""
    if text.isascii() or not _NEEDS_WORK.search(text):
        return text, None
    folded = text.translate(_table())
    if any(char in _DROPPED for char in text):
        offsets = Offsets([i for i, char in enumerate(text) if char not in _DROPPED], len(text))
    else:
        offsets = None
    return _NUMERAL_RUN.sub(_digits, folded), offsets


def _digits(run: re.Match[str]) -> str:
    """A run of at least 7 digit-like characters, numerals spelled as digits; left alone without a numeral."""
    return run[0].translate(_CHINESE_DIGIT_TABLE)
