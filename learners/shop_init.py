"""``flywheel shop init``: a first shop file drafted from what a shop already has, for a person to finish.

Most shops have two things before they have a shop file: customer questions labelled with what they were about
(a CSV export of a ticketing system, or a public set such as banking77) and their rules as documents. The draft
turns each label into an intent with some of its questions as examples and others held out for evaluation, and
each ``<intent>.txt`` (or ``<intent>.<locale>.txt``) in the policy folder into that intent's policy, its text
also the intent's reference answer. An intent with no policy text is drafted as a handoff intent: until someone
writes its rule, a person answers it. Questions are scrubbed of personal data before they are written.

The draft validates as it is (``flywheel shop check``); what it cannot know is left for its editor, and the
file's header says what: descriptions, reference answers worded for customers, and typed facts with their
``{slots}``.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.errors import FlywheelError
from learners.intents import read_labelled_csv, scrubbed
from learners.shop import load_shop, normalize

if TYPE_CHECKING:
    from streams.anonymizer import Anonymizer

HEADER = """# Drafted by `flywheel shop init` from {csv}{policies}. Before serving customers with it:
# - write each intent's description and a reference answer worded for customers (a policy's text stands in);
# - give policies their typed facts (days: 30, fee: 9.9) and name them in the answers as {{days}};
# - give each intent a policy text of its own, or keep it `handoff: true` (a person answers it).
# The format is documented in README.md, "Your own shop". Check it with `flywheel shop check FILE`.
"""
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def intent_id(label: str) -> str:
    """A label as an intent id: lower case, runs of anything else as one underscore."""
    slug = _NOT_SLUG.sub("_", label.lower()).strip("_")
    if not slug:
        raise FlywheelError(f"label {label!r} has no letter or digit to name an intent by")
    return slug if slug[0].isalpha() else f"intent_{slug}"


def policy_texts(folder: Path | None, locale: str) -> dict[str, str]:
    """intent id -> policy text, from ``<intent>.txt`` or ``<intent>.<locale>.txt`` files in ``folder``."""
    if folder is None:
        return {}
    if not folder.is_dir():
        raise FlywheelError(f"no policy folder at {folder}")
    texts = {}
    for path in sorted(folder.glob("*.txt")):
        stem, _, suffix = path.stem.partition(".")
        if suffix and suffix != locale:
            continue
        text = " ".join(path.read_text(encoding="utf-8").split())
        if text:
            texts[intent_id(stem)] = text
    return texts


def draft_shop(csv_path: Path, text_column: str, label_column: str, policies: Path | None, out: Path, *,
               name: str | None = None, locale: str = "en", examples: int = 20, held_out: int = 6,
               anonymizer: Anonymizer | None = None, seed: int = 0) -> dict[str, Any]:
    """Write the draft to ``out`` (never over an existing file) and return what it holds."""
    if out.exists():
        raise FlywheelError(f"{out} exists: shop init never overwrites a shop file")
    texts, labels = read_labelled_csv(csv_path, text_column, label_column)
    by_intent: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for text, label in zip(scrubbed(texts, anonymizer), labels, strict=True):
        if normalize(text) not in seen:
            seen.add(normalize(text))
            by_intent[intent_id(label)].append(text)
    rules = policy_texts(policies, locale)
    unknown = sorted(set(rules) - set(by_intent))
    if unknown:
        raise FlywheelError(f"policy texts for intents the CSV has no questions for: {', '.join(unknown)}")
    doc = _document(name or csv_path.stem, locale, by_intent, rules, examples, held_out, random.Random(seed))
    _write(out, doc, csv_path, policies)
    load_shop(out)  # the draft must pass its own check
    return {"file": str(out), "intents": len(doc["intents"]), "policies": len(doc["policies"]),
            "examples": sum(len(i["examples"][locale]) for i in doc["intents"]), "held_out": len(doc["held_out"])}


def _document(name: str, locale: str, by_intent: dict[str, list[str]], rules: dict[str, str], examples: int,
              held_out: int, rng: random.Random) -> dict[str, Any]:
    intents, held = [], []
    for intent, questions in sorted(by_intent.items()):
        rng.shuffle(questions)
        kept_out = questions[:held_out] if len(questions) > held_out else []
        policy = rules.get(intent)
        intents.append({
            "id": intent,
            "description": f"Customer questions labelled {intent!r}.",
            "examples": {locale: questions[len(kept_out):len(kept_out) + examples]},
            "answer": {locale: policy or "Let me pass your question to a colleague who can help with it."},
            **({} if policy else {"handoff": True}),
        })
        held += [{"intent": intent, "locale": locale, "question": q} for q in kept_out]
    policies = [{"id": intent.replace("_", "-"), "intent": intent, "version": 1, "text": {locale: text}}
                for intent, text in sorted(rules.items())]
    return {"name": name, "locales": [locale], "intents": intents, "policies": policies, "held_out": held}


def _write(out: Path, doc: dict[str, Any], csv_path: Path, policies: Path | None) -> None:
    import yaml

    out.parent.mkdir(parents=True, exist_ok=True)
    header = HEADER.format(csv=csv_path.name, policies=f" and {policies.name}/" if policies else "")
    out.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
