"""Evaluate one or more checkpoints on a FER-2013 split and write the report into the run directory.

`python scripts/eval.py ARGS` is `ferkit eval ARGS` (fer/cli/eval.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

import os
from pathlib import Path

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))

from fer.cli.eval import main  # noqa: E402  (after PROJECT_ROOT, which the configs read)

if __name__ == "__main__":
    main()
