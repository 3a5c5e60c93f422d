"""What an exported .onnx file says about itself: its input/output names and metadata_props.

Reading these needs only ONNX Runtime (a dependency of the light install); writing them
(fer.checkpoints.onnx_export) needs PyTorch and the onnx package.

    class_names   JSON list, index order of the output
    input         "N,1,48,48 float32"  (batch dimension is dynamic)
    preprocess    how a face crop becomes the input (grayscale, 48x48, INTER_AREA, /255)
    output        "logits"  (softmax gives the class probabilities)
    fer_meta      JSON: model name and kwargs, precision, source checkpoint, accuracy, ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fer.errors import CheckpointError

INPUT_NAME, OUTPUT_NAME = "input", "logits"
PREPROCESS = ("grayscale (OpenCV BGR2GRAY), resized to 48x48 (INTER_AREA when shrinking, else INTER_LINEAR), "
              "uint8 / 255 -> float32 in [0, 1], layout N,1,48,48")


def metadata_from_props(props: dict[str, str], path: str | Path) -> tuple[list[str], dict[str, Any]]:
    """(class names, fer_meta) from an exported model's metadata_props, or a CheckpointError."""
    if "class_names" not in props:
        raise CheckpointError(f"{path} has no class_names in its metadata: export it with "
                              "`python scripts/export.py CKPT --format onnx --out FILE.onnx`")
    try:
        names, meta = json.loads(props["class_names"]), json.loads(props.get("fer_meta", "{}"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} has malformed metadata ({e}); re-export it") from None
    if not isinstance(names, list) or not names or not isinstance(meta, dict):
        raise CheckpointError(f"{path} has malformed metadata (class_names must be a non-empty list); re-export it")
    return [str(n) for n in names], meta


def read_onnx_metadata(path: str | Path) -> tuple[list[str], dict[str, Any]]:
    """(class names, fer_meta) of an exported .onnx file, read by ONNX Runtime."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model not found: {path}")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own pybind types (InvalidProtobuf, Fail) for a corrupt file
        raise CheckpointError(f"{path} is not a readable ONNX model (corrupt or truncated?): "
                              f"{type(e).__name__}") from None
    return metadata_from_props(session.get_modelmeta().custom_metadata_map, path)
