"""``anonymize_lines``: one JSON line out per line in, offsets into the input, and malformed lines reported
without a trace of what they held."""

from __future__ import annotations

import io
import json

import pytest

from streams.anonymizer import Anonymizer, anonymize_lines


@pytest.fixture(scope="module")
def anonymizer() -> Anonymizer:
    return Anonymizer()


def run(anonymizer: Anonymizer, lines: list[str], **kwargs: int) -> tuple[list[dict], object]:
    out = io.StringIO()
    report = anonymize_lines(io.StringIO("".join(line + "\n" for line in lines)), out, anonymizer, **kwargs)
    return [json.loads(line) for line in out.getvalue().splitlines()], report


def test_each_line_is_scrubbed_with_offsets_into_its_input(anonymizer):
    text = "我叫王伟，手机13800138000"
    [result], report = run(anonymizer, [json.dumps({"text": text}, ensure_ascii=False)])
    assert result == {"text": "我叫<PERSON_1>，手机<PHONE_1>",
                      "entities": [{"type": "PERSON", "start": 2, "end": 4}, {"type": "PHONE", "start": 7, "end": 18}]}
    assert [text[e["start"]:e["end"]] for e in result["entities"]] == ["王伟", "13800138000"]
    assert (report.lines, report.errors, report.entities) == (1, 0, 2)


def test_output_keeps_chinese_readable_and_drops_other_fields(anonymizer):
    out = io.StringIO()
    anonymize_lines(io.StringIO('{"text": "你好", "user_phone": "13800138000"}\n'), out, anonymizer)
    assert out.getvalue() == '{"text": "你好", "entities": []}\n'


SECRET = "13800138000"


@pytest.mark.parametrize(("line", "error"), [
    (f'{{"text": "{SECRET}"', "not valid JSON: Expecting ',' delimiter at character 23"),
    (f"call {SECRET}", "not valid JSON: Expecting value at character 0"),
    (f'["{SECRET}"]', "expected a JSON object"),
    (f'{{"txt": "{SECRET}"}}', "field 'text' must be a string"),
    ('{"text": 13800138000}', "field 'text' must be a string"),
    (f'{{"text": "{SECRET}", "conversation_id": 7}}', "field 'conversation_id' must be a string"),
    (f'{{"text": "\\ud800 {SECRET}"}}', "field 'text' is not valid Unicode"),
    ("   ", "empty line"),
])
def test_a_malformed_line_gets_an_error_that_quotes_nothing_and_the_run_goes_on(anonymizer, line, error):
    results, report = run(anonymizer, [line, '{"text": "ok"}'])
    assert results == [{"error": error}, {"text": "ok", "entities": []}]
    assert SECRET not in json.dumps(results)
    assert (report.lines, report.errors) == (2, 1)


def test_lines_of_one_conversation_share_placeholders(anonymizer):
    results, _ = run(anonymizer, [
        '{"text": "电话13800138000", "conversation_id": "a"}',
        '{"text": "电话13900139000", "conversation_id": "b"}',
        '{"text": "13900139000 和 13800138000", "conversation_id": "a"}',
        '{"text": "13900139000"}',
    ])
    assert [r["text"] for r in results] == ["电话<PHONE_1>", "电话<PHONE_1>", "<PHONE_2> 和 <PHONE_1>", "<PHONE_1>"]


def test_conversation_memory_is_bounded(anonymizer):
    results, _ = run(anonymizer, [
        '{"text": "13800138000", "conversation_id": "a"}',
        '{"text": "13800138000", "conversation_id": "b"}',
        '{"text": "13900139000", "conversation_id": "a"}',  # "a" was dropped for "b": it starts over
    ], max_open_conversations=1)
    assert [r["text"] for r in results] == ["<PHONE_1>", "<PHONE_1>", "<PHONE_1>"]
