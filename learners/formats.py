"""Training data in and out: the alpaca and sharegpt JSON that LLaMA-Factory reads.

**Export** (``export_dataset``) writes ``<folder>/<name>.json`` and registers it in the folder's
``dataset_info.json``, where LLaMA-Factory looks datasets up (``dataset: <name>``, ``dataset_dir: <folder>``):

- alpaca: ``{"instruction": question, "input": "", "output": answer, "system": context or ""}``;
- sharegpt: ``{"conversations": [{"from": "human", ...}, {"from": "gpt", ...}], "system": context or ""}``.

The policy context always goes in ``system``, never in alpaca's ``input``: serving puts the policy in the system
message (``learners/prompt.py``) while LLaMA-Factory appends ``input`` to the user's turn, so only ``system``
trains on the prompt the model will be given. An empty ``system`` means no context; LLaMA-Factory then uses its
template's default system prompt, as the chat template does at serving. Each record also carries the example's
metadata (``intent``, ``locale``, ``policy_id``, ``policy_version``, ``source``, ``source_id``) as extra keys,
which LLaMA-Factory drops and the import reads back: export then import gives the same examples.

**Import** reads those files and the user's own (a JSON array, or JSON lines when the name ends in ``.jsonl``):

- a non-empty alpaca ``input`` is appended to the instruction on a new line, as LLaMA-Factory does; sharegpt may
  open with a ``system`` turn; multi-turn records (alpaca ``history``, longer conversations) are refused rather
  than cut, since an example is one question and its answer;
- a record without metadata gets the ``intent`` argument (a file without intents needs one), the locale ``zh``
  if its question holds a CJK character and ``en`` otherwise, source ``import`` and source id ``<file>:<row>``;
- every text is anonymized on the way in: outside data never went through the stream's scrubbing, and no
  personal data may reach a training set (invariant 1); the snapshot checks are the second net.

A CSV of ``text,label`` gives intent-labelled questions without answers: not something to learn to say, so it
is the intent tier's input (``learners.intents``, ``flywheel intents train --csv``), scrubbed the same way.

A malformed file raises one ``FlywheelError`` naming the file, the row (records count from 1) and the field,
never the value, which may be personal data.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from infra.errors import FlywheelError
from learners.examples import Example
from streams.events import Locale

if TYPE_CHECKING:
    from streams.anonymizer import Anonymizer  # Presidio takes seconds to import: only readers need one

Format = Literal["alpaca", "sharegpt"]
DATASET_INFO = "dataset_info.json"
METADATA = ("intent", "locale", "policy_id", "policy_version", "source", "source_id")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class _RowError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"field '{field}': {message}")


# --- export -------------------------------------------------------------------------------------------------

def alpaca_record(example: Example) -> dict[str, Any]:
    return {"instruction": example.question, "input": "", "output": example.answer,
            "system": example.context or "", **_metadata(example)}


def sharegpt_record(example: Example) -> dict[str, Any]:
    return {"conversations": [{"from": "human", "value": example.question},
                              {"from": "gpt", "value": example.answer}],
            "system": example.context or "", **_metadata(example)}


_RECORDS = {"alpaca": alpaca_record, "sharegpt": sharegpt_record}
_DATASET_INFO_ENTRY: dict[str, dict[str, Any]] = {
    "alpaca": {"columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}},
    "sharegpt": {"formatting": "sharegpt", "columns": {"messages": "conversations", "system": "system"}},
}


def _metadata(example: Example) -> dict[str, Any]:
    return example.model_dump(include=set(METADATA))


def export_dataset(examples: Sequence[Example], folder: Path, name: str, fmt: Format) -> Path:
    """Write ``examples`` as ``<folder>/<name>.json`` in ``fmt`` and register it in ``dataset_info.json``."""
    if not _DATASET_NAME.match(name):
        raise FlywheelError("a dataset name is letters, digits, '.', '_' and '-', starting with a letter or digit")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    _replace(path, json.dumps([_RECORDS[fmt](e) for e in examples], ensure_ascii=False, indent=1))
    info_path = folder / DATASET_INFO
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info[name] = {"file_name": path.name, **_DATASET_INFO_ENTRY[fmt]}
    _replace(info_path, json.dumps(info, ensure_ascii=False, indent=2))
    return path


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader never sees half a file."""
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the file from a trainer running as another user
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(staging, path)


