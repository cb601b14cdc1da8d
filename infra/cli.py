"""``flywheel``: the one command-line entry point.

Each command imports what it needs when it runs, so ``flywheel --help`` and quick commands start fast
(feast, Ray and torch each cost seconds to import). Wrong usage is one line on stderr and exit status 2;
a failure the user can act on (``FlywheelError``) is one line and exit status 1; neither prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from infra.errors import FlywheelError

T = TypeVar("T")


class _Parser(argparse.ArgumentParser):
    """argparse, except that wrong usage is a single line instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _settings():
    from infra.settings import load_settings

    return load_settings()


def _validated(args: argparse.Namespace, model: type[T], **fields: Any) -> T:
    """Build an options model from flags; a combination it rejects is a usage error (one line, exit 2)."""
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        args.parser.error(f"{where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}")


def _emit(args: argparse.Namespace, doc: Any, text: str) -> None:
    """Print ``doc`` as JSON under ``--json``, else the human-readable ``text``."""
    print(json.dumps(doc, indent=2, default=str) if getattr(args, "json", False) else text)


# --- stack ------------------------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> None:
    from infra import stack

    state = stack.up(_settings(), workers=args.workers)
    _emit(args, state.model_dump(mode="json"),
          f"stack up: broker at {state.bootstrap} ({'embedded' if state.embedded else 'external'})")


def cmd_down(args: argparse.Namespace) -> None:
    from infra import stack

    stopped = stack.down(_settings())
    _emit(args, {"stopped": [p.model_dump(mode="json") for p in stopped]},
          "stack down: " + (", ".join(f"{p.name} (pid {p.pid})" for p in stopped) or "nothing was running"))


def cmd_status(args: argparse.Namespace) -> None:
    from infra import stack

    status = stack.status(_settings())
    lines = [f"broker {status.bootstrap} ({'embedded' if status.embedded else 'external'})"]
    lines += [f"  {p.name:<10} pid {p.pid:<8} {'running' if p.running else 'STOPPED'}"
              + (f"  metrics {p.metrics_url}" if p.metrics_url else "") for p in status.processes]
    lines += [f"  {t.name:<22} {t.partitions} partitions  {t.messages} messages" for t in status.topics]
    _emit(args, status.model_dump(mode="json"), "\n".join(lines))


# --- traffic ----------------------------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> None:
    from infra import stack
    from simulator.run import SimulateOptions, simulate

    settings = _settings()
    options = _validated(args, SimulateOptions,
        dialogs=args.dialogs, seed=args.seed, locale=args.locale, policy_change_at=args.policy_change_at,
        change=args.change, change_intent=args.change_intent, error_rate=args.error_rate, stale=args.stale,
        rate_per_s=args.rate, source=args.source, start=args.start or datetime.now(UTC),
        shop=args.shop or settings.shop,
    )
    summary = simulate(settings, stack.bootstrap_servers(settings), options, progress=not args.json)
    _emit(args, summary.model_dump(mode="json"), summary.describe())


# --- stream workers ---------------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> None:
    from streams.worker import run_worker

    run_worker(_settings(), web_port=args.web_port, loglevel=args.loglevel)


def cmd_anonymize(args: argparse.Namespace) -> None:
    import io

    from streams.anonymizer import Anonymizer, anonymize_lines

    # invalid UTF-8 becomes an error line for that input line instead of ending the run
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
    sys.stdout.reconfigure(encoding="utf-8")
    report = anonymize_lines(stdin, sys.stdout, Anonymizer(_settings().anonymizer_options()))
    print(f"anonymized {report.lines} lines: {report.entities} entities replaced, {report.errors} malformed lines",
          file=sys.stderr)


# --- feature store ----------------------------------------------------------------------------------------


def cmd_features(args: argparse.Namespace) -> None:
    from features import repository
    from features.config import store_config

    config = store_config(_settings())
    if args.action == "apply":
        doc = repository.apply(config)
        text = f"applied the {config.kind} feature store (project {config.project})"
    else:
        doc = repository.describe(config)
        text = json.dumps(doc, indent=2, default=str)
    _emit(args, doc, text)


# --- learners ---------------------------------------------------------------------------------------------


