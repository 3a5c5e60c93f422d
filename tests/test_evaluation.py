"""One evaluation path: the training report and scripts/eval.py agree; evaluation reads only what it scores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fer.constants import CLASSES
from fer.data.load import load_split
from fer.errors import CheckpointError, ConfigError, DataError
from fer.evaluation.scoring import class_order, evaluate_split, five_crops, predict_probs, tta_mode, views
from tests.conftest import ROOT, face_like
from tests.test_training import FAST, make_cfg

EVAL = [sys.executable, "scripts/eval.py"]


def run_eval(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    out = tmp_path / "eval_out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's fer, even where another one is installed
    return subprocess.run([*EVAL, f"hydra.run.dir={out}", *overrides], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


def test_training_report_and_eval_script_agree_to_the_last_digit(folder_dataset, tmp_path):
    from fer.training.fit import train

    run = tmp_path / "run"
    train(make_cfg(folder_dataset, run, "trainer.max_epochs=2", *FAST))
    trained = json.loads((run / "report.json").read_text())
    best = trained["checkpoint"]
    assert Path(best).name.startswith("best-")
    # Training scores with torch; so does this run (classifier.backend=onnxruntime agrees within fp32
    # rounding, test_eval_script_backends_agree).
    res = run_eval(tmp_path, f"ckpt={best}", f"data.root={folder_dataset}", "split=test",
                   f"data.cache_dir={tmp_path / 'cache'}", "classifier.backend=torch")
    assert res.returncode == 0, res.stderr[-2000:]
    scored = json.loads((tmp_path / "eval_out" / "report.json").read_text())
    assert scored["accuracy"] == trained["accuracy"] and scored["macro_f1"] == trained["macro_f1"]
    assert scored["confusion_matrix"] == trained["confusion_matrix"]
    assert scored["classes"] == trained["classes"]
    assert (scored["ece"], scored["nll"], scored["reliability"]) == (trained["ece"], trained["nll"],
                                                                       trained["reliability"])


def write_faces(folder: Path, per_class: int, size: int, colour: bool, suffix: str, prefix: str = "") -> None:
    rng = np.random.default_rng(size)
    for label, name in enumerate(CLASSES):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = face_like(label, rng, size)
            if colour:
                img = cv2.merge([img, img // 2, img])
            cv2.imwrite(str(folder / name / f"{prefix}{i}{suffix}"), img)


def test_a_folder_with_only_test_is_enough(tmp_path):
    write_faces(tmp_path / "only_test" / "test", 2, 48, False, ".jpg", prefix="PublicTest_")
    data = load_split(tmp_path / "only_test", "test")
    assert len(data.faces) == 14 and data.faces.images.shape[1:] == (48, 48)
    with pytest.raises(DataError, match="split=train cannot be scored"):
        load_split(tmp_path / "only_test", "train")


def test_any_labelled_folder_of_any_size_and_colour(tmp_path):
    write_faces(tmp_path / "mine", 3, 120, True, ".png")
    data = load_split(tmp_path / "mine", "test")
    assert len(data.faces) == 21 and data.faces.images.dtype == torch.uint8
    assert data.faces.images.shape[1:] == (48, 48)
    assert sorted(set(data.faces.labels.tolist())) == list(range(7))
    assert "labelled folder" in data.notes[0]


def test_eval_script_scores_the_bundled_model_on_a_test_only_folder(tmp_path):
    write_faces(tmp_path / "only_test" / "test", 1, 64, True, ".jpg", prefix="PrivateTest_")
    res = run_eval(tmp_path, f"data.root={tmp_path / 'only_test'}", "split=test")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "test accuracy" in res.stdout
    report = json.loads((tmp_path / "eval_out" / "report.json").read_text())
    assert sum(r["support"] for r in report["classes"].values()) == 7


def test_a_bare_class_folder_is_scored_against_the_models_own_classes(tmp_path):
    """A 3-class model on angry/, happy/ and surprise/: the folder is named after the model's classes, not
    taken for FER-2013 with four classes missing; a folder the model has no class for is named."""
    from live_helpers import lightning_style_checkpoint

    three = ["angry", "happy", "surprise"]
    ckpt = lightning_style_checkpoint(tmp_path / "three.ckpt", model="fastcnn", model_kwargs={"width": 8},
                                      class_names=three)
    write_faces(tmp_path / "mine", 2, 48, False, ".png")
    for name in set(CLASSES) - set(three):
        for f in (tmp_path / "mine" / name).iterdir():
            f.unlink()
        (tmp_path / "mine" / name).rmdir()
    res = run_eval(tmp_path, f"ckpt={ckpt}", f"data.root={tmp_path / 'mine'}", "split=test",
                   "classifier.backend=torch", "device=cpu")
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "eval_out" / "report.json").read_text())
    assert list(report["classes"]) == three
    assert [report["classes"][c]["support"] for c in three] == [2, 2, 2]

    (tmp_path / "mine" / "sad").mkdir()
    with pytest.raises(DataError, match=r"unknown class folder .*sad: class folders \(the model's classes\) must "
                                        "be named one of angry, happy, surprise"):
        load_split(tmp_path / "mine", "test", class_names=three)


def test_no_labelled_faces_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    res = run_eval(tmp_path, f"data.root={tmp_path / 'empty'}", "split=test")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no labelled faces found" in res.stderr


def test_twelve_crop_views_are_the_face_its_mirror_and_five_resized_crops_with_theirs():
    x = torch.arange(2 * 48 * 48, dtype=torch.float32).view(2, 1, 48, 48)
    native = five_crops(x, 44, resize=False)
    assert [c.shape[-1] for c in native] == [44] * 5
    assert torch.equal(native[0], x[..., :44, :44]) and torch.equal(native[3], x[..., 4:, 4:])
    assert torch.equal(native[4], x[..., 2:46, 2:46])  # the centre
    vs = views(x, "twelvecrop")
    assert len(vs) == 12 and all(v.shape == x.shape for v in vs)
    assert torch.equal(vs[1], x.flip(-1)) and torch.equal(vs[7], vs[2].flip(-1))
    assert torch.allclose(vs[2][..., 0, 0], x[..., 0, 0])  # a resized corner crop keeps its corner pixel


def test_the_old_name_tencrop_scores_as_twelvecrop_and_an_unknown_mode_lists_the_current_names():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 7))
    x = torch.rand(3, 1, 48, 48)
    assert tta_mode("tencrop") == tta_mode("twelvecrop") == "twelvecrop"
    assert torch.equal(predict_probs(net, x, "tencrop"), predict_probs(net, x, "twelvecrop"))
    with pytest.raises(ConfigError) as refused:
        views(x, "fivecrop")
    assert str(refused.value) == "tta='fivecrop' is not one of none, flip, twelvecrop"


def test_eval_refuses_an_unknown_tta_mode_in_one_line_before_loading_a_model(tmp_path):
    res = run_eval(tmp_path, "tta=rotate", "ckpt=missing.ckpt")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "tta='rotate' is not one of none, flip, twelvecrop" in res.stderr and "tencrop" not in res.stderr


def test_class_order_maps_by_name_and_refuses_other_classes():
    shuffled = list(reversed(CLASSES))
    order = class_order(shuffled)
    assert [shuffled[i] for i in order] == list(CLASSES)
    with pytest.raises(CheckpointError, match="5 classes"):
        class_order(CLASSES[:5])


def test_a_model_with_classes_in_another_order_is_scored_by_name(tmp_path):
    from fer.checkpoints.loading import LoadedModel
    from fer.data.splits import LabeledImages

    class Constant(torch.nn.Module):  # always predicts its own class index 0
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            logits = torch.full((len(x), 7), -10.0)
            logits[:, 0] = 10.0
            return logits + self.w

    names = ["happy", *[c for c in CLASSES if c != "happy"]]
    model = LoadedModel(Constant(), names, "constant")
    faces = LabeledImages(torch.zeros(4, 48, 48, dtype=torch.uint8), torch.full((4,), CLASSES.index("happy")))
    probs, targets = evaluate_split([model], faces)
    assert probs.argmax(1).tolist() == [CLASSES.index("happy")] * 4


def test_eval_script_backends_agree(tmp_path):
    from tests.live_helpers import lightning_style_checkpoint

    write_faces(tmp_path / "faces" / "test", 3, 48, False, ".png", prefix="PublicTest_")
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    reports = {}
    for backend in ("torch", "onnxruntime"):
        res = run_eval(tmp_path / backend, f"ckpt={ckpt}", f"data.root={tmp_path / 'faces'}", "split=test",
                       f"classifier.backend={backend}", "tta=flip")
        assert res.returncode == 0, res.stderr[-2000:]
        assert f"{backend}, 21 faces scored" in res.stdout
        reports[backend] = json.loads((tmp_path / backend / "eval_out" / "report.json").read_text())
        assert reports[backend]["backend"] == backend
    assert reports["torch"]["accuracy"] == reports["onnxruntime"]["accuracy"]
    assert reports["torch"]["confusion_matrix"] == reports["onnxruntime"]["confusion_matrix"]


def test_eval_script_refuses_an_onnx_file_for_torch(tmp_path):
    from fer.checkpoints import export_onnx, load_model
    from tests.live_helpers import lightning_style_checkpoint

    write_faces(tmp_path / "faces" / "test", 1, 48, False, ".png", prefix="PublicTest_")
    onnx_path = tmp_path / "m.onnx"
    export_onnx(load_model(lightning_style_checkpoint(tmp_path / "m.ckpt")), onnx_path)
    ok = run_eval(tmp_path / "a", f"ckpt={onnx_path}", f"data.root={tmp_path / 'faces'}", "split=test")
    assert ok.returncode == 0 and "onnxruntime" in ok.stdout, ok.stderr[-2000:]
    refused = run_eval(tmp_path / "b", f"ckpt={onnx_path}", f"data.root={tmp_path / 'faces'}", "split=test",
                       "classifier.backend=torch")
    assert refused.returncode == 2 and "runs with classifier.backend=onnxruntime" in refused.stderr
