"""A real chat API for integration tests: the stream pipeline (broker, worker, feature store) plus `flywheel
serve` (a Ray cluster of its own running the Serve application), started as a user starts them. Adapters come
from ``bench.adapters``: real LoRA files made in seconds."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.broker import free_port, stop_pid
from infra.workers import start_flywheel, wait_ready
from bench.adapters import make_adapter, register_adapter
from learners.registry import Registry
from serving.app import READY_LINE
from tests.pipeline_harness import Pipeline

ADMIN_TOKEN = "test-admin-token-of-at-least-32-bytes"  # serving refuses a shorter one
ADMIN_HEADER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class ServedStack:
    pipeline: Pipeline
    process: subprocess.Popen
    url: str
    log: Path

    @property
    def settings(self) -> Any:
        return self.pipeline.settings

    def client(self) -> Any:
        from openai import OpenAI

        return OpenAI(base_url=f"{self.url}/v1", api_key="unused", max_retries=0, timeout=30)

    def ask(self, question: str, conversation_id: str = "c-1", model: str = "flywheel",
            history: list[dict[str, str]] | None = None) -> Any:
        messages = [*(history or []), {"role": "user", "content": question}]
        return self.client().chat.completions.create(model=model, messages=messages,
                                                     metadata={"conversation_id": conversation_id})

    def text(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return response.read().decode()

    def get(self, path: str) -> dict[str, Any]:
        return json.loads(self.text(path))

    def chat(self, model: str, admin: bool = False) -> tuple[int, dict[str, Any]]:
        """POST one customer question naming ``model``, with the admin token or without: status and body."""
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": "how long does a refund take"}]})
        return self.post("/v1/chat/completions", body.encode(), ADMIN_HEADER if admin else None)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        """POST raw bytes; the status and the JSON body, for errors too."""
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def registry(self) -> Registry:
        return Registry.open(self.settings)

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_pid(self.process.pid, timeout_s=60, popen=self.process)
        self.pipeline.stop()


def start_served(root: Path, base_model: Path, champion_noise: float | None = 0.0, worker: bool = True,
                 **overrides: object) -> ServedStack:
    """Broker, feature store, one worker (unless not ``worker``) and the chat API on a free port; with
    ``champion_noise`` not None, a champion adapter is registered before serving starts."""
    port = free_port()
    pipeline = Pipeline.start(root, base_model=str(base_model), serve_port=port, admin_token=ADMIN_TOKEN,
                              registry_poll_s=0.2, **overrides)
    try:
        if worker:
            pipeline.start_worker()
        if champion_noise is not None:
            name = register_adapter(pipeline.settings, make_adapter(base_model, root / "adapters", champion_noise))
            Registry.open(pipeline.settings).promote(name, reason="test champion")
        log = pipeline.logs / "serve.log"
        process = start_flywheel(["serve"], pipeline.settings, log)
        stack = ServedStack(pipeline, process, f"http://127.0.0.1:{port}", log)
        wait_ready(process, log, timeout_s=300, ready_line=READY_LINE, what="chat API")
        return stack
    except BaseException:
        if "stack" in locals():
            stack.stop()
        else:
            pipeline.stop()
        raise
