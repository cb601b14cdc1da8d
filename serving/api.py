"""The chat API of the Ray Serve application: OpenAI-compatible endpoints in front of the model replicas.

Each customer message goes through the tiers the seeds describe, cheapest first:

1. **guards**: oversize or malformed requests are refused with a 4xx and one clear message (a body over
   ``FLYWHEEL_MAX_BODY_BYTES`` before it is read or parsed); a public caller names ``flywheel``, ``champion`` or
   ``canary``, an adapter by name only with the admin token; personal data is scrubbed from the question before
   anything else sees it;
2. **handoff**: a customer who asks for a person, or has asked ``FLYWHEEL_HANDOFF_AFTER_TURNS`` times, gets one;
3. **intent tier**: the router (``serving.knowledge``) names the intent; the policy in force for it is read from
   the feature store's online policy view, so a published rule is in the prompt seconds after the policy team
   publishes it; simple intents (``FLYWHEEL_FAQ_INTENTS``) are answered from the knowledge base directly;
4. **model**: the champion (or, for the canary's share of conversations, the canary) answers, grounded in that
   policy, from the cache when the same question met the same policy before;
5. **fallback**: when the model fails or is slower than ``FLYWHEEL_GENERATE_TIMEOUT_S`` the customer gets the
   FAQ answer of the intent, never a 5xx; so does a request the model replicas are too busy to queue.

Every answer is filtered (``serving.guards``) and names the adapter that gave it. A generation stops when its
request times out or its client goes away (``serving.engine``). The admin endpoints need
``FLYWHEEL_ADMIN_TOKEN``; unset, they are off, and a token that is set but empty, the template's placeholder or
shorter than 32 bytes stops the API at start.
"""

# No `from __future__ import annotations` here: FastAPI reads the handlers' annotations (``Request``) at runtime.
import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from ray import serve
from ray.serve.exceptions import BackPressureError

from infra.errors import FlywheelError
from infra.secrets import problem
from infra.settings import Settings, load_settings
from serving.engine import BASE
from serving.guards import HANDOFF_REPLY, UNAVAILABLE_REPLY, AnswerFilter, needs_handoff
from learners.rules import rules_in_force
from serving.knowledge import KnowledgeBase, detect_locale, fingerprint
from serving.metrics import CONTENT_TYPE, ServeMetrics
from serving.model_service import AnswerRequest, AnswerResult
from serving.schemas import ROUTED, ChatRequest, Served, Tier, chunk, completion, error, new_completion_id
from streams.events import Locale

log = logging.getLogger(__name__)

# How often the router re-reads the policy log for new rules and services (a parquet or PostgreSQL read); the
# rule text of a known intent is read from the online view on every request, so this only delays new intents.
KNOWLEDGE_POLL_S = 5.0
ADMIN_TOKEN_MIN_BYTES = 32
PUBLIC_MODELS = (ROUTED, "champion", "canary")

app = FastAPI(title="cs-flywheel chat API", docs_url=None, redoc_url=None)


def admin_key(settings: Settings) -> bytes | None:
    """The admin endpoints' bearer token, None when it is unset (the endpoints are off). A token that is set but
    empty, still the template's placeholder or shorter than 32 bytes is a ``FlywheelError``: serving refuses to
    start rather than guard promotion and rollback with a guessable secret, in the embedded default too."""
    if settings.admin_token is None:
        return None
    token = settings.admin_token.get_secret_value()
    why = "is empty" if not token.strip() else problem(token, min_bytes=ADMIN_TOKEN_MIN_BYTES)
    if why is not None:
        raise FlywheelError(f"FLYWHEEL_ADMIN_TOKEN {why}: set at least {ADMIN_TOKEN_MIN_BYTES} random bytes "
                            "(openssl rand -hex 32), or unset it to keep the admin endpoints off; refusing to start")
    return token.encode()


