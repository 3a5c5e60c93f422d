"""Live inference uses the training preprocessing itself: one function, not a copy."""

import numpy as np
import pytest
from live_helpers import FixedDetector, pipeline, synthetic_frame

import fer.inference.classifier as live
from fer.data import preprocess


def test_the_very_same_function():
    assert live.preprocess_faces is preprocess.preprocess_faces


def test_pipeline_feeds_the_model_what_training_would(tmp_path, monkeypatch):
    frame = synthetic_frame()
    box = [40, 60, 80, 80]
    pipe = pipeline(tmp_path, FixedDetector([box]))
    seen = []
    original = pipe.classifier.predict_batch
    monkeypatch.setattr(pipe.classifier, "predict_batch", lambda b: seen.append(b) or original(b))
    result = pipe.process(frame, 0)
    x, y, w, h = box
    expected = preprocess.to_model_input(preprocess.to_gray48(frame[y:y + h, x:x + w])[None])
    assert isinstance(seen[0], np.ndarray) and seen[0].dtype == np.float32
    assert np.array_equal(seen[0], expected)
    assert seen[0].shape == (1, 1, 48, 48) and 0 <= seen[0].min() and seen[0].max() <= 1
    # The panel's crop is exactly the model input, as uint8.
    assert np.array_equal(result.faces[0].crop, preprocess.to_gray48(frame[y:y + h, x:x + w]))


def test_all_faces_in_one_batch(tmp_path, monkeypatch):
    pipe = pipeline(tmp_path, FixedDetector([[10, 10, 50, 50], [100, 20, 60, 60], [200, 30, 70, 70]]))
    sizes = []
    original = pipe.classifier.predict_batch
    monkeypatch.setattr(pipe.classifier, "predict_batch", lambda b: sizes.append(len(b)) or original(b))
    assert len(pipe.process(synthetic_frame(), 0).faces) == 3
    assert sizes == [3]


def test_no_faces_is_an_empty_float_batch():
    batch = preprocess.preprocess_faces([])
    assert batch.shape == (0, 1, 48, 48) and batch.dtype == np.float32


def test_numpy_and_torch_inputs_are_bit_identical():
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    images[0].flat[:256] = np.arange(256)  # every pixel value at least once
    from_numpy = preprocess.to_model_input(images)
    from_torch = preprocess.to_model_input(torch.from_numpy(images)).numpy()
    assert from_numpy.shape == from_torch.shape == (5, 1, 48, 48)
    assert np.array_equal(from_numpy.view(np.uint32), from_torch.view(np.uint32))


def test_a_split_is_batched_in_order_into_the_same_model_input():
    torch = pytest.importorskip("torch")
    images = torch.randint(0, 256, (10, 48, 48), dtype=torch.uint8)
    batches = list(preprocess.model_input_batches(images, 4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert torch.equal(torch.cat(batches), preprocess.to_model_input(images))
