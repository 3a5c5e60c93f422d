"""Run the service on uvicorn from a composed serve config, and shut it down cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from fer.api.settings import webcam_part
from fer.service.app import create_app
from fer.service.settings import ServerSettings, ServiceSettings

log = logging.getLogger(__name__)


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a limit on how long a client may take to send a request's head.

    uvicorn has a keep-alive timeout (idle between requests) but none for reading headers, so a
    connection that sends half a request and stalls is held forever, and `max_connections` of them
    make uvicorn answer 503 to everyone else. This closes a connection whose request head is not
    complete `header_timeout` seconds after its first byte (or after it opened). A class attribute
    set by `header_timeout_protocol` (uvicorn builds the protocol itself, with fixed arguments).
    """

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:  # the start of a (next) request head
            self._arm_header_timer(keep=True)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is complete: the route's own limits apply
            self._cancel_header_timer()

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


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})


def uvicorn_config(app: Any, cfg: dict[str, Any]) -> uvicorn.Config:
    settings: ServiceSettings = app.state.settings
    server = ServerSettings.from_config(cfg)
    return uvicorn.Config(
        app, host=server.host, port=server.port, log_level=server.log_level.lower(), ws="websockets-sansio",
        # h11 (pure Python, always installed with uvicorn) even where httptools is: the header timeout is
        # one small subclass of it. The request head itself is capped by h11 at 16 KB.
        http=header_timeout_protocol(server.header_timeout_s), timeout_keep_alive=server.keep_alive_s,
        # Frames a little over the limit get an error reply from the stream; far bigger ones (over twice
        # the limit) never reach memory: the WebSocket protocol closes the connection (1009).
        ws_max_size=2 * settings.max_frame_bytes,
        limit_concurrency=server.max_connections,
        timeout_graceful_shutdown=server.shutdown_timeout_s,
    )


def serve(cfg: dict[str, Any]) -> int:
    """cfg: conf/serve.yaml composed (the webcam keys build the pipeline, `service` the limits)."""
    ServerSettings.from_config(cfg)  # a mistyped port or host stops here, before the model is loaded
    settings = ServiceSettings.from_config(cfg.get("service"), pipeline=webcam_part(cfg))
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, cfg))
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the handler that
    # was installed before it started; with these, that ends the process normally (exit code 0).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    log.info("serving on http://%s:%s (API docs at /docs)", server.config.host, server.config.port)
    server.run()
    return 0 if server.started else 1
