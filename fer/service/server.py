"""Run the service on uvicorn from a composed serve config, and shut it down cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
from typing import Any

import uvicorn

from fer.service.app import create_app
from fer.service.settings import ServiceSettings

log = logging.getLogger(__name__)


def uvicorn_config(app: Any, cfg: dict[str, Any]) -> uvicorn.Config:
    settings: ServiceSettings = app.state.settings
    return uvicorn.Config(
        app, host=cfg.get("host", "127.0.0.1"), port=int(cfg.get("port", 8000)),
        log_level=cfg.get("log_level", "info"), ws="websockets-sansio",
        # Frames a little over the limit get an error reply from the stream; far bigger ones (over twice
        # the limit) never reach memory: the WebSocket protocol closes the connection (1009).
        ws_max_size=2 * settings.max_frame_bytes,
        limit_concurrency=cfg.get("max_connections", 64),
        timeout_graceful_shutdown=cfg.get("shutdown_timeout_s", 5),
    )


def serve(cfg: dict[str, Any]) -> int:
    """cfg: conf/serve.yaml composed (the webcam keys build the pipeline, `service` the limits)."""
    settings = ServiceSettings.from_config(cfg.get("service"), pipeline=cfg)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, cfg))
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the handler that
    # was installed before it started; with these, that ends the process normally (exit code 0).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    log.info("serving on http://%s:%s (API docs at /docs)", server.config.host, server.config.port)
    server.run()
    return 0 if server.started else 1
