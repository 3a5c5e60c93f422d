"""The models that ship inside the package; the default is used whenever no checkpoint is given.

The default is the most accurate shipped network, the distilled fastcnn-48, in three files: `fer2013-fastcnn48.onnx` (fp32, run by ONNX Runtime, the default),
`fer2013-fastcnn48.pt` (fp16 weights, for the torch backend and for re-exporting) and
`fer2013-fastcnn48-int8.onnx` (static int8). The smaller fastcnn-32 ships the same three
ways as `fer2013-fastcnn32.*`, one `ckpt=` away. Each family's .json sidecar records what every file
scores on PublicTest and the command that made it (the README and docs/benchmarks.md, "Shipped models", list them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fer.errors import CheckpointError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
BUNDLED_MODEL = WEIGHTS_DIR / "fer2013-fastcnn48.pt"
BUNDLED_ONNX = WEIGHTS_DIR / "fer2013-fastcnn48.onnx"
BUNDLED_INT8 = WEIGHTS_DIR / "fer2013-fastcnn48-int8.onnx"


def bundled_model_path(onnx: bool = False) -> Path:
    """The bundled .pt (torch) or, with onnx=True, the bundled .onnx (ONNX Runtime)."""
    path = BUNDLED_ONNX if onnx else BUNDLED_MODEL
    if not path.is_file():
        raise CheckpointError(f"no bundled model at {path}; pass ckpt=PATH to a checkpoint from "
                              "scripts/train.py (outputs/<task>/runs/<time>/checkpoints/*.ckpt)")
    return path


def shipped_files(weights_dir: Path = WEIGHTS_DIR) -> dict[Path, dict[str, Any]]:
    """Every shipped classifier file -> its entry in its family's sidecar (`files` of <family>.json):
    precision, size, PublicTest single-pass accuracy and the command that made it."""
    out = {}
    for sidecar in sorted(weights_dir.glob("*.json")):
        for name, entry in json.loads(sidecar.read_text()).get("files", {}).items():
            out[weights_dir / name] = entry
    return out
