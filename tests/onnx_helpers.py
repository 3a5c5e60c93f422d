"""Small .onnx classifiers built with the onnx helper API, right or wrong in one chosen way.

The graph flattens its input and multiplies it by a weight matrix: the declared interface (names, shapes,
types, output count) and the metadata are set independently of what the graph really computes, which
is how a foreign or badly exported file goes wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fer.constants import CLASSES

onnx = pytest.importorskip("onnx")  # writing .onnx files is the [train] extra's; running them is not
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

GOOD_INPUT = ("N", 1, 48, 48)


def tiny_onnx(path: Path, *, input_name: str = "input", declared: Sequence[Any] = GOOD_INPUT,
              real: Sequence[int] = (1, 48, 48), scores: int = len(CLASSES), declared_scores: Any = None,
              names: Sequence[str] | None = CLASSES, output_names: Sequence[str] = ("logits",),
              elem: int = TensorProto.FLOAT, props: dict[str, str] | None = None) -> Path:
    """An .onnx file: `declared` is the input shape the graph states (ints fixed, str/None dynamic), `real`
    the per-face dims its weights fit; `scores` per face, declared as `declared_scores` (default: scores).
    Every name in output_names is one more output (copies of the scores). `names`: the metadata's class
    names (None: no class_names entry); `props` adds or replaces metadata entries."""
    rows = math.prod(real)
    weight = np.random.default_rng(0).normal(0, 0.01, (rows, scores)).astype(
        np.float64 if elem == TensorProto.DOUBLE else np.float32)
    nodes = [helper.make_node("Flatten", [input_name], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "weight"], ["scores"])]
    nodes += [helper.make_node("Identity", ["scores"], [name]) for name in output_names]
    out_dim = scores if declared_scores is None else declared_scores
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info(input_name, elem, list(declared))],
        [helper.make_tensor_value_info(name, elem, ["N", out_dim]) for name in output_names],
        initializer=[numpy_helper.from_array(weight, "weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime this package supports
    entries = {"input": "N,1,48,48 float32"} | ({"class_names": json.dumps(list(names))} if names is not None else {})
    for key, value in (entries | (props or {})).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path.write_bytes(model.SerializeToString())
    return path
