"""Street addresses, Chinese (省/市/区/县 ... 路/街 ... 号/室) and English (123 Main Street, Apt 4, City, ST 12345).

An address counts only from the street level down: a city or district alone ("我在北京市", "shipping to Texas")
is not an address and is what the agent needs to answer shipping questions. Both patterns need a street or
building *and* either a house number or two administrative levels before it, which keeps sentences such as
"去超市的路上" or "I waited 3 days at the station" out.
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from streams.anonymizer.entities import EntityType
from streams.anonymizer.gazetteers import Gazetteer, load
from streams.anonymizer.recognizers.common import CJK, NOT_AFTER_ALNUM, NOT_BEFORE_ALNUM, alternation

_ADMIN_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "街道",
                   "省", "市", "区", "县", "旗", "盟", "镇", "乡")
_STREET_SUFFIXES = ("大道", "大街", "胡同", "路", "街", "巷", "弄", "道")
_BUILDING_SUFFIXES = ("小区", "花园", "公寓", "大厦", "广场", "中心", "家园", "新村", "苑", "园", "村", "城", "院", "府")

_SUFFIX_ENDS = "".join(sorted({s[-1] for s in _STREET_SUFFIXES + _BUILDING_SUFFIXES}))
_CHINESE_TRIGGER = regex.compile(f"[{_SUFFIX_ENDS}]")
TRIGGER = regex.compile(f"[0-9{_SUFFIX_ENDS}]|地址|位于|坐落|地点|[寄送邮发][到至往]|住")
"""Every English address has a house number or ZIP code; every Chinese one a street or building suffix."""


def _chinese_pattern() -> Pattern:
    # Characters that start or join the sentence around an address, never a place name: they stop the
    # leftmost match from starting at "我的地址是" or "寄到".
    place = rf"(?:(?![的是我你您他她它在到址寄送请把给收货改住帮要发往了吗呢吧啊这那位于]){CJK})"
    admin = rf"{place}{{2,7}}?{alternation(_ADMIN_SUFFIXES)}"
    street = rf"{place}{{1,8}}?{alternation(_STREET_SUFFIXES)}"
    building = rf"{place}{{2,10}}?{alternation(_BUILDING_SUFFIXES)}"
    # 88号, A座, 3-2-501室, g座 (Faker), 二单元
    number = (r"[0-9A-Za-z一二三四五六七八九十百千零〇]{1,6}(?:-[0-9A-Za-z]{1,6})*"
              r"(?:号楼|号院|单元|号|弄|栋|幢|座|楼|层|室|户|组)")
    # what follows the street-level core: more numbers, a building name (SOHO现代城), a bare room number (501)
    detail = (rf"(?:[ ]?(?:{number}|{building}|[A-Za-z]{{2,12}}(?={building})))*"
              rf"(?:[ ]?[0-9]{{3,4}}{NOT_BEFORE_ALNUM})?")
    postcode = rf"(?:[ ]?[0-9]{{6}}{NOT_BEFORE_ALNUM})?"
    # two administrative levels and a street, or a street (or building) with its number
    core = rf"(?:{admin}){{2,}}(?:{street}|{building})|(?:{admin})*(?:{street}|{building}){number}"
    return Pattern("chinese street address", f"(?:{core}){detail}{postcode}", 0.85)


_NUMBER_THEN_WORD = r"[0-9][A-Za-z]{0,3}[ ][\p{Lu}a-z0-9]"
"""What every street that starts from its house number holds: a digit (or "12b", "4bis"), a space and a word in
Latin letters or an ordinal ("5th"), never the Chinese that follows numbers in most Chinese texts."""
_NUMBER_THEN_CAPITAL = r"[0-9][A-Za-z]{0,3}[ ]\p{Lu}"


def _english_patterns() -> list[tuple[Pattern, str]]:
    """Each English pattern with its gate, a cheap regex that every match holds (see ``EnglishAddressRecognizer``)."""
    word = r"[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?\.?"
    suffix = alternation(load(Gazetteer.EN_STREET_SUFFIXES)) + r"\.?"
    state = alternation(load(Gazetteer.EN_STATE_CODES))
    zip_code = r"[0-9]{5}(?:-[0-9]{4})?" + NOT_BEFORE_ALNUM
    secondary = r"(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|Room|Rm|#)\.?[ ]?#?[0-9A-Za-z-]{1,6})?"
    city_state_zip = rf"(?:[ ]?{word}){{1,3}},?[ ]{state}[ ]{zip_code}"
    street = (rf"{NOT_AFTER_ALNUM}[0-9]{{1,6}}(?:-[0-9]{{1,4}})?[A-Za-z]?(?:[ ](?:[NSEW]\.?|North|South|East|West))?"
              rf"(?:[ ]{word}){{1,3}}[ ]{suffix}(?![A-Za-z])(?:[ ](?:[NS][EW]?|[EW])\.?(?![A-Za-z]))?{secondary}")
    military = r"(?:PSC [0-9]{4}, Box [0-9]{4}|Unit [0-9]{4} Box [0-9]{4}|(?:USS|USNS|USNV|USCGC) " + word + ")"
    return [
        *_free_street_patterns(),
        (Pattern("english street address", rf"{street}(?:,?\s+{city_state_zip})?", 0.85), _NUMBER_THEN_WORD),
        (Pattern("english city, state and zip", rf"{NOT_AFTER_ALNUM}{city_state_zip}", 0.7), "[0-9]{5}"),
        (Pattern("us military address", rf"{military},?\s+(?:APO|FPO|DPO) (?:AA|AE|AP) {zip_code}", 0.85),
         "(?:APO|FPO|DPO) "),
    ]


# Street types written in lower case too ("45 park lane"); the rest of the USPS list only capitalized, since
# "3 days at the station" has the shape of an address.
_LOWER_CASE_TYPES = ("street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "drive", "dr", "lane", "ln",
                     "way", "parkway", "pkwy", "court", "ct", "terrace", "circle", "highway", "hwy", "place", "pl")
_DIRECTIONS = ("Northeast", "Northwest", "Southeast", "Southwest", "North", "South", "East", "West",
               "NE", "NW", "SE", "SW", "N", "S", "E", "W")
# European street types that open a street name ("Rue de la Paix", "Via Roma", "ul. Północna") ...
_EU_LEADING_TYPES = ("Rue", "Rua", "Avenida", "Avda.", "Av.", "Avenue", "Via", "Viale", "Piazza", "Piazzale",
                     "Corso", "Largo", "Vicolo", "Calle", "Carrer", "Carretera", "Plaza", "Plaça", "Paseo",
                     "Passeig", "Camino", "Ronda", "Travessa", "Praça", "Alameda", "Estrada", "ul.", "ulica", "al.",
                     "aleja", "Boulevard", "Bd", "Chemin", "Allée", "Place", "Quai", "Impasse", "Cours", "Route",
                     "Rambla", "Strada", "Bulevar", "Ulitsa", "C/")
# ... and those that end one word ("Hauptstraße", "Søndergade", "Kiannonkatu", "Brixtonlaan").
_EU_TRAILING_TYPES = ("straße", "strasse", "str.", "gasse", "weg", "allee", "platz", "ring", "damm", "ufer", "vej",
                      "gade", "gata", "gatan", "vägen", "väg", "veien", "vei", "vegen", "stræti", "stræde", "katu",
                      "tie", "kuja", "straat", "laan", "gracht", "plein", "kade", "singel", "dreef", "utca", "út",
                      "ulica", "cesta", "iela", "gatvė", "tee", "weg")
_EU_SEPARATE_TYPES = ("u.", "utca", "útja", "út", "tee", "terrasse", "vej", "gade", "gata", "gatan", "vei", "veien",
                      "vegen", "straat", "str.", "katu", "tie", "ulica", "cesta", "iela", "gatvė", "sokak", "caddesi")
_PARTICLES = ("de", "del", "della", "delle", "dei", "degli", "di", "da", "do", "dos", "das", "la", "le", "les",
              "des", "du", "van", "von", "der", "den", "y", "e", "et", "al", "el")
_PRODUCT_WORDS = r"(?:Pro|Max|Plus|Ultra|Mini|Lite|Gen|Air|Note|Edition|Series|Mark|Version|Model|Pack)\b"
_UNIT_WORDS = r"(?i:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building)"


def _free_street_patterns() -> list[tuple[Pattern, str]]:
    """Streets without the US shape's capitalized words: lower case, ordinals, single letters ("1400 A Street"),
    European shapes, and the city, postcode and country lines after them."""
    number = r"(?<![\p{L}0-9.,$€£¥+])[0-9]{1,6}(?:-[0-9]{1,4})?(?:[A-Za-z]|bis|ter)?(?![0-9A-Za-z+])"
    cap_word = r"\p{Lu}[\p{L}'’.-]*+(?![0-9])"
    ordinal = r"[0-9]{1,3}(?:st|nd|rd|th)"
    lower_stop = (r"(?!(?:the|a|an|at|in|on|to|for|of|my|your|our|his|her|and|or|from|is|are|was|were|by|with|it|"
                  r"this|that|days?|weeks?|months?|years?|hours?|minutes?|times?|items?|pieces?|more|off)\b)")
    word = rf"(?:{cap_word}|{ordinal}|{lower_stop}[a-z][a-z'’-]*|[A-Z])"
    us_type = rf"(?:{alternation(load(Gazetteer.EN_STREET_SUFFIXES))}|(?i:{alternation(_LOWER_CASE_TYPES)}))\.?"
    direction = rf"(?:[ ](?:{alternation(_DIRECTIONS)})\.?(?![\p{{L}}]))?"
    # a new line, blank lines and quoting marks before it included ("\n>Apt. 805", "\n\n Finland 80896")
    newline = r"\n[\s>]*(?:\?{3}[ ]*)?"
    unit = (rf"(?:(?:,[ ]?|{newline}|[ ])(?:{_UNIT_WORDS}\.?[ ]?#?[ ]?[0-9A-Za-z-]{{1,6}}|#[ ]?[0-9A-Za-z-]{{1,6}}"
            rf"|{ordinal}[ ](?i:floor)|[A-Z](?=[,.]|$)))?")
    postcode = r"(?:[0-9]{4,5}(?:-[0-9]{4})?|[A-Z]{1,2}[0-9][A-Z0-9]?[ ][0-9][A-Z]{2})(?![0-9A-Za-z])"
    caps = r"\p{Lu}{2,}+(?:-\p{Lu}{2,}+)*(?![\p{L}0-9])"
    place = (rf"(?:{cap_word}|{caps})(?:[ ](?:{cap_word}|of|{alternation(_PARTICLES + ('nad', 'pod', 'am', 'im'))}"
             rf"|\(\p{{L}}+\)|{caps})){{0,3}}")
    line = rf"(?:(?:,[ ]?|{newline},?[ ]*|[ ](?={postcode})|(?<=[0-9])[ ](?=\p{{Lu}}))(?:{postcode}[ ])?(?:{place}|{postcode})(?:,?[ ]{postcode})?)"
    tail = rf"{unit}{line}{{0,3}}"
    lead_unit = rf"(?:{_UNIT_WORDS}\.?[ ][0-9A-Za-z-]{{1,6}},?[ ])?"
    particle = alternation(_PARTICLES)
    eu_name = rf"(?:(?:{particle})[ ]){{0,2}}(?:{cap_word}|{ordinal}|[0-9]{{1,3}})(?:[ ](?:{particle}|{cap_word}|{ordinal})){{0,4}}"
    eu_lead = rf"(?i:{alternation(_EU_LEADING_TYPES)})"
    eu_word = rf"\p{{Lu}}[\p{{L}}-]*(?i:{alternation(_EU_TRAILING_TYPES)})"
    # a street type written as a word of its own after the name ("6614 Luite tee 87", "808 Kálmán Imre u. 12."), only
    # after a number: a pattern that may start at any capitalized word costs every text ~10 % more time
    eu_after = rf"(?:{alternation(_EU_SEPARATE_TYPES)})"
    trailing = alternation(_EU_TRAILING_TYPES)
    return [
        (Pattern("european street type after", rf"{lead_unit}(?:{number}[ ]){{1,2}}(?:{cap_word}[ ]){{1,3}}{eu_after}[ ]"
                 rf"{number}\.?{tail}", 0.75), rf"[ ]{eu_after}[ ][0-9]"),
        (Pattern("european street word, lower case", rf"{lead_unit}(?:{number}[ ]){{1,2}}\p{{Ll}}[\p{{L}}-]*"
                 rf"(?:{trailing})[ ]{number}{tail}", 0.75), rf"{trailing}[ ][0-9]"),
        (Pattern("street, any case", rf"{lead_unit}(?:{number}[ ])?{number}[ ](?:{word}[ ]){{1,4}}?{us_type}(?![\p{{L}}])"
                 rf"{direction}{tail}", 0.8), _NUMBER_THEN_WORD),
        (Pattern("european street", rf"{lead_unit}(?:{number}[ ]){{0,2}}(?<![\p{{L}}]){eu_lead}[ ]{eu_name}"
                 rf"(?:,?[ ]{number})?{tail}", 0.8), rf"{eu_lead}[ ]"),
        (Pattern("european street word", rf"{lead_unit}(?:{number}[ ]){{0,2}}(?<![\p{{L}}]){eu_word}(?:[ ]{cap_word}){{0,2}}"
                 rf"[ ]{number}{tail}", 0.8), rf"(?i:{trailing})(?:[ ]\S+){{0,2}}[ ][0-9]"),
        (Pattern("number, street, number", rf"{lead_unit}(?:{number}[ ])?{number}[ ](?!{_PRODUCT_WORDS}){cap_word}"
                 rf"(?:[ ](?:{particle}|{cap_word})){{0,3}}[ ]{number}{tail}", 0.7), _NUMBER_THEN_CAPITAL),
    ]


# "地址是…", "位于…", "寄到…": what follows up to the end of the clause is the address when it holds a place word
# or a number ("地址是在小汤山镇讲礼村讲礼大队对面", "位于阜成路2号(近三里河路)").
_ADDRESS_CUE = regex.compile(
    r"(?:地址(?:是|在|为|:|：)+[ ]*(?:在|于)?|位于|坐落于|坐落在|地点(?:是|在)|(?:寄|送|邮|发)(?:到|至|往)|收货地址"
    r"|详细地址|住址|住在)[:：]?[ ]*"
    r"(?P<address>(?:[^，。；！？,;!?\s()（）]|[(（][^()（）]{1,40}[)）]){2,60})")
_PLACE_WORD = regex.compile(r"[0-9一二三四五六七八九十]号|[路街道巷弄里镇村乡楼层室门桥园苑厦馆场站院]|胡同|大道|中心|广场"
                            r"|公园|景区|大学|小区|对面|旁边|附近|东侧|西侧|南侧|北侧")
_NOT_ADDRESS = regex.compile(r"^(?:哪|什么|多少|错|不对|改|填|写|没|不|这|那|一下|上面|下面|变|更)")


def _cued_chinese_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _ADDRESS_CUE.finditer(text):
        value = match.group("address")
        if _PLACE_WORD.search(value) and not _NOT_ADDRESS.match(value):
            spans.append(match.span("address"))
    return spans


class ChineseAddressRecognizer(PatternRecognizer):
    """Mainland addresses: 省/市/区 levels, a 路/街/弄 or a 小区/大厦, the numbers down to the room, a postcode."""

    def __init__(self, supported_language: str):
        super().__init__(supported_entity=EntityType.ADDRESS, patterns=[_chinese_pattern()],
                         supported_language=supported_language, global_regex_flags=0)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Nothing in a text without a street or building suffix, which every match holds. The type's trigger
        lets digits through for English addresses, and this pattern is the costliest of all (~55 µs a text
        with a digit, measured on simulated traffic, against ~1 µs for the check)."""
        cued = [RecognizerResult(EntityType.ADDRESS, start, end, 0.8) for start, end in _cued_chinese_spans(text)]
        if not _CHINESE_TRIGGER.search(text):
            return cued
        return super().analyze(text, entities, nlp_artifacts, regex_flags) + cued


