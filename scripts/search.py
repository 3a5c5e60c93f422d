"""Optuna hyperparameter search with pruning of bad trials; any number of workers share one study.

`python scripts/search.py ARGS` is `ferkit search ARGS` (fer/cli/search.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

import os
from pathlib import Path

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))

from fer.cli.search import main  # noqa: E402  (after PROJECT_ROOT, which the configs read)

if __name__ == "__main__":
    main()
