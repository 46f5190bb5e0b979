"""uvicorn's HTTP protocol, writing each response's head and body in one system call.

uvicorn writes a response's status line and headers when the app sends
`http.response.start`, and the body on `http.response.body`: two `send()` system calls
(uvloop writes at once when nothing is queued) and, on loopback, often two TCP segments
for a 1 KB JSON record. Socket writes were the largest single item of a REST read's event
loop time (docs/benchmarks.md, "where the time goes"). Here the transport the protocol
writes through holds a header block back until the next write (the body, which the app
sends right after in the same task step), or until the loop turns once, for a response
that has no body (HEAD, 204, 304, a websocket handshake's 101). Anything else (close,
EOF, a second write) first sends what is held, so bytes never change order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport that joins a response head with the write that follows it."""

    __slots__ = ("_flush_handle", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._flush_handle: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            self._transport.write(held + bytes(data))
            return
        if isinstance(data, bytes) and data.startswith(b"HTTP/1.1 ") \
                and data.endswith(b"\r\n\r\n"):
            self._held = data
            self._flush_handle = self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Send what is held now (called by the loop one turn after it was held)."""
        self._flush_handle = None
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        held = len(self._held) if self._held is not None else 0
        return held + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol writing through a CoalescingTransport."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
