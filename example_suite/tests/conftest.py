"""Fixtures that run the support assistant's tests against mocked provider APIs.

By default, respx mocks the OpenAI and Anthropic HTTP APIs. Each test queues the
responses its code will receive, with the token usage that the provider would
report, and LiteLLM prices those responses like real ones, so pytest-llmcost
shows what the suite would cost live. The mocks work at the HTTP layer, so the
code under test runs unchanged: LiteLLM builds real requests and parses the
providers' JSON and server-sent event formats.

Set LLMCOST_EXAMPLE_LIVE=1 to call the real APIs instead. Nothing is mocked
then, and the run needs OPENAI_API_KEY and ANTHROPIC_API_KEY and spends money.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

# LiteLLM downloads its price map when imported unless this variable is "True".
# pytest-llmcost sets it before conftest files load. This line covers runs with
# the plugin disabled (-p no:llmcost), so it must stay above the first import of
# LiteLLM, and it keeps any value the user set.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import openai  # noqa: E402
from support_assistant import AssistantConfig, FaqEntry, FaqIndex, gateway_client  # noqa: E402

LIVE_VARIABLE = "LLMCOST_EXAMPLE_LIVE"
LIVE = os.environ.get(LIVE_VARIABLE) == "1"
API_KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"

# The mocked providers name the dated snapshot behind a model alias in their
# responses, as the real APIs do. LiteLLM's price map has the same prices for both names.
MODEL_SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}

CREATED = 1_760_000_000  # Unix time in the mocked responses, fixed so runs repeat.
EMBEDDING_DIMENSIONS = 256


# -- pytest hooks --------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    # pytest-llmcost registers the marker. This keeps it known when the plugin is disabled.
    if not config.pluginmanager.hasplugin("llmcost"):
        config.addinivalue_line(
            "markers", "llm_budget(usd): LLM budget of a test, enforced by pytest-llmcost"
        )
    if LIVE:
        missing = [name for name in API_KEY_VARIABLES if not os.environ.get(name)]
        if missing:
            raise pytest.UsageError(
                f"{LIVE_VARIABLE}=1 calls the real provider APIs, but {', '.join(missing)} "
                f"is not set: set the key(s), or unset {LIVE_VARIABLE} to use the mocks"
            )


def pytest_report_header(config: pytest.Config) -> str:
    if LIVE:
        return "support assistant: LIVE provider APIs, calls cost real money"
    return f"support assistant: mocked provider APIs (set {LIVE_VARIABLE}=1 to call them live)"


# -- the mocked APIs -----------------------------------------------------------


@dataclass(frozen=True)
class QueuedReply:
    """A chat or message response waiting for its request."""

    text: str
    input_tokens: int
    output_tokens: int


class ProviderMock:
    """Mocked OpenAI and Anthropic APIs that respond from one queue per endpoint.

    Each request takes the next response queued for its endpoint, and gets it
    streamed if the request sets `stream`. A request with nothing queued gets a
    400 error naming the queue method to call, which LiteLLM raises as
    `litellm.BadRequestError`. `requests` contains the JSON body of every request,
    in order. In live mode nothing is mocked, the queue methods do nothing and
    `requests` stays empty, so the same test runs against the real APIs.
    """

    def __init__(self, router: respx.MockRouter | None) -> None:
        self.live = router is None
        self.requests: list[dict[str, Any]] = []
        self._chat_replies: deque[QueuedReply] = deque()
        self._embedding_tokens: deque[int] = deque()
        self._message_replies: deque[QueuedReply] = deque()
        if router is not None:
            router.post(f"{OPENAI_BASE_URL}/chat/completions").mock(side_effect=self._openai_chat)
            router.post(f"{OPENAI_BASE_URL}/embeddings").mock(side_effect=self._openai_embeddings)
            router.post(f"{ANTHROPIC_BASE_URL}/messages").mock(side_effect=self._anthropic_messages)

    def queue_openai_chat(self, text: str, *, prompt_tokens: int, completion_tokens: int) -> None:
        """Queue the response to the next OpenAI chat completion request."""
        if not self.live:
            self._chat_replies.append(QueuedReply(text, prompt_tokens, completion_tokens))

    def queue_openai_embedding(self, *, prompt_tokens: int) -> None:
        """Queue the usage of the next OpenAI embeddings request.

        The vectors are computed from the input texts by `fake_embedding`.
        """
        if not self.live:
            self._embedding_tokens.append(prompt_tokens)

    def queue_anthropic_message(self, text: str, *, input_tokens: int, output_tokens: int) -> None:
        """Queue the response to the next Anthropic messages request."""
        if not self.live:
            self._message_replies.append(QueuedReply(text, input_tokens, output_tokens))

    def unused_responses(self) -> list[str]:
        """List the queued responses that no request took."""
        return (
            [f"OpenAI chat: {reply.text!r}" for reply in self._chat_replies]
            + [f"OpenAI embedding of {tokens} tokens" for tokens in self._embedding_tokens]
            + [f"Anthropic message: {reply.text!r}" for reply in self._message_replies]
        )

    def _openai_chat(self, request: httpx.Request) -> httpx.Response:
        body = self._record(request)
        if not self._chat_replies:
            return openai_error(f"no mocked response queued for {body['model']!r}: "
                                "call provider_mock.queue_openai_chat() first")
        reply = self._chat_replies.popleft()
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return openai_chat_stream(body["model"], reply, include_usage)
        return openai_chat_completion(body["model"], reply)

    def _openai_embeddings(self, request: httpx.Request) -> httpx.Response:
        body = self._record(request)
        if not self._embedding_tokens:
            return openai_error(f"no mocked embedding queued for {body['model']!r}: "
                                "call provider_mock.queue_openai_embedding() first")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return openai_embeddings(body["model"], inputs, self._embedding_tokens.popleft())

    def _anthropic_messages(self, request: httpx.Request) -> httpx.Response:
        body = self._record(request)
        if not self._message_replies:
            return anthropic_error(f"no mocked message queued for {body['model']!r}: "
                                   "call provider_mock.queue_anthropic_message() first")
        reply = self._message_replies.popleft()
        if body.get("stream"):
            return anthropic_message_stream(body["model"], reply)
        return anthropic_message(body["model"], reply)

    def _record(self, request: httpx.Request) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(request.content)
        self.requests.append(body)
        return body


def split_into_chunks(text: str) -> list[str]:
    """Split text the way streams arrive: one word with its trailing space per chunk."""
    return re.findall(r"\S+\s*|\s+", text)


def fake_embedding(text: str) -> list[float]:
    """Embed text as a normalised bag of hashed words.

    Texts that share words get similar vectors, so retrieval ranks texts much as
    a real embedding model would on short, distinct texts. crc32 keeps the
    vectors the same in every process, unlike the salted `hash()`.
    """
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[zlib.crc32(word.encode()) % EMBEDDING_DIMENSIONS] += 1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def openai_chat_completion(model: str, reply: QueuedReply) -> httpx.Response:
    return httpx.Response(200, json={
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL_SNAPSHOTS.get(model, model),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": reply.text, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": openai_usage(reply),
        "system_fingerprint": "fp_mock",
    })


def openai_chat_stream(model: str, reply: QueuedReply, include_usage: bool) -> httpx.Response:
    """Stream a reply as OpenAI does: a role chunk, text chunks, a finish chunk, then usage.

    Like the real API, the usage chunk (empty `choices`) is sent only when the
    request sets `stream_options.include_usage`, and then every other chunk has
    `"usage": null`.
    """
    base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": CREATED,
            "model": MODEL_SNAPSHOTS.get(model, model), "system_fingerprint": "fp_mock"}
    if include_usage:
        base["usage"] = None
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": "", "refusal": None}, None)
    ]
    deltas += [({"content": piece}, None) for piece in split_into_chunks(reply.text)]
    deltas.append(({}, "stop"))
    chunks = [
        {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": finish_reason}]}
        for delta, finish_reason in deltas
    ]
    if include_usage:
        chunks.append({**base, "choices": [], "usage": openai_usage(reply)})
    events = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
    return event_stream(events)


def openai_usage(reply: QueuedReply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def openai_embeddings(model: str, inputs: list[str], prompt_tokens: int) -> httpx.Response:
    return httpx.Response(200, json={
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": fake_embedding(text)}
            for index, text in enumerate(inputs)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    })


def openai_error(message: str) -> httpx.Response:
    return httpx.Response(400, json={
        "error": {"message": message, "type": "invalid_request_error", "param": None,
                  "code": None},
    })


def anthropic_message(model: str, reply: QueuedReply) -> httpx.Response:
    return httpx.Response(200, json={
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": MODEL_SNAPSHOTS.get(model, model),
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    })


def anthropic_message_stream(model: str, reply: QueuedReply) -> httpx.Response:
    """Stream a reply as Anthropic does, with named server-sent events.

    message_start carries the input tokens, and message_delta the final output
    tokens, which replace the placeholder count in message_start.
    """
    message: dict[str, Any] = {
        "id": "msg_mock", "type": "message", "role": "assistant",
        "model": MODEL_SNAPSHOTS.get(model, model), "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": piece}})
        for piece in split_into_chunks(reply.text)
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": reply.output_tokens}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return event_stream([f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events])


def anthropic_error(message: str) -> httpx.Response:
    return httpx.Response(400, json={
        "type": "error", "error": {"type": "invalid_request_error", "message": message},
    })


def event_stream(events: list[str]) -> httpx.Response:
    return httpx.Response(200, text="".join(events),
                          headers={"content-type": "text/event-stream; charset=utf-8"})


# -- fixtures ------------------------------------------------------------------


def _is_loopback(host: object) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection or DNS lookup for a host other than loopback, unless live.

    respx already intercepts every request that LiteLLM sends through httpx. This
    also catches clients that bypass httpx, so a forgotten mock fails the test
    with a clear error instead of spending money.
    """
    if LIVE:
        return

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(host: object) -> None:
        if not _is_loopback(host):
            raise RuntimeError(
                f"network access to {host!r} is blocked in mocked mode: mock the request "
                f"with respx, or set {LIVE_VARIABLE}=1 to call the real APIs"
            )

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return real_connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None:
            check(host.decode() if isinstance(host, bytes) else host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture
def provider_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderMock]:
    """Mock the provider APIs for one test, or pass through to them in live mode.

    Fails the test in teardown if a queued response was never requested, since
    that means the code made fewer calls than the test expected.
    """
    if LIVE:
        yield ProviderMock(None)
        return

    for name in API_KEY_VARIABLES:
        monkeypatch.setenv(name, f"mock-{name.lower().replace('_', '-')}")
    # using="httpx" patches httpx's transport lookup, so it also intercepts LiteLLM's
    # async client, whose aiohttp transport the default respx mocker misses.
    with respx.mock(using="httpx", assert_all_called=False) as router:
        mock = ProviderMock(router)
        yield mock
    unused = mock.unused_responses()
    if unused:
        pytest.fail(f"{len(unused)} queued response(s) never requested: {'; '.join(unused)}")