def _log_progress() -> None:
    """Readable progress lines on stderr for the long learner commands."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for chatty in ("great_expectations", "bitsandbytes", "feast"):  # their INFO lines are not our progress
        logging.getLogger(chatty).setLevel(logging.WARNING)


def cmd_bootstrap(args: argparse.Namespace) -> None:
    from learners.bootstrap import bootstrap, read_summary

    path = bootstrap(_settings(), force=args.force, progress=not args.json)
    summary = read_summary(path)
    _emit(args, summary, f"embedded base model at {path}\n" + json.dumps(summary, indent=2, default=str))


def cmd_retrain(args: argparse.Namespace) -> None:
    _log_progress()
    settings = _settings()
    if args.schedule:
        from learners.schedule import run_scheduled
        from serving.promotion import promote
        from serving.watch import watch_champion

        run_scheduled(settings, promote=lambda name: promote(settings, name).state,
                      watch=lambda: watch_champion(settings))
        return
    from learners.refresh import run_refresh

    result = run_refresh(settings, progress=not args.json)
    evaluation = result.evaluation
    _emit(args, result.model_dump(mode="json"),
          f"built {result.adapter} ({result.state}) from {result.snapshot}: {result.examples} examples, "
          f"policy accuracy {evaluation['policy_accuracy']:.1%}, knowledge accuracy "
          f"{evaluation['knowledge_accuracy']:.1%}, {result.wall_s:.0f} s")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from learners.model import resolve_base_model
    from learners.refresh import evaluate_adapter
    from learners.registry import Registry

    settings = _settings()
    adapter_dir = None if args.adapter == "base" else Registry.open(settings).get(args.adapter).path
    report = evaluate_adapter(settings, resolve_base_model(settings, progress=not args.json), adapter_dir,
                              args.adapter)
    summary = report.summary()
    _emit(args, report.model_dump(mode="json"), "\n".join(f"{k}: {v}" for k, v in summary.items()))


def cmd_adapters(args: argparse.Namespace) -> None:
    from learners.registry import Registry

    records = Registry.open(_settings()).list()
    lines = [f"{r.name:<32} {r.state:<10} {r.created:%Y-%m-%d %H:%M}  snapshot {r.lineage.get('snapshot')}"
             for r in records]
    _emit(args, [r.model_dump(mode="json") for r in records], "\n".join(lines) or "no adapters yet")


def cmd_dataset(args: argparse.Namespace) -> None:
    if args.action == "import" and args.source is None:  # before the imports: wrong usage answers at once
        args.parser.error("dataset import needs a FILE")
    from learners import dataset

    settings = _settings()
    if args.action == "list":
        snapshots = dataset.list_snapshots(settings)
        _emit(args, [s.manifest for s in snapshots],
              "\n".join(f"{s.name}  {s.manifest['counts']['total']} examples  parent {s.manifest['parent']}"
                        for s in snapshots) or "no snapshots yet")
    elif args.action == "export":
        from learners.formats import export_dataset

        snapshot = dataset.load_snapshot(settings, args.source) if args.source else dataset.latest_snapshot(settings)
        if snapshot is None:
            raise FlywheelError("there is no snapshot to export yet (run `flywheel retrain`)")
        path = export_dataset(snapshot.examples(), args.out, snapshot.name, args.format)
        _emit(args, {"snapshot": snapshot.name, "file": str(path)}, f"exported {snapshot.name} to {path}")
    else:
        from learners.formats import read_alpaca, read_sharegpt
        from streams.anonymizer import Anonymizer

        reader = read_alpaca if args.format == "alpaca" else read_sharegpt
        examples = reader(Path(args.source), Anonymizer(settings.anonymizer_options()), intent=args.intent)
        snapshot = dataset.build_base_snapshot(settings, examples, name_hint="import")
        _emit(args, snapshot.manifest, f"imported {len(examples)} examples as snapshot {snapshot.name}; the next "
              "refresh builds on it")


def cmd_intents(args: argparse.Namespace) -> None:
    needed = "out" if args.action == "train" else "model"
    if getattr(args, needed) is None:  # before the imports: wrong usage answers at once
        args.parser.error(f"intents {args.action} needs --{needed} DIR")
    from learners.intents import evaluate_csv, train_from_csv
    from streams.anonymizer import Anonymizer

    anonymizer = Anonymizer(_settings().anonymizer_options())
    if args.action == "train":
        doc = train_from_csv(args.csv, args.text_column, args.label_column, args.out, anonymizer)
    else:
        doc = evaluate_csv(args.csv, args.model, args.text_column, args.label_column, anonymizer)
    _emit(args, doc, json.dumps(doc, indent=2, default=str))


# --- policy -----------------------------------------------------------------------------------------------


def cmd_policy(args: argparse.Namespace) -> None:
    from streams.policy_file import publish_policy_file, read_policy_file

    if args.action == "keygen":
        _keygen(args)
        return
    if args.target is None:
        args.parser.error(f"policy {args.action} needs a {'policy id' if args.action == 'show' else 'policy file'}")
    if args.action == "show":
        _show_policy(args, _settings())
        return
    if args.action == "check":
        update, verb = read_policy_file(Path(args.target)), "valid"
    else:
        settings = _settings()
        update = publish_policy_file(settings, Path(args.target))
        verb = f"signed and published to {settings.topic_policy_updates}"
    _emit(args, update.model_dump(mode="json"), f"{args.target}: {update.policy_id} v{update.version} "
          f"({update.intent}, effective {update.effective_at.isoformat()}) {verb}")


def _keygen(args: argparse.Namespace) -> None:
    """A new Ed25519 key pair, printed as the settings that use it."""
    from streams.signing import KeyPair

    pair = KeyPair.generate(args.key_id or f"policy-{datetime.now(UTC):%Y%m%d}")
    public_keys = json.dumps({pair.key_id: pair.public_key})
    _emit(args, {"key_id": pair.key_id, "private_key": pair.private_key, "public_key": pair.public_key},
          "# the policy team only (it signs `flywheel policy publish`): keep it secret\n"
          f"FLYWHEEL_POLICY_KEY_ID={pair.key_id}\nFLYWHEEL_POLICY_SIGNING_KEY={pair.private_key}\n"
          "# stream workers: to rotate, add this key to the ones they trust, and drop the old one once unused\n"
          f"FLYWHEEL_POLICY_PUBLIC_KEYS='{public_keys}'")


def _show_policy(args: argparse.Namespace, settings: Any) -> None:
    """The version of a policy in force, as serving reads it from the feature store's policy view."""
    from dataclasses import asdict

    from feast.errors import FeastObjectNotFoundException

    from features.config import store_config
    from features.online import OnlineFeatures

    config = store_config(settings)
    unapplied = FlywheelError("the feature store has no definitions yet: run `flywheel features apply`")
    if config.kind == "embedded" and not config.root.exists():
        raise unapplied
    try:
        policy = OnlineFeatures(config).policy(args.target)
    except FeastObjectNotFoundException:
        raise unapplied from None
    if policy is None:
        raise FlywheelError(f"no version of policy {args.target} is in force")
    _emit(args, asdict(policy), f"{policy.policy_id} v{policy.version} ({policy.intent}) in force since "
          f"{policy.effective_at.isoformat()}, by {policy.author}\nfacts: {json.dumps(policy.facts)}\n"
          + "\n".join(f"{locale}: {text}" for locale, text in policy.text.items()))


