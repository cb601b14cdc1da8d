"""What every ``flywheel bench NAME --json FILE`` shares: run one benchmark, stamp it, write one JSON object.

Each result carries the machine, the settings used and the time, because numbers from these shared,
noisy machines mean nothing without them; ratios and medians come from one run of one benchmark.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.settings import Settings

BENCHMARKS = ("broker", "features", "streams", "train", "serve", "gates", "anonymizer")
"""Benchmark names; each is the module ``bench.<name>`` with ``run(settings) -> dict``."""


def machine() -> dict[str, Any]:
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_gb": round(pages * page_size / 2**30, 1),
    }


def run_benchmark(name: str, settings: Settings, out: Path) -> dict[str, Any]:
    """Run ``bench.<name>``, write its result with machine, settings and time to ``out``, return it."""
    module = importlib.import_module(f"bench.{name}")
    started = datetime.now(UTC)
    results = module.run(settings)
    doc = {
        "benchmark": name,
        **results,
        "machine": machine(),
        "settings": settings.model_dump(mode="json", exclude={"policy_signing_key", "sasl_password"}),
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    return doc
