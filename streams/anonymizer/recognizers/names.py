"""Personal names, Chinese and English, found from dialog cues and gazetteers.

No NER model can be downloaded here, so a name is recognized by what introduces it and by name lists:

* a strong cue ("我叫", "收件人：", "my name is") is trusted with any name-shaped words after it: a known
  surname plus one or two characters, or capitalized words (lower-case ones only if the gazetteers know them);
* a weak cue ("我是", "this is", "Hi") only with names from the gazetteers, since "我是新用户" and "this is
  Visa" follow the same cue;
* an honorific or title ("王先生", "Ms. Johnson") marks the surname before or the name after it;
* a capitalized first-name + last-name pair from the gazetteers needs no cue at all;
* a reply to "请问怎么称呼您?" / "what's your name?" is a name if it is name-shaped as a whole
  (``NameReplyRecognizer``, added for that one turn by the anonymizer).

Cues work across scripts: "my name is 王伟" and "我叫John" both occur.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import unicodedata

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from streams.anonymizer.entities import EntityType
from streams.anonymizer.gazetteers import Gazetteer, load
from streams.anonymizer.recognizers.common import CJK, alternation

# Surnames that are far more often a function word ("这位先生", "我和先生"): not trusted before an honorific.
_FUNCTION_WORD_SURNAMES = frozenset("位那和都向于时单常")
# Characters and words never inside a Chinese name: particles, pronouns, and what usually follows a name.
_NOT_IN_NAMES = (*"的了是在我你您他她它们吗呢吧啊呀哦哈嗯",
                 "先生", "女士", "小姐", "电话", "手机", "地址", "邮箱", "订单", "收货", "联系", "身份证", "银行", "卡号", "号码")
# Verbs and conjunctions that often follow a name ("我叫王伟想问一下") and rarely end one: they end a two-character
# given name, but may still be its only character (Faker's zh_CN list has "想").
_AFTER_NAMES = tuple("想要说问请和与跟给把被从到对就也都还又很太再已")
# First names that open questions ("Hi, May I...", "Hello, Will my card..."): not a name after a weak cue.
_AUXILIARY_FIRST_NAMES = frozenset({"May", "Will", "Can", "Must"})
_HONORIFICS = ("先生", "女士", "小姐", "太太", "老师", "经理", "师傅", "同学")
_TITLE = regex.compile(r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ ]+")
_EN_NAME_SUFFIX = regex.compile(r",? (?:Jr|Sr|II|III|IV|V|MD|DDS|PhD|DVM)\.?(?![A-Za-z])")
_EN_TOKEN = r"[A-Z](?:'[A-Z])?[a-z]+(?:[A-Z][a-z]+)?(?:-[A-Z][a-z]+)?"
_EN_LOOSE_TOKEN = r"[A-Za-z](?:'?[A-Za-z]+)(?:-[A-Za-z]+)?"
# after a title a name from any Latin-script locale ("Mr. Pálffy", "Mr. Auðbjörnsson")
_TITLED_TOKEN = r"\p{Lu}(?:['’]\p{Lu})?[\p{Ll}\p{Mn}]+(?:\p{Lu}[\p{Ll}\p{Mn}]+)?(?:-\p{Lu}[\p{Ll}\p{Mn}]+)?"


@dataclass(frozen=True)
class NameRule:
    """A regex whose group ``name`` holds a candidate, and how much of the candidate is a name (0: none)."""

    pattern: regex.Pattern[str]
    accept: Callable[[str], int]
    score: float


@cache
def _zh_given_chars() -> str:
    """Characters of Chinese given names: the commonest 1,000 of real names, and those of Faker's names."""
    return "".join(sorted(set("".join(load(Gazetteer.ZH_GIVEN_NAMES))) | load(Gazetteer.ZH_GIVEN_CHARS)))


@cache
def _fragments() -> dict[str, str]:
    """Regex fragments for cues and name shapes; the name lists come from the gazetteers."""
    surnames = load(Gazetteer.ZH_SURNAMES)
    single = "".join(sorted(s for s in surnames if len(s) == 1))
    compound = alternation(s for s in surnames if len(s) > 1)
    surname = f"(?:{compound}|[{single}])"
    plain_surname = f"(?:{compound}|[{''.join(sorted(set(single) - _FUNCTION_WORD_SURNAMES))}])"
    given = f"[{_zh_given_chars()}]"
    honorific = alternation(_HONORIFICS)
    return {
        "surname": surname,
        "plain_surname": plain_surname,
        "given": given,
        "honorific": honorific,
        "strong_cue": (r"(?:(?:我叫|我的名字(?:是|叫)|名字(?:是|叫)|姓名(?:是|为)?"
                       r"|(?:收件人|收货人|联系人|寄件人|持卡人)(?:姓名)?(?:是|为)?)"
                       r"|(?<![A-Za-z])(?i:name is|name's|full name|name:|i am called|call me|recipient(?: name)?"
                       r"|addressed to|cardholder(?: name)?))[:：,]?[ ]*"),
        "surname_cue": "我姓|免贵姓",
        "nickname_cue": "叫我|喊我|称呼我",
        "weak_cue": (r"(?:(?:我是|这里是|这边是)|(?<![A-Za-z])(?i:i am|i'm|this is|it's|it is|hi|hello|hey|dear"
                     r"|thanks|thank you|regards|cheers|best|sincerely)[,!]?[ ]+)[ ]*"),
        "zh_name": (rf"{surname}(?!{alternation(_NOT_IN_NAMES)}){CJK}"
                    rf"(?:(?!{alternation(_NOT_IN_NAMES + _AFTER_NAMES)}){CJK})?"),
        "zh_known_name": rf"{surname}{given}{{1,2}}(?=[\s，,。.！!？?、~～]|$|{honorific})",
        "en_words": rf"(?:{_TITLE.pattern})?{_EN_LOOSE_TOKEN}(?:[ ]{_EN_LOOSE_TOKEN}){{0,2}}",
        "en_capitalized": rf"{_EN_TOKEN}(?:[ ]{_EN_TOKEN}){{0,2}}",
        "en_titled": rf"{_TITLE.pattern}{_TITLED_TOKEN}(?:[ ]{_TITLED_TOKEN})?",
    }