# --- the shop ---------------------------------------------------------------------------------------------


def cmd_shop(args: argparse.Namespace) -> None:
    if args.action == "init":
        _shop_init(args)
        return
    from learners.rules import describe, rules_in_force, shop_rules
    from learners.shop import load_shop

    if args.action == "check":
        path = args.path or _settings().shop
        shop = load_shop(path)
        _emit(args, {"file": str(path), "name": shop.name, "intents": len(shop.intents), "policies": len(shop.policies),
                     "held_out": len(shop.held_out), "fingerprint": shop.fingerprint()},
              f"{path}: valid: {shop.name}, {len(shop.intents)} intents, {len(shop.policies)} policies, "
              f"{len(shop.held_out)} held-out questions")
        return
    settings = _settings() if args.path is None else _settings().model_copy(update={"shop": args.path})
    try:
        rules = rules_in_force(settings)
    except FlywheelError:
        raise
    except Exception as exc:  # noqa: BLE001 - no feature store yet: the shop file alone is what is in force
        rules = shop_rules(settings)
        print(f"flywheel: the policy log could not be read ({type(exc).__name__}): showing the shop file alone",
              file=sys.stderr)
    doc = describe(rules)
    _emit(args, doc, "\n".join([f"{doc['name']} ({', '.join(doc['locales'])})"] + [
        f"  {i['intent']:<24} {('policy ' + i['policy_id'] + ' v' + str(i['version'])) if i['policy_id'] else 'no policy':<30}"
        f" {len(i['examples'])} questions, {len(i['held_out'])} held out{'  (handoff)' if i['handoff'] else ''}"
        for i in doc["intents"]]))


