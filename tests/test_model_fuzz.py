"""Generated .onnx interfaces (input names, shapes and types, output counts, class counts) are either refused
when the file is opened, in one line, or classify any batch of faces: never a model that loads and then
fails at the first face."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from onnx_helpers import TensorProto, tiny_onnx

from fer.checkpoints.onnx_interface import FACE_DIMS, Port, check_interface, is_fixed
from fer.errors import CheckpointError
from fer.inference.classifier import EmotionClassifier

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIM = st.sampled_from([1, 2, 3, 48, 64])
OPEN = st.one_of(st.none(), st.sampled_from(["N", "batch", "h"]))  # a dynamic dimension
NAMES = st.sampled_from(["input", "logits", "x", "input:0", ""])
TYPES = st.sampled_from(["tensor(float)", "tensor(double)", "tensor(float16)", "tensor(uint8)"])


@st.composite
def ports(draw, names=NAMES) -> Port:
    shape = draw(st.none() | st.lists(st.one_of(DIM, OPEN), min_size=0, max_size=5).map(tuple))
    return Port(draw(names), draw(TYPES), shape)


@FUZZ
@given(inputs=st.lists(ports(), max_size=3), outputs=st.lists(ports(), max_size=3), classes=st.integers(1, 9),
       promised=st.sampled_from(["N,1,48,48 float32", "N,1,64,64 float32", "N,3,48,48", "", None]))
def test_described_interfaces_are_accepted_only_when_the_pipeline_can_feed_and_read_them(
        inputs, outputs, classes, promised):
    props = {} if promised is None else {"input": promised}
    try:
        check_interface(inputs, outputs, [f"c{i}" for i in range(classes)], props, "m.onnx")
    except CheckpointError as e:
        assert str(e).startswith("m.onnx ") and "\n" not in str(e)
        return
    (given_in,), (given_out,) = inputs, outputs
    assert given_in.name == "input" and given_in.type == given_out.type == "tensor(float)"
    assert not is_fixed(given_in.shape[0]) and len(given_in.shape) == 4
    assert all(d == want for d, want in zip(given_in.shape[1:], FACE_DIMS, strict=True) if is_fixed(d))
    assert given_out.name == "logits"
    assert given_out.shape is None or (len(given_out.shape) == 2 and not is_fixed(given_out.shape[1])) or \
        given_out.shape[1] == classes


def sometimes(draw) -> bool:
    return draw(st.integers(0, 3)) == 0


@st.composite
def onnx_files(draw) -> dict:
    """tiny_onnx arguments: a right file with a few of its aspects changed (some changes are harmless)."""
    real, scores, classes = (1, 48, 48), 7, 7
    spec = {"input_name": "input", "output_names": ("logits",), "elem": TensorProto.FLOAT, "declared_scores": None}
    if sometimes(draw):
        real = draw(st.sampled_from([(3, 48, 48), (1, 64, 64), (2304,), (1, 48, 48)]))
    declared = [draw(st.one_of(st.just(d), OPEN)) if sometimes(draw) else d for d in real]
    batch = draw(st.one_of(OPEN, st.sampled_from([1, 2]))) if sometimes(draw) else "N"
    if sometimes(draw):
        scores = draw(st.integers(1, 9))
        classes = draw(st.sampled_from([scores, 7]))
    if sometimes(draw):
        spec["declared_scores"] = draw(st.one_of(OPEN, st.integers(1, 9)))
    if sometimes(draw):
        spec["input_name"] = draw(st.sampled_from(["x", "data", "logits"]))
    if sometimes(draw):
        spec["output_names"] = draw(st.sampled_from([("out",), ("logits", "extra"), ("extra", "logits")]))
    if sometimes(draw):
        spec["elem"] = TensorProto.DOUBLE
    return {**spec, "declared": (batch, *declared), "real": real, "scores": scores,
            "names": [f"c{i}" for i in range(classes)]}


@FUZZ
@given(spec=onnx_files(), faces=st.integers(1, 5))
def test_an_opened_model_classifies_any_batch_of_faces(spec, faces):
    with tempfile.TemporaryDirectory() as tmp:
        path = tiny_onnx(Path(tmp) / "fuzz.onnx", **spec)
        try:
            clf = EmotionClassifier.from_path(path)
        except CheckpointError as e:
            assert str(path) in str(e) and "\n" not in str(e)
            return
    event("opened")
    crops = [np.full((20 + 7 * i, 30, 3), 40 * i, np.uint8) for i in range(faces)]
    probs = clf.predict(crops)
    assert probs.shape == (faces, len(spec["names"])) and np.allclose(probs.sum(1), 1, atol=1e-5)
