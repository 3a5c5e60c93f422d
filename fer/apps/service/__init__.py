"""The REST/WebSocket service and its browser demo: `create_app(settings)`; run it with scripts/serve.py."""

from fer.apps.service.app import create_app
from fer.apps.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
