"""Run the service on uvicorn from a composed serve config, and shut it down cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
from typing import Any

import uvicorn

from fer.api.settings import webcam_part
from fer.service.app import create_app
from fer.service.http_protocol import head_limited_protocol
from fer.service.settings import ServerSettings, ServiceSettings

log = logging.getLogger(__name__)


def uvicorn_config(app: Any, cfg: dict[str, Any]) -> uvicorn.Config:
    settings: ServiceSettings = app.state.settings
    server = ServerSettings.from_config(cfg)
    return uvicorn.Config(
        app, host=server.host, port=server.port, log_level=server.log_level.lower(), ws="websockets-sansio",
        # h11 (pure Python, always installed with uvicorn) even where httptools is: the limits on the request
        # head, its time and its size (whether it arrives whole or in pieces), are one small subclass of it.
        http=head_limited_protocol(server.header_timeout_s, server.max_head_bytes),
        # uvicorn waits these seconds with asyncio, fractions included; its annotations say int.
        timeout_keep_alive=server.keep_alive_s,  # type: ignore[arg-type]
        # Frames a little over the limit get an error reply from the stream; far bigger ones (over twice
        # the limit) never reach memory: the WebSocket protocol closes the connection (1009).
        ws_max_size=2 * settings.max_frame_bytes,
        limit_concurrency=server.max_connections,
        timeout_graceful_shutdown=server.shutdown_timeout_s,  # type: ignore[arg-type]
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
