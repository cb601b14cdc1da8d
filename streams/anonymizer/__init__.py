"""Personal-data scrubbing for Chinese and English customer-service text, on Presidio.

``Anonymizer().scrub(text, session)`` replaces phones, emails, ID, passport, licence and card numbers, IBANs,
public IP addresses, cued dates of birth, addresses and names with placeholders that stay the same within a
conversation (``<PHONE_1>``). Text is normalized first (Unicode spaces, zero-width characters, full-width and
other digits, Chinese numerals spelled as digits) and offsets map back to the input. ``anonymize_lines`` is the
JSON-lines batch form behind ``flywheel anonymize``; ``measure`` compares throughput with Presidio's stock
analyzer.
"""

from streams.anonymizer.anonymizer import Anonymizer, AnonymizerOptions
from streams.anonymizer.batch import BatchReport, anonymize_lines
from streams.anonymizer.bench import measure
from streams.anonymizer.engine import presidio_default_analyzer
from streams.anonymizer.entities import Entity, EntityType, ScrubResult
from streams.anonymizer.session import Session

__all__ = [
    "Anonymizer", "AnonymizerOptions", "BatchReport", "Entity", "EntityType", "ScrubResult", "Session",
    "anonymize_lines", "measure", "presidio_default_analyzer",
]
