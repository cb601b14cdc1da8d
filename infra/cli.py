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
        change=args.change, error_rate=args.error_rate, stale=args.stale, rate_per_s=args.rate,
        source=args.source, start=args.start or datetime.now(UTC),
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


# --- benchmarks -------------------------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> None:
    from bench.common import run_benchmark

    result = run_benchmark(args.name, _settings(), args.json_file)
    print(json.dumps(result, indent=2))


# --- the demo ---------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    from infra.demo import run_demo

    run_demo(_settings(), out=args.out, dialogs=args.dialogs, seed=args.seed)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


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
    sim.add_argument("--error-rate", type=_share, default=0.1, help="share of wrong oracle answers")
    sim.add_argument("--stale", action="store_true", help="the oracle ignores policy changes")
    sim.add_argument("--source", choices=["world", "banking77"], default="world",
                     help="the simulated policy world, or a replay of the banking77 dataset")
    sim.add_argument("--start", type=_aware_time, default=None, metavar="ISO_TIME",
                     help="simulated clock start (default: now); fix it to reproduce events exactly")

    features = command("features", cmd_features, "the Feast feature store: register definitions, show contents")
    features.add_argument("action", choices=["apply", "show"],
                          help="apply: create the logs and register the definitions; show: views, rows, last write")

    bench = command("bench", cmd_bench, "run a benchmark and write its JSON result", json_flag=False)
    bench.add_argument("name", choices=BENCHMARKS, help="what to measure")
    bench.add_argument("--json", dest="json_file", type=Path, required=True, metavar="FILE",
                       help="where to write the result")

    demo = command("demo", cmd_demo, "bring the stack up, stream traffic through it, print a live summary",
                   json_flag=False)
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="where the demo writes its report")
    demo.add_argument("--dialogs", type=_positive_int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
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