# -- the support assistant -----------------------------------------------------

FAQ_ENTRIES = (
    FaqEntry(
        "How do I get a refund for a duplicate charge?",
        "Duplicate charges are refunded automatically within 5 business days. "
        "If the refund has not arrived by then, reply to this ticket.",
    ),
    FaqEntry(
        "How do I reset my password?",
        "Choose 'Forgot password' on the sign-in page. The reset link expires after one hour.",
    ),
    FaqEntry(
        "Where can I download my invoices?",
        "Workspace owners find every invoice as a PDF under Settings > Billing > Invoices.",
    ),
    FaqEntry(
        "How do I add a teammate to my workspace?",
        "Admins invite teammates by email under Settings > Members.",
    ),
    FaqEntry(
        "How do I export my data?",
        "Settings > Data > Export builds a ZIP archive and emails you a download link.",
    ),
)

# Usage of the request that embeds FAQ_ENTRIES, as text-embedding-3-small counts it.
FAQ_EMBEDDING_TOKENS = 180


@pytest.fixture
def config() -> AssistantConfig:
    return AssistantConfig()


@pytest.fixture
def faq_index(provider_mock: ProviderMock, config: AssistantConfig) -> FaqIndex:
    """Build the FAQ index. Its embedding call counts toward the setup phase of the test."""
    provider_mock.queue_openai_embedding(prompt_tokens=FAQ_EMBEDDING_TOKENS)
    return FaqIndex.build(FAQ_ENTRIES, config)