class ApiError(Exception):
    """A request the API refuses: HTTP status, OpenAI error code and a message for the caller."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None):
        super().__init__(message)
        self.status, self.code, self.param = status, code, param


@dataclass(frozen=True)
class Grounding:
    """The intent of a question and the policy text its answer is grounded on (all None when unsure)."""

    intent: str | None = None
    confidence: float | None = None
    policy_id: str | None = None
    policy_version: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    served: Served


class PromoteBody(BaseModel):
    adapter: str = Field(min_length=1, max_length=128)
    force: bool = False


class CanaryBody(BaseModel):
    share: float = Field(ge=0, le=1)


# Helpers come before the ingress class: `serve.ingress` captures the routes when the class is defined.
def _in_locale(texts_json: str | None, locale: Locale) -> str | None:
    """The text in ``locale`` of a JSON ``{locale: text}`` object, else its first text."""
    texts = json.loads(texts_json) if texts_json else {}
    return texts.get(locale) or next(iter(texts.values()), None)


def _model_name(reply: Reply) -> str:
    """What the response's ``model`` names: the adapter that answered, else the tier that did (``faq``...)."""
    return reply.served.adapter or reply.served.tier


def _first_error(exc: ValidationError) -> tuple[str, str | None]:
    """One clear message for an invalid body: its first problem, and the field it is in (None: the body)."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return (f"{where}: {first['msg']}" if where else first["msg"]), where or None


def _failure(exc: Exception) -> str:
    """Why the model gave no answer, as the fallback metric's reason: too slow, too busy to queue it, or failed."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "overload" if isinstance(exc, BackPressureError) else "error"


