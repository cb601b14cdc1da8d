"""Order, tracking, ticket and product numbers, recognized by the words that introduce them.

They are not personal data and the agent needs them to help, so they are kept by default. Recognizing them
still matters: a 19-digit order number may pass Luhn and an 11-digit one may look like a mobile number, and
the span resolver lets a recognized reference shield the digits it covers (``streams.anonymizer.spans``).
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from streams.anonymizer.entities import EntityType
from streams.anonymizer.recognizers.common import CUE_GLUE, DIGIT, NOT_BEFORE_ALNUM

TRIGGER = DIGIT

_ZH_CUE = r"(?:订单|运单|快递单|物流单|退款单|退货单|售后单|工单|发票|取件|商品)(?:号码|编号|编码|号|码)?|单号|货号"
_EN_QUALIFIER = r"[ ]?(?:number|num|no\.?|id|code|#)"
# "order 12345" and "item 12345" are references on their own; "case 12345" only as "case number 12345" ("in case
# 415...").
_EN_CUE = (rf"(?<![A-Za-z])(?i:(?:order|tracking|reference|ref|invoice|ticket|rma|shipment|sku)(?:{_EN_QUALIFIER})?"
           rf"|item(?:{_EN_QUALIFIER})?|(?:return|case|parcel|package|confirmation|product){_EN_QUALIFIER})")
# A reference holds at least one digit and is at least five characters long (12345, DD2024051201, 1Z999AA1...),
# or is printed in groups of digits, as postal tracking numbers are ("9400 1110 7718 7655 0511 46"): at least 20
# digits then, more than any phone or card number has, so neither is shielded when typed right after a cue.
_REFERENCE = (r"(?:(?=(?:[0-9][ ]?){20})[0-9]{2,6}(?:[ ][0-9]{2,6}){2,9}"
              r"|(?=[A-Za-z0-9-]{0,39}[0-9])[A-Za-z0-9][A-Za-z0-9-]{4,39})")

REFERENCE_PATTERN = Pattern(
    "reference after its cue", rf"(?:{_ZH_CUE}|{_EN_CUE}){CUE_GLUE}#?\K{_REFERENCE}{NOT_BEFORE_ALNUM}", 0.9)


class OrderReferenceRecognizer(PatternRecognizer):
    """Numbers introduced as an order, tracking, refund, invoice, ticket or product (SKU) number."""

    def __init__(self, supported_language: str):
        super().__init__(supported_entity=EntityType.ORDER_ID, patterns=[REFERENCE_PATTERN],
                         supported_language=supported_language, global_regex_flags=0)
