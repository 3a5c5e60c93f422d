"""What the service accepts (upload sizes, stream limits, origins and hosts) and how uvicorn runs it.

Every value of conf/serve.yaml is checked here, so a mistyped one (port=abc, port=70000, host=,
max_image_mb=0) stops the start with one line naming the key and what it must be. The defaults are
conf/serve.yaml's own values (installed as the package `fer.conf`), read as plain YAML like
fer.api.settings reads webcam.yaml: each is written once, there, and `create_app()` without settings
gets exactly what `ferkit serve` without overrides gets. The pixel limit is webcam.yaml's
`max_image_pixels`, which serve.yaml includes: the Python API, live runs and the service keep one limit.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fer.errors import ConfigError
from fer.inference.conf_files import load_conf
from fer.numbers import bounded_number, known_settings

MB = 1 << 20
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def normal_origin(key: str, origin: Any) -> str:
    """'https://Fer.Example.org/' -> 'https://fer.example.org' (scheme://host[:port], as browsers send it)."""
    parts = urlsplit(origin) if isinstance(origin, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username:
        raise ConfigError(f"{key}: {origin!r} is not an origin; write scheme://host[:port], "
                          "e.g. https://fer.example.org")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def host_names(key: str, hosts: Any) -> tuple[str, ...]:
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) and h.strip() for h in hosts):
        raise ConfigError(f"{key}={hosts!r} must be a list of host names, e.g. [fer.example.org]")
    return tuple(h.strip().lower().strip("[]").rstrip(".") for h in hosts)


@functools.cache
def serve_yaml() -> dict[str, Any]:
    """conf/serve.yaml as written (its `defaults` list not composed): read once per process."""
    import yaml

    return yaml.safe_load(files("fer.conf").joinpath("serve.yaml").read_text(encoding="utf-8")) or {}


def serve_default(*keys: str) -> Any:
    """A field whose default is serve.yaml's value at `keys` (e.g. "service", "max_streams")."""
    def value() -> Any:
        node = serve_yaml()
        for key in keys:
            node = node[key]
        return copy.deepcopy(node)

    return field(default_factory=value)


def service_default(key: str) -> Any:
    return serve_default("service", key)


