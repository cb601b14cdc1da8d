"""A stream worker's web server serves its Prometheus metrics and nothing that reads its state: Faust's /table
pages would hand out join-table records (conversations) to anyone who reaches the pod, and /router its
cluster's layout. Built and asked in-process: no broker, no port."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from infra.settings import Settings
from streams.agents import Sinks, build

WEB_PORT = 6066
CLOSED = ("/table/", "/table/joins/", "/table/joins/some-key/", "/router/", "/router/joins/some-key/")


def statuses(settings: Settings, paths: tuple[str, ...]) -> dict[str, int]:
    """What the worker's web server answers each path with."""
    async def ask() -> dict[str, int]:
        app = build(settings, "kafka.invalid:9092", Sinks(settings), WEB_PORT)
        async with TestClient(TestServer(await app.web.wsgi())) as client:
            return {path: (await client.get(path)).status for path in paths}
    return asyncio.run(ask())


def test_the_worker_serves_metrics_but_no_table_or_router_page(settings: Settings):
    answers = statuses(settings, ("/metrics", *CLOSED))
    assert answers == {"/metrics": 200, **dict.fromkeys(CLOSED, 404)}
