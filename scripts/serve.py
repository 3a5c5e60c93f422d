"""Serve the browser demo, the REST API and the camera WebSocket (FastAPI on uvicorn).

    python scripts/serve.py                      # http://127.0.0.1:8000  (API docs at /docs)
    python scripts/serve.py port=8080 ckpt=PATH        # any scripts/webcam.py override works here too

SIGTERM and SIGINT (Ctrl-C) shut it down gracefully and exit 0.
"""

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))


@hydra.main(version_base="1.3", config_path="../conf", config_name="serve")
def main(cfg: DictConfig) -> None:
    from fer.cli.entrypoint import exit_on_user_error
    from fer.service.server import serve

    code = exit_on_user_error(serve)(OmegaConf.to_container(cfg, resolve=True))
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
