"""The Ray Serve application: the chat API in front of the model replicas, and ``flywheel serve``.

``build_app`` is the import path a Ray Serve config or a KubeRay ``RayService`` names
(``serving.app:build_app``); every replica reads its settings from the ``FLYWHEEL_*`` environment.
``run_serve`` is the embedded default: it starts (or joins, with ``FLYWHEEL_RAY_ADDRESS``) a Ray cluster, runs
the application on ``FLYWHEEL_SERVE_HOST:FLYWHEEL_SERVE_PORT`` and keeps it up until interrupted.

Each deployment queues at most ``FLYWHEEL_MAX_QUEUED_REQUESTS`` requests per replica beyond those it is working
on: past that the API answers 503 at once (the proxy does), and the API answers a request the model replicas
cannot queue from the FAQ, instead of letting waits grow without bound under overload.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any

from infra.errors import FlywheelError
from infra.settings import Settings, load_settings

log = logging.getLogger(__name__)

APP_NAME = "flywheel"
READY_LINE = "chat API ready at"


def build_app(args: dict[str, Any] | None = None) -> Any:
    """The application (API ingress bound to the model deployment), with the replica count and queue limits from
    the settings; a bad admin token stops it here, before any replica starts."""
    from ray import serve
    from ray.serve.schema import LoggingConfig

    from serving.api import ChatAPI, admin_key
    from serving.model_service import ModelService

    settings = load_settings()
    admin_key(settings)
    quiet = LoggingConfig(enable_access_log=False)  # metrics count requests; a line per call floods the log
    queued = settings.max_queued_requests
    model = serve.deployment(ModelService, name="ChatModel", num_replicas=settings.serve_replicas,
                             ray_actor_options={"num_cpus": 1}, max_ongoing_requests=64, max_queued_requests=queued,
                             health_check_period_s=5, health_check_timeout_s=60, logging_config=quiet)
    return ChatAPI.options(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=256, max_queued_requests=queued,
                           logging_config=quiet).bind(model.bind())


def prepared(settings: Settings) -> Settings:
    """The settings replicas get: absolute paths (Ray workers run in directories of their own) and the base
    model resolved here, so the embedded model is built once, with progress on this screen, before Ray starts."""
    from features import repository
    from features.config import store_config
    from learners.model import resolve_base_model

    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    repository.apply(store_config(settings))  # the online policy view serving reads must exist
    return settings.model_copy(update={"base_model": resolve_base_model(settings)})


def _check_port_free(host: str, port: int) -> None:
    """Fail in one line before Ray starts, rather than with a proxy that cannot bind minutes later."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise FlywheelError(f"cannot serve on {host}:{port}: {exc.strerror} (set FLYWHEEL_SERVE_PORT or --port)") \
                from None


def run_serve(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then stop the application and the Ray cluster this call started. Settings
    that cannot work (a bad admin token, a taken port) fail in one line before anything starts."""
    import ray
    from ray import serve

    from serving.api import admin_key

    admin_key(settings)
    _check_port_free(settings.serve_host, settings.serve_port)
    settings = prepared(settings)
    os.environ.update(settings.as_env())  # the local cluster's processes, and so every replica, inherit them
    if settings.ray_address:
        ray.init(address=settings.ray_address, runtime_env={"env_vars": settings.as_env()}, configure_logging=False)
    else:
        ray.init(num_cpus=settings.serve_replicas + 1, include_dashboard=False, configure_logging=False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the cleanup below on `kill`, as on Ctrl-C
    try:
        serve.start(http_options={"host": settings.serve_host, "port": settings.serve_port})
        serve.run(build_app(), name=APP_NAME, route_prefix="/")
        print(f"{READY_LINE} http://{settings.serve_host}:{settings.serve_port}/v1", flush=True)
        while True:
            time.sleep(3600)
    finally:
        serve.shutdown()
        ray.shutdown()