def _accept_all(candidate: str) -> int:
    return len(candidate)


def _accept_after_strong_cue(candidate: str) -> int:
    """Capitalized words, or lower-case ones the gazetteers know, up to the first word that is neither."""
    first, last = load(Gazetteer.EN_FIRST_NAMES), load(Gazetteer.EN_LAST_NAMES)
    end = 0
    for word in candidate.split():
        if not (word[0].isupper() or word.capitalize() in first or word.capitalize() in last):
            break
        end = candidate.index(word, end) + len(word)
    return end


def _accept_after_weak_cue(candidate: str) -> int:
    """A known first name, extended by the known last names that follow it."""
    words = candidate.split()
    if words[0] not in load(Gazetteer.EN_FIRST_NAMES) or words[0] in _AUXILIARY_FIRST_NAMES:
        return 0
    end = len(words[0])
    for word in words[1:]:
        if word not in load(Gazetteer.EN_LAST_NAMES):
            break
        end = candidate.index(word, end) + len(word)
    return end


def _accept_whole_reply(candidate: str) -> int:
    """All of it, if every word passes the strong-cue test and one is a known name ("Sure" and "Not now" are
    name-shaped replies too)."""
    known = load(Gazetteer.EN_FIRST_NAMES) | load(Gazetteer.EN_LAST_NAMES)
    whole = _accept_after_strong_cue(candidate) == len(candidate)
    return len(candidate) if whole and any(word.capitalize() in known for word in candidate.split()) else 0


def _accept_known_pair(candidate: str) -> int:
    first, last = candidate.split()
    return len(candidate) if first in load(Gazetteer.EN_FIRST_NAMES) and last in load(Gazetteer.EN_LAST_NAMES) else 0


@cache
def cue_rules() -> tuple[NameRule, ...]:
    """The rules ``PersonRecognizer`` applies: cue and name shape, honorifics, titles, known pairs."""
    f = _fragments()
    rules = (
        (rf"{f['strong_cue']}(?P<name>{f['zh_name']})", _accept_all, 0.85),
        (rf"{f['strong_cue']}(?P<name>{f['en_words']})", _accept_after_strong_cue, 0.85),
        (rf"{f['weak_cue']}(?P<name>{f['zh_known_name']})", _accept_all, 0.6),
        (rf"{f['weak_cue']}(?P<name>{f['en_capitalized']})", _accept_after_weak_cue, 0.6),
        (rf"(?:{f['surname_cue']})(?P<name>{f['surname']})", _accept_all, 0.6),
        (rf"(?:{f['nickname_cue']})(?P<name>[小老阿]{f['surname']}|{f['zh_name']})", _accept_all, 0.85),
        # "王先生", "李秀英女士"; not "这位先生" or "谢谢先生"
        (rf"(?<![这那哪每各该此谢])(?P<name>{f['plain_surname']}{f['given']}{{0,2}})(?={f['honorific']})",
         _accept_all, 0.6),
        (rf"(?<![\p{{L}}])(?P<name>{f['en_titled']})", _accept_all, 0.85),
        (rf"(?<![A-Za-z])(?P<name>{_EN_TOKEN}[ ]{_EN_TOKEN})(?![A-Za-z])", _accept_known_pair, 0.6),
    )
    return tuple(NameRule(regex.compile(pattern), accept, score) for pattern, accept, score in rules)


@cache
def trigger() -> Callable[[str], bool]:
    """A cheap necessary condition for any cue rule to match: a cue, an honorific, a title or a name pair.

    The parts are searched one by one: it runs on every text, and one alternation of them all took 35 µs a
    text against 11 µs for the parts in turn (measured on simulated traffic), because the regex engine scans
    for each part's literal start on its own but not for an alternation's. Either way it says the same.
    """
    f = _fragments()
    parts = tuple(regex.compile(part) for part in (
        f["strong_cue"], rf"{f['weak_cue']}(?:[A-Z]|{CJK})", f["surname_cue"], f["nickname_cue"], f["honorific"],
        f["en_titled"], rf"{_EN_TOKEN}[ ]{_EN_TOKEN}",
    ))
    return lambda text: any(part.search(text) for part in parts) or bool(free_spans(text))


