"""Export a checkpoint's network to ONNX (fp32, or int8 by static quantization): PyTorch and onnx needed.

The .onnx file is self-describing: its metadata_props hold the class names, the input layout and
the preprocessing (fer.checkpoints.onnx_metadata lists them and reads them back without PyTorch).
"""

from __future__ import annotations

import io
import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fer.checkpoints.loading import LoadedModel
from fer.checkpoints.onnx_metadata import INPUT_NAME, OUTPUT_NAME, PREPROCESS
from fer.constants import IMAGE_SIZE
from fer.errors import ConfigError
from fer.numbers import whole_number
from fer.outputs import write_atomically

OPSET = 17
ONNX_PRECISIONS = ("fp32", "int8")


def onnx_bytes(loaded: LoadedModel) -> bytes:
    """The network as an fp32 ONNX model with a dynamic batch dimension (no metadata)."""
    net = loaded.net.cpu().eval().to(memory_format=torch.contiguous_format)
    example = torch.zeros(2, 1, IMAGE_SIZE, IMAGE_SIZE)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is the one that works offline (the dynamo one needs onnxscript).
        warnings.simplefilter("ignore", DeprecationWarning)
        # The TorchScript exporter writes to a file-like object too; torch's annotation names paths only.
        torch.onnx.export(net, (example,), buf,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    return buf.getvalue()


def _with_metadata(model_bytes: bytes, class_names: list[str], meta: dict[str, Any]) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    props = {"class_names": json.dumps(class_names), "input": f"N,1,{IMAGE_SIZE},{IMAGE_SIZE} float32",
             "preprocess": PREPROCESS, "output": f"{OUTPUT_NAME} (softmax gives the class probabilities)",
             "fer_meta": json.dumps(meta, default=str)}
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "ferkit"
    return model.SerializeToString()


class _FaceReader:
    """onnxruntime CalibrationDataReader over uint8 faces (N,48,48), in batches."""

    def __init__(self, faces: np.ndarray, batch: int = 32):
        x = faces.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32) / 255.0
        self._batches: Iterator[np.ndarray] = iter([x[i:i + batch] for i in range(0, len(x), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def check_calibration_count(n: object, name: str = "--calib") -> int:
    """How many faces int8 calibration reads: at least one (a whole number), checked before any work."""
    return whole_number(n, name, 1)


def quantize_int8(model_bytes: bytes, calibration: np.ndarray) -> bytes:
    """Static int8 quantization (QDQ, per-channel weights) calibrated on uint8 faces (N,48,48)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration) == 0:
        raise ConfigError("int8 export needs calibration faces; none were given")
    with tempfile.TemporaryDirectory() as tmp:
        src, pre, dst = Path(tmp, "fp32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(model_bytes)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # folds BN, infers shapes
        quantize_static(str(pre), str(dst), _FaceReader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        return dst.read_bytes()


def export_onnx(loaded: LoadedModel, out_path: str | Path, meta: dict[str, Any] | None = None,
                precision: str = "fp32", calibration: np.ndarray | None = None) -> dict[str, Any]:
    """Write `loaded` as an .onnx file with its class names and preprocessing in the metadata.

    precision int8 quantizes statically, calibrated on `calibration` (uint8 faces N,48,48).
    Returns the metadata written under fer_meta.
    """
    if precision not in ONNX_PRECISIONS:
        raise ConfigError(f"precision={precision!r} is not one of {', '.join(ONNX_PRECISIONS)} for ONNX")
    info = {"model": loaded.model, "model_kwargs": loaded.model_kwargs, **loaded.meta, **(meta or {}),
            "precision": precision, "format": "onnx", "opset": OPSET}
    model_bytes = onnx_bytes(loaded)
    if precision == "int8":
        if calibration is None:
            raise ConfigError("int8 export needs calibration faces")
        model_bytes = quantize_int8(model_bytes, calibration)
        info["calibration_faces"] = len(calibration)
    write_atomically(Path(out_path), _with_metadata(model_bytes, loaded.class_names, info))
    return info
