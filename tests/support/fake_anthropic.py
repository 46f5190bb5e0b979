"""A small fake of the Anthropic Messages API on loopback, speaking its real streaming
protocol (message_start, content_block_start, ping, content_block_delta...,
content_block_stop, message_delta, message_stop), reached by the real SDK through
ANTHROPIC_BASE_URL. Tests script its behaviour and read the requests it received.

Behaviours: "ok" (stream `answer`), "slow" (wait `delay` s before the first byte),
"overloaded" (529 for the next `failures` requests, then ok), "cut" (close the connection
mid-stream), "error_event" (an `error` SSE event mid-stream), "refusal" (stop_reason
refusal).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.devserver import free_port


def briefing_answer(summary: str, next_steps: list[dict[str, Any]] | None = None,
                    **fields: Any) -> str:
    """An answer in the format the system prompt asks for."""
    body = {"next_steps": next_steps or [
                {"text": "Call the main contact this week.", "priority": "high",
                 "due_in_days": 2},
                {"text": "Send a short recap of the open deal.", "due_in_days": 3},
                {"text": "Book a review of the account plan.", "due_in_days": 7}],
            "talking_points": ["Integration depth matters to tech buyers.",
                               "Ask about their roadmap.", "Offer the security pack."],
            "sentiment": "neutral", "engagement_score": 55, "risks": ["Single-threaded."]}
    body.update(fields)
    return f"<summary>\n{summary}\n</summary>\n<briefing>\n{json.dumps(body)}\n</briefing>"


@dataclass
class FakeAnthropic:
    behaviour: str = "ok"
    answer: str = field(default_factory=lambda: briefing_answer(
        "Acme Corp has one open deal in proposal. Jane Doe is the main contact."))
    delay: float = 0.0           # "slow": seconds before the first byte
    failures: int = 1            # "overloaded": how many 529s before answering
    chunk_pause: float = 0.0     # seconds between text deltas
    chunk_size: int = 12
    requests: list[dict[str, Any]] = field(default_factory=list)
    disconnects: int = 0         # streams whose client went away before the end
    completed: int = 0
    url: str = ""

    # -- the protocol --------------------------------------------------------------------
    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body,
                              "at": time.monotonic()})
        if not api_key(request.headers):
            return _error(401, "authentication_error", "invalid x-api-key")
        if self.behaviour == "overloaded" and self.failures > 0:
            self.failures -= 1
            return _error(529, "overloaded_error", "Overloaded")
        if self.behaviour == "slow":
            await asyncio.sleep(self.delay)
        prompt = json.dumps(body.get("system", "")) + json.dumps(body.get("messages", []))
        return StreamingResponse(self._events(body, len(prompt) // 4),
                                 media_type="text/event-stream",
                                 headers={"request-id": "req_fake"})

    async def _events(self, body: dict[str, Any], input_tokens: int) -> AsyncIterator[bytes]:
        finished = False
        try:
            yield _sse("message_start", {"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
                "model": body.get("model"), "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})
            yield _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})
            yield _sse("ping", {"type": "ping"})
            text = self.answer
            pieces = [text[i:i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]
            for n, piece in enumerate(pieces):
                if self.behaviour == "cut" and n == len(pieces) // 2:
                    # Let the events so far reach the client first: a cut stream, not a
                    # refused connection (a reset can discard unread bytes on the client).
                    await asyncio.sleep(0.2)
                    raise ConnectionResetError("fake: connection cut mid-stream")
                if self.behaviour == "error_event" and n == len(pieces) // 2:
                    yield _sse("error", {"type": "error", "error": {
                        "type": "overloaded_error", "message": "Overloaded"}})
                    finished = True
                    return
                yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta",
                                                             "text": piece}})
                if self.chunk_pause:
                    await asyncio.sleep(self.chunk_pause)
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            stop = "refusal" if self.behaviour == "refusal" else "end_turn"
            yield _sse("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": stop, "stop_sequence": None},
                                         "usage": {"output_tokens": max(1, len(text) // 4)}})
            yield _sse("message_stop", {"type": "message_stop"})
            finished = True
            self.completed += 1
        finally:
            if not finished:
                self.disconnects += 1

    # -- inspection -----------------------------------------------------------------------
    @property
    def last_prompt(self) -> str:
        body = self.requests[-1]["body"]
        return "\n".join(str(m.get("content")) for m in body.get("messages", []))

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])


def api_key(headers: Any) -> str:
    """The key as the SDK sends it: `x-api-key`, or `Authorization: Bearer` (newer SDKs)."""
    bearer = str(headers.get("authorization", ""))
    return str(headers.get("x-api-key") or bearer.removeprefix("Bearer ").strip())


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}},
                        status_code=status, headers={"retry-after-ms": "50"})


@contextmanager
def fake_anthropic_server(fake: FakeAnthropic | None = None) -> Iterator[FakeAnthropic]:
    """Serve `fake` with uvicorn on a free loopback port in a background thread."""
    fake = fake or FakeAnthropic()
    port = free_port()
    config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="error",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-anthropic", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake Anthropic server did not start")
        time.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=5)