def _sse(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place, as an OpenAPI request body may hold it."""
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            return expand(defs[ref.rsplit("/", 1)[-1]]) if ref else {k: expand(v) for k, v in node.items()}
        return [expand(v) for v in node] if isinstance(node, list) else node

    return expand(schema)


# The chat handler reads its body itself (size first, then parsing, each refusal in OpenAI's error format), so
# FastAPI cannot derive the schema clients and fuzzers read from /openapi.json: it is declared here.
CHAT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _inlined(ChatRequest.model_json_schema())}}}}


@serve.deployment(name="ChatAPI")
@serve.ingress(app)
class ChatAPI:
    """The ingress replica: guards, tiers, the fallback, admin endpoints and metrics."""

    async def __init__(self, model: Any, settings: Settings | None = None):
        from features.config import store_config
        from features.online import OnlineFeatures
        from learners.registry import Registry
        from streams.anonymizer import Anonymizer

        self.settings = settings or load_settings()
        self.admin_key = admin_key(self.settings)
        self.model = model
        self.metrics = ServeMetrics()
        self.anonymizer = Anonymizer(self.settings.anonymizer_options())
        self.filter = AnswerFilter(self.anonymizer, self.settings.sensitive_words, self.settings.max_answer_chars)
        self.online = OnlineFeatures(store_config(self.settings))
        self.registry = Registry.open(self.settings)
        self.knowledge = await asyncio.to_thread(lambda: KnowledgeBase(rules_in_force(self.settings)))
        self.model_status: dict[str, Any] = {}
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    # --- background ---------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Follow the model replicas' state, and the policy log (new rules and services re-train the router)."""
        knowledge_due = time.monotonic() + KNOWLEDGE_POLL_S
        while True:
            await asyncio.sleep(self.settings.registry_poll_s)
            try:
                if time.monotonic() >= knowledge_due:
                    knowledge_due = time.monotonic() + KNOWLEDGE_POLL_S
                    await self._follow_policies()
                self.model_status = await asyncio.wait_for(self.model.status.remote(), 5)
                self.metrics.in_service({"champion": self.model_status["champion"],
                                         "canary": self.model_status["canary"]})
            except Exception as exc:  # noqa: BLE001 - keep watching; the answers have their own fallback
                log.warning("watch failed (%s: %s)", type(exc).__name__, exc)
                self.model_status = {}

    async def _follow_policies(self) -> None:
        rules = await asyncio.to_thread(rules_in_force, self.settings)
        if fingerprint(rules) != self.knowledge.fingerprint:
            self.knowledge = await asyncio.to_thread(KnowledgeBase, rules)
            log.info("knowledge base now holds %d intents", len(rules.rules))

    async def check_health(self) -> None:
        if self._watcher.done():
            raise RuntimeError("the policy and model watch stopped")

    # --- chat ---------------------------------------------------------------------------------------------

    @app.post("/v1/chat/completions", openapi_extra=CHAT_BODY)
    async def chat(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            chat = await self._parse(request)
        except ApiError as exc:
            self.metrics.refused(exc.status, exc.code)
            return JSONResponse(error(str(exc), code=exc.code, param=exc.param), status_code=exc.status)
        conversation_id = chat.conversation_id() or request.headers.get("x-conversation-id") or uuid.uuid4().hex
        turns = chat.customer_turns()
        locale = detect_locale(turns[-1])
        question = self.anonymizer.scrub(turns[-1]).text
        reply, asked, grounding = await self._plan(chat, conversation_id, question, locale, turns)
        if chat.stream:
            events = self._stream(reply, asked, grounding, locale, question, started)
            return StreamingResponse(events, media_type="text/event-stream")
        if asked is not None:
            reply = await self._generate(asked, grounding, locale, question)
        self.metrics.answered(reply.served.tier, time.perf_counter() - started, reply.served.adapter)
        return JSONResponse(completion(reply.text, reply.served), headers={"X-Flywheel-Adapter": _model_name(reply)})

    async def _body(self, request: Request) -> bytes:
        """The request body, refused (413) past ``FLYWHEEL_MAX_BODY_BYTES`` before more of it is read: at once
        when its declared length is larger, else as soon as what arrived is."""
        limit = self.settings.max_body_bytes
        too_large = ApiError(413, f"request body too large (at most {limit} bytes)", "request_too_large")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > limit:
                raise too_large
        return bytes(body)

    def _is_admin(self, request: Request) -> bool:
        """Whether the request carries the admin bearer token (compared in constant time)."""
        offered = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.admin_key is not None and hmac.compare_digest(offered.encode(), self.admin_key)

    async def _parse(self, request: Request) -> ChatRequest:
        body = await self._body(request)
        try:
            chat = ChatRequest.model_validate_json(body)
        except ValidationError as exc:
            message, where = _first_error(exc)
            raise ApiError(400, message, "invalid_request", where) from None
        if len(chat.messages) > self.settings.max_messages:
            raise ApiError(413, f"at most {self.settings.max_messages} messages per request", "too_many_messages",
                           "messages")
        if any(len(m.text) > self.settings.max_request_chars for m in chat.messages):
            raise ApiError(413, f"a message may have at most {self.settings.max_request_chars} characters",
                           "message_too_long", "messages")
        turns = chat.customer_turns()
        if not turns or not turns[-1].strip():
            raise ApiError(400, "the last customer (user) message is empty or missing", "no_question", "messages")
        self._check_pin(chat.model, self._is_admin(request))
        return chat

    def _check_pin(self, model: str, admin: bool) -> None:
        """A public caller names ``flywheel`` (routed), ``champion`` or ``canary``; with the admin token, also
        ``base`` or the champion's or canary's own name. A retired or rejected adapter is never in service.
        Anything else is a 404, judged on the replicas' last reported state (none: the fallback answers)."""
        if model not in PUBLIC_MODELS and not admin:
            raise ApiError(404, f"model {model!r} is not available: name flywheel, champion or canary (an adapter "
                                "by name needs the admin token)", "model_not_found", "model")
        status = self.model_status
        if model == ROUTED or not status:
            return
        served = status.get(model) if model in PUBLIC_MODELS else model in (status.get("champion"),
                                                                              status.get("canary"), BASE)
        if not served:
            raise ApiError(404, f"model {model!r} is not in service (see GET /v1/models)", "model_not_found",
                           "model")

    async def _plan(self, chat: ChatRequest, conversation_id: str, question: str, locale: Locale,
                    turns: list[str]) -> tuple[Reply | None, AnswerRequest | None, Grounding]:
        """The reply when a tier before the model settles the request (handoff, FAQ), else what the model is
        asked; and the grounding either way."""
        if needs_handoff(turns, self.settings.handoff_after_turns):
            served = Served(adapter=None, tier="handoff", conversation_id=conversation_id, handoff=True)
            return Reply(HANDOFF_REPLY[locale], served), None, Grounding()
        grounding = await self._ground(question)
        rule = self.knowledge.rule(grounding.intent)
        if rule is not None and rule.handoff:  # an intent the shop has a human answer
            served = self._served("handoff", None, conversation_id, grounding, handoff=True)
            return Reply(self.filter(rule.answer(locale)), served), None, grounding
        faq = self._faq(grounding, locale, question)
        if faq is not None:
            return Reply(self.filter(faq), self._served("faq", None, conversation_id, grounding)), None, grounding
        return None, self._ask(chat, conversation_id, question, locale, grounding), grounding

    async def _generate(self, asked: AnswerRequest, grounding: Grounding, locale: Locale, question: str) -> Reply:
        """The model's answer, or the FAQ fallback when it fails or is too slow."""
        try:
            result: AnswerResult = await asyncio.wait_for(self.model.answer.remote(asked),
                                                          self.settings.generate_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a slow, busy or dead replica: the customer still gets an answer
            reason = _failure(exc)
            if reason == "error":
                log.warning("model call failed (%s); answering from the FAQ", type(exc).__name__)
            return self._fallback(reason, locale, question, asked.conversation_id, grounding)
        tier: Tier = "cache" if result.cached else "model"
        return Reply(self.filter(result.text), self._served(tier, result.adapter, asked.conversation_id, grounding))

    async def _ground(self, question: str) -> Grounding:
        """The question's intent and the policy in force for it: the online view when it holds the intent (it is
        written the moment a version takes effect), else the knowledge base."""
        routed = self.knowledge.route(question)
        if routed is None or routed.confidence < self.settings.route_min_confidence:
            return Grounding(confidence=routed.confidence if routed else None)
        known = self.knowledge.rules[routed.label]
        online = await asyncio.to_thread(self.online.policy_for_intent, routed.label)
        if online is not None and online.version >= (known.version or 0):
            policy_id, version, texts = online.policy_id, online.version, online.text
        elif known.policy is not None:
            policy_id, version, texts = known.policy_id, known.version, dict(known.policy.text)
        else:
            return Grounding(routed.label, routed.confidence)
        return Grounding(routed.label, routed.confidence, policy_id, version, json.dumps(texts, ensure_ascii=False))

    def _faq(self, grounding: Grounding, locale: Locale, question: str) -> str | None:
        """The knowledge base's answer when the intent is a simple one the FAQ tier owns."""
        if grounding.intent not in self.settings.faq_intents or \
                (grounding.confidence or 0.0) < self.settings.faq_min_confidence:
            return None
        return self._knowledge_answer(grounding, locale, question)

    def _knowledge_answer(self, grounding: Grounding, locale: Locale, question: str) -> str | None:
        """The answer of the version in force: the knowledge base's when it already holds that version, else the
        rule's own text (fresh from the online view)."""
        known = self.knowledge.rule(grounding.intent)
        if known is not None and known.version == grounding.policy_version:
            return self.knowledge.faq_answer(known.intent, locale, question)
        return _in_locale(grounding.text, locale)

    def _ask(self, chat: ChatRequest, conversation_id: str, question: str, locale: Locale,
             grounding: Grounding) -> AnswerRequest:
        """The model's input: the customer's (scrubbed) words, or the closest published example question when
        ``FLYWHEEL_CANONICAL_QUESTIONS`` is on, grounded in the policy text in the customer's language."""
        if self.settings.canonical_questions and grounding.intent is not None:
            question = self.knowledge.canonical(grounding.intent, locale, question)
        return AnswerRequest(conversation_id=conversation_id, question=question,
                             context=_in_locale(grounding.text, locale),
                             adapter=None if chat.model == ROUTED else chat.model)

    def _fallback(self, reason: str, locale: Locale, question: str, conversation_id: str,
                  grounding: Grounding) -> Reply:
        """The FAQ answer when the model cannot answer; with no known intent, a human takes over."""
        self.metrics.fell_back(reason)
        text = self._knowledge_answer(grounding, locale, question) if grounding.intent else None
        if text is None:
            return Reply(UNAVAILABLE_REPLY[locale], Served(adapter=None, tier="fallback",
                                                           conversation_id=conversation_id, handoff=True))
        return Reply(self.filter(text), self._served("fallback", None, conversation_id, grounding))

    @staticmethod
    def _served(tier: Tier, adapter: str | None, conversation_id: str, grounding: Grounding,
                handoff: bool = False) -> Served:
        return Served(adapter=adapter, tier=tier, conversation_id=conversation_id, intent=grounding.intent,
                      confidence=grounding.confidence, policy_id=grounding.policy_id,
                      policy_version=grounding.policy_version, handoff=handoff)

    # --- streaming ----------------------------------------------------------------------------------------

    async def _stream(self, reply: Reply | None, asked: AnswerRequest | None, grounding: Grounding,
                      locale: Locale, question: str, started: float) -> AsyncIterator[str]:
        """Server-sent events in OpenAI's chunk format. The model's pieces pass the filter as they come, within
        the same time limit as a whole answer; if the model fails before the customer saw any of its answer, the
        FAQ fallback is sent instead. Leaving early (the limit, the length limit, a client gone) cancels the
        model's stream, which stops its generation."""
        completion_id = new_completion_id()
        guard, adapter = self.filter.stream(), None
        if asked is not None:
            pieces = self.model.options(stream=True).stream.remote(asked)
            deadline = asyncio.get_running_loop().time() + self.settings.generate_timeout_s
            try:
                adapter = (await self._next_piece(pieces, deadline))["adapter"]
                while not guard.full and (piece := await self._next_piece(pieces, deadline)) is not None:
                    if text := guard.feed(piece["text"]):
                        yield _sse(chunk(completion_id, adapter, {"content": text}))
            except Exception as exc:  # noqa: BLE001 - same contract as the non-streamed answer
                log.warning("model stream failed (%s)", type(exc).__name__)
                if not guard.sent:
                    reply = self._fallback(_failure(exc), locale, question, asked.conversation_id, grounding)
            finally:
                pieces.cancel()
        if reply is None:
            reply = Reply(guard.finish(), self._served("model", adapter, asked.conversation_id, grounding))
            first = {"content": reply.text}
        else:
            first = {"role": "assistant", "content": reply.text}
        model = _model_name(reply)
        if first["content"]:
            yield _sse(chunk(completion_id, model, first))
        yield _sse(chunk(completion_id, model, {}, "stop", reply.served))
        yield "data: [DONE]\n\n"
        self.metrics.answered(reply.served.tier, time.perf_counter() - started, reply.served.adapter)

    @staticmethod
    async def _next_piece(pieces: Any, deadline: float) -> dict[str, str] | None:
        """The model stream's next item, None at its end; a ``TimeoutError`` once ``deadline`` has passed."""
        try:
            return await asyncio.wait_for(pieces.__anext__(), max(0.0, deadline - asyncio.get_running_loop().time()))
        except StopAsyncIteration:
            return None

    # --- models, health, metrics --------------------------------------------------------------------------

    @app.get("/v1/models")
    async def models(self) -> dict[str, Any]:
        """The routed default, the base model and every adapter that has not been rejected, with its state."""
        records = await asyncio.to_thread(self.registry.list)
        created = int(time.time())
        data = [{"id": ROUTED, "object": "model", "created": created, "owned_by": "cs-flywheel",
                 "description": "the champion, or the canary for its share of conversations"},
                {"id": "base", "object": "model", "created": created, "owned_by": "cs-flywheel",
                 "base_model": self.model_status.get("base_model")}]
        data += [{"id": r.name, "object": "model", "created": int(r.created.timestamp()), "owned_by": "cs-flywheel",
                  "state": r.state, "loaded": r.name in self.model_status.get("loaded", [])}
                 for r in records if r.state != "rejected"]
        return {"object": "list", "data": data}

    @app.get("/health")
    async def health(self) -> dict[str, Any]:
        """``ok`` while the model replicas answer; ``degraded`` while only the FAQ fallback does; what one model
        replica serves and holds loaded."""
        status = self.model_status
        return {"status": "ok" if status else "degraded", "champion": status.get("champion"),
                "canary": status.get("canary"), "canary_share": status.get("canary_share"),
                "loaded": status.get("loaded"),
                "model_replica_pid": status.get("pid"), "intents": len(self.knowledge.rules.rules),
                "policies": sum(r.policy is not None for r in self.knowledge.rules.rules.values())}

    @app.get("/metrics")
    async def prometheus(self) -> Response:
        return Response(self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    # --- admin --------------------------------------------------------------------------------------------

    @app.post("/admin/promote")
    async def promote(self, request: Request) -> Response:
        """Make an adapter the champion; refused unless its offline gates passed, or ``force`` is set."""
        from serving.promotion import promote_checked

        async def act(body: PromoteBody) -> dict[str, Any]:
            record = await asyncio.to_thread(promote_checked, self.settings, body.adapter, body.force)
            return {"champion": record.name, "in_service_within_s": self.settings.registry_poll_s}

        return await self._admin(request, PromoteBody, act)

    @app.post("/admin/rollback")
    async def rollback(self, request: Request) -> Response:
        """Reject the champion and restore the one before it."""
        from serving.promotion import roll_back

        async def act(_: None) -> dict[str, Any]:
            record = await asyncio.to_thread(roll_back, self.settings, "rolled back through the admin API")
            return {"champion": record.name, "in_service_within_s": self.settings.registry_poll_s}

        return await self._admin(request, None, act)

    @app.post("/admin/canary")
    async def canary(self, request: Request) -> Response:
        """Set the share of conversations the canary answers."""

        async def act(body: CanaryBody) -> dict[str, Any]:
            await asyncio.to_thread(self.registry.set_canary_share, body.share)
            return {"canary_share": body.share}

        return await self._admin(request, CanaryBody, act)

    async def _admin(self, request: Request, body_type: type[BaseModel] | None, act: Any) -> Response:
        """Check the bearer token, parse the body, act; every refusal is one clear message."""
        if self.admin_key is None:
            self.metrics.refused(403, "admin_disabled")
            return JSONResponse(error("admin endpoints are disabled: set FLYWHEEL_ADMIN_TOKEN", "permission_error",
                                      "admin_disabled"), status_code=403)
        if not self._is_admin(request):
            self.metrics.refused(401, "bad_token")
            return JSONResponse(error("missing or wrong bearer token", "authentication_error", "bad_token"),
                                status_code=401)
        try:
            body = body_type.model_validate_json(await self._body(request)) if body_type else None
            return JSONResponse(await act(body))
        except ApiError as exc:
            return JSONResponse(error(str(exc), code=exc.code), status_code=exc.status)
        except ValidationError as exc:
            return JSONResponse(error(_first_error(exc)[0], code="invalid_request"), status_code=400)
        except FlywheelError as exc:
            return JSONResponse(error(str(exc), code="refused"), status_code=409)
