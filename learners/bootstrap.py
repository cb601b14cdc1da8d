"""The embedded base model: a tiny Qwen2 the project trains itself, because no model hub is reachable here.

``bootstrap`` trains a byte-level BPE tokenizer and a small ``Qwen2ForCausalLM`` on the corpus of the shop in
force (``FLYWHEEL_SHOP``, ``learners.corpus``), checks that the saved directory loads back through
``AutoTokenizer``/``AutoModelForCausalLM`` and answers the corpus questions by the rule, and caches it under
``<data_dir>/models/base-<fingerprint>``. The fingerprint covers the corpus, the recipe and the library
versions, so another shop, a changed corpus or recipe builds a new model and an unchanged one is reused. In
production the ``base_model`` setting names a real model instead and none of this runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.errors import FlywheelError
from learners.batching import batches, warmup_cosine
from learners.corpus import VARIANTS, grounded_cases, rule_examples, shop_corpus
from learners.examples import Example
from learners.judge import RuleJudge
from learners.prompt import CHAT_TEMPLATE, EOS, PAD, SPECIAL_TOKENS, prompt_text, training_ids
from learners.rules import Rule, Rules, shop_rules
from learners.variants import fact_options, nearby, with_facts


if TYPE_CHECKING:
    from infra.settings import Settings

log = logging.getLogger(__name__)

SUMMARY = "bootstrap.json"
BUILD_VERSION = 2
"""Part of the fingerprint: bump it when a change to this module changes what a recipe builds."""
QUALITY_BAR = 0.99
"""Share of corpus questions, per kind and locale, the model must answer by the rule; below it we warn."""


@dataclass(frozen=True)
class Recipe:
    """Everything that shapes the model besides the corpus; part of the cache fingerprint.

    The smallest budget that answered the corpus questions by the rule (measured, see ``bootstrap.json``): at 250
    steps about 2 % of the English grounded answers miscopied a number from the prompt (600 as 6000), at 320 one in
    500; narrow heads copy numbers more reliably than 4 wide ones at equal cost; a quarter of every batch
    ungrounded let the rule in force override the prompt, a tenth made the model forget it.
    """

    vocab_size: int = 2000
    hidden_size: int = 256
    intermediate_size: int = 512
    layers: int = 4
    heads: int = 8
    kv_heads: int = 8
    max_positions: int = 512
    steps: int = 320
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 30
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    ungrounded_share: float = 0.15  # of every batch; the demo shop's corpus has 13 %
    seed: int = 0


@dataclass(frozen=True)
class Judged:
    """One question with the rule its answer must state and what it measures: ``grounded`` and ``ungrounded``
    corpus questions, and ``unseen`` ones, grounded in fact values the corpus never showed (does the model copy
    the rule from its prompt, or recall the values it was trained on?)."""

    example: Example
    rule: Rule
    kind: str


def bootstrap(settings: Settings, *, force: bool = False, progress: bool = True,
              recipe: Recipe | None = None) -> Path:
    """The embedded base model's directory for the shop of ``settings``, trained and cached on first use."""
    recipe = recipe or Recipe()
    rules = shop_rules(settings)
    corpus = shop_corpus(rules)
    models = settings.data_dir / "models"
    digest = fingerprint(corpus, recipe)
    target = models / f"base-{digest[:16]}"
    if not force and (target / SUMMARY).is_file():
        return target
    models.mkdir(parents=True, exist_ok=True)
    with _locked(models / ".bootstrap.lock"):
        if not force and (target / SUMMARY).is_file():  # another process built it while we waited
            return target
        staging = models / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _build(staging, rules, corpus, recipe, digest=digest, progress=progress)
            _publish(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def read_summary(model_dir: Path) -> dict[str, Any]:
    """What a bootstrap recorded about the model it built (``bootstrap.json``)."""
    return json.loads((model_dir / SUMMARY).read_text())


def fingerprint(corpus: Sequence[Example], recipe: Recipe) -> str:
    """A hash of what the model is trained from and how, so the cache is reused exactly when nothing changed."""
    import tokenizers
    import torch
    import transformers

    payload = {"build": BUILD_VERSION, "recipe": asdict(recipe), "chat_template": CHAT_TEMPLATE,
               "special_tokens": SPECIAL_TOKENS, "corpus": [example.model_dump(mode="json") for example in corpus],
               "versions": [torch.__version__, transformers.__version__, tokenizers.__version__]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per data directory: a second process waits and then finds the model built."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _publish(staging: Path, target: Path) -> None:
    """Move a finished build into place with renames, so a reader never sees a half-written model."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


def _build(out: Path, rules: Rules, corpus: list[Example], recipe: Recipe, *, digest: str, progress: bool) -> None:
    """Train, save, load back the way every consumer will, measure, and write the summary."""
    import torch

    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(training_threads())
    try:
        bpe = train_bpe(corpus, recipe)
        tokenizer = as_transformers_tokenizer(bpe)
        model, final_loss = train_model(tokenizer, corpus, recipe, progress)
        trained = time.perf_counter()
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        check_tokenizer_round_trip(out, bpe, corpus)
        accuracy = measure(out, judged_questions(rules), rules)
    finally:
        torch.set_num_threads(threads)
    summary = {"fingerprint": digest, "shop": rules.name, "shop_fingerprint": rules.shop_fingerprint,
               "corpus_examples": len(corpus),
               "parameters": sum(p.numel() for p in model.parameters()), "recipe": asdict(recipe),
               "threads": training_threads(), "final_loss": round(final_loss, 5), "accuracy": accuracy,
               "train_s": round(trained - started, 1), "wall_s": round(time.perf_counter() - started, 1)}
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    _warn_below_bar(accuracy)


def training_threads() -> int:
    """Half the cores this process may use, at least one, at most four.

    Measured on a 2-core machine: two threads took 0.31 s a step against 0.50 s for one when the machine was
    idle, but three times as long as one thread when other work shared the cores (OpenMP threads spin while
    they wait for each other); the tiny model gains little beyond four.
    """
    return max(1, min(4, len(os.sched_getaffinity(0)) // 2))


def _warn_below_bar(accuracy: dict[str, dict[str, float]]) -> None:
    low = {f"{kind}/{locale}": share for kind, by_locale in accuracy.items() for locale, share in by_locale.items()
           if share < QUALITY_BAR and kind != "unseen"}
    if low:
        log.warning("embedded base model below the %.0f %% bar: %s", QUALITY_BAR * 100, low)


# --- tokenizer --------------------------------------------------------------------------------------------------


def train_bpe(corpus: Sequence[Example], recipe: Recipe) -> Any:
    """A byte-level BPE over the corpus, built exactly as ``Qwen2Tokenizer`` rebuilds itself when loaded.

    ``AutoTokenizer`` reconstructs a ``qwen2`` tokenizer from its vocabulary and merges with Qwen2's own
    pre-tokenizer (its split regex, NFC); a BPE trained with any other pre-tokenizer would load without error
    and encode differently (digits above all), so we train with that very pipeline.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=recipe.vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_texts(corpus), trainer)
    return bpe


def as_transformers_tokenizer(bpe: Any) -> Any:
    """The trained BPE as the ``Qwen2Tokenizer`` that ``AutoTokenizer`` will load: the project's chat template,
    ``<|end|>`` as eos, ``<|pad|>`` as pad, the role markers as special tokens, and no unknown token (a
    byte-level BPE needs none; Qwen2's default would add a token the model has no embedding for)."""
    from transformers import Qwen2Tokenizer

    merges = [tuple(pair) for pair in json.loads(bpe.to_str())["model"]["merges"]]
    return Qwen2Tokenizer(vocab=bpe.get_vocab(), merges=merges, unk_token=None, bos_token=None, eos_token=EOS,
                          pad_token=PAD, extra_special_tokens=list(SPECIAL_TOKENS[2:]), chat_template=CHAT_TEMPLATE)


def _texts(corpus: Sequence[Example]) -> list[str]:
    return sorted({text for ex in corpus for text in (ex.question, ex.answer, ex.context) if text})


def check_tokenizer_round_trip(directory: Path, bpe: Any, corpus: Sequence[Example]) -> None:
    """Fail the build unless the saved tokenizer, loaded by ``AutoTokenizer``, encodes every corpus text and
    prompt as the trained BPE does and decodes each back to itself."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    if len(loaded) != bpe.get_vocab_size() or (loaded.eos_token, loaded.pad_token) != (EOS, PAD):
        raise FlywheelError(f"tokenizer in {directory} loads with {len(loaded)} tokens, eos {loaded.eos_token!r}")
    prompts = [prompt_text(loaded, ex.question, ex.context) for ex in corpus]
    for text in _texts(corpus) + prompts:
        ids = loaded(text, add_special_tokens=False)["input_ids"]
        if ids != bpe.encode(text, add_special_tokens=False).ids or loaded.decode(ids) != text:
            raise FlywheelError(f"tokenizer in {directory} does not round-trip {text[:60]!r}")


# --- model ------------------------------------------------------------------------------------------------------


def new_model(tokenizer: Any, recipe: Recipe) -> Any:
    """A freshly initialised tiny Qwen2 whose special ids match the tokenizer (eos ends generation)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=recipe.hidden_size, intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.layers, num_attention_heads=recipe.heads, num_key_value_heads=recipe.kv_heads,
        max_position_embeddings=recipe.max_positions, tie_word_embeddings=True, bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(recipe.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def train_model(tokenizer: Any, corpus: Sequence[Example], recipe: Recipe, progress: bool) -> tuple[Any, float]:
    """Train a new model on the corpus answers (the prompt is context, not a target); returns it and its loss."""
    import torch
    from tqdm.auto import tqdm

    model = new_model(tokenizer, recipe)
    rows = [training_ids(tokenizer, ex.question, ex.answer, ex.context) for ex in corpus]
    stream = batches(rows, recipe.batch_size, tokenizer.pad_token_id, random.Random(recipe.seed),
                     focus=[ex.context is None for ex in corpus], focus_share=recipe.ungrounded_share)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, betas=(0.9, 0.95),
                                  weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(recipe.steps, recipe.warmup_steps, recipe.min_lr_ratio))
    model.train()
    recent: list[float] = []
    with tqdm(range(recipe.steps), desc="bootstrap base model", unit="step", disable=not progress) as bar:
        for _ in bar:
            input_ids, labels, positions = next(stream)
            loss = model(input_ids=input_ids, position_ids=positions, labels=labels, use_cache=False).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            recent = [*recent[-19:], loss.item()]
            bar.set_postfix(loss=f"{recent[-1]:.3f}", refresh=False)
    return model.eval(), sum(recent) / len(recent)


# --- quality ----------------------------------------------------------------------------------------------------


def judged_questions(rules: Rules) -> list[Judged]:
    """Every corpus question with the rule that judges its answer (the variant in the prompt when grounded, mostly
    other fact values than the shop's, so only reading the context passes; the rule in force when not), and the
    grounded questions once more under values the corpus never showed (``unseen``)."""
    grounded = [Judged(example, variant, "grounded") for rule in rules.answered if rule.policy
                for variant, example in grounded_cases(rule)]
    unseen = [Judged(example, variant, "unseen") for rule in rules.answered for variant in _unseen(rule)
              for example in rule_examples(variant, grounded=True)]
    ungrounded = [Judged(ex, rule, "ungrounded") for rule in rules.answered for ex in rule_examples(rule, grounded=False)]
    return grounded + ungrounded + unseen


def _unseen(rule: Rule) -> list[Rule]:
    """``rule`` with each numeric fact at a nearby value no corpus variant uses (none when there is none)."""
    if rule.policy is None:
        return []
    shown = {v for values in fact_options(rule.policy, VARIANTS).values() for v in values} | set(rule.facts.values())
    facts = dict(rule.facts)
    for name, value in rule.facts.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            fresh = [v for v in nearby(value) if v not in shown]
            if not fresh:
                return []
            facts[name] = fresh[len(fresh) // 2]
            shown.add(facts[name])
    policy = with_facts(rule.policy, facts) if facts != dict(rule.facts) else None
    return [replace(rule, policy=policy)] if policy else []


def measure(directory: Path, questions: Sequence[Judged], rules: Rules) -> dict[str, dict[str, float]]:
    """Share of questions, by kind and locale, whose greedy answer from the saved model states its rule."""
    from learners.model import answer, load_model

    judge = RuleJudge(rules)
    model, tokenizer = load_model(directory, device="cpu")
    replies = answer(model, tokenizer, [(q.example.question, q.example.context) for q in questions], batch_size=64)
    marks: dict[str, dict[str, list[bool]]] = {}
    for q, reply in zip(questions, replies, strict=True):
        verdict = judge(q.example.question, q.example.locale, q.rule, reply)
        marks.setdefault(q.kind, {}).setdefault(q.example.locale, []).append(verdict.correct)
    return {kind: {locale: round(sum(m) / len(m), 4) for locale, m in by_locale.items()}
            for kind, by_locale in marks.items()}
