"""`python scripts/<command>.py ARGS` in a checkout: `ferkit <command> ARGS` with the checkout as PROJECT_ROOT, so
runs land in its outputs/ (and FER-2013 is decoded into its data/cache) rather than under the working folder.

Each wrapper stays a file of its own so that the run records the command the way it was started
(`entrypoint.launcher` reads sys.argv[0]); this is all that they share.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path


def run_in_checkout(command: str, script: str) -> None:
    """Run fer.cli.<command> for the checkout holding `script` (a scripts/*.py file); exits with its status."""
    os.environ.setdefault("PROJECT_ROOT", str(Path(script).resolve().parents[1]))
    sys.exit(importlib.import_module(f"fer.cli.{command}").main())