# -- the team's LiteLLM proxy ----------------------------------------------------
#
# `support_assistant.gateway` calls a LiteLLM proxy with the OpenAI SDK. The
# `llm_gateway` fixture starts a real proxy for the session, with the cost
# callback of pytest-llmcost (pytest.ini sets llm_proxy_log, and the plugin
# passes that path to the proxy in LLMCOST_PROXY_LOG). In mocked mode the
# proxy's model points at `GatewayProvider`, an OpenAI-compatible server on
# 127.0.0.1 that returns queued responses, like `provider_mock`.

GATEWAY_CONFIG = """
model_list:
  - model_name: support-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
{api_base}
litellm_settings:
  callbacks: pytest_llmcost.proxy.cost_logger
  num_retries: 0
"""

# What `litellm --config` imports at start; `pip install -e '.[test,proxy]'` installs it.
PROXY_MODULES = (
    "apscheduler", "backoff", "cryptography", "expression", "fastapi", "fastapi_sso", "mcp",
    "orjson", "jwt", "multipart", "yaml", "redis", "semver", "soundfile", "starlette",
    "uvicorn", "websockets",
)


class GatewayProvider:
    """An OpenAI chat completions server on 127.0.0.1 that returns queued responses to the proxy."""

    def __init__(self) -> None:
        self.replies: deque[QueuedReply] = deque()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                response = provider.answer(body)
                self.send_response(response.status_code)
                self.send_header("content-type", response.headers["content-type"])
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body: dict[str, Any]) -> httpx.Response:
        if not self.replies:
            return openai_error("no gateway reply queued: call llm_gateway.queue_chat() first")
        reply = self.replies.popleft()
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return openai_chat_stream(body["model"], reply, include_usage)
        return openai_chat_completion(body["model"], reply)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Gateway:
    """A running LiteLLM proxy: its OpenAI-compatible URL, master key and mocked provider."""

    url: str
    key: str
    provider: GatewayProvider | None

    def queue_chat(self, text: str, *, prompt_tokens: int, completion_tokens: int) -> None:
        """Queue the provider's response to the proxy's next call (nothing in live mode)."""
        if self.provider is not None:
            self.provider.replies.append(QueuedReply(text, prompt_tokens, completion_tokens))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_up(process: subprocess.Popen[bytes], url: str, output: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    process.kill()
    process.wait()
    tail = output.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"the LiteLLM proxy did not start:\n{tail}")


