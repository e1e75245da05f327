"""A real LiteLLM proxy for the tests, in front of a mock OpenAI provider on loopback.

The proxy (`litellm --config`) runs as a subprocess with the cost callback
`pytest_llmcost.proxy.cost_logger`, a random port and a random strong master
key. Its models point at `MockProvider`, an HTTP server in the test process
that answers OpenAI chat completions, streamed or not, with fixed usage:
1,000 prompt and 500 completion tokens for every call (at gpt-4o-mini's
bundled prices, 1000 * 1.5e-07 + 500 * 6e-07 = $0.00045 a call).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PROMPT_TOKENS = 1000
COMPLETION_TOKENS = 500

# Modules `litellm --config` imports at start; all come with the project's `proxy` extra.
PROXY_MODULES = (
    "apscheduler", "backoff", "cryptography", "expression", "fastapi", "fastapi_sso", "mcp",
    "orjson", "jwt", "multipart", "yaml", "redis", "semver", "soundfile", "starlette",
    "uvicorn", "websockets",
)
INSTALL_HINT = (
    "the LiteLLM proxy's dependencies are not installed: "
    "pip install -e '.[test,proxy]' to run the proxy tests"
)


def missing_proxy_modules() -> list[str]:
    return [name for name in PROXY_MODULES if importlib.util.find_spec(name) is None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        model = body.get("model", "unknown")
        usage = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }
        if body.get("stream"):
            self._stream(model, usage)
        else:
            self._reply(model, usage)

    def _reply(self, model: str, usage: dict[str, int]) -> None:
        data = json.dumps({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Hello from the mock."}}],
            "usage": usage,
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, usage: dict[str, int]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> None:
            event = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
                     "model": model, "choices": choices, **extra}
            self._send_event(json.dumps(event))

        for piece in ("Hello", " from", " the mock."):
            chunk([{"index": 0, "delta": {"role": "assistant", "content": piece},
                    "finish_reason": None}])
        chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        # The provider's usage arrives in a last chunk without choices, as OpenAI sends it.
        chunk([], usage=usage)
        self._send_event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")

    def _send_event(self, text: str) -> None:
        data = f"data: {text}\n\n".encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


class MockProvider:
    """An OpenAI-compatible provider on 127.0.0.1, served from a thread of the test process."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MockProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningProxy:
    url: str  # base URL of the OpenAI-compatible API, such as http://127.0.0.1:4000/v1
    key: str
    log: Path
    process: subprocess.Popen[bytes]
    output: Path


def proxy_config(provider_port: int) -> str:
    """Return a proxy config with the models 'mini', 'inhouse' (priced in the config) and 'down'.

    The provider of 'down' is a closed port on 127.0.0.1.
    """
    dead_port = _free_port()
    return f"""
model_list:
  - model_name: mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:{provider_port}/v1
      api_key: sk-mock-provider
  - model_name: inhouse
    litellm_params:
      model: openai/inhouse-model
      api_base: http://127.0.0.1:{provider_port}/v1
      api_key: sk-mock-provider
    model_info:
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: down
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:{dead_port}/v1
      api_key: sk-mock-provider
      max_retries: 0
litellm_settings:
  callbacks: pytest_llmcost.proxy.cost_logger
  num_retries: 0
  telemetry: false
"""


def start_proxy(directory: Path, provider_port: int, timeout: float = 180.0) -> RunningProxy:
    """Start `litellm --config` on 127.0.0.1 and wait for its health check; raises RuntimeError."""
    executable = shutil.which("litellm", path=os.path.dirname(sys.executable))
    if executable is None:
        raise RuntimeError("the litellm command is not installed next to this Python")
    config = directory / "proxy_config.yaml"
    config.write_text(proxy_config(provider_port), encoding="utf-8")
    log = directory / "llm-cost.jsonl"
    output = directory / "proxy-output.txt"
    port = _free_port()

    # The proxy refuses weak master keys such as sk-1234: a random one of 43 characters.
    key = "sk-" + secrets.token_urlsafe(32)
    environment = dict(
        os.environ,
        LITELLM_MASTER_KEY=key,
        LLMCOST_PROXY_LOG=str(log),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        NO_PROXY="127.0.0.1,localhost",
    )
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [executable, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            cwd=directory, env=environment, stdout=sink, stderr=subprocess.STDOUT,
        )
    proxy = RunningProxy(f"http://127.0.0.1:{port}/v1", key, log, process, output)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2):
                return proxy
        except OSError:
            time.sleep(0.25)
    stop_proxy(proxy)
    tail = output.read_text(encoding="utf-8", errors="replace")[-3000:]
    raise RuntimeError(f"the LiteLLM proxy did not start within {timeout:g} s:\n{tail}")


def stop_proxy(proxy: RunningProxy) -> None:
    if proxy.process.poll() is None:
        proxy.process.terminate()
        try:
            proxy.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proxy.process.kill()
            proxy.process.wait()
