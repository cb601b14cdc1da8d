"""The whole learning loop on a shop built from real e-commerce guidelines (ABCD), with nothing of the simulator:
bootstrap → refresh → evaluation → A/B and drift gates → promotion → answers served for that shop, handoff intents
included, and an LLM judge over an OpenAI-compatible endpoint (the project's own chat API)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.serving_harness import start_served

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ABCD = REPO / "shops" / "abcd" / "shop.yaml"
# Bootstrap, refresh and promotion in a process of their own, so that what they import is theirs alone. The base
# model is a smaller, shorter build than the default recipe (ABCD's English answers are long: the default takes 7
# minutes here).
LOOP = """
import json, sys
from pathlib import Path
from features import repository
from features.config import store_config
from infra.settings import Settings
from learners.bootstrap import Recipe, bootstrap
from learners.refresh import run_refresh
from serving.promotion import promote

data, shop = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(data_dir=data, shop=shop, train_steps=40, snapshot_min_examples=50)
small = Recipe(hidden_size=128, intermediate_size=256, layers=2, heads=4, kv_heads=4, steps=160)
base = bootstrap(settings, progress=False, recipe=small)
settings = settings.model_copy(update={"base_model": str(base)})
repository.apply(store_config(settings))
built = run_refresh(settings, progress=False)
promoted = promote(settings, built.adapter, canary=False)
print(json.dumps({"base": str(base), "adapter": built.adapter, "evaluation": built.evaluation,
                  "state": promoted.state, "gates": promoted.gates,
                  "simulator": sorted(m for m in sys.modules if m.split(".")[0] == "simulator")}))
"""


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("abcd")
    done = subprocess.run([sys.executable, "-c", LOOP, str(root / "data"), str(ABCD)], capture_output=True,
                          text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"root": root, **json.loads(done.stdout.strip().splitlines()[-1])}


@pytest.fixture(scope="module")
def served(loop):
    stack = start_served(loop["root"], Path(loop["base"]), champion_noise=None, worker=False, shop=ABCD)
    try:
        yield stack
    finally:
        stack.stop()


def test_the_loop_runs_on_the_abcd_shop_without_the_simulator(loop):
    assert loop["simulator"] == []
    assert loop["state"] == "champion", loop["gates"]
    assert [(g["gate"], g["verdict"]) for g in loop["gates"]] == [("ab", "pass"), ("drift", "pass")]
    evaluation = loop["evaluation"]
    assert evaluation["judges"].keys() == {"facts", "reference"}
    assert evaluation["held_out_cases"] > 0 and "membership_returns" in evaluation["policy_by_intent"]
    assert evaluation["policy_accuracy"] >= 0.9 and evaluation["knowledge_accuracy"] >= 0.8


def test_the_served_model_answers_the_shop_s_own_rules(loop, served):
    from learners.judge import RuleJudge
    from learners.rules import shop_rules

    reply = served.ask("I'm a bronze member, how long do I have to return a jacket?")
    flywheel = reply.model_extra["flywheel"]
    assert reply.model == loop["adapter"] and flywheel["tier"] in ("model", "cache")
    assert (flywheel["intent"], flywheel["policy_id"]) == ("membership_returns", "tiered-return-eligibility")
    rules = shop_rules(served.settings)
    verdict = RuleJudge(rules)("", "en", rules["membership_returns"], reply.choices[0].message.content)
    assert verdict == (True, "facts")


def test_an_intent_the_shop_gives_a_human_is_handed_off(served):
    reply = served.ask("there's a strange extra fee on my order that I never agreed to", "fee-1")
    flywheel = reply.model_extra["flywheel"]
    assert flywheel["tier"] == "handoff" and flywheel["handoff"] is True
    assert flywheel["intent"] == "order_mystery_fee" and reply.model == "handoff"


def test_an_llm_judge_over_the_chat_api_judges_every_case_or_says_it_could_not(loop, served):
    """The project's own chat API is an OpenAI-compatible endpoint: every case asks it, and since a shop's model
    answers with the shop's rules rather than YES or NO, each case says the rule judge decided."""
    from dataclasses import replace

    from learners.evaluate import evaluate
    from learners.llm_judge import judge_for
    from learners.refresh import load_with_adapter
    from learners.rules import shop_rules

    def requests() -> float:
        text = served.text("/metrics")
        return sum(float(v) for v in re.findall(r'^flywheel_serve_requests_total\{[^}]*\} (\S+)$', text, re.M))

    settings = served.settings.model_copy(update={"judge_url": f"{served.url}/v1", "judge_model": "flywheel"})
    rules = shop_rules(settings)
    some = replace(rules, rules={i: rules[i] for i in ("membership_returns", "password_reset")})
    model, tokenizer = load_with_adapter(loop["base"], served.registry().get(loop["adapter"]).path)
    asked_before = requests()
    report = evaluate(model, tokenizer, some, name=loop["adapter"], judge=judge_for(settings, rules), pii_questions=0)
    assert report.judges.keys() <= {"facts (llm unclear)", "reference (llm unclear)", "llm:flywheel"}
    assert report.judges.keys() >= {"facts (llm unclear)", "reference (llm unclear)"}
    assert sum(report.judges.values()) == len(report.cases) > 30
    assert requests() - asked_before >= len(report.cases)