def _shop_init(args: argparse.Namespace) -> None:
    if args.csv is None or args.out is None:  # before the imports: wrong usage answers at once
        args.parser.error("shop init needs --csv FILE and --out FILE")
    from learners.shop_init import draft_shop
    from streams.anonymizer import Anonymizer

    draft = draft_shop(args.csv, args.text_column, args.label_column, args.policies, args.out, name=args.name,
                       locale=args.locale, examples=args.examples, held_out=args.held_out,
                       anonymizer=Anonymizer(_settings().anonymizer_options()))
    _emit(args, draft, f"wrote {args.out}: {draft['intents']} intents, {draft['policies']} policy texts, "
          f"{draft['examples']} example and {draft['held_out']} held-out questions; check it with "
          f"`flywheel shop check {args.out}`")


# --- benchmarks -------------------------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> None:
    from bench.common import run_benchmark

    result = run_benchmark(args.name, _settings(), args.json_file)
    print(json.dumps(result, indent=2))


# --- serving ----------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> None:
    from serving.app import run_serve

    overrides = {k: v for k, v in (("serve_port", args.port), ("serve_host", args.host)) if v is not None}
    run_serve(_settings().model_copy(update=overrides))


def cmd_promote(args: argparse.Namespace) -> None:
    from serving.promotion import promote

    _log_progress()
    result = promote(_settings(), args.adapter, canary=not args.no_canary, force=args.force)
    lines = [f"{args.adapter} is {result.state} (champion before: {result.champion_before})"]
    lines += [f"  {g['gate']:<7} {g['verdict']:<5} {g['detail']}" for g in result.gates]
    lines += [f"  drift report: {result.drift_report}"] if result.drift_report else []
    _emit(args, result.model_dump(mode="json"), "\n".join(lines))


def cmd_rollback(args: argparse.Namespace) -> None:
    from serving.promotion import roll_back

    record = roll_back(_settings(), args.reason)
    _emit(args, record.model_dump(mode="json"), f"rolled back: {record.name} is the champion again")


def cmd_watch(args: argparse.Namespace) -> None:
    """One look of the watch over a new champion: what a CronJob runs where no scheduler daemon does."""
    from serving.watch import watch_champion

    result = watch_champion(_settings())
    doc = None if result is None else {"gate": result.gate, "verdict": result.verdict,
                                       "metrics": result.metrics, "detail": result.detail}
    _emit(args, doc, "no champion under watch" if result is None else f"watch {result.verdict}: {result.detail}")


# --- the demo ---------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    from infra.demo import DemoPlan, run_demo

    settings = _settings() if args.shop is None else _settings().model_copy(update={"shop": args.shop.resolve()})
    report = run_demo(settings, out=args.out, plan=DemoPlan(seed=args.seed))
    missed = [target["name"] for target in report["targets"] if not target["passed"]]
    if missed:  # the report is written either way; the exit status tells a script whether the loop closed
        raise FlywheelError(f"the demo ran, but {len(missed)} target(s) missed: {'; '.join(missed)} "
                            f"(see {args.out / 'report.html'})")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _key_id(text: str) -> str:
    from pydantic import TypeAdapter, ValidationError

    from infra.settings import KeyId

    try:
        return TypeAdapter(KeyId).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError("a key id is letters, digits and _.:-/, starting with a letter or "
                                         "digit") from None


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _aware_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"needs a timezone, for example {text}+00:00")
    return value


