"""Serve the browser demo, the REST API and the camera WebSocket (FastAPI on uvicorn).

`python scripts/serve.py ARGS` is `ferkit serve ARGS` (fer/cli/serve.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

import os
from pathlib import Path

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))

from fer.cli.serve import main  # noqa: E402  (after PROJECT_ROOT, which the configs read)

if __name__ == "__main__":
    main()
