"""The response transport that joins a response's head with its body (app/http_protocol.py):
one write where uvicorn made two, bytes never reordered, nothing held past one loop turn."""

from __future__ import annotations

import asyncio
import socket
import threading

from app.http_protocol import CoalescingTransport
from tests.support.loops import run_on_own_loop

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    """The socket side: what was written, in order, and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 5000)}.get(name, default)


def test_a_head_and_its_body_go_out_in_one_write() -> None:
    run_on_own_loop(_test_a_head_and_its_body_go_out_in_one_write)


async def _test_a_head_and_its_body_go_out_in_one_write() -> None:
    raw = RecordingTransport()
    out = CoalescingTransport(raw, asyncio.get_running_loop())
    out.write(HEAD)
    assert raw.writes == []
    out.write(b"hello")
    assert raw.writes == [HEAD + b"hello"]
    await asyncio.sleep(0)  # the flush scheduled for the head finds nothing left
    assert raw.writes == [HEAD + b"hello"]


def test_a_head_without_a_body_goes_out_after_one_loop_turn() -> None:
    run_on_own_loop(_test_a_head_without_a_body_goes_out_after_one_loop_turn)


async def _test_a_head_without_a_body_goes_out_after_one_loop_turn() -> None:
    raw = RecordingTransport()
    out = CoalescingTransport(raw, asyncio.get_running_loop())
    out.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]


def test_closing_sends_the_held_head_first() -> None:
    run_on_own_loop(_test_closing_sends_the_held_head_first)


async def _test_closing_sends_the_held_head_first() -> None:
    raw = RecordingTransport()
    out = CoalescingTransport(raw, asyncio.get_running_loop())
    out.write(HEAD)
    out.close()
    assert raw.writes == [HEAD] and raw.closed
    await asyncio.sleep(0)
    assert raw.writes == [HEAD]  # not written twice, not written after close


def test_other_bytes_pass_straight_through_in_order() -> None:
    run_on_own_loop(_test_other_bytes_pass_straight_through_in_order)


async def _test_other_bytes_pass_straight_through_in_order() -> None:
    raw = RecordingTransport()
    out = CoalescingTransport(raw, asyncio.get_running_loop())
    out.write(b"\x81\x05hello")  # a websocket frame
    out.write(b"5\r\nhello\r\n")  # a chunk of a streamed body
    assert raw.writes == [b"\x81\x05hello", b"5\r\nhello\r\n"]
    assert out.get_extra_info("peername") == ("127.0.0.1", 5000)  # the rest is the real one's
    assert out.get_write_buffer_size() == 0


def test_a_real_server_answers_keep_alive_requests_whole_and_in_order() -> None:
    """A real uvicorn with the protocol on loopback: three requests on one connection,
    each answer complete and in order (the head never waits for a later request)."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from app.http_protocol import CoalescingHttpToolsProtocol

    app = FastAPI()

    @app.get("/n/{n}")
    def number(n: int) -> PlainTextResponse:
        return PlainTextResponse(str(n) * 3)

    @app.head("/n/{n}")
    def head(n: int) -> PlainTextResponse:
        return PlainTextResponse("")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           http=CoalescingHttpToolsProtocol))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            for n in (1, 2, 3):
                conn.sendall(f"GET /n/{n} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
                reply = b""
                while not reply.endswith(str(n).encode() * 3):
                    chunk = conn.recv(4096)
                    assert chunk, reply
                    reply += chunk
                assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.count(b"HTTP/1.1") == 1
            conn.sendall(b"HEAD /n/4 HTTP/1.1\r\nhost: x\r\n\r\n")
            reply = b""
            while not reply.endswith(b"\r\n\r\n"):
                chunk = conn.recv(4096)
                assert chunk, reply
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
