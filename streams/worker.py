"""``flywheel worker``: one Faust worker process of the stream pipeline.

Several workers started with the same settings share one consumer group and split the partitions; each
serves its Prometheus metrics on its own ``--web-port``.
"""

from __future__ import annotations

import gc
import sys

from infra.settings import Settings
from infra.stack import bootstrap_servers, require_broker
from streams.signing import trusted_keys


def run_worker(settings: Settings, web_port: int, loglevel: str = "info") -> None:
    """Run until SIGTERM/SIGINT (Faust stops the agents, commits offsets and closes the sinks). A worker without
    usable policy keys, or without a broker, stops here with one line, before it consumes anything."""
    trusted_keys(settings)
    bootstrap = bootstrap_servers(settings)
    require_broker(settings, bootstrap)
    # Presidio imports Hugging Face's pipeline (about 4 s of CPU: a third of a worker's start) for an NLP engine
    # the worker never uses, and leaves that engine out when transformers cannot be imported.
    sys.modules.setdefault("transformers", None)
    import faust

    from streams.agents import Sinks, build

    sinks = Sinks(settings)
    sinks.start()
    try:
        app = build(settings, bootstrap, sinks, web_port)
        # Presidio, Feast and Great Expectations leave ~740k objects behind at start; every full collection
        # walked them all, a pause of 0.5 s and more in the middle of the stream (measured). They live as long
        # as the worker: move them out of the collector's sight.
        gc.freeze()
        faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        sinks.close()