@cache
def reply_rules() -> tuple[NameRule, ...]:
    """A reply that opens with a name, after the other side asked for one ("王伟，138...", "John Smith - j@x.com")."""
    f = _fragments()
    polite = r"[\s，,。.！!~～]*"
    lead = (r"(?:(?:我叫|我是|叫|是|姓名|名字)[:：]?|(?i:my name is|my name's|name's|it's|it is|i'm|i am|this is"
            r"|sure|yes|yeah|ok|okay)[,!.]?)?[ ]*")
    end = r"(?=[ ]*(?:[\s，,。.！!、~～:：;；/-]|$))"
    rules = (
        (rf"^{polite}{lead}(?P<name>{f['zh_name']}){end}", _accept_all),
        (rf"^{polite}{lead}(?P<name>{f['en_words']}){end}", _accept_whole_reply),
    )
    return tuple(NameRule(regex.compile(pattern), accept, 0.85) for pattern, accept in rules)


def _suffixed(text: str, end: int) -> int:
    """Where a name ending at ``end`` really ends: "Lonnie Williams Jr.", "Valerie Thompson MD"."""
    suffix = _EN_NAME_SUFFIX.match(text, end)
    return suffix.end() if suffix else end


class _RuleRecognizer(EntityRecognizer):
    """Runs ``NameRule``s; Presidio's pattern recognizer cannot, since a rule's match is checked in code."""

    def __init__(self, rules: Sequence[NameRule], supported_language: str):
        self._rules = rules
        super().__init__(supported_entities=[EntityType.PERSON], supported_language=supported_language)

    def load(self) -> None:
        """Nothing to load: the gazetteers are read once per process (``gazetteers.load``)."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        results = []
        for rule in self._rules:
            for match in rule.pattern.finditer(text):
                length = rule.accept(match.group("name"))
                if length:
                    start = match.start("name")
                    results.append(RecognizerResult(EntityType.PERSON, start, _suffixed(text, start + length),
                                                    rule.score))
        return results


class PersonRecognizer(_RuleRecognizer):
    """Names introduced by a cue, addressed with an honorific, or known first + last name pairs."""

    def __init__(self, supported_language: str):
        super().__init__(cue_rules(), supported_language)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        results += [RecognizerResult(EntityType.PERSON, start, _suffixed(text, end), 0.5)
                    for start, end in free_spans(text)]
        if not results:
            return results
        for result in results:
            kin = _KINSHIP_BEFORE.search(text, 0, result.start)
            if kin:
                result.start = kin.start()
        return results + [RecognizerResult(EntityType.PERSON, start, end, 0.5)
                          for start, end in _repeated(text, results)]


# "Uncle Richard", "my aunt Jenny": the kinship word is part of how the person is named.
_KINSHIP_BEFORE = regex.compile(r"(?<![\p{L}])(?i:uncle|aunt|auntie|cousin|grandma|grandpa|granny|nana)[ ]$")
_WORD = regex.compile(r"\p{L}[\p{L}\p{Mn}'’-]*\p{L}")


def _repeated(text: str, results: list[RecognizerResult]) -> list[tuple[int, int]]:
    """Other mentions of a name found once ("directed by Maciej Borkowski and starring Borkowski", "my name is
    Aantje Mourik but everyone calls me Aantje"): the words of each name, wherever else they stand alone."""
    lists = _lists()
    words = set()
    for result in results:
        for word in _WORD.findall(text, result.start, result.end):
            if word[0].isupper() and not _is_common(_plain(word), lists) and not _TITLE.fullmatch(word):
                words.add(word)
    if not words:
        return []
    taken = [(r.start, r.end) for r in results]
    return [m.span() for m in _WORD.finditer(text)
            if m.group() in words and not any(s <= m.start() < e for s, e in taken)]


class NameReplyRecognizer(_RuleRecognizer):
    """A turn that opens with a name: the anonymizer adds it for the turn after someone asked for a name."""

    def __init__(self, supported_language: str):
        super().__init__(reply_rules(), supported_language)


def without_title(name: str) -> str:
    """``name`` without a leading title: "Mr. Smith" and "Smith" name the same person."""
    title = _TITLE.match(name)
    return name[title.end():] if title else name


_NAME_REQUEST = regex.compile(
    r"怎么称呼|贵姓|(?:您|你)的(?:全名|姓名|名字)|(?:收件人|收货人|联系人|持卡人)(?:的)?(?:姓名|名字)"
    r"|(?i:what(?:'s| is) your (?:full |first |last )?name|your (?:full )?name,? please"
    r"|(?:may|can|could) i (?:have|get|know|ask) your (?:full )?name"
    r"|who am i (?:speaking|talking|chatting) (?:with|to))"
)


def asks_for_name(text: str) -> bool:
    """Whether ``text`` asks the other side for their name, so that the next turn may be a bare name."""
    return _NAME_REQUEST.search(text) is not None


# --- names without a cue ------------------------------------------------------------------------------------
#
# A capitalized run of words is a name when the gazetteers know its words as names and none is an everyday
# English word; a lone first name, or a lower-case pair, only when it is unambiguous. Chinese names need a name
# from the lists (surname + a whole given name) and a verb or preposition around them that takes a person.

# Capitalized words that are names in some locale but far more often something else in customer-service text.
_NOT_NAMES = frozenset({
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Jan", "Feb", "Mar",
    "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
    "Christmas", "Easter", "Halloween", "Thanksgiving", "Ramadan", "God", "Lord", "Jesus", "Christ", "Allah",
    "Apple", "Google", "Amazon", "Visa", "Mastercard", "Maestro", "Paypal", "PayPal", "Venmo", "Zelle", "Chase",
    "Barclays", "Santander", "Revolut", "Western", "Union", "American", "Express", "Samsung", "Galaxy", "Huawei",
    "Xiaomi", "Sony", "Nike", "Adidas", "Tesla", "Ford", "Toyota", "Honda", "Mercedes", "Benz", "Porsche",
    "Ferrari", "Lexus", "Dell", "Lenovo", "Intel", "Nvidia", "Microsoft", "Windows", "Android", "Siri", "Alexa",
    "Netflix", "Disney", "Uber", "Lyft", "Airbnb", "Walmart", "Target", "Costco", "Kindle", "Prime", "Pro", "Max",
    "Ultra", "Mini", "Plus", "Air", "Pay", "Card", "Cards", "Bank", "Banks", "Euro", "Euros", "Dollar", "Dollars",
    "Pound", "Pounds", "Yen", "Yuan", "Bitcoin", "Top", "Up", "Topup", "Hi", "Hello", "Hey", "Dear", "Thanks",
    "Thank", "Please", "Sorry", "Yes", "No", "Ok", "Okay", "Sir", "Madam", "Mr", "Mrs", "Ms", "Miss", "Dr", "Prof",
    "Mom", "Dad", "Mum", "Aunt", "Uncle", "Grandma", "Grandpa", "Bro", "Sis", "Baby", "Babe", "Honey", "Love",
    "Lol", "Omg", "Wow", "Haha", "Yeah", "Yay", "Nah", "Btw", "Ps", "Pm", "Am", "Utc", "Gmt", "Usa", "Uk", "Eu",
    "English", "Chinese", "Spanish", "French", "German", "Italian", "Japanese", "Korean", "British", "European",
    "Asian", "African", "Indian", "Mexican", "Canadian", "Australian", "Russian", "Irish", "Scottish", "Dutch",
    "London", "Paris", "Berlin", "Madrid", "Rome", "Dublin", "Sydney", "Tokyo", "Beijing", "Shanghai", "Boston",
    "Chicago", "Houston", "Dallas", "Austin", "Denver", "Phoenix", "Seattle", "Portland", "Miami", "Atlanta",
    "Orlando", "Vegas", "Jersey", "York", "Washington", "Lincoln", "Jackson", "Madison", "Columbia", "Georgia",
    "Virginia", "Carolina", "Dakota", "Florida", "Texas", "California", "Nevada", "Montana", "Victoria", "Wales",
    "England", "Scotland", "Ireland", "France", "Germany", "Spain", "Italy", "China", "Japan", "India", "Canada",
    "Europe", "Asia", "Africa", "America", "Mexico", "Brazil", "Australia", "Street", "Avenue", "Road", "Lane",
    "City", "County", "State", "North", "South", "East", "West", "Central", "Park", "Hill", "Hills", "Beach",
    "Bay", "Lake", "River", "Valley", "Mountain", "Island", "Port", "Fort", "Saint", "St", "Mount", "Mt",
    "Customer", "Service", "Support", "Team", "Manager", "Agent", "Account", "Order", "Refund", "Delivery",
    "Shipping", "Tracking", "Payment", "Transfer", "Balance", "Statement", "Exchange", "Rate", "Fee", "Fees",
    "Cash", "Money", "Check", "Cheque", "Pin", "Atm", "Wallet", "Online", "App", "Store", "Shop", "Mall",
    "Inc", "Ltd", "Llc", "Co", "Corp", "Group", "Company", "University", "College", "School", "Hospital",
    "Hotel", "Restaurant", "Cafe", "Bar", "Club", "Center", "Centre", "Museum", "Church", "Airport", "Station",
    "Black", "White", "Red", "Blue", "Green", "Gray", "Grey", "Pink", "Gold", "Silver", "Brown", "Orange",
    "Mark", "Bill", "Will", "Grace", "Hope", "Faith", "Joy", "Chance", "Summer", "Winter", "Spring", "Autumn",
    "Rose", "Lily", "Daisy", "Ruby", "Amber", "Crystal", "Jade", "Pearl", "Ivy", "Holly", "Sky", "Star", "Storm",
    "Page", "Rich", "Frank", "Major", "General", "Justice", "Royal", "Sunny", "Penny", "Angel", "Harmony",
    "Destiny", "Melody", "Trinity", "Heaven", "Liberty", "King", "Queen", "Prince", "Princess", "Duke", "Earl",
    "Lord", "Bishop", "Pope", "Young", "Long", "Short", "Little", "Best", "Good", "Hall", "Wood", "Woods",
    "Field", "Fields", "Stone", "Banks", "Cook", "Price", "Sale", "Sales", "Case", "Key", "Power", "Guy", "Man",
    "Friend", "Doctor", "Lawyer", "Media", "Rock", "Law", "Art", "Job", "Line", "Floor", "Room", "House", "Home",
    "Wall", "Way", "Day", "Days", "Night", "Morning", "Evening", "Today", "Tomorrow", "Yesterday", "Week",
    "Weekend", "Month", "Year", "Time", "New", "Old", "Big", "Great", "Happy", "Merry", "Welcome", "Congrats",
    "Premium", "Standard", "Basic", "Gift", "Free", "Sale", "Black", "Cyber", "Super", "Mega", "Smart", "Home",
    "Note", "Notes", "Phone", "Watch", "Pad", "Book", "Tab", "Edge", "Fire", "Echo", "Dot", "Nest", "Ring",
    "Ok", "Fine", "Sure", "Great", "Nice", "Cool", "Awesome", "Bless", "Cheers", "Regards", "Sincerely",
    "Orchestra", "Band", "Investments", "Investment", "Capital", "Partners", "Holdings", "Foundation", "Institute",
    "Plc", "PLC", "LLC", "LLP", "Gmbh", "GmbH", "Ag", "Sa", "Sons", "Associates", "Brothers", "Bros", "Airbase",
    "Rua", "Avenida", "Av", "Avda", "Calle", "Via", "Viale", "Piazza", "Rue", "Cite", "Boulevard", "Chemin",
    "Strasse", "Straße", "Platz", "Weg", "Ul", "Ulica", "Plaza", "Praça", "Travessa", "Largo", "Carrer",
    "Square", "Place", "Court", "Drive", "Terrace", "Crescent", "Close", "Gardens", "Row", "Walk", "Apt",
    "Suite", "Unit", "Flat", "Box", "Po", "Den", "Los", "Las", "San", "Santa", "Santo", "São", "El", "La", "Le",
    "Les", "De", "Del", "Di", "Da", "Van", "Von", "Al", "Ibn", "Bin", "Abu",
    # speakers of a transcript and exclamations ("Bot: Where ...", "Bravo !")
    "Bot", "User", "Agent", "Assistant", "Human", "System", "Operator", "Admin", "Guest", "Bravo", "Brava", "Ole",
})
# Everyday words that are also common first names: a name only right after "to", "of", "friend", ... and before
# the end of the clause ("send $50 to Grace.", "the checking account of Grace?"), never "Grace Period".
_AMBIGUOUS_FIRST_NAMES = frozenset({
    "Grace", "Hope", "Faith", "Joy", "Rose", "Lily", "Daisy", "Ruby", "Holly", "Ivy", "Mark", "Bill", "Frank",
    "Penny", "Amber", "Crystal", "Jade", "Pearl", "Melody", "Harmony", "Summer", "Autumn", "Dawn",
})
_AMBIGUOUS_BEFORE = regex.compile(r"(?:^|[^A-Za-z])(?i:to|of|friend|sister|brother|cousin|send|sending|with|and)[ ]+$")
_AMBIGUOUS_AFTER = regex.compile(r"[ ]?(?:'s|’s)\b|[ ]?[.?!,;]|$|[ ](?:to|from|in|for)[ ](?:her|his|their|your|my)\b")
# Verbs, prepositions and cue words after which a lone known first name is taken as a name ("transfer $50 to
# Philip", "an appointment with Dana", "tell Sarah"), and words that follow a name in a sentence ("Sarah said").
_BEFORE_LONE_NAME = regex.compile(
    r"(?:^|[^A-Za-z])(?i:to|with|from|by|for|and|or|tell|ask|asked|told|call|called|named|contact|meet|met|see|saw"
    r"|says|said|starring|calls me|call me|friend|send|sending|pay|paying"
    r"|love|thank|thanks|thx|dear|hi|hello|hey|bye|cc|attn|attention|of|aunt|uncle|cousin|brother|sister"
    r"|mom|mum|dad|son|daughter|wife|husband|friend|boss|colleague|neighbor|neighbour|grandma|grandpa|mr|mrs|ms"
    r"|miss|dr|sir|ma'am)[.,:]?[ ]+$")
_AFTER_LONE_NAME = regex.compile(
    r"[ ]*(?:[:,]|'s\b|’s\b|[ ]?(?i:is|was|said|says|told|asked|called|wrote|has|had|will|would|can|could|and|or"
    r"|who|here|there|sent|paid|bought|ordered|got|gets|gave|went|came|left|lives|loves|likes|did|does"
    r"|thinks|wants|needs|knows|just|also|never|always)\b)")
# Words after which capitalized words are a person even when no list knows them ("a concert by Ushurma Dratchev").
_PERSON_BEFORE = regex.compile(
    r"(?:^|[^A-Za-z])(?i:by|with|called|named|add|contact|tell|ask|dear|hi|hello|thanks|thank you|cc|attn|meet"
    r"|beneficiary|recipient|customer|client|patient|mr|mrs|ms|dr|send|pay|to|account of|says|said|starring"
    r"|calls me|call me|everyone calls me|producer|director|directed by)[.,:]?[ ]+$")
_SURNAME_BEFORE = regex.compile(r"(?:^|[^\p{L}])(?i:says|said|starring|directed by|written by|by|mr|mrs|ms|dr)[.,]?[ ]+$")
_QUOTE_SAYS = regex.compile(r"[\"”][ ]?(?:says|said|asks|asked|adds|added|writes|wrote)[ ]$")
_VOCATIVE_BEFORE = regex.compile(r"(?:^|\n|[.!?][ ]+|\p{L},[ ])$")
_VOCATIVE_AFTER = regex.compile(r"[ ]?[!?]|,[ ]+(?i:can|could|would|will|please|i|we|you|thanks|thank|how|what|where|"
                                r"when|do|did|are|is|have)\b")
_LINE_START = regex.compile(r"(?:^|\n)[ \t>]*$")
_LABEL_AFTER = regex.compile(r":[ ]+\p{Lu}")
_STRONG_AFTER = regex.compile(r"[ ]?(?i:is from|said|says|told|asked|wrote|called|lives)\b")
_NEXT_TO_MODEL = regex.compile(r"[ ]?[0-9]|[ ][A-Z]+[0-9]")
_MODEL_BEFORE = regex.compile(r"[A-Za-z]*[0-9][A-Za-z0-9]*[ ]$")
# Before a capitalized run that is a thing, not a person: "the", a possessive or a demonstrative ("the Tommy
# Hilfiger polo", "My Hunter boots"), or words that introduce a company ("I work for Wolters Kluwer").
_DETERMINERS = ("the", "my", "your", "our", "their", "this", "that", "these", "those")
_NOT_PERSON_BEFORE = regex.compile(
    rf"(?:^|[^A-Za-z])(?i:{'|'.join(_DETERMINERS)}|work for|works for|worked for|work at|works at|employed by"
    r"|ordered from|bought from|shop at|shopped at)[ ]+$")
_SENTENCE_START = regex.compile(r"(?:^|[.!?。！？\n>\"“(]|[-–—*]\s)[ \t]*$")
_NAME_WORD = (r"\p{Lu}(?:['’]\p{Lu})?[\p{Ll}\p{Mn}]+(?:\p{Lu}[\p{Ll}\p{Mn}]+)?(?:-\p{Lu}[\p{Ll}\p{Mn}]+)?"
              r"|\p{Lu}{2,}(?:-\p{Lu}{2,})?")
_CAPITALIZED_RUN = regex.compile(
    rf"(?<![\p{{L}}\p{{N}}@#/_.'’-])(?:{_NAME_WORD})(?:[ ](?:\p{{Lu}}\.?[ ])?(?:{_NAME_WORD})){{0,3}}"
    rf"(?![\p{{L}}\p{{N}}@_/-])")
_LOWER_PAIR = regex.compile(r"(?<![\p{L}\p{N}@#/_.'-])(\p{Ll}{2,})[ ](\p{Ll}{2,})(?![\p{L}\p{N}@_/-])")
_WORD_OR_INITIAL = regex.compile(rf"{_NAME_WORD}|\p{{Lu}}\.?")


@dataclass(frozen=True)
class _Lists:
    first: frozenset[str]
    last: frozenset[str]
    en_first: frozenset[str]
    corpus: frozenset[str]
    common: frozenset[str]


def _with_folded(names: frozenset[str]) -> frozenset[str]:
    return names | {_fold(name) for name in names if not name.isascii()}


@cache
def _lists() -> _Lists:
    return _Lists(
        first=_with_folded(load(Gazetteer.WORLD_FIRST_NAMES) | load(Gazetteer.EN_FIRST_NAMES)),
        last=_with_folded(load(Gazetteer.WORLD_LAST_NAMES) | load(Gazetteer.EN_LAST_NAMES)),
        en_first=load(Gazetteer.EN_FIRST_NAMES),
        corpus=load(Gazetteer.NAMES_CORPUS),
        common=load(Gazetteer.EN_COMMON_WORDS),
    )


def _plain(word: str) -> str:
    """"KRISZTIÁN" -> "Krisztián", "O'Brien" stays: the form the gazetteers list."""
    return word.capitalize() if word.isupper() and len(word) > 1 else word


def _fold(word: str) -> str:
    """"Kristíana" -> "Kristiana": names are spelled with and without their accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _known(word: str, names: frozenset[str]) -> bool:
    return word in names or (not word.isascii() and _fold(word) in names)


def _is_common(word: str, lists: _Lists) -> bool:
    return word in _NOT_NAMES or word.lower() in lists.common


def _name_parts(words: list[str], lists: _Lists) -> list[tuple[int, int]]:
    """(first, last) word indexes of the names in a capitalized run ("Producer James Sparks" -> [(1, 2)])."""
    parts, start = [], None
    for i, word in enumerate([*words, ""]):
        plain = _plain(word)
        name_like = bool(word) and (len(word) <= 2 and word.rstrip(".").isupper() and start is not None
                                    or not _is_common(plain, lists))
        if name_like and start is None:
            start = i
        elif not name_like and start is not None:
            parts.append((start, i - 1))
            start = None
    return parts


def _english_spans(text: str) -> list[tuple[int, int]]:
    """Names in ``text`` without a cue: runs of capitalized words the name lists know, and a few lone ones."""
    lists = _lists()
    spans = _listed_names(text, lists)
    for run in _CAPITALIZED_RUN.finditer(text):
        tokens = list(_WORD_OR_INITIAL.finditer(run.group()))
        words = [t.group() for t in tokens]
        if all(w.isupper() for w in words) and len(words) < 2 or words[0].lower() in _DETERMINERS:
            continue
        if len(words) == 1 and words[0] in _AMBIGUOUS_FIRST_NAMES:
            if (_AMBIGUOUS_BEFORE.search(text, max(0, run.start() - 20), run.start())
                    and _AMBIGUOUS_AFTER.match(text, run.end())):
                spans.append(run.span())
            continue
        for first, last in _pairs(words, lists) or _name_parts(words, lists):
            while first <= last and len(words[last].rstrip(".")) == 1:  # no trailing initial
                last -= 1
            while first <= last and len(words[first].rstrip(".")) == 1:
                first += 1
            if first > last:
                continue
            full = [_plain(w) for w in words[first:last + 1] if len(w.rstrip(".")) > 1]
            start, end = run.start() + tokens[first].start(), run.start() + tokens[last].end()
            if _NEXT_TO_MODEL.match(text, end) or _MODEL_BEFORE.search(text, 0, start):
                continue  # "ThinkPad X1 Carbon Gen 11": a product line, not a person
            if _NOT_PERSON_BEFORE.search(text, max(0, start - 20), start):
                continue
            if len(full) >= 2:
                known = [w for w in full if _known(w, lists.first) or _known(w, lists.last) or w in lists.corpus]
                if known and not all(w.isupper() for w in words[first:last + 1]) or len(known) == len(full):
                    spans.append((start, end))
                elif first == 0 and len(full) <= 3 and _PERSON_BEFORE.search(text, 0, run.start()):
                    spans.append((start, end))
            elif _lone_name(text, start, end, full[0], lists):
                spans.append((start, end))
    for pair in _LOWER_PAIR.finditer(text, overlapped=True):
        a, b = pair.group(1).capitalize(), pair.group(2).capitalize()
        if (a in lists.first and b in lists.last or a in lists.last and b in lists.first) and not (
                _is_common(a, lists) or _is_common(b, lists)):
            spans.append(pair.span())
    return spans


def _pairs(words: list[str], lists: _Lists) -> list[tuple[int, int]]:
    """The whole run when it is two or three names, everyday words among them ("Brown Brooke A", "Ferrari
    Cynthia", "Christensen Holly": surname first), as long as one of them is no everyday word."""
    names = [w for w in words if len(w.rstrip(".")) > 1]
    if not 2 <= len(names) <= 3 or len(names) < len(words) - 1 or len(words[0].rstrip(".")) == 1:
        return []
    if any(w.isupper() or w in _NEVER_NAMES for w in names):
        return []
    if not all(_known(w, lists.first) or _known(w, lists.last) for w in names):
        return []
    if all(_is_common(w, lists) for w in names):
        return []
    return [(0, len(words) - 1)]


_NEVER_NAMES = frozenset({
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Street", "Avenue",
    "Road", "Lane", "Drive", "Court", "Place", "Park", "Hill", "Hills", "Center", "Centre", "Bank", "Card", "Pay",
    "Customer", "Service", "Support", "Team", "Inc", "Ltd", "Llc", "Company", "Group", "University", "College",
    "School", "Hospital", "Hotel", "Restaurant", "Station", "Airport", "Church", "City", "County", "State",
    "North", "South", "East", "West", "New", "Old", "Great", "Little", "Big", "Happy", "Merry", "Thank", "Thanks",
    "Hello", "Dear", "Please", "Sorry", "God", "Christmas", "Easter", "Fort", "Port", "Mount", "Saint", "San", "Santa",
    "Los", "Las", "El", "La", "Le", "De", "Van", "Von",
})
# "They had 6: Gaetane, Hannah, Anthony, Derek, Anna and Andrew.": a list of three or more single words, two of
# them known first names and none an everyday word, is a list of names; three surnames are a firm.
_LIST = regex.compile(r"(?<![\p{L}\p{N}])(\p{L}[\p{L}\p{Mn}'’-]+)(?:,[ ](\p{L}[\p{L}\p{Mn}'’-]+)){1,8},?[ ]and[ ]"
                      r"(\p{L}[\p{L}\p{Mn}'’-]+)(?![\p{L}\p{N}])")


def _listed_names(text: str, lists: _Lists) -> list[tuple[int, int]]:
    if ", " not in text or " and " not in text:
        return []
    spans = []
    for match in _LIST.finditer(text):
        items = [(m, match.starts(g)[i]) for g in (1, 2, 3) for i, m in enumerate(match.captures(g))]
        words = [w for w, _ in items]
        if not (all(w[0].isupper() for w in words) or all(w.islower() for w in words)):
            continue
        plain = [w.capitalize() for w in words]
        if any(_is_common(w, lists) for w in plain):
            continue
        if sum(_known(w, lists.first) for w in plain) < 2:
            continue
        if len(plain) < 4 and all(_known(w, lists.last) for w in plain):
            continue  # "Barnett, Melton and Garcia": a firm named after its partners
        spans += [(start, start + len(w)) for w, start in items]
    return spans


def _lone_surname(text: str, start: int, end: int, word: str, lists: _Lists) -> bool:
    """A lone known last name right after words that introduce a person ("says Hartvigsson", "starring Key")."""
    if word.isupper():
        return False
    if _QUOTE_SAYS.search(text, max(0, start - 30), start):
        return True  # '"...," says Hartvigsson.': whoever is quoted, known or not
    return _known(word, lists.last) and bool(_SURNAME_BEFORE.search(text, max(0, start - 30), start))


def _lone_name(text: str, start: int, end: int, word: str, lists: _Lists) -> bool:
    """A single capitalized word is a name if it is a known English first name in a place names go."""
    if word.isupper() or not (_known(word, lists.first) or word in lists.corpus):
        return _lone_surname(text, start, end, word, lists)
    before, after = text[max(0, start - 30):start], text[end:end + 20]
    if _VOCATIVE_BEFORE.search(before) and _VOCATIVE_AFTER.match(after) or (
            _LINE_START.search(before) and _LABEL_AFTER.match(after)):
        return True  # "Remember me, Mary?", "Leif, can I ...", "Ubul: What a wife."
    if word in lists.en_first:
        return bool(_BEFORE_LONE_NAME.search(before) or _AFTER_LONE_NAME.match(after))
    # a name from another locale: only where a person goes ("Dzhambek is from", "Tomomi:", "with Akifumi")
    if _STRONG_AFTER.match(after) and word in lists.first:
        return True  # "Luiza is from Xignite", "Tomomi said"
    return bool(_PERSON_BEFORE.search(before) or _STRONG_AFTER.match(after)) and not _SENTENCE_START.search(before)



# Words that begin with a surname character and read as a name to the patterns: never a name.
_NOT_ZH_NAMES = ("高兴", "金额", "周末", "何时", "方便", "王府井", "黄金", "江湖", "马上", "万一", "常常", "于是",
                 "任何", "安全", "成功", "文明", "明天", "明白", "高明", "钱包", "白天", "林业", "石林", "白云", "华为",
                 "金华", "海南", "海洋", "江南", "杨柳", "韩国", "高峰", "李宁", "方法", "路上", "时间", "向东", "东方")
_ZH_BEFORE = ("转告", "告诉", "通知", "联系", "转交", "交给", "麻烦", "找", "给", "问", "让", "和", "跟", "与", "同",
              "帮", "替", "向", "对", "把", "被", "叫", "请", "是", "由", "客户", "同事", "朋友", "老公", "老婆", "妈妈",
              "爸爸", "儿子", "女儿", "家人", "签收人", "代收人",
              # roles and requests that name a person ("快递员王伟说", "收货人改成王伟", "本人王伟，")
              "本人", "快递员", "快递小哥", "客服", "骑手", "店员", "邻居", "室友", "领导", "收件人", "收货人", "寄件人",
              "联系人", "退货人", "下单人", "改成", "改为", "写成", "写的", "用")
_ZH_AFTER = ("一起", "说", "讲", "问", "打", "来", "去", "在", "已", "要", "想", "会", "是", "和", "跟", "也", "都", "收", "签",
             "买", "先生", "女士", "小姐", "同学", "老师", "的电话", "的手机", "的地址", "本人", "代收", "下单", "付款",
             "反映", "投诉", "申请", "联系", "负责", "处理",
             # when a person will do something ("让王伟明天来取"), and what is theirs ("王伟的订单")
             "明天", "今天", "昨天", "上午", "下午", "晚上", "刚才", "答应", "要求", "直接", "确认", "下班",
             "的订单", "的包裹", "的快递", "的身份证", "的名字", "的家属", "个人")


@cache
def _chinese_name_pattern() -> regex.Pattern[str]:
    f = _fragments()
    edge = r"(?:^|(?<=[\s，,。.！!？?、；;：:~～()（）“”\"']))"
    before = rf"(?:{edge}|(?<={alternation(_ZH_BEFORE)}))"
    after = rf"(?=[\s，,。.！!？?、；;：:~～()（）“”\"']|$|{alternation(_ZH_AFTER)})"
    return regex.compile(rf"{before}(?!{alternation(_NOT_ZH_NAMES)})"
                         rf"(?P<name>{f['plain_surname']}{f['given']}(?:(?!{alternation(_AFTER_NAMES)}){f['given']})?)"
                         rf"{after}")


def _chinese_spans(text: str) -> list[tuple[int, int]]:
    """Chinese names without a cue: a surname and one or two given-name characters, between a verb or
    preposition that takes a person ("转告", "和") or a sentence edge, and one that follows a person ("说")."""
    whole = text.strip(" \t\n，,。.！!？?~～")
    # a turn that is a bare name is left unless the other side asked for one (``NameReplyRecognizer``)
    return [m.span("name") for m in _chinese_name_pattern().finditer(text)
            if m.group("name") != whole and not _is_zh_word(m.group("name"))]


def _is_zh_word(candidate: str) -> bool:
    """An everyday word that starts with a surname (全天, 周日, 江苏), or one with a character after it (银联卡),
    unless it is a compound surname (欧阳娜娜)."""
    words = load(Gazetteer.ZH_COMMON_WORDS)
    head = candidate[:2]
    return candidate in words or (len(candidate) == 3 and head in words and head not in load(Gazetteer.ZH_SURNAMES))


_HAS_CJK = regex.compile(CJK)


@lru_cache(maxsize=64)
def free_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Names in ``text`` found without a cue (cached: the trigger and the recognizer both ask)."""
    spans = _english_spans(text) if regex.search("[A-Za-z]", text) else []
    if _HAS_CJK.search(text):
        spans += _chinese_spans(text)
    return tuple(spans)
