"""Knowledge distillation: the loss, the teachers' view of the batch, and student checkpoints without teachers."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fer.checkpoints.bundle_export import export_bundle
from fer.checkpoints.loading import load_model
from fer.errors import ConfigError
from fer.training.distill import Distiller, build_distiller
from fer.training.fit import train
from fer.training.module import FERModule
from tests.test_training import FAST, make_cfg

TINY = ["model=fastcnn", "model.kwargs.width=4", "trainer.max_epochs=1", "logger=csv"]


class Recorder(nn.Module):
    """A teacher that remembers the batches it saw and answers with fixed logits."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.logits, self.seen = logits, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.logits[: len(x)].to(x.dtype).repeat(len(x) // len(self.logits[: len(x)]), 1)


def test_loss_is_the_weighted_sum_of_ce_and_softened_kl():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 7, requires_grad=True), torch.randn(4, 7)
    ce = torch.tensor(1.5)
    d = Distiller([Recorder(teacher)], alpha=0.25, temperature=3.0)
    loss = d.loss(nn.Module(), torch.rand(4, 1, 48, 48), student, ce)
    p_t = (teacher / 3).softmax(1)
    kl = (p_t * (p_t.log() - (student / 3).log_softmax(1))).sum(1).mean()
    assert loss.item() == pytest.approx(0.75 * 1.5 + 0.25 * 9 * kl.item(), rel=1e-5)
    loss.backward()
    assert student.grad is not None and d.teachers[0].w.grad is None
    # Identical student and teacher: nothing to distil. alpha = 0: the teachers are not even asked.
    assert d.kd_loss(teacher.clone(), torch.rand(4, 1, 48, 48)).item() == pytest.approx(0.0, abs=1e-6)
    off = Distiller([Recorder(teacher)], alpha=0.0)
    assert off.loss(nn.Module(), torch.rand(4, 1, 48, 48), student, ce) is ce and not off.teachers[0].seen


def test_teacher_tta_averages_over_views():
    net = nn.Sequential(nn.Flatten(), nn.Linear(48 * 48, 7))
    x = torch.rand(3, 1, 48, 48)
    d = Distiller([net], temperature=2.0, teacher_tta="flip")
    expected = ((net(x) / 2).softmax(1) + (net(x.flip(-1)) / 2).softmax(1)) / 2
    assert torch.allclose(d.teacher_probs(x), expected, atol=1e-6)
    with pytest.raises(ConfigError, match="teacher_tta"):
        Distiller([net], teacher_tta="rotate")
    with pytest.raises(ConfigError, match="alpha"):
        Distiller([net], alpha=1.5)
    assert build_distiller({"teachers": [], "alpha": 0.5}, ["a"]) is None


def test_teacher_sees_the_mixed_batch():
    torch.manual_seed(0)
    module = FERModule(model="fastcnn", model_kwargs={"width": 4}, mixup=1.0)
    student_inputs = []
    module.net.register_forward_pre_hook(lambda m, args: student_inputs.append(args[0].detach().clone()))
    teacher = Recorder(torch.randn(1, 7))
    module.distiller = Distiller([teacher], alpha=0.5, teacher_tta="none")
    x, y = torch.rand(8, 1, 48, 48), torch.arange(8) % 7
    with pytest.warns(UserWarning):  # self.log without a trainer
        loss = module.training_step((x, y), 0)
    assert torch.isfinite(loss)
    assert len(teacher.seen) == 1 and torch.equal(teacher.seen[0], student_inputs[0].contiguous())
    assert not torch.equal(teacher.seen[0], x)  # mixed, not the raw batch


def test_distilled_student_checkpoint_has_no_teacher(folder_dataset, tmp_path):
    teacher_dir = tmp_path / "teacher"
    train(make_cfg(folder_dataset, teacher_dir, *TINY, *FAST))
    teacher_ckpt = next((teacher_dir / "checkpoints").glob("best-*.ckpt"))
    bundle = tmp_path / "teacher.pt"
    export_bundle(teacher_ckpt, bundle, precision="fp16")

    out = tmp_path / "student"
    metrics = train(make_cfg(folder_dataset, out, "experiment=distill", *TINY, "model.kwargs.width=6",
                             "trainer.max_epochs=2",
                             f"distill.teachers=[{teacher_ckpt},{bundle}]", "distill.teacher_tta=twelvecrop",
                             "loss.mixup=0.2", *FAST))
    assert "train/kd" in metrics and metrics["train/kd"] >= 0.0
    assert 0.0 <= metrics["test/acc"] <= 1.0

    # Without the teachers, the student loads both ways and holds exactly a plain student's weights.
    shutil.rmtree(teacher_dir)
    bundle.unlink()
    ckpt = next((out / "checkpoints").glob("best-*.ckpt"))
    raw = torch.load(ckpt, map_location="cpu", weights_only=True)
    plain = FERModule(**raw["hyper_parameters"])
    assert set(raw["state_dict"]) == set(plain.state_dict())
    assert all(k.startswith("net.") for k in raw["state_dict"])
    assert "teacher" not in json.dumps(raw["hyper_parameters"]) and "distill" not in raw["hyper_parameters"]
    module = FERModule.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True).eval()
    assert module.distiller is None and module.hparams.model["kwargs"]["width"] == 6
    loaded = load_model(ckpt)
    x = torch.rand(2, 1, 48, 48)
    with torch.no_grad():
        assert torch.allclose(F.softmax(module(x), 1), F.softmax(loaded.net(x), 1), atol=1e-5)
