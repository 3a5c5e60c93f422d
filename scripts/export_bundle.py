"""Export a training checkpoint as a small weights-only bundle (kept for old commands).

    python scripts/export_bundle.py CKPT --out model.pt --precision fp16

The same as `python scripts/export.py CKPT --format bundle --out model.pt`: --out is required and
an existing file is overwritten only with --force, so the shipped model is never replaced by accident.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export import main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--precision" not in args:
        args += ["--precision", "int8"]  # this script's default since it was written
    sys.exit(main([*args, "--format", "bundle"]))
