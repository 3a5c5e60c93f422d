"""Squeeze-and-excitation and CBAM options of the CNNs; without them each net is exactly today's."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from torch import nn
from torchvision.ops import SqueezeExcitation

from fer.errors import CheckpointError, ConfigError
from fer.models import count_parameters, create_model
from fer.models.attention import CBAM, ChannelGate, SpatialGate
from fer.models.narrowing import copy_narrowed
from tests.conftest import CONF_DIR

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def reference_keys(name: str) -> set[str]:
    """The state_dict keys of the network as it was before attention existed, written out by hand."""
    if name == "cnn4":
        keys = {f"features.{b}.0.{p}" for b in range(4) for p in ("weight", "bias")}
        keys |= {f"features.{b}.1.{p}" for b in range(4) for p in BN_KEYS}
        keys |= {f"classifier.{d}.0.{p}" for d in (1, 2) for p in ("weight", "bias")}
        keys |= {f"classifier.{d}.1.{p}" for d in (1, 2) for p in BN_KEYS}
        return keys | {"classifier.3.weight", "classifier.3.bias"}
    convs = (0, 3, 7, 10, 14, 17, 21, 24)  # conv-BN-ReLU twice per stage, a max-pool between stages
    keys = {f"features.{i}.weight" for i in convs} | {f"features.{i + 1}.{p}" for i in convs for p in BN_KEYS}
    return keys | {"head.3.weight", "head.3.bias"}


@pytest.mark.parametrize("name, params", [("cnn4", 4_474_759), ("fastcnn", 1_174_439)])
def test_no_attention_is_exactly_todays_network(name, params):
    plain, explicit = create_model(name), create_model(name, attention=None)
    assert count_parameters(plain) == count_parameters(explicit) == params
    assert set(explicit.state_dict()) == set(plain.state_dict()) == reference_keys(name)
    explicit.load_state_dict(plain.state_dict())  # a checkpoint of today's net loads strictly


@pytest.mark.parametrize("name", ["cnn4", "fastcnn", "vgg13"])
@pytest.mark.parametrize("kind, block", [("se", SqueezeExcitation), ("cbam", CBAM)])
def test_attention_adds_one_block_after_each_conv_block(name, kind, block):
    kwargs = {"width": 8} if name != "cnn4" else {}
    net = create_model(name, attention=kind, num_classes=8, **kwargs)
    plain = create_model(name, num_classes=8, **kwargs)
    assert sum(isinstance(m, block) for m in net.modules()) == 4
    added = count_parameters(net) - count_parameters(plain)
    assert 0 < added < 0.05 * count_parameters(plain)  # small beside the network
    out = net(torch.rand(3, 1, 48, 48))
    assert out.shape == (3, 8)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_unknown_attention_lists_the_choices():
    with pytest.raises(ConfigError, match="choose one of: se, cbam, or null"):
        create_model("fastcnn", attention="transformer")


def test_gates_rescale_without_changing_shape():
    x = torch.rand(2, 16, 6, 6) + 0.1
    se = SqueezeExcitation(16, 8)
    nn.init.zeros_(se.fc2.weight)
    nn.init.constant_(se.fc2.bias, -20.0)  # every channel gated shut
    assert se(x).shape == x.shape and se(x).abs().max() < 1e-6
    gate = ChannelGate(16)
    nn.init.zeros_(gate.mlp[2].weight)
    nn.init.zeros_(gate.mlp[2].bias)
    assert torch.allclose(gate(x), x * 0.5)  # sigmoid(0 + 0): every channel halved
    spatial = SpatialGate().eval()
    with torch.no_grad():
        spatial.conv[0].weight.zero_()
        spatial.conv[0].weight[0, 1, 3, 3] = 50.0  # follows the per-position channel max
    bright = torch.zeros(1, 16, 6, 6)
    bright[..., 2, 2] = 1.0
    with torch.no_grad():
        out = spatial(bright)
    assert out[0, :, 2, 2].min() > 0.99 and out.sum().item() == pytest.approx(out[0, :, 2, 2].sum().item())


def test_attention_nets_cannot_be_narrowed():
    with pytest.raises(CheckpointError, match="not a plain conv-BN stack"):
        copy_narrowed(create_model("fastcnn", width=8, attention="se"), create_model("fastcnn", width=4))


def test_attention_from_the_model_config():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for model in ("fastcnn", "cnn4"):
            assert compose("train", overrides=[f"model={model}"]).model.kwargs.attention is None
            cfg = compose("train", overrides=[f"model={model}", "model.kwargs.attention=cbam"])
            net = create_model(cfg.model.name, **cfg.model.kwargs)
            assert any(isinstance(m, CBAM) for m in net.modules())
