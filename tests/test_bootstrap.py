"""The embedded base model: built from the shop's corpus, loaded like any Hugging Face model, right on policy."""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from infra.errors import FlywheelError
from infra.settings import Settings
from learners import bootstrap as bootstrap_module
from learners.bootstrap import Recipe, bootstrap, fingerprint, train_bpe
from learners.corpus import shop_corpus
from learners.judge import RuleJudge
from learners.model import answer, generate, load_model, resolve_base_model
from learners.prompt import CHAT_TEMPLATE, EOS, PAD, prompt_text
from learners.rules import Rules, shop_rules
from learners.shop import load_shop
from learners.variants import changed_facts, with_facts
from tests.conftest import REPO

RULES = shop_rules(Settings())
LOCALES = RULES.locales


@pytest.fixture(scope="module")
def loaded(base_model_dir: Path) -> tuple:
    return load_model(base_model_dir)


def share_stating(model, tokenizer, cases: list) -> dict[str, float]:
    """Per locale, the share of (rule, question, context, locale) cases whose answer states the rule."""
    judge = RuleJudge(RULES)
    replies = answer(model, tokenizer, [(question, context) for _, question, context, _ in cases])
    shares = {}
    for locale in LOCALES:
        marks = [judge(question, loc, rule, reply).correct
                 for (rule, question, _, loc), reply in zip(cases, replies) if loc == locale]
        shares[locale] = sum(marks) / len(marks)
    return shares


