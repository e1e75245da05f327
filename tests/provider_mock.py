"""A mock OpenAI and Anthropic API for pytester runs, at the HTTP layer with respx.

This file is copied into each pytester directory as its conftest.py. The
`provider` fixture answers chat, embedding and message requests, streamed or
not, with the usage that the test sets, so expected costs can be worked out
by hand from token counts and LiteLLM's bundled prices.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

OPENAI = "https://api.openai.com/v1"
ANTHROPIC = "https://api.anthropic.com/v1"


def chat_json(model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """Return an OpenAI chat completion body with the given usage."""
    return {
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "mock answer"}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def mock_openai_chat(router: respx.MockRouter, prompt_tokens: int, completion_tokens: int) -> None:
    """Mock every OpenAI chat request of `router` with a response of fixed usage."""
    router.post(f"{OPENAI}/chat/completions").mock(
        return_value=httpx.Response(200, json=chat_json("gpt-4o-mini", prompt_tokens,
                                                        completion_tokens))
    )


class Provider:
    """The mocked provider: set the usage of the next responses, count the requests."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.prompt_tokens = 1000
        self.completion_tokens = 500
        self.requests: list[str] = []
        router.post(f"{OPENAI}/chat/completions").mock(side_effect=self._openai_chat)
        router.post(f"{OPENAI}/embeddings").mock(side_effect=self._openai_embeddings)
        router.post(f"{ANTHROPIC}/messages").mock(side_effect=self._anthropic_messages)
        router.post(f"{OPENAI}/completions").mock(side_effect=self._openai_text_completion)
        router.post(f"{OPENAI}/responses").mock(side_effect=self._openai_responses)
        router.post(f"{OPENAI}/images/generations").mock(side_effect=self._openai_images)

    def usage(self, prompt_tokens: int, completion_tokens: int = 0) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens

    def _openai_chat(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body["model"])
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if not body.get("stream"):
            return httpx.Response(
                200, json=chat_json(body["model"], self.prompt_tokens, self.completion_tokens)
            )
        chunk = {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                 "created": 1700000000, "model": body["model"]}
        events = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "mock "},
                                   "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {"content": "answer"},
                                   "finish_reason": "stop"}]},
            {**chunk, "choices": [], "usage": usage},
        ]
        text = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})

    def _openai_embeddings(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body["model"])
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return httpx.Response(200, json={
            "object": "list", "model": body["model"],
            "data": [{"object": "embedding", "index": index, "embedding": [0.1, 0.2, 0.3]}
                     for index in range(len(inputs))],
            "usage": {"prompt_tokens": self.prompt_tokens, "total_tokens": self.prompt_tokens},
        })

    def _openai_text_completion(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body["model"])
        return httpx.Response(200, json={
            "id": "cmpl-mock", "object": "text_completion", "created": 1700000000,
            "model": body["model"],
            "choices": [{"text": "mock answer", "index": 0, "logprobs": None,
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": self.prompt_tokens,
                      "completion_tokens": self.completion_tokens,
                      "total_tokens": self.prompt_tokens + self.completion_tokens},
        })

    def _openai_responses(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body["model"])
        response = {
            "id": "resp_mock", "object": "response", "created_at": 1700000000,
            "status": "completed", "model": body["model"],
            "output": [{"type": "message", "id": "msg_mock", "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "mock answer",
                                     "annotations": []}]}],
            "usage": {"input_tokens": self.prompt_tokens,
                      "output_tokens": self.completion_tokens,
                      "total_tokens": self.prompt_tokens + self.completion_tokens,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}},
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "text": {"format": {"type": "text"}},
        }
        if not body.get("stream"):
            return httpx.Response(200, json=response)
        events = [
            {"type": "response.created",
             "response": {**response, "status": "in_progress", "output": [], "usage": None}},
            {"type": "response.output_text.delta", "item_id": "msg_mock", "output_index": 0,
             "content_index": 0, "delta": "mock answer"},
            {"type": "response.completed", "response": response},
        ]
        text = "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events)
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})

    def _openai_images(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body["model"])
        return httpx.Response(200, json={
            "created": 1700000000,
            "data": [{"b64_json": "aGVsbG8="}],
            "usage": {"input_tokens": self.prompt_tokens, "output_tokens": self.completion_tokens,
                      "total_tokens": self.prompt_tokens + self.completion_tokens,
                      "input_tokens_details": {"text_tokens": self.prompt_tokens,
                                               "image_tokens": 0}},
        })

    def _anthropic_messages(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body["model"])
        if not body.get("stream"):
            return httpx.Response(200, json={
                "id": "msg_mock", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": "mock answer"}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": self.prompt_tokens,
                          "output_tokens": self.completion_tokens},
            })
        events = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_mock", "type": "message", "role": "assistant", "model": body["model"],
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": self.prompt_tokens, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "mock answer"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": self.completion_tokens}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mock-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-mock")
    with respx.mock(using="httpx", assert_all_called=False) as router:
        yield Provider(router)
