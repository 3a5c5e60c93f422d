"""What the service accepts: upload sizes, stream limits, where uploads are kept while they are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fer.errors import ConfigError

MB = 1 << 20


@dataclass(frozen=True)
class ServiceSettings:
    max_image_mb: float = 10  # POST /v1/predict upload
    max_video_mb: float = 50  # POST /v1/analyze upload
    max_frame_mb: float = 2  # one camera frame on WS /v1/stream
    max_image_pixels: int = 40_000_000  # a small file can hold a huge image: refused before decoding
    max_video_frames: int = 900  # /v1/analyze: 30 s at 30 fps
    max_streams: int = 4  # concurrent WebSocket streams; more get 503
    temp_dir: str | None = None  # where the service's own temporary folder is made (None: the system's)
    pipeline: dict[str, Any] = field(default_factory=dict)  # the live pipeline config (conf/webcam.yaml keys)

    def __post_init__(self):
        for name in ("max_image_mb", "max_video_mb", "max_frame_mb", "max_image_pixels", "max_video_frames"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"service.{name}={getattr(self, name)} must be > 0")
        if self.max_streams < 0:
            raise ConfigError(f"service.max_streams={self.max_streams} must be >= 0")

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
        unknown = sorted(set(service) - known)
        if unknown:
            raise ConfigError(f"unknown service setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**service, pipeline=dict(pipeline or {}))
