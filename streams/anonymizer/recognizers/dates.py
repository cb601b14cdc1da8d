"""Dates of birth: a date right after a birth cue ("DOB:", "date of birth is", "born on", "出生日期", "生日是").

Only after such a cue: the same date without one is a delivery date, an order date or an appointment, which
the agent needs and which identify no one. The cue stays in the text, only the date is replaced.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import NOT_BEFORE_ALNUM

TRIGGER = regex.compile(r"(?i:d\.?o\.?b|birth|born)|出生|生日|生于")

_CUE = (r"(?<![A-Za-z])(?i:d\.?o\.?b\.?|date of birth|birth ?date|birthday|born(?: on| in)?)"
        r"|出生(?:日期|年月日|年月|于|在)?|生日|生于")
_GLUE = r"[ ]*(?:(?i:is|was|:)|是|为|:|：|-)?[ ]*(?:(?i:on|the)[ ]+)?"
_MONTH = (r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])(?i:st|nd|rd|th)?"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[89]|20)[0-9]{2}"
_DATE = "|".join((
    rf"{_YEAR}[-/. ]{_MONTH_NUMBER}[-/. ]{_DAY}",                          # 1990-05-12, 1990/5/12
    rf"{_DAY}[-/. ]{_MONTH_NUMBER}[-/. ](?:{_YEAR}|[0-9]{{2}})",           # 12/05/1990, 05.12.90, 5-12-1990
    rf"{_MONTH_NUMBER}[-/. ]{_DAY}[-/. ](?:{_YEAR}|[0-9]{{2}})",           # 10/23/1951 (US order)
    rf"{_DAY}(?:[ ]+of)?[ ]+{_MONTH},?[ ]+{_YEAR}",                         # 12 May 1990, 12th of May, 1990
    rf"{_MONTH}[ ]+{_DAY},?[ ]+{_YEAR}",                                   # May 12, 1990
    rf"{_MONTH}[ ]+{_DAY}|{_DAY}(?:[ ]+of)?[ ]+{_MONTH}",                 # May 12 (a birthday)
    rf"(?:{_YEAR}|[0-9]{{2}})[ ]*年[ ]*{_MONTH_NUMBER}[ ]*月(?:[ ]*{_DAY}[ ]*[日号])?",  # 1990年5月12日
    rf"{_MONTH_NUMBER}[ ]*月[ ]*{_DAY}[ ]*[日号]",                         # 5月12日
    rf"(?:18|19|20)[0-9]{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])",  # 19900512
    rf"{_MONTH}[ ]+{_YEAR}",                                                 # May 1990
))
BIRTH_DATE_PATTERN = Pattern("date after a birth cue", rf"(?:{_CUE}){_GLUE}\K(?:{_DATE}){NOT_BEFORE_ALNUM}", 0.85)


def birth_date_recognizer(supported_language: str) -> PatternRecognizer:
    return PatternRecognizer(supported_entity=EntityType.BIRTH_DATE, patterns=[BIRTH_DATE_PATTERN],
                             supported_language=supported_language, global_regex_flags=0,
                             name="BirthDateRecognizer")
