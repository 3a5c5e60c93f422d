"""The model registry, cnn4's exact size, and balanced class weights."""

from __future__ import annotations

import pytest
import torch

from fer.data.class_weights import balanced_class_weights
from fer.errors import ConfigError
from fer.models import count_parameters, create_model, get_classifier, list_models

FER2013_TRAIN_COUNTS = [3995, 436, 4097, 7215, 4965, 4830, 3171]


def test_cnn4_parameter_count_and_shapes():
    model = create_model("cnn4")
    assert count_parameters(model) == 4_474_759
    model.eval()
    x = torch.rand(3, 1, 48, 48)
    assert model(x).shape == (3, 7)
    assert model.features(x).shape == (3, 512, 3, 3)


def test_registry_rejects_unknown_names_with_the_choices():
    assert "cnn4" in list_models()
    with pytest.raises(ValueError, match="cnn4"):
        create_model("resnet9000")


@pytest.mark.parametrize("name", list_models())
def test_every_model_names_its_classifier_head(name):
    net = create_model(name, num_classes=5)
    path, head = get_classifier(net)
    assert isinstance(head, torch.nn.Linear) and head.out_features == 5
    assert head is [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]  # the layer giving the scores
    assert net.get_submodule(path) is head


def test_a_network_that_names_no_head_is_refused_with_what_to_do():
    with pytest.raises(ConfigError, match="classifier_name"):
        get_classifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)))


def test_balanced_weights_match_fer2013():
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(FER2013_TRAIN_COUNTS)])
    w = balanced_class_weights(labels, 7)
    assert w[1].item() == pytest.approx(9.41, abs=0.01)  # disgust
    assert w[3].item() == pytest.approx(0.57, abs=0.01)  # happy
    # Balanced weights make every class contribute the same total weight.
    totals = w * torch.tensor(FER2013_TRAIN_COUNTS, dtype=torch.float)
    assert torch.allclose(totals, totals.mean().expand(7), rtol=1e-5)


def test_absent_class_gets_zero_weight():
    w = balanced_class_weights(torch.tensor([0, 0, 1, 1]), 3)
    assert w.tolist() == [1 / 1.5, 1 / 1.5, 0.0] or torch.allclose(w, torch.tensor([4 / 6, 4 / 6, 0.0]))


def test_resnet18_trains_from_scratch_at_48px():
    model = create_model("resnet18", pretrained=False)
    assert model.conv1.in_channels == 1 and model.fc[1].out_features == 7
    assert model(torch.rand(2, 1, 48, 48)).shape == (2, 7)


def test_pretrained_without_download_fails_clearly(monkeypatch):
    from urllib.error import URLError

    from torchvision.models import ResNet18_Weights

    from fer.errors import PretrainedWeightsUnavailable

    def offline(self, *args, **kwargs):
        raise URLError("Name or service not known")

    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", offline)
    with pytest.raises(PretrainedWeightsUnavailable, match="model.pretrained=false"):
        create_model("resnet18", pretrained=True)


def test_pretrained_flag_is_refused_by_models_without_weights():
    from fer.training.module import FERModule

    with pytest.raises(ValueError, match="resnet18"):
        FERModule(model="cnn4", pretrained=True)


def test_checkpoint_of_a_pretrained_model_loads_without_download(monkeypatch, tmp_path):
    import lightning as L

    from fer.models import resnet
    from fer.training.module import FERModule

    monkeypatch.setattr(resnet, "imagenet_state_dict", lambda: resnet.tv_resnet18(weights=None).state_dict())
    module = FERModule(model="resnet18", pretrained=True)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    monkeypatch.undo()  # from here on, any download attempt would fail
    loaded = FERModule.load_from_checkpoint(tmp_path / "m.ckpt", weights_only=True)
    assert loaded.hparams.model["pretrained"] is False
    assert torch.equal(loaded.net.fc[1].weight, module.net.fc[1].weight)


def test_unknown_model_argument_lists_the_accepted_ones():
    with pytest.raises(ValueError, match="takes: num_classes, in_chans, dropout"):
        create_model("cnn4", width=3)


def test_every_shipped_model_file_has_a_sidecar_entry():
    import json

    from fer.checkpoints.bundled import WEIGHTS_DIR, shipped_files
    from fer.inference.detectors.centerface import WEIGHTS as DETECTOR_WEIGHTS

    files = shipped_files()
    on_disk = {p for p in WEIGHTS_DIR.iterdir() if p.suffix in (".pt", ".onnx") and p != DETECTOR_WEIGHTS}
    assert set(files) == on_disk  # every classifier file is described, and every description has its file
    for path, entry in files.items():
        family = json.loads((WEIGHTS_DIR / f"{path.name.split('.')[0].removesuffix('-int8')}.json").read_text())
        assert family["class_names"] and family["files"][path.name] == entry
        assert 0.6 < entry["accuracy"] < 1 and "PublicTest" in entry["scored_split"]
        assert path.name in entry["command"] and entry["size_bytes"] == path.stat().st_size


def test_the_default_is_the_most_accurate_shipped_model_and_the_fastcnn32_one_path_away():
    from fer.checkpoints.bundled import BUNDLED_INT8, BUNDLED_MODEL, BUNDLED_ONNX, WEIGHTS_DIR, shipped_files
    from fer.inference.classifier import EmotionClassifier

    files = shipped_files()
    fp32 = {p: e["accuracy"] for p, e in files.items() if e["precision"] == "fp32"}
    assert max(fp32, key=fp32.get) == BUNDLED_ONNX
    assert {BUNDLED_MODEL, BUNDLED_INT8} < set(files) and BUNDLED_ONNX.name == "fer2013-fastcnn48.onnx"
    assert EmotionClassifier.from_path(None).backend.path == str(BUNDLED_ONNX)
    smaller = EmotionClassifier.from_path(WEIGHTS_DIR / "fer2013-fastcnn32.onnx")
    assert smaller.meta["model_kwargs"]["width"] == 32 and smaller.meta["exported_from"] == "fer2013-fastcnn32.pt"
