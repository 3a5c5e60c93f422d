"""Weights-only loading of Lightning checkpoints and bundles, export, and clear errors for bad files."""

import random

import lightning as L
import numpy as np
import pytest
import torch
from live_helpers import lightning_style_checkpoint
from torch.utils.data import DataLoader, TensorDataset

from fer.checkpoints import export_bundle, load_model
from fer.constants import CLASSES
from fer.errors import CheckpointError
from fer.inference.classifier import EmotionClassifier
from fer.training.module import FERModule


def same_outputs(a, b, atol):
    x = torch.rand(8, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        return torch.allclose(a(x).softmax(1), b(x).softmax(1), atol=atol)


def test_real_lightning_checkpoint_loads_weights_only(tmp_path):
    torch.manual_seed(0)
    module = FERModule(model="cnn4", class_weights=[1.0] * 7)
    data = DataLoader(TensorDataset(torch.rand(8, 1, 48, 48), torch.randint(0, 7, (8,))), batch_size=4)
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=0)
    trainer.fit(module, train_dataloaders=data)
    path = tmp_path / "real.ckpt"
    trainer.save_checkpoint(path)
    loaded = load_model(path)
    assert loaded.model == "cnn4" and loaded.class_names == list(CLASSES)
    assert not loaded.net.training
    assert same_outputs(module.net.eval(), loaded.net, atol=1e-6)


@pytest.mark.parametrize(("precision", "atol"), [("fp32", 1e-6), ("fp16", 2e-3), ("int8", 2e-2)])
def test_export_bundle_roundtrip(tmp_path, precision, atol):
    ckpt = lightning_style_checkpoint(tmp_path / "run.ckpt")
    info = export_bundle(ckpt, tmp_path / "weights" / "m.pt", meta={"note": "test"}, precision=precision)
    assert info["note"] == "test" and info["precision"] == precision
    assert (tmp_path / "weights" / "m.json").is_file()
    a, b = load_model(ckpt), load_model(tmp_path / "weights" / "m.pt")
    assert b.meta["note"] == "test" and b.class_names == a.class_names
    assert same_outputs(a.net, b.net, atol)


def test_int8_bundle_is_about_a_quarter(tmp_path):
    ckpt = lightning_style_checkpoint(tmp_path / "run.ckpt")
    export_bundle(ckpt, tmp_path / "fp32.pt", precision="fp32")
    export_bundle(ckpt, tmp_path / "int8.pt", precision="int8")
    assert (tmp_path / "int8.pt").stat().st_size < 0.3 * (tmp_path / "fp32.pt").stat().st_size


def test_export_picks_up_the_run_report(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    ckpt = lightning_style_checkpoint(run / "checkpoints" / "best.ckpt")
    (run / "report.json").write_text('{"checkpoint": "x/best.ckpt", "accuracy": 0.61, "command": "train"}')
    assert export_bundle(ckpt, tmp_path / "b.pt")["accuracy"] == 0.61
    (run / "report.json").write_text('{"checkpoint": "x/other.ckpt", "accuracy": 0.61}')
    assert export_bundle(ckpt, tmp_path / "b.pt")["accuracy"] is None  # scored another checkpoint


def test_classifier_probabilities(tmp_path):
    clf = EmotionClassifier.from_path(lightning_style_checkpoint(tmp_path / "c.ckpt"))
    probs = clf.predict([np.zeros((60, 50, 3), np.uint8), np.full((30, 30), 200, np.uint8)])
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert clf.predict([]).shape == (0, 7)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found: .*missing.ckpt.*ckpt=PATH"):
        load_model(tmp_path / "missing.ckpt")


def test_folder_instead_of_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        load_model(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 50, b"PK\x03\x04truncated zip"])
def test_corrupt_checkpoint(tmp_path, content):
    path = tmp_path / "corrupt.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(path)


def test_random_bytes_never_escape_as_another_error(tmp_path):
    # Random bytes break the unpickler in many ways (IndexError, KeyError, ...); all must become one message.
    path = tmp_path / "noise.ckpt"
    for seed in range(40):
        path.write_bytes(random.Random(seed).randbytes(3000))
        with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint|holds objects other than"):
            load_model(path)


def test_truncated_real_checkpoint(tmp_path):
    path = lightning_style_checkpoint(tmp_path / "c.ckpt")
    path.write_bytes(path.read_bytes()[: 4000])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(path)


def test_checkpoint_of_another_architecture(tmp_path):
    path = lightning_style_checkpoint(tmp_path / "c.ckpt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["hyper_parameters"]["model"]["name"] = "resnet_from_elsewhere"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="model 'resnet_from_elsewhere', which this version does not have"):
        load_model(path)


def test_checkpoint_whose_weights_do_not_fit(tmp_path):
    path = lightning_style_checkpoint(tmp_path / "c.ckpt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["state_dict"] = {"net.fc.weight": torch.zeros(7, 10), "net.fc.bias": torch.zeros(7)}
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="do not fit model 'cnn4'.*another architecture"):
        load_model(path)


def test_checkpoint_with_other_class_count(tmp_path):
    path = lightning_style_checkpoint(tmp_path / "c.ckpt", class_names=["a", "b", "c"])
    ckpt = torch.load(path, weights_only=True)
    ckpt["hyper_parameters"]["class_names"] = list(CLASSES)  # 7 names, 3-class weights
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_model(path)


def test_plain_state_dict_is_not_an_fer_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="not an FER checkpoint"):
        load_model(path)


class Payload:
    """Any class: unpickling it would run code chosen by the file's author."""


def test_arbitrary_objects_are_refused(tmp_path):
    path = tmp_path / "pickled.ckpt"
    torch.save({"hyper_parameters": {"model": "cnn4"}, "state_dict": {}, "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="holds objects other than weights"):
        load_model(path)


def test_malformed_bundle(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"format": "fer-bundle/1", "model": "cnn4", "class_names": list(CLASSES),
                "state_dict": {"features.0.0.weight": 3}}, path)
    with pytest.raises(CheckpointError, match="malformed"):
        load_model(path)


def test_classifier_matches_the_plain_network(tmp_path):
    path = lightning_style_checkpoint(tmp_path / "c.ckpt")
    clf, plain = EmotionClassifier.from_path(path), load_model(path).net
    x = torch.rand(4, 1, 48, 48)
    with torch.inference_mode():
        expected = plain(x).softmax(1).numpy()
    assert np.allclose(clf.predict_batch(x), expected, atol=1e-5)


def test_checkpoint_with_arguments_this_model_does_not_take(tmp_path):
    path = lightning_style_checkpoint(tmp_path / "c.ckpt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["hyper_parameters"]["model"]["kwargs"] = {"depth": 50}
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="cannot be built with"):
        load_model(path)