@dataclass(frozen=True)
class ServiceSettings:
    """conf/serve.yaml's `service:` block (its comments say what each limit is for), checked."""

    max_image_mb: float = service_default("max_image_mb")  # POST /v1/predict upload
    max_video_mb: float = service_default("max_video_mb")  # POST /v1/analyze upload
    max_frame_mb: float = service_default("max_frame_mb")  # one camera frame on WS /v1/stream
    # Refused before decoding: webcam.yaml's limit, the one the Python API and live runs keep, unless given.
    max_image_pixels: int = field(default_factory=lambda: load_conf("webcam.yaml")["max_image_pixels"])
    max_parts: int = service_default("max_parts")  # parts of one multipart upload
    max_video_frames: int = service_default("max_video_frames")  # /v1/analyze
    max_video_frame_pixels: int = service_default("max_video_frame_pixels")  # /v1/analyze: one frame
    max_video_total_pixels: int = service_default("max_video_total_pixels")  # /v1/analyze: frames x pixels
    max_streams: int = service_default("max_streams")  # concurrent WebSocket streams; 0: none
    temp_dir: str | None = service_default("temp_dir")  # parent of the service's temporary folder
    # Browser pages that may call the service besides its own (http://localhost:<port>, ...): behind a proxy.
    allowed_origins: tuple[str, ...] = service_default("allowed_origins")
    # Host names it may be reached under besides localhost, 127.0.0.1, ::1 and its bound address; "*": any.
    allowed_hosts: tuple[str, ...] = service_default("allowed_hosts")
    pipeline: dict[str, Any] = field(default_factory=dict)  # the live pipeline config (conf/webcam.yaml keys)

    def __post_init__(self):
        for name in ("max_image_mb", "max_video_mb", "max_frame_mb"):
            bounded_number(getattr(self, name), f"service.{name}")
        for name in ("max_image_pixels", "max_parts", "max_video_frames", "max_video_frame_pixels",
                     "max_video_total_pixels"):
            bounded_number(getattr(self, name), f"service.{name}", whole=True)
        bounded_number(self.max_streams, "service.max_streams", inclusive=True, whole=True)
        if not isinstance(self.allowed_origins, (list, tuple)):
            raise ConfigError(f"service.allowed_origins={self.allowed_origins!r} must be a list of origins, "
                              "e.g. [https://fer.example.org]")
        origins = tuple(normal_origin("service.allowed_origins", o) for o in self.allowed_origins)
        object.__setattr__(self, "allowed_origins", origins)
        object.__setattr__(self, "allowed_hosts", host_names("service.allowed_hosts", self.allowed_hosts))

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * MB)

    @property
    def max_video_bytes(self) -> int:
        return int(self.max_video_mb * MB)

    @property
    def max_frame_bytes(self) -> int:
        return int(self.max_frame_mb * MB)

    @classmethod
    def from_config(cls, service: dict[str, Any] | None, pipeline: dict[str, Any] | None = None) -> ServiceSettings:
        known = set(cls.__dataclass_fields__) - {"pipeline"}
        service = dict(service or {})
        known_settings(service, dict.fromkeys(known), "service")  # the refusal the command line gives
        temp_dir = service.get("temp_dir")
        if temp_dir is not None and not (isinstance(temp_dir, str) and Path(temp_dir).is_dir()):
            raise ConfigError(f"service.temp_dir={temp_dir!r} must be an existing folder (or null)")
        for key in ("allowed_origins", "allowed_hosts"):
            if service.get(key) is None:
                service.pop(key, None)
        if pipeline and "max_image_pixels" in pipeline:  # serve.yaml includes webcam.yaml, whose limit this is
            service.setdefault("max_image_pixels", pipeline["max_image_pixels"])
        return cls(**service, pipeline=dict(pipeline or {}))


@dataclass(frozen=True)
class ServerSettings:
    """conf/serve.yaml's top-level keys: where uvicorn listens and how long it waits."""

    host: str = serve_default("host")
    port: int = serve_default("port")
    log_level: str = serve_default("log_level")
    max_connections: int = serve_default("max_connections")  # uvicorn answers 503 beyond
    header_timeout_s: float = serve_default("header_timeout_s")  # for a whole request head
    max_head_kb: float = serve_default("max_head_kb")  # request line and headers
    keep_alive_s: float = serve_default("keep_alive_s")  # an idle keep-alive connection is closed after this
    shutdown_timeout_s: float = serve_default("shutdown_timeout_s")  # on SIGTERM/SIGINT, for open requests

    def __post_init__(self):
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigError(f"host={self.host!r} must be an address to listen on, e.g. 127.0.0.1 (this machine "
                              "only) or 0.0.0.0 (every interface)")
        if not (isinstance(self.port, int) and not isinstance(self.port, bool) and 0 <= self.port <= 65535):
            raise ConfigError(f"port={self.port!r} must be a TCP port 1-65535 (0: any free one)")
        if not isinstance(self.log_level, str) or self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level={self.log_level!r} must be one of {', '.join(LOG_LEVELS)}")
        bounded_number(self.max_connections, "max_connections", whole=True)
        bounded_number(self.header_timeout_s, "header_timeout_s")
        bounded_number(self.max_head_kb, "max_head_kb")
        bounded_number(self.keep_alive_s, "keep_alive_s")
        bounded_number(self.shutdown_timeout_s, "shutdown_timeout_s", inclusive=True)

    @property
    def max_head_bytes(self) -> int:
        return int(self.max_head_kb * 1024)

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ServerSettings:
        given = {k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg}
        if isinstance(given.get("port"), str) and given["port"].strip().isdigit():
            given["port"] = int(given["port"])
        return cls(**given)
