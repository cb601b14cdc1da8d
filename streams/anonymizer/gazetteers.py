"""Word lists the name and address recognizers look words up in, bundled as data files.

No NER model can be downloaded here, so personal names are found from dialog cues plus gazetteers. The lists
come from Faker's locale providers (MIT), the romanized names of wainshine/Chinese-Names-Corpus (Apache-2.0),
ngender's given-name character counts (MIT) and jieba's dictionary (MIT), plus the few entries these lack: the
common compound Chinese surnames and the USPS street-suffix abbreviations. They are generated once at build time
(``pip install .[gazetteers]``, then ``python -m streams.anonymizer.gazetteers``) and read from ``data/`` at
runtime, so scrubbing never imports these packages and never depends on their versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from pathlib import Path

import regex

DATA_DIR = Path(__file__).with_name("data")

# Faker zh_CN lists only 欧阳 among the compound surnames; these are the others still common today. And three
# of the hundred commonest surnames, which Faker has only in their older forms (萧, 傅, 阎).
EXTRA_ZH_SURNAMES = ("司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯", "端木",
                     "肖", "付", "闫")
# Faker spells suffixes out ("Street"); people abbreviate them ("St.").
USPS_SUFFIX_ABBREVIATIONS = (
    "Ave", "Blvd", "Cir", "Ct", "Dr", "Hwy", "Ln", "Pkwy", "Pl", "Rd", "Sq", "St", "Ter", "Trl",
)


class Gazetteer(StrEnum):
    """One bundled list; the value is its file name without the ``.txt``."""

    ZH_SURNAMES = "zh_surnames"
    ZH_GIVEN_NAMES = "zh_given_names"
    EN_FIRST_NAMES = "en_first_names"
    EN_LAST_NAMES = "en_last_names"
    EN_STREET_SUFFIXES = "en_street_suffixes"
    EN_STATE_CODES = "en_state_codes"
    WORLD_FIRST_NAMES = "world_first_names"
    WORLD_LAST_NAMES = "world_last_names"
    EN_COMMON_WORDS = "en_common_words"
    NAMES_CORPUS = "names_corpus"
    ZH_GIVEN_CHARS = "zh_given_chars"
    ZH_COMMON_WORDS = "zh_common_words"


@cache
def load(gazetteer: Gazetteer) -> frozenset[str]:
    """The entries of one list (read once per process)."""
    lines = (DATA_DIR / f"{gazetteer.value}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line)


# Locales whose names are written in Latin letters and turn up in English text. Chinese-script locales are
# covered by the zh lists; Cyrillic, Greek, Arabic and Indic scripts never match the Latin name patterns.
_LATIN_SCRIPT = regex.compile(r"\p{Latin}+(?:['’-]\p{Latin}+)*")


def _words(texts: Iterable[str]) -> set[str]:
    return {word.lower() for text in texts for word in regex.findall(r"[A-Za-z]+", text)}


def _world_names() -> tuple[set[str], set[str]]:
    """First and last names of every Faker person provider, those written in Latin letters (build time only)."""
    import importlib
    import pkgutil

    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = vars(importlib.import_module(f"faker.providers.person.{module.name}").Provider)
        for attrs, into in ((("first_names", "first_names_male", "first_names_female"), first),
                            (("last_names", "last_names_male", "last_names_female"), last)):
            for attr in attrs:
                value = provider.get(attr)
                if isinstance(value, dict | list | tuple | set | frozenset):
                    into.update(name for name in value if _LATIN_SCRIPT.fullmatch(name) and len(name) > 1)
    return first, last


def _common_words() -> set[str]:
    """Everyday English words (lower case), from Faker's en_US word lists and spaCy's stop words: a capitalized
    word among them ("Will", "Price", "Card") is no evidence of a name on its own."""
    from faker.providers import color, company, job
    from faker.providers.address import en as en_world
    from faker.providers.address import en_US as en_address
    from faker.providers.lorem import en_US as lorem
    from spacy.lang.en.stop_words import STOP_WORDS

    address = en_address.Provider
    return _words([
        *lorem.Provider.word_list, *STOP_WORDS, *job.Provider.jobs, *color.Provider.all_colors,
        *(word for words in company.Provider.catch_phrase_words for word in words),
        *(word for words in company.Provider.bsWords for word in words),
        *address.street_suffixes, *address.states, *en_world.Provider.countries,
    ])


def _faker_lists() -> dict[Gazetteer, Iterable[str]]:
    """Every list, read from Faker's provider classes (build time only)."""
    from faker.providers.address import en_US as en_address
    from faker.providers.person import en_GB as gb_person
    from faker.providers.person import en_US as us_person
    from faker.providers.person import zh_CN as zh_person

    address = en_address.Provider
    world_first, world_last = _world_names()
    return {
        Gazetteer.ZH_SURNAMES: [*zh_person.Provider.last_names, *EXTRA_ZH_SURNAMES],
        Gazetteer.ZH_GIVEN_NAMES: zh_person.Provider.first_names,
        Gazetteer.EN_FIRST_NAMES: [*us_person.Provider.first_names, *gb_person.Provider.first_names],
        Gazetteer.EN_LAST_NAMES: [*us_person.Provider.last_names, *gb_person.Provider.last_names],
        Gazetteer.EN_STREET_SUFFIXES: [*address.street_suffixes, *USPS_SUFFIX_ABBREVIATIONS],
        Gazetteer.EN_STATE_CODES: [
            *address.states_abbr, *address.territories_abbr,
            *address.freely_associated_states_abbr, *address.military_state_abbr,
        ],
        Gazetteer.WORLD_FIRST_NAMES: world_first,
        Gazetteer.WORLD_LAST_NAMES: world_last,
        Gazetteer.EN_COMMON_WORDS: _common_words(),
    }