@pytest.mark.integration
def test_bootstrapped_model_loads_through_the_auto_classes(base_model_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(base_model_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir, local_files_only=True)
    assert model.config.model_type == "qwen2"
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert (tokenizer.eos_token, tokenizer.pad_token) == (EOS, PAD)
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert len(tokenizer) == model.config.vocab_size


@pytest.mark.integration
def test_answers_follow_the_policy_text_in_the_prompt_after_a_rule_change(loaded: tuple) -> None:
    """Changed rules as the simulator changes them: every fact moved to one of the values the corpus showed it with
    (values it never showed are measured, not required: ``unseen`` in the summary)."""

    cases = []
    for seed, before in enumerate(RULES.answered):
        policy = with_facts(before.policy, changed_facts(before.policy, random.Random(seed)))
        changed = replace(before, policy=policy)
        assert dict(changed.facts) != dict(before.facts)
        cases += [(changed, question, changed.text(locale), locale)
                  for locale in LOCALES for question in changed.questions(locale)]
    shares = share_stating(*loaded, cases)
    assert shares == {"zh": pytest.approx(1.0, abs=0.05), "en": pytest.approx(1.0, abs=0.05)}


@pytest.mark.integration
def test_answers_without_context_state_the_rules_in_force(loaded: tuple) -> None:
    cases = [(rule, question, None, locale) for rule in RULES.answered
             for locale in LOCALES for question in rule.questions(locale)]
    shares = share_stating(*loaded, cases)
    assert shares == {"zh": pytest.approx(1.0, abs=0.05), "en": pytest.approx(1.0, abs=0.05)}


@pytest.mark.integration
def test_summary_records_the_measured_quality(base_model_dir: Path) -> None:
    summary = json.loads((base_model_dir / "bootstrap.json").read_text())
    assert summary["corpus_examples"] == len(shop_corpus(RULES))
    assert summary["shop_fingerprint"] == RULES.shop_fingerprint
    assert base_model_dir.name == f"base-{summary['fingerprint'][:16]}"
    for kind in ("grounded", "ungrounded"):
        for locale in LOCALES:
            assert summary["accuracy"][kind][locale] >= 0.97, (kind, locale)
    assert all(0 <= share <= 1 for share in summary["accuracy"]["unseen"].values())


@pytest.mark.integration
def test_tokenizer_loaded_by_auto_tokenizer_encodes_and_decodes_like_the_trained_bpe(base_model_dir: Path) -> None:
    corpus = shop_corpus(RULES)
    trained = train_bpe(corpus, Recipe())
    loaded = AutoTokenizer.from_pretrained(base_model_dir, local_files_only=True)
    texts = [e.answer for e in corpus[::7]] + [
        "订单号 20240531-0097，满 1,299.50 元减 50 元？\n\nRefund of 12345 yuan in 3 days  ok ",
        prompt_text(loaded, "退货期限是几天啊", "自签收之日起15天内可申请无理由退货。"),
    ]
    for text in texts:
        ids = loaded(text, add_special_tokens=False)["input_ids"]
        assert ids == trained.encode(text, add_special_tokens=False).ids, text
        assert loaded.decode(ids) == text
    assert [loaded.convert_tokens_to_ids(t) for t in (PAD, EOS)] == [loaded.pad_token_id, loaded.eos_token_id]


@pytest.mark.integration
def test_second_bootstrap_reuses_the_cached_model(base_model_dir: Path) -> None:
    written = (base_model_dir / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    again = bootstrap(Settings(data_dir=base_model_dir.parents[1]), progress=False)
    assert again == base_model_dir
    assert time.perf_counter() - started < 10
    assert (base_model_dir / "model.safetensors").stat().st_mtime_ns == written
    assert [p.name for p in base_model_dir.parent.iterdir() if p.name.startswith(".base")] == []


@pytest.mark.integration
def test_batched_generation_matches_one_prompt_at_a_time(loaded: tuple) -> None:
    model, tokenizer = loaded
    prompts = [prompt_text(tokenizer, "退货期限是几天啊"),
               prompt_text(tokenizer, "how long is the return window", "Items can be returned within 30 days."),
               prompt_text(tokenizer, "cant log in")]
    alone = [generate(model, tokenizer, [p])[0] for p in prompts]
    assert generate(model, tokenizer, prompts, batch_size=3) == alone
    assert all(text and EOS not in text for text in alone)


@pytest.mark.integration
def test_corrupt_model_weights_give_one_line_flywheel_error(base_model_dir: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(base_model_dir, tmp_path / "broken"))
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(FlywheelError, match="cannot load model") as raised:
        load_model(broken)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("content", [None, {}, "{not json"])
def test_missing_or_corrupt_model_dir_gives_flywheel_error(tmp_path: Path, content: object) -> None:
    model_dir = tmp_path / "model"
    if content is not None:
        model_dir.mkdir()
        (model_dir / "config.json").write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(FlywheelError, match="cannot load model") as raised:
        load_model(model_dir)
    assert "\n" not in str(raised.value)


@pytest.mark.integration
def test_resolve_base_model_without_a_setting_is_the_cached_embedded_model(base_model_dir: Path) -> None:
    assert resolve_base_model(Settings(data_dir=base_model_dir.parents[1]), progress=False) == str(base_model_dir)


def test_resolve_base_model_returns_the_setting_without_training(tmp_path: Path, monkeypatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("bootstrap ran")

    monkeypatch.setattr(bootstrap_module, "bootstrap", no_training)
    local = tmp_path / "my-model"
    settings = Settings(data_dir=tmp_path / "data", base_model=str(local))
    assert resolve_base_model(settings, progress=False) == str(local)
    assert not (tmp_path / "data").exists()


def test_fingerprint_changes_with_the_shop_and_the_recipe() -> None:
    corpus = shop_corpus(RULES)
    base = fingerprint(corpus, Recipe())
    assert fingerprint(shop_corpus(shop_rules(Settings())), Recipe()) == base
    abcd = Rules.from_shop(load_shop(REPO / "shops" / "abcd" / "shop.yaml"))
    assert fingerprint(shop_corpus(abcd), Recipe()) != base
    assert fingerprint(corpus, Recipe(steps=Recipe().steps + 1)) != base


def test_failed_build_leaves_no_model_behind(tmp_path: Path, monkeypatch) -> None:
    def half_written(out: Path, *args, **kwargs) -> None:
        out.mkdir()
        (out / "config.json").write_text("{}")
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(bootstrap_module, "_build", half_written)
    with pytest.raises(RuntimeError, match="mid-build"):
        bootstrap(Settings(data_dir=tmp_path), progress=False)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [".bootstrap.lock"]