@pytest.fixture(scope="session")
def llm_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Start `litellm --config` on 127.0.0.1 for the session; skip if it is not installed."""
    missing = [name for name in PROXY_MODULES if importlib.util.find_spec(name) is None]
    executable = shutil.which("litellm", path=os.path.dirname(sys.executable))
    if missing or executable is None:
        pytest.skip("the LiteLLM proxy is not installed (missing: "
                    f"{', '.join(missing) or 'the litellm command'}): "
                    "pip install -e '.[test,proxy]' to run the gateway tests")

    directory = tmp_path_factory.mktemp("gateway")
    provider = None if LIVE else GatewayProvider()
    api_base = "" if provider is None else (
        f"      api_base: http://127.0.0.1:{provider.port}/v1"
    )
    config = directory / "proxy_config.yaml"
    config.write_text(GATEWAY_CONFIG.format(api_base=api_base), encoding="utf-8")

    port = _free_port()
    # The proxy refuses weak master keys such as sk-1234.
    key = "sk-" + secrets.token_urlsafe(32)
    environment = dict(os.environ, LITELLM_MASTER_KEY=key, LITELLM_LOCAL_MODEL_COST_MAP="True")
    if provider is not None:
        environment["OPENAI_API_KEY"] = "mock-openai-api-key"
    output = directory / "proxy-output.txt"

    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [executable, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            cwd=directory, env=environment, stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, f"http://127.0.0.1:{port}/health/liveliness", output)
        yield Gateway(f"http://127.0.0.1:{port}/v1", key, provider)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        if provider is not None:
            provider.close()


@pytest.fixture
def gateway(llm_gateway: Gateway, request: pytest.FixtureRequest) -> Iterator[openai.OpenAI]:
    """The application's client for the proxy, tagging each request with the test's id.

    The `x-llmcost-test` header in `llm_cost.proxy_headers` names the test that a
    proxy call belongs to, even when calls overlap or settle late.
    """
    headers = {}
    if request.config.pluginmanager.hasplugin("llmcost"):
        headers = request.getfixturevalue("llm_cost").proxy_headers
    yield gateway_client(llm_gateway.url, llm_gateway.key, headers)
    provider = llm_gateway.provider
    if provider is not None and provider.replies:
        unused = len(provider.replies)
        provider.replies.clear()
        pytest.fail(f"{unused} queued gateway reply(ies) never requested")
