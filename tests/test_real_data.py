"""Checks on the real FER-2013, run only when FER2013_ROOT points at it (CI sets it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fer.data.class_weights import balanced_class_weights
from fer.data.load import load_fer2013
from fer.training.fit import train
from tests.test_training import FAST, make_cfg

WEIGHTS = Path(__file__).resolve().parents[1] / "fer" / "weights"


def test_real_counts_and_weights(real_fer_root, real_cache):
    s = load_fer2013(real_fer_root, real_cache)
    assert len(s.train) == 28_709
    assert s.train.class_counts() == [3995, 436, 4097, 7215, 4965, 4830, 3171]
    assert len(s.val) >= 3_589  # PublicTest; PrivateTest may be absent
    w = balanced_class_weights(s.train.labels, 7)
    assert w[1].item() == pytest.approx(9.41, abs=0.01) and w[3].item() == pytest.approx(0.57, abs=0.01)


def test_brief_training_on_a_real_subset(real_fer_root, real_cache, tmp_path):
    cfg = make_cfg(real_fer_root, tmp_path, "model=fastcnn", "data.train_subset=2048", "data.eval_subset=512",
                   f"data.cache_dir={real_cache}",
                   "trainer.max_epochs=2", "logger=csv", "data.augment.mode=batched",
                   *[o for o in FAST if not o.startswith("data.batch_size")], "data.batch_size=64")
    metrics = train(cfg)
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 2
    assert history[1]["train/loss"] < history[0]["train/loss"]  # it learns
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["support"] == 512 and report["accuracy"] == pytest.approx(metrics["test/acc"])


def test_every_shipped_model_file_scores_what_its_sidecar_records(real_fer_root, real_cache):
    from fer.checkpoints.bundled import shipped_files
    from fer.constants import CLASSES
    from fer.evaluation.classification import classification_table
    from fer.evaluation.scoring import evaluate_split
    from fer.inference.backends import open_backend

    val = load_fer2013(real_fer_root, real_cache).val
    if len(val) != 3_589:
        pytest.skip("the recorded accuracies are on PublicTest alone")
    files = shipped_files()
    assert len(files) >= 7  # two families of .pt, .onnx and -int8.onnx, and their cpu_hour teacher
    for path, entry in files.items():
        probs, targets = evaluate_split([open_backend(path, "onnxruntime", threads=2)], val)
        accuracy = classification_table(probs, targets, CLASSES)["accuracy"]
        # Recorded to 4 places; int8 kernels (VNNI, AVX2) may move a few of the 3,589 faces.
        assert accuracy == pytest.approx(entry["accuracy"], abs=0.002), path.name
