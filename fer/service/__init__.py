"""The REST/WebSocket service and its browser demo: `create_app(settings)`; run it with scripts/serve.py."""

from fer.service.app import create_app
from fer.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
