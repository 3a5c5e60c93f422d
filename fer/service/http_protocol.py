"""uvicorn's h11 protocol with two limits on a request's head (request line and headers): time and size.

Time: uvicorn has a keep-alive timeout (idle between requests) but none for reading headers, so a
connection that sends half a request and stalls is held forever, and `max_connections` of them make
uvicorn answer 503 to everyone else. A connection whose request head is not complete `header_timeout`
seconds after its first byte (or after it opened) is closed.

Size: h11 refuses a head over its `max_incomplete_event_size` only while the head is still incomplete,
so a head that arrives whole in one read (asyncio reads up to 256 KB at a time) is parsed whatever its
size. Here the head waiting at the front of h11's buffer is measured before every parse, however it
arrived (in one piece or many, first on its connection or pipelined behind another request), and a head
over `max_head_bytes` gets a JSON 431. The connection is then closed once the client has read the answer
(it may still be sending: closing at once would reset the connection and lose the answer).

uvicorn builds the protocol itself, with fixed arguments: the limits are class attributes, set by
`head_limited_protocol`.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

BLANK_LINE = re.compile(rb"\n\r?\n")  # where h11 takes a head to end


def head_too_large(buffer: bytes, limit: int) -> bool:
    """Whether the request head at the start of `buffer`, complete or not, is over `limit` bytes."""
    return BLANK_LINE.search(buffer, 0, limit) is None and len(buffer) > limit


class HeadTooLarge(h11.RemoteProtocolError):
    pass


class HeadLimitedConnection(h11.Connection):
    """An h11 server connection that refuses a request head over `max_head_bytes` before parsing it."""

    def __init__(self, max_head_bytes: int):
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes
        self.refused_head = False

    def next_event(self) -> Any:
        if self.their_state is h11.IDLE and head_too_large(self.trailing_data[0], self.max_head_bytes):
            self.refused_head = True
            raise HeadTooLarge("request head too large", error_status_hint=431)
        return super().next_event()


class HeadLimitedProtocol(H11Protocol):
    header_timeout: float = 10.0
    max_head_bytes: int = 16 * 1024
    _header_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.conn: HeadLimitedConnection = HeadLimitedConnection(self.max_head_bytes)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.refused_head:  # the rest of a refused head, while the client reads the answer
            return
        if self.conn.their_state is h11.IDLE:  # the start of a (next) request head
            self._arm_header_timer(keep=True)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and not self.conn.refused_head:
            self._cancel_header_timer()  # the head is complete: the route's own limits apply

    def send_400_response(self, msg: str) -> None:
        if not self.conn.refused_head:
            super().send_400_response(msg)
            return
        body = json.dumps({"error": f"the request head (URL and headers) is over the limit of "
                                    f"{self.max_head_bytes / 1024:g} KB"}).encode()
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                             b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer is whole; the client closes after reading it
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self, keep: bool = False) -> None:
        if keep and self._header_timer is not None:
            return
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def head_limited_protocol(header_timeout: float, max_head_bytes: int) -> type[HeadLimitedProtocol]:
    return type("HeadLimitedProtocol", (HeadLimitedProtocol,),
                {"header_timeout": header_timeout, "max_head_bytes": max_head_bytes})