NAMES_CORPUS_SOURCE = Path("/tmp/pii-data/chinese-names-corpus/English_Names_Corpus_2W.txt")
"""Where a checkout of wainshine/Chinese-Names-Corpus (Apache-2.0) keeps its 29,700 romanized given names and
surnames, one lower-case name a line after a two-line header; ``data/names_corpus.txt`` is built from it."""


FREQUENT_WORD_ZIPF = 3.5
"""Words at least this frequent in English (Zipf scale: 3.5 is about once in 300,000 words) are dropped from the
names corpus unless a Faker name list holds them: the corpus lists "Perfect", "Cheers" and "Seller" beside real
names, and a lone capitalized word from it is taken for a name ("Perfect, thank you.")."""


def _frequent_words(threshold: float = FREQUENT_WORD_ZIPF) -> set[str]:
    """English words (lower case) at least ``threshold`` frequent, from wordfreq (build time only)."""
    import wordfreq

    return {word for word in wordfreq.top_n_list("en", 100_000)
            if word.isalpha() and wordfreq.zipf_frequency(word, "en") >= threshold}


def _without_words(names: Iterable[str], faker_names: set[str], common: set[str]) -> list[str]:
    """``names`` less everyday (``common``) and frequent English words, except those Faker lists as names
    ("Grace", "Mark")."""
    frequent = _frequent_words()
    return [name for name in names
            if name.lower() not in common and (name.lower() not in frequent or name in faker_names)]


def _names_corpus(source: Path, faker_names: set[str], common: set[str]) -> list[str]:
    """The corpus's names, capitalized, without everyday English words ("will", "price", "perfect")."""
    names = (line.strip() for line in source.read_text(encoding="utf-8-sig").splitlines()[2:])
    return _without_words((name.capitalize() for name in names
                           if len(name) > 2 and name.isalpha() and name.isascii()), faker_names, common)


ZH_GIVEN_CHARS = 1_000
"""How many of the commonest given-name characters to list: in ngender's counts (32 million given-name
characters of real Chinese names) the first 1,000 are 96.7 % of all occurrences."""
ZH_COMMON_WORD_MIN_COUNT = 10


def _zh_given_chars(count: int = ZH_GIVEN_CHARS) -> list[str]:
    """The ``count`` characters most often in Chinese given names, from ngender's ``charfreq.csv`` (MIT;
    per character, how many men's and women's given names hold it). Build time only."""
    import csv
    from importlib.resources import files

    with (files("ngender") / "charfreq.csv").open(encoding="utf-8") as rows:
        counts = {row["char"]: int(row["male"]) + int(row["female"]) for row in csv.DictReader(rows)}
    return sorted(counts, key=counts.__getitem__, reverse=True)[:count]


def _zh_common_words(surnames: Iterable[str], min_count: int = ZH_COMMON_WORD_MIN_COUNT) -> list[str]:
    """Words of jieba's dictionary (MIT) that start with a surname and read as a name (2 to 4 characters) but
    are no person's name in it (全天, 周日, 江苏, 万寿山), counted at least ``min_count`` times. Build time only."""
    from importlib.resources import files

    surnames = set(surnames)
    words = []
    for line in (files("jieba") / "dict.txt").read_text(encoding="utf-8").splitlines():
        word, count, tag = line.split()
        if (2 <= len(word) <= 4 and int(count) >= min_count and not tag.startswith("nr")
                and (word[0] in surnames or word[:2] in surnames)):
            words.append(word)
    return words


def build(data_dir: Path = DATA_DIR, names_corpus: Path = NAMES_CORPUS_SOURCE) -> None:
    """Write every list to ``data_dir``, sorted and de-duplicated so rebuilds diff cleanly; the names corpus
    only where its source file is present (it is not a Python package)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lists = _faker_lists()
    lists[Gazetteer.ZH_GIVEN_CHARS] = _zh_given_chars()
    lists[Gazetteer.ZH_COMMON_WORDS] = _zh_common_words(lists[Gazetteer.ZH_SURNAMES])
    if names_corpus.exists():
        faker_names = {name for gazetteer in (Gazetteer.WORLD_FIRST_NAMES, Gazetteer.WORLD_LAST_NAMES,
                                              Gazetteer.EN_FIRST_NAMES, Gazetteer.EN_LAST_NAMES)
                       for name in lists[gazetteer]}
        lists[Gazetteer.NAMES_CORPUS] = _names_corpus(names_corpus, faker_names, set(lists[Gazetteer.EN_COMMON_WORDS]))
    for gazetteer, entries in lists.items():
        text = "\n".join(sorted(set(entries))) + "\n"
        (data_dir / f"{gazetteer.value}.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    build()
