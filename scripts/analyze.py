"""A video -> per-frame, per-face expression probabilities (CSV) and a timeline plot (PNG).

`python scripts/analyze.py ARGS` is `ferkit analyze ARGS` (fer/cli/analyze.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

import os
from pathlib import Path

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))

from fer.cli.analyze import main  # noqa: E402  (after PROJECT_ROOT, which the configs read)

if __name__ == "__main__":
    main()
