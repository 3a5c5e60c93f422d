"""Export a checkpoint for inference: an ONNX model (fp32 or int8) or a small weights-only bundle.

`python scripts/export.py ARGS` is `ferkit export ARGS` (fer/cli/export.py; `--help` lists the options),
except that FER-2013 is decoded into this checkout's data/cache rather than under the working folder.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))

from fer.cli.export import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
