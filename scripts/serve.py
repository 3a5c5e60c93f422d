"""Serve the browser demo, the REST API and the camera WebSocket (FastAPI on uvicorn).

`python scripts/serve.py ARGS` is `ferkit serve ARGS` (fer/cli/serve.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("serve", __file__)
