"""The model that ships inside the package, used whenever no checkpoint is given.

The same network ships twice: `fer2013.onnx` (fp32, run by ONNX Runtime, the default) and the
weights-only bundle `fer2013.pt` (fp16 weights, for the torch backend and for re-exporting).
"""

from __future__ import annotations

from pathlib import Path

from fer.errors import CheckpointError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
BUNDLED_MODEL = WEIGHTS_DIR / "fer2013.pt"
BUNDLED_ONNX = WEIGHTS_DIR / "fer2013.onnx"
BUNDLED_INT8 = WEIGHTS_DIR / "fer2013-int8.onnx"


def bundled_model_path(onnx: bool = False) -> Path:
    """The bundled .pt (torch) or, with onnx=True, the bundled .onnx (ONNX Runtime)."""
    path = BUNDLED_ONNX if onnx else BUNDLED_MODEL
    if not path.is_file():
        raise CheckpointError(f"no bundled model at {path}; pass ckpt=PATH to a checkpoint from "
                              "scripts/train.py (outputs/<task>/runs/<time>/checkpoints/*.ckpt)")
    return path
