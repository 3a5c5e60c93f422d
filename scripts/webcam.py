"""Live facial-expression recognition: camera, video, image or folder; window or headless.

`python scripts/webcam.py ARGS` is `ferkit webcam ARGS` (fer/cli/webcam.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

import os
from pathlib import Path

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))

from fer.cli.webcam import main  # noqa: E402  (after PROJECT_ROOT, which the configs read)

if __name__ == "__main__":
    main()
