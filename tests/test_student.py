"""Students of a trained model: narrowed warm starts, init_from, and offline (soft-label) distillation."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.strategies import DDPStrategy
from torch import nn

from fer.checkpoints.loading import load_model
from fer.data.splits import LabeledImages
from fer.errors import CheckpointError, ConfigError
from fer.models import create_model
from fer.models.narrowing import copy_narrowed
from fer.training import fit
from fer.training.distill import Distiller
from fer.training.fit import label_training_faces, train
from fer.training.module import FERModule
from tests.test_distill import TINY, Recorder
from tests.test_training import FAST, make_cfg


def trained_like(width: int) -> nn.Module:
    """A fastcnn with random weights and BN statistics, as a trained one would have."""
    torch.manual_seed(width)
    net = create_model("fastcnn", num_classes=7, width=width)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(-1, 1)
            m.bias.data.normal_()
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
    return net.eval()


def test_equal_width_copies_the_network_exactly():
    src, dst = trained_like(8), create_model("fastcnn", num_classes=7, width=8).eval()
    assert copy_narrowed(src, dst) == [8, 8, 16, 16, 32, 32, 64, 64]
    x = torch.rand(3, 1, 48, 48)
    assert torch.equal(src(x), dst(x))


def test_narrowing_keeps_the_strongest_channels_in_order():
    src, dst = trained_like(8), create_model("fastcnn", num_classes=7, width=4).eval()
    copy_narrowed(src, dst)
    src_bn = [m for m in src.modules() if isinstance(m, nn.BatchNorm2d)]
    dst_bn = [m for m in dst.modules() if isinstance(m, nn.BatchNorm2d)]
    kept = src_bn[0].weight.abs().topk(4).indices.sort().values
    assert torch.equal(dst_bn[0].weight, src_bn[0].weight[kept])
    # The first conv keeps those filters; the classifier reads the last layer's kept channels.
    first_conv = next(m for m in src.modules() if isinstance(m, nn.Conv2d))
    dst_conv = next(m for m in dst.modules() if isinstance(m, nn.Conv2d))
    assert torch.equal(dst_conv.weight, first_conv.weight[kept])
    assert dst.head[-1].weight.shape == (7, 32) and torch.equal(dst.head[-1].bias, src.head[-1].bias)


def test_narrowing_refuses_what_it_cannot_do():
    with pytest.raises(CheckpointError, match="cannot come from"):  # wider than the source
        copy_narrowed(trained_like(4), create_model("fastcnn", num_classes=7, width=8))
    with pytest.raises(CheckpointError, match="conv layers"):  # another depth
        copy_narrowed(trained_like(4), create_model("vgg13", num_classes=7, width=4))
    with pytest.raises(CheckpointError, match="only such nets"):  # dense head of cnn4
        copy_narrowed(create_model("cnn4", num_classes=7), create_model("cnn4", num_classes=7))


def test_offline_soft_labels_are_the_teachers_tta_probs_and_are_cached(tmp_path):
    net = nn.Sequential(nn.Flatten(), nn.Linear(48 * 48, 7))
    faces = LabeledImages(torch.randint(0, 256, (10, 48, 48), dtype=torch.uint8), torch.arange(10) % 7)
    d = Distiller([net], temperature=2.0, teacher_tta="flip", offline=True, fingerprint="abc")
    probs = d.label_faces(faces, tmp_path, batch_size=4)
    x = faces.images.unsqueeze(1).float() / 255
    expected = ((net(x) / 2).softmax(1) + (net(x.flip(-1)) / 2).softmax(1)) / 2
    assert probs.shape == (10, 7) and torch.allclose(probs, expected.detach(), atol=1e-5)
    # A second distiller with the same teachers reads the cache instead of asking its teacher.
    again = Distiller([Recorder(torch.zeros(1, 7))], temperature=2.0, teacher_tta="flip", offline=True,
                      fingerprint="abc")
    assert torch.equal(again.label_faces(faces, tmp_path), probs) and not again.teachers[0].seen
    # The loss looks each face's labels up by its index, whatever the student saw.
    student = torch.randn(3, 7)
    index = torch.tensor([9, 0, 4])
    kd = d.kd_loss(student, torch.zeros(3, 1, 48, 48), index)
    log_p = (student / 2).log_softmax(1)
    assert kd.item() == pytest.approx((probs[index] * (probs[index].log() - log_p)).sum(1).mean().item() * 4, rel=1e-5)
    with pytest.raises(ConfigError, match="index"):
        d.kd_loss(student, torch.zeros(3, 1, 48, 48))


def test_a_soft_label_cache_written_under_the_modes_old_name_is_read_by_both_names(tmp_path):
    faces = LabeledImages(torch.randint(0, 256, (10, 48, 48), dtype=torch.uint8), torch.arange(10) % 7)
    # What a run with distill.teacher_tta=tencrop wrote before the mode was renamed.
    key = f"abc-tencrop-T2-10-{hashlib.sha1(faces.images.numpy().tobytes()).hexdigest()[:12]}"
    path = tmp_path / "soft_labels" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
    path.parent.mkdir()
    stored = torch.rand(10, 7)
    torch.save({"key": key, "probs": stored}, path)
    for name in ("twelvecrop", "tencrop"):
        d = Distiller([Recorder(torch.zeros(1, 7))], temperature=2.0, teacher_tta=name, offline=True,
                      fingerprint="abc")
        assert d.teacher_tta == "twelvecrop"
        assert torch.equal(d.label_faces(faces, tmp_path), stored) and not d.teachers[0].seen
    assert list(path.parent.iterdir()) == [path]  # no second cache under another key


def test_student_run_starts_from_a_narrowed_teacher_and_learns_its_soft_labels(folder_dataset, tmp_path, monkeypatch):
    teacher_dir = tmp_path / "teacher"
    train(make_cfg(folder_dataset, teacher_dir, *TINY, "model.kwargs.width=8", *FAST))
    teacher = next((teacher_dir / "checkpoints").glob("best-*.ckpt"))
    # The soft labels are made on the device of the run's own Trainer, built before them.
    trainers, label_devices = [], []

    class RecordedTrainer(L.Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            trainers.append(self)

    monkeypatch.setattr(fit.L, "Trainer", RecordedTrainer)
    label = fit.label_training_faces
    monkeypatch.setattr(fit, "label_training_faces",
                        lambda d, dm, precision, device: label_devices.append(device) or label(d, dm, precision, device))
    out = tmp_path / "student"
    metrics = train(make_cfg(folder_dataset, out, "experiment=student", *TINY, "model.kwargs.width=4",
                             f"init_from={teacher}", f"distill.teachers=[{teacher}]", "trainer.max_epochs=1", *FAST))
    assert metrics["train/kd"] >= 0.0
    assert label_devices == [trainers[0].strategy.root_device]
    assert list((out / "cache" / "soft_labels").glob("*.pt"))
    student = load_model(next((out / "checkpoints").glob("best-*.ckpt")))
    assert student.model_kwargs["width"] == 4 and "init_from" not in FERModule.load_from_checkpoint(
        next((out / "checkpoints").glob("best-*.ckpt")), map_location="cpu", weights_only=True).hparams
    # mixup on stored soft labels: they are mixed as the faces were
    mixed = train(make_cfg(folder_dataset, tmp_path / "mixed", "experiment=student", *TINY, f"init_from={teacher}",
                           "model.kwargs.width=4", f"distill.teachers=[{teacher}]", "data.augment.mixup=0.2",
                           "trainer.max_epochs=1", *FAST))
    assert mixed["train/kd"] >= 0.0


def test_soft_labels_are_made_on_the_given_device_in_the_runs_precision():
    calls = []
    distiller = SimpleNamespace(teacher_tta="twelvecrop",
                                label_faces=lambda faces, cache, bs, autocast, device: calls.append((autocast, device)))
    datamodule = SimpleNamespace(loaded_splits=lambda: SimpleNamespace(train=[0, 1]), train_index=False,
                                 cache_dir=None, eval_batch_size=4)
    for precision, device in [("16-mixed", "cuda:3"), ("bf16-mixed", "cpu"), ("32-true", "cpu")]:
        label_training_faces(distiller, datamodule, precision, torch.device(device))
    assert calls == [(torch.float16, torch.device("cuda:3")), (torch.bfloat16, torch.device("cpu")),
                     (None, torch.device("cpu"))]
    assert datamodule.train_index  # the training batches now carry each face's index for the lookup


def test_a_ddp_process_trains_on_the_device_listed_at_its_local_rank(monkeypatch):
    # What the offline labels rely on: with trainer.devices=[2, 3], the process at local rank 1 has cuda:3
    # as its root device (a count or `auto` gives cuda:0..N-1 in the same way).
    strategy = DDPStrategy(parallel_devices=[torch.device("cuda", 2), torch.device("cuda", 3)],
                           cluster_environment=LightningEnvironment())
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert strategy.root_device == torch.device("cuda", 3)


def test_offline_soft_labels_are_mixed_with_the_faces():
    torch.manual_seed(0)
    module = FERModule(model="fastcnn", model_kwargs={"width": 4}, augmentation={"mixup": 1.0})
    teacher = Recorder(torch.randn(1, 7))
    module.distiller = Distiller([teacher], alpha=1.0, temperature=1.0, offline=True)
    module.distiller.soft_labels = torch.softmax(torch.randn(20, 7), 1)
    index = torch.tensor([3, 7, 1, 19, 0, 5])
    seen = {}
    kd = module.distiller.kd_loss
    module.distiller.kd_loss = lambda logits, x, idx, w: seen.update(w=w, logits=logits) or kd(logits, x, idx, w)
    x, y = torch.rand(6, 1, 48, 48), torch.arange(6) % 7
    with pytest.warns(UserWarning):  # self.log without a trainer
        loss = module.training_step((x, y, index), 0)
    w = seen["w"]
    assert w is not None and not torch.equal(w, torch.eye(6)) and not teacher.seen  # offline: no teacher call
    target = w @ module.distiller.soft_labels[index]
    expected = F.kl_div(F.log_softmax(seen["logits"].float(), 1), target, reduction="batchmean")
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