class EnglishAddressRecognizer(PatternRecognizer):
    """US, UK and European street addresses with unit, city, state or postcode and country lines, a
    city-state-ZIP line alone, and military addresses."""

    def __init__(self, supported_language: str):
        gated = _english_patterns()
        super().__init__(supported_entity=EntityType.ADDRESS, patterns=[pattern for pattern, _ in gated],
                         supported_language=supported_language, global_regex_flags=0)
        self._gated = [(regex.compile(gate), PatternRecognizer(
            supported_entity=EntityType.ADDRESS, patterns=[pattern], name=self.name,
            supported_language=supported_language, global_regex_flags=0)) for pattern, gate in gated]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Each pattern only on texts that hold its gate. The patterns may start at any digit or capitalized
        word, so each costs 20 to 35 µs on a text with a digit; a gate that fails (a European street type, a
        house number before a space) costs 0.5 to 15 µs, and the output is the same. Results carry this
        recognizer's id: Presidio keeps only results whose id names a recognizer it ran."""
        results = [result for gate, recognizer in self._gated if gate.search(text)
                   for result in recognizer.analyze(text, entities, nlp_artifacts, regex_flags)]
        for result in results:
            result.recognition_metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY] = self.id
        return EntityRecognizer.remove_duplicates(results)