def build_parser() -> argparse.ArgumentParser:
    from bench.common import BENCHMARKS

    parser = _Parser(prog="flywheel", description="cs-flywheel: a customer-service model that learns from "
                     "its own traffic. Settings come from FLYWHEEL_* environment variables.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], None], help_: str,
                json_flag: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.set_defaults(handler=handler, parser=sub)
        if json_flag:
            sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
        return sub

    up = command("up", cmd_up, "start the stack in the background (embedded broker, topics, stream workers); "
                 "returns when ready")
    up.add_argument("--workers", type=int, default=1, metavar="N", help="stream workers to start (0: none)")
    command("down", cmd_down, "stop every process `flywheel up` started")
    command("status", cmd_status, "broker address, processes, topics with partition counts and end offsets")

    worker = command("worker", cmd_worker, "run one stream worker (workers with the same settings share the "
                     "partitions)", json_flag=False)
    worker.add_argument("--web-port", type=int, default=6066, help="port of the worker's /metrics endpoint")
    worker.add_argument("--loglevel", choices=["crit", "error", "warn", "info", "debug"], default="info")

    command("anonymize", cmd_anonymize, 'scrub personal data: JSON lines {"text": ...} on stdin, '
            '{"text", "entities"} on stdout', json_flag=False)

    sim = command("simulate", cmd_simulate, "stream simulated customer-service traffic into the stack")
    sim.add_argument("--dialogs", type=_positive_int, default=1000, help="conversations to produce")
    sim.add_argument("--rate", type=float, default=None, metavar="PER_S", help="conversations per second")
    sim.add_argument("--seed", type=int, default=0, help="the same seed produces the same events")
    sim.add_argument("--locale", choices=["zh", "en", "mixed"], default="mixed")
    sim.add_argument("--policy-change-at", type=int, default=None, metavar="N",
                     help="publish a policy change before conversation N")
    sim.add_argument("--change", choices=["rule", "new_service"], default="rule",
                     help="what the policy change is: a changed rule or a new service with a new intent")
    sim.add_argument("--change-intent", default=None, metavar="INTENT",
                     help="the rule changed or the service launched (default: the shop's most asked changeable "
                          "rule, or its first service)")
    sim.add_argument("--shop", type=Path, default=None, metavar="FILE",
                     help="the shop file whose customers to play (default: FLYWHEEL_SHOP)")
    sim.add_argument("--error-rate", type=_share, default=0.1, help="share of wrong oracle answers")
    sim.add_argument("--stale", action="store_true", help="the oracle ignores policy changes")
    sim.add_argument("--source", choices=["world", "banking77"], default="world",
                     help="the simulated policy world, or a replay of the banking77 dataset")
    sim.add_argument("--start", type=_aware_time, default=None, metavar="ISO_TIME",
                     help="simulated clock start (default: now); fix it to reproduce events exactly")

    features = command("features", cmd_features, "the Feast feature store: register definitions, show contents")
    features.add_argument("action", choices=["apply", "show"],
                          help="apply: create the logs and register the definitions; show: views, rows, last write")

    boot = command("bootstrap", cmd_bootstrap, "build the embedded base model from the shop's corpus "
                   "(cached in the data directory; skipped when FLYWHEEL_BASE_MODEL names a model)")
    boot.add_argument("--force", action="store_true", help="rebuild even if a cached model matches")
    retrain = command("retrain", cmd_retrain, "run a refresh now: snapshot, Ray Train LoRA job, evaluation, "
                      "registry")
    retrain.add_argument("--schedule", action="store_true",
                         help="keep running: refresh on FLYWHEEL_RETRAIN_CRON and after policy changes")
    evaluate = command("evaluate", cmd_evaluate, "evaluate an adapter (or `base`) on the rules in force")
    evaluate.add_argument("adapter", metavar="ADAPTER", help="a registry name (see `flywheel adapters`) or base")
    command("adapters", cmd_adapters, "list the adapter registry, newest first").add_argument(
        "action", choices=["list"], nargs="?", default="list")
    data = command("dataset", cmd_dataset, "training snapshots: list them, export one for LLaMA-Factory, import "
                   "your own alpaca or sharegpt data as a new snapshot")
    data.add_argument("action", choices=["list", "export", "import"])
    data.add_argument("source", nargs="?", metavar="NAME_OR_FILE",
                      help="export: a snapshot name (default: the latest); import: the file to read")
    data.add_argument("--format", choices=["alpaca", "sharegpt"], default="alpaca")
    data.add_argument("--out", type=Path, default=Path("exported"), help="export: the LLaMA-Factory dataset folder")
    data.add_argument("--intent", help="import: the intent of records that do not name one")
    intents = command("intents", cmd_intents, "the intent tier: train or evaluate a classifier on a labelled CSV")
    intents.add_argument("action", choices=["train", "eval"])
    intents.add_argument("--csv", type=Path, required=True, help="labelled CSV file")
    intents.add_argument("--text-column", default="text")
    intents.add_argument("--label-column", default="label")
    intents.add_argument("--out", type=Path, help="train: where to write the model directory")
    intents.add_argument("--model", type=Path, help="eval: the model directory")

    shop = command("shop", cmd_shop, "the shop definition: check a shop file, show the rules in force (the shop "
                   "file with every published policy), or draft a shop file from labelled questions")
    shop.add_argument("action", choices=["check", "show", "init"])
    shop.add_argument("path", nargs="?", type=Path, metavar="FILE",
                      help="check, show: a shop file (default: FLYWHEEL_SHOP)")
    shop.add_argument("--csv", type=Path, help="init: a CSV of customer questions with intent labels")
    shop.add_argument("--text-column", default="text", help="init: the question column")
    shop.add_argument("--label-column", default="label", help="init: the intent column")
    shop.add_argument("--policies", type=Path, default=None, metavar="DIR",
                      help="init: a folder of policy texts, one <intent>.txt (or <intent>.<locale>.txt) each")
    shop.add_argument("--out", type=Path, help="init: the shop file to write")
    shop.add_argument("--name", default=None, help="init: the shop's name (default: the CSV's name)")
    shop.add_argument("--locale", choices=["en", "zh"], default="en", help="init: the questions' language")
    shop.add_argument("--examples", type=_positive_int, default=20, help="init: example questions kept per intent")
    shop.add_argument("--held-out", type=_positive_int, default=6, help="init: held-out questions kept per intent")

    policy = command("policy", cmd_policy, "the policy team's rule changes: check a policy file, sign and publish "
                     "it to the policy topic, show the version in force, or make a new signing key pair (its "
                     "private key stays with the policy team; workers get only the public key)")
    policy.add_argument("action", choices=["publish", "check", "show", "keygen"])
    policy.add_argument("target", metavar="FILE_OR_ID", nargs="?",
                        help="publish, check: a JSON or YAML policy file; show: a policy id")
    policy.add_argument("--key-id", type=_key_id, default=None, metavar="ID",
                        help="keygen: the new key's id (default: policy-YYYYMMDD)")

    bench = command("bench", cmd_bench, "run a benchmark and write its JSON result", json_flag=False)
    bench.add_argument("name", choices=BENCHMARKS, help="what to measure")
    bench.add_argument("--json", dest="json_file", type=Path, required=True, metavar="FILE",
                       help="where to write the result")

    serve = command("serve", cmd_serve, "run the chat API (Ray Serve, OpenAI-compatible) in the foreground until "
                    "Ctrl-C", json_flag=False)
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default FLYWHEEL_SERVE_PORT, 8000)")
    serve.add_argument("--host", default=None, help="bind address (default FLYWHEEL_SERVE_HOST, 127.0.0.1)")

    promote = command("promote", cmd_promote, "take a candidate adapter through the gates (offline A/B, drift, "
                      "canary) and make it the champion if it passes")
    promote.add_argument("adapter", metavar="ADAPTER", help="a candidate's registry name")
    promote.add_argument("--no-canary", action="store_true", help="promote after the offline gates (no live scores)")
    promote.add_argument("--force", action="store_true", help="skip the gates (recorded as forced)")
    rollback = command("rollback", cmd_rollback, "reject the champion and restore the previous one")
    rollback.add_argument("--reason", default="rolled back by the operator", help="kept in the registry history")
    command("watch", cmd_watch, "one look at the champion under watch: its NPS and resolved share against the "
            "champion it replaced; a significant drop rolls it back (FLYWHEEL_WATCH_ROLLBACK)")

    demo = command("demo", cmd_demo, "the whole flywheel on the embedded defaults: traffic through the served "
                   "model, a policy change, the weekly refresh, gates, hot swap; writes OUT/report.html",
                   json_flag=False)
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="where the demo writes its report")
    demo.add_argument("--seed", type=int, default=7, help="the simulated customers and how the rules change")
    demo.add_argument("--shop", type=Path, default=None, metavar="FILE",
                      help="the shop to run the loop on (default: FLYWHEEL_SHOP, the demo shop)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except FlywheelError as exc:
        print(f"flywheel: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("flywheel: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
