"""Augmentation: the configured ranges reach torchvision, and the batched form stays inside them."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torchvision.transforms import v2

from fer.data.augment import AugmentConfig, BatchAugment, build_mix, build_sample_transform
from fer.data.datamodule import FERDataModule
from fer.errors import ConfigError


def test_default_is_the_reference_augmentation():
    t = build_sample_transform(AugmentConfig())
    affine, flip = t.transforms
    assert isinstance(affine, v2.RandomAffine) and isinstance(flip, v2.RandomHorizontalFlip)
    assert list(affine.degrees) == [-20.0, 20.0]
    assert tuple(affine.translate) == (0.2, 0.2)
    assert tuple(affine.scale) == (0.8, 1.2)
    assert flip.p == 0.5


def test_a_misspelt_setting_is_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"data.augment: unknown setting\(s\) \['rotate'\]; valid: .*degrees"):
        FERDataModule(root="unused", augment={"rotate": 10})
    dm = FERDataModule(root="unused", augment={"mode": "batched", "degrees": 5})
    assert dm.augment_cfg.degrees == 5 and dm.batch_augment is not None


def test_ranges_are_configurable_and_erasing_optional():
    t = build_sample_transform(AugmentConfig(degrees=5, translate=0.1, scale=0.05, hflip=0.0, erasing=0.3))
    affine, flip, erase = t.transforms
    assert list(affine.degrees) == [-5.0, 5.0] and tuple(affine.scale) == (0.95, 1.05)
    assert flip.p == 0.0 and erase.p == 0.3
    assert build_sample_transform(AugmentConfig(mode="none")) is None


def test_per_sample_transform_keeps_uint8_shape():
    out = build_sample_transform(AugmentConfig())(torch.randint(0, 255, (1, 48, 48), dtype=torch.uint8))
    assert out.shape == (1, 48, 48) and out.dtype == torch.uint8


def test_batched_params_stay_in_range():
    aug = BatchAugment(AugmentConfig(mode="batched"))
    p = aug.sample_params(10_000, torch.device("cpu"))
    assert p["angle"].abs().max() <= 20 and p["angle"].abs().max() > 19
    assert p["tx"].abs().max() <= 0.2 and p["ty"].abs().max() <= 0.2
    assert 0.8 <= p["zoom"].min() and p["zoom"].max() <= 1.2
    assert 0.45 < p["flip"].float().mean() < 0.55


def test_batched_identity_and_pure_flip():
    x = torch.rand(4, 1, 48, 48)
    zero = BatchAugment(AugmentConfig(mode="batched", degrees=0, translate=0, scale=0, hflip=0.0))
    assert torch.allclose(zero(x), x, atol=1e-5)
    flip = BatchAugment(AugmentConfig(mode="batched", degrees=0, translate=0, scale=0, hflip=1.0))
    assert torch.allclose(flip(x), x.flip(-1), atol=1e-5)


def test_batched_samples_differ_within_a_batch():
    x = torch.rand(1, 1, 48, 48).repeat(8, 1, 1, 1)
    out = BatchAugment(AugmentConfig(mode="batched"))(x)
    assert not torch.allclose(out[0], out[1])


def test_batched_erasing_zeros_a_rectangle():
    aug = BatchAugment(AugmentConfig(mode="batched", degrees=0, translate=0, scale=0, hflip=0, erasing=1.0))
    out = aug(torch.ones(16, 1, 48, 48))
    zeros = (out == 0).float().mean(dim=(1, 2, 3))
    assert (zeros > 0.01).all() and (zeros < 0.4).all()


def test_batched_crop_is_a_window_at_the_images_own_scale():
    """On a ramp image bilinear sampling is exact: a crop keeps the ramp's slope (no zoom) and its start
    within the offsets that keep the window inside the face (no padding)."""
    cfg = AugmentConfig(mode="batched", degrees=0, translate=0, scale=0, hflip=0, erasing=0, crop=40)
    ramp = torch.arange(48, dtype=torch.float32)
    x = torch.stack([ramp.expand(48, 48), ramp.view(48, 1).expand(48, 48)]).unsqueeze(0).repeat(64, 1, 1, 1)
    torch.manual_seed(0)
    out = BatchAugment(cfg)(x)
    assert out.shape == (64, 2, 40, 40)
    cols, rows = out[:, 0], out[:, 1]
    assert torch.allclose(cols.diff(dim=2), torch.ones(1), atol=1e-3)
    assert torch.allclose(rows.diff(dim=1), torch.ones(1), atol=1e-3)
    starts = torch.cat([cols[:, 0, 0], rows[:, 0, 0]])
    assert starts.min() >= -1e-3 and starts.max() <= 8 + 1e-3 and starts.std() > 1  # drawn per face


def test_crop_in_both_forms_and_its_limits():
    cfg = AugmentConfig(mode="per_sample", crop=44)
    out = build_sample_transform(cfg)(torch.randint(0, 255, (1, 48, 48), dtype=torch.uint8))
    assert out.shape == (1, 44, 44) and out.dtype == torch.uint8
    with pytest.raises(ConfigError, match="data.augment.crop=-1 must be a whole number >= 0"):
        AugmentConfig(crop=-1)
    with pytest.raises(ConfigError, match="crop=50 needs square images of at least that size; these are 48x48"):
        BatchAugment(AugmentConfig(mode="batched", crop=50))(torch.zeros(2, 1, 48, 48))


def test_crops_end_where_crop_until_says():
    aug = BatchAugment(AugmentConfig(mode="batched", crop=40, crop_until=0.5))
    x = torch.rand(4, 1, 48, 48)
    assert aug.follows_schedule
    assert aug(x, progress=0.0).shape[-1] == 40 and aug(x, progress=0.49).shape[-1] == 40
    assert aug(x, progress=0.5).shape[-1] == 48 and aug(x, progress=1.0).shape[-1] == 48
    assert not BatchAugment(AugmentConfig(mode="batched", crop=40)).follows_schedule  # crop_until 1: always
    for bad in (0, 1.5):
        with pytest.raises(ConfigError, match="crop_until"):
            AugmentConfig(mode="batched", crop=40, crop_until=bad)
    with pytest.raises(ConfigError, match="crop_until < 1 needs data.augment.mode=batched"):
        AugmentConfig(mode="per_sample", crop=40, crop_until=0.5)


def test_a_fit_trains_on_crops_then_on_whole_faces(folder_dataset):
    """The datamodule reads the one-cycle's position: crops for the first half of the steps, then 48x48."""
    class Shapes(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net, self.sizes = torch.nn.Conv2d(1, 1, 3), []

        def training_step(self, batch, batch_idx):
            self.sizes.append(batch[0].shape[-1])
            return self.net(batch[0]).mean()

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.1)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
            return [opt], [{"scheduler": sched, "interval": "step"}]

    dm = FERDataModule(root=str(folder_dataset), batch_size=4,
                       augment={"mode": "batched", "crop": 40, "crop_until": 0.5})
    module = Shapes()
    L.Trainer(max_steps=10, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, limit_val_batches=0).fit(module, datamodule=dm)
    assert module.sizes == [40] * 5 + [48] * 5


def test_unknown_mode_lists_choices():
    with pytest.raises(ValueError, match="per_sample, batched, none"):
        AugmentConfig(mode="kornia")


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_mix_says_how_it_mixed_each_face(kind):
    torch.manual_seed(0)
    mix = build_mix(AugmentConfig.from_dict({kind: 1.0}))
    x = torch.rand(6, 1, 16, 16)
    mixed, weights = mix(x.clone())
    assert weights.shape == (6, 6) and torch.allclose(weights.sum(1), torch.ones(6))
    # every mixed face is made of itself and one partner, in the proportions of its pixels
    assert ((weights > 0).sum(1) <= 2).all()
    for i in range(6):
        parts = weights[i].nonzero().flatten().tolist()
        if kind == "mixup":
            assert torch.allclose(mixed[i], sum(weights[i, j] * x[j] for j in parts), atol=1e-6)
        else:
            from_each = [(mixed[i] == x[j]).float().mean().item() for j in parts]
            assert from_each == pytest.approx([weights[i, j].item() for j in parts], abs=1e-6)
    assert build_mix(AugmentConfig.from_dict({})) is None
