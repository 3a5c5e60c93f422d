"""Training and evaluating on datasets beyond FER-2013, end to end on synthetic copies: a three-class folder
tree (its classes in the module, checkpoint and reports; class-activation figures) and FER+ in each label
mode (hard labels, a class drawn from the votes each epoch, cross-entropy against the votes)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from fer.data.datamodule import FaceBatches, FERDataModule
from fer.data.splits import LabeledImages
from fer.training.fit import train
from fer.training.module import FERModule
from tests.conftest import CONF_DIR, face_like
from tests.test_datasets import make_affectnet, make_ferplus, make_rafdb, votes_row
from tests.test_training import FAST, make_cfg, run_eval

FOLDER_CLASSES = ["calm", "joy", "shock"]  # the folder names, sorted


def make_three_classes(root: Path, n_train: int = 8, n_test: int = 3, seed: int = 0) -> Path:
    """root/{train,test}/<class>/*.png with faces a model can tell apart; no val/ (held out from train)."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(FOLDER_CLASSES):
        for split, n in (("train", n_train), ("test", n_test)):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                cv2.imwrite(str(d / f"{i:03d}.png"), face_like(2 * label, rng))
    return root


TINY = ["model=fastcnn", "model.kwargs.width=8"]


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """One epoch on the three-class tree, with checkpoints and the full report."""
    root = make_three_classes(tmp_path_factory.mktemp("faces"))
    out = tmp_path_factory.mktemp("run")
    metrics = train(make_cfg(root, out, "data=folder", "data.val_fraction=0.25", "trainer.max_epochs=1", "logger=csv", *TINY, *FAST))
    return root, out, metrics


def test_folder_run_trains_and_reports_with_the_folders_classes(folder_run):
    _, out, metrics = folder_run
    report = json.loads((out / "report.json").read_text())
    assert list(report["classes"]) == FOLDER_CLASSES and report["support"] == 9
    assert report["accuracy"] == pytest.approx(metrics["test/acc"])
    hp = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["hyper_parameters"]
    assert hp["class_names"] == FOLDER_CLASSES and len(hp["class_weights"]) == 3
    assert all(type(c) is str for c in hp["class_names"])
    module = FERModule.load_from_checkpoint(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert module(torch.rand(2, 1, 48, 48)).shape == (2, 3)
    for name in ("confusion_matrix.png", "class_activation.png"):
        assert (out / name).stat().st_size > 0, name


def test_exported_models_record_the_data_they_were_trained_on(folder_run, tmp_path):
    """The checkpoint says what it learnt from (a folder tree, not FER-2013), and its bundle and ONNX file say so too."""
    from fer.checkpoints.bundle_export import export_bundle
    from fer.checkpoints.loading import load_model
    from fer.checkpoints.onnx_export import export_onnx

    root, out, _ = folder_run
    ckpt = out / "checkpoints" / "last.ckpt"
    expected = f"a class-folder tree at {root}"
    assert torch.load(ckpt, weights_only=True)["hyper_parameters"]["data"] == expected
    info = export_bundle(ckpt, tmp_path / "m.pt")
    assert info["data"] == expected and "FER-2013" not in info["data"]
    assert json.loads((tmp_path / "m.json").read_text())["data"] == expected
    assert load_model(tmp_path / "m.pt").meta["data"] == expected  # and a re-export keeps it
    assert export_onnx(load_model(ckpt), tmp_path / "m.onnx")["data"] == expected


def test_eval_scores_a_folder_dataset_with_its_classes_and_writes_a_cam(folder_run, tmp_path):
    root, out, _ = folder_run
    face = tmp_path / "face.png"
    cv2.imwrite(str(face), face_like(2, np.random.default_rng(1), size=96))
    ckpt = out / "checkpoints" / "last.ckpt"
    common = [f"ckpt={ckpt}", "data=folder", f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}",
              "data.val_fraction=0.25", "split=test", "classifier.backend=torch"]
    res = run_eval(*common, "cam=0", f"hydra.run.dir={tmp_path / 'index'}")
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "index" / "report.json").read_text())
    assert list(report["classes"]) == FOLDER_CLASSES and report["support"] == 9
    assert report["accuracy"] == pytest.approx(json.loads((out / "report.json").read_text())["accuracy"])
    assert (tmp_path / "index" / "cam.png").stat().st_size > 0
    res = run_eval(*common, f"cam={face}", f"hydra.run.dir={tmp_path / 'path'}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "path" / "cam.png").stat().st_size > 0
    res = run_eval(*common, "cam=99", f"hydra.run.dir={tmp_path / 'bad'}")
    assert res.returncode == 2 and "cam=99" in res.stderr and "Traceback" not in res.stderr


# ---------------------------------------------------------------- FER+

VOTES = [dict(happiness=8, neutral=2), dict(neutral=7, sadness=3), dict(surprise=6, fear=4),
         dict(contempt=6, neutral=4)]


def make_ferplus_faces(root: Path) -> Path:
    """Sixteen training, four PublicTest (val) and four PrivateTest (test) faces, each with a clear majority."""
    usages = ["Training"] * 16 + ["PublicTest"] * 4 + ["PrivateTest"] * 4
    rows = [votes_row(u, f"fer{i}.png", **VOTES[i % len(VOTES)]) for i, u in enumerate(usages)]
    return make_ferplus(root, rows)


@pytest.mark.parametrize("mode", ["majority", "probability", "crossentropy"])
def test_ferplus_trains_in_each_label_mode(tmp_path, mode):
    root = make_ferplus_faces(tmp_path / "ferplus")
    metrics = train(make_cfg(root, tmp_path / "run", "data=ferplus", f"data.label_mode={mode}",
                             "trainer.max_epochs=1", "logger=csv", *TINY, *FAST))
    assert 0.0 <= metrics["test/acc"] <= 1.0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert len(report["classes"]) == 8 and "contempt" in report["classes"] and report["support"] == 4


@pytest.mark.parametrize(("name", "make", "classes"), [("rafdb", make_rafdb, 7), ("affectnet", make_affectnet, 8)])
def test_rafdb_and_affectnet_layouts_train_and_evaluate(tmp_path, name, make, classes):
    root = make(tmp_path / name)
    metrics = train(make_cfg(root, tmp_path / "run", f"data={name}", "data.val_fraction=0.25", "trainer.max_epochs=1",
                             "logger=csv", *TINY, *FAST))
    assert 0.0 <= metrics["test/acc"] <= 1.0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert len(report["classes"]) == classes
    ckpt = next((tmp_path / "run" / "checkpoints").glob("best-*.ckpt"))
    res = run_eval(f"ckpt={ckpt}", f"data={name}", f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}",
                   "data.val_fraction=0.25", "split=test", "classifier.backend=torch", f"hydra.run.dir={tmp_path / 'eval'}")
    assert res.returncode == 0, res.stderr[-2000:]
    evaluated = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert len(evaluated["classes"]) == classes and evaluated["accuracy"] == pytest.approx(report["accuracy"])


def test_probability_mode_draws_labels_from_the_votes_and_crossentropy_keeps_them():
    targets = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    faces = LabeledImages(torch.zeros(2, 48, 48, dtype=torch.uint8), targets.argmax(1), targets)
    torch.manual_seed(0)
    drawn = torch.stack([FaceBatches(faces, targets="probability")[[0, 1]][1] for _ in range(200)])
    assert set(drawn[:, 0].tolist()) == {0, 1} and set(drawn[:, 1].tolist()) == {2}
    assert torch.equal(FaceBatches(faces, targets="crossentropy")[[0, 1]][1], targets)
    assert torch.equal(FaceBatches(faces, targets="majority")[[0, 1]][1], torch.tensor([0, 2]))


def test_crossentropy_loss_is_against_the_whole_distribution():
    module = FERModule(model="fastcnn", model_kwargs={"width": 8}, class_names=["a", "b", "c"])
    logits, targets = torch.randn(4, 3), torch.softmax(torch.randn(4, 3), 1)
    expected = -(targets * torch.log_softmax(logits, 1)).sum(1).mean()
    assert module.loss(logits, targets) == pytest.approx(float(expected), rel=1e-5)


def test_crossentropy_with_mixup_mixes_the_distributions(tmp_path):
    root = make_ferplus_faces(tmp_path / "ferplus")
    cfg = make_cfg(root, tmp_path / "run", "data=ferplus", "data.label_mode=crossentropy", "data.augment.mixup=0.2",
                   "debug=fast_dev_run", *TINY, *FAST)
    assert train(cfg)["train/loss"] > 0
    torch.manual_seed(0)
    module = FERModule(model="fastcnn", model_kwargs={"width": 4}, class_names=["a", "b", "c"],
                       augmentation={"mixup": 1.0})
    seen = []
    module.loss = lambda logits, target: seen.append(target) or logits.sum() * 0
    y = torch.softmax(torch.randn(4, 3), 1)
    module.training_step((torch.rand(4, 1, 48, 48), y), 0)
    assert seen[0].shape == (4, 3) and torch.allclose(seen[0].sum(1), torch.ones(4))
    assert not torch.allclose(seen[0], y)


def test_datamodule_gives_the_data_classes_to_the_module(tmp_path):
    root = make_three_classes(tmp_path / "faces", n_train=4, n_test=1)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data=folder", f"data.root={root}", "data.cache_dir=null",
                                               "data.val_fraction=0.25", *TINY])
    from fer.training.build import build_datamodule, build_module

    dm = build_datamodule(cfg)
    assert isinstance(dm, FERDataModule) and dm.num_classes == 3
    module = build_module(cfg, dm)
    assert module.hparams.class_names == FOLDER_CLASSES and module.net(torch.rand(1, 1, 48, 48)).shape == (1, 3)