# --- import -------------------------------------------------------------------------------------------------

def read_alpaca(path: Path, anonymizer: Anonymizer, *, intent: str | None = None) -> list[Example]:
    """The examples of an alpaca file, anonymized; ``intent`` for records that name none."""
    return [_example(path, row, record, _alpaca_texts, anonymizer, intent) for row, record in _records(path)]


def read_sharegpt(path: Path, anonymizer: Anonymizer, *, intent: str | None = None) -> list[Example]:
    """The examples of a sharegpt file, anonymized; ``intent`` for records that name none."""
    return [_example(path, row, record, _sharegpt_texts, anonymizer, intent) for row, record in _records(path)]


def _read_text(path: Path) -> str:
    """The file's text; a byte-order mark (spreadsheets write one) is dropped."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise FlywheelError(f"{path}: cannot be read ({reason})") from None


def _records(path: Path) -> list[tuple[int, Mapping[str, Any]]]:
    """(row, record) of a JSON array, or of JSON lines when the name ends in ``.jsonl``; each must be an object."""
    text = _read_text(path)
    if path.suffix == ".jsonl":
        records = [(row, _json(path, f"row {row}", line)) for row, line in enumerate(text.splitlines(), start=1)
                   if line.strip()]
    else:
        array = _json(path, "the file", text)
        if not isinstance(array, list):
            raise FlywheelError(f"{path}: expected a JSON array of records")
        records = list(enumerate(array, start=1))
    for row, record in records:
        if not isinstance(record, dict):
            raise FlywheelError(f"{path}: row {row}: a record must be a JSON object")
    return records


def _json(path: Path, where: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FlywheelError(f"{path}: {where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _string(record: Mapping[str, Any], field: str, *, required: bool = True) -> str:
    value = record.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _RowError(field, "must be a non-empty string" if required else "must be a string")
    return value


def _alpaca_texts(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """(question, answer, system) of an alpaca record."""
    if record.get("history"):
        raise _RowError("history", "multi-turn records are not supported")
    instruction, extra = _string(record, "instruction"), _string(record, "input", required=False)
    question = f"{instruction}\n{extra}" if extra else instruction
    return question, _string(record, "output"), _string(record, "system", required=False)


def _sharegpt_texts(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """(question, answer, system) of a single-turn sharegpt record, which may open with a system turn."""
    turns = record.get("conversations")
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise _RowError("conversations", "must be a list of {from, value} objects")
    system = _string(record, "system", required=False)
    if turns and turns[0].get("from") == "system":
        system, turns = _string(turns[0], "value", required=False), turns[1:]
    if [t.get("from") for t in turns] != ["human", "gpt"]:
        raise _RowError("conversations", "must be one human turn then one gpt turn")
    return _string(turns[0], "value"), _string(turns[1], "value"), system


def _example(path: Path, row: int, record: Mapping[str, Any],
             texts_of: Callable[[Mapping[str, Any]], tuple[str, str, str]], anonymizer: Anonymizer,
             intent: str | None) -> Example:
    """One imported example: texts anonymized (one session per record), metadata read or defaulted."""
    with _row_errors(path, row):
        session = anonymizer.session()
        question, answer, system = (anonymizer.scrub(text, session).text for text in texts_of(record))
        metadata = {key: record[key] for key in METADATA if record.get(key) is not None}
        defaults = {"locale": _locale_of(question), "source": "import", "source_id": f"{path.name}:{row}"}
        if intent is not None:
            defaults["intent"] = intent
        return Example(question=question, answer=answer, context=system or None, **(defaults | metadata))


@contextmanager
def _row_errors(path: Path, row: int) -> Iterator[None]:
    """Turns a row's fault into one FlywheelError naming file, row and field, never the value."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "<record>"
        raise FlywheelError(f"{path}: row {row}: field '{field}': {first['msg']}") from None
    except _RowError as exc:
        raise FlywheelError(f"{path}: row {row}: {exc}") from None


def _locale_of(text: str) -> Locale:
    return "zh" if _CJK.search(text) else "en"
