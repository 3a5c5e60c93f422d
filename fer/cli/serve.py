"""`ferkit serve` (scripts/serve.py): the browser demo, the REST API and the camera WebSocket (FastAPI on
uvicorn).

    ferkit serve                          # http://127.0.0.1:8000  (API docs at /docs)
    ferkit serve port=8080 ckpt=PATH      # any `ferkit webcam` override works here too

SIGTERM and SIGINT (Ctrl-C) shut it down gracefully and exit 0.
"""

from __future__ import annotations

import sys
from typing import Any

from omegaconf import DictConfig

from fer.cli.entrypoint import hydra_command
from fer.data.shipped_conf import resolved_dict
from fer.errors import ConfigError


def check_port(port: Any) -> int:
    """A TCP port number (0: any free port), or a ConfigError that says what is wrong."""
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise ConfigError(f"port={port!r} is not a number; give a TCP port 1-65535 (0: any free one)") from None
    if not 0 <= number <= 65535:
        raise ConfigError(f"port={number} is out of range; give a TCP port 1-65535 (0: any free one)")
    return number


@hydra_command("serve")
def main(cfg: DictConfig) -> None:
    settings = resolved_dict(cfg)
    settings["port"] = check_port(settings["port"])  # before the service's imports: the mistake shows at once
    from fer.service.server import serve

    code = serve(settings)
    if code:
        sys.exit(code)
