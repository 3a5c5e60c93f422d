"""Grad-CAM maps and their figures, on tiny models: shapes, range, the layer found, and a map that points at
the one region a briefly trained model needs."""

from __future__ import annotations

import matplotlib.image as mpimg
import pytest
import torch
from torch import nn

from fer.errors import ConfigError
from fer.evaluation.class_activation import (
    class_grid_figure,
    face_figure,
    find_layer,
    grad_cam,
    save_figure,
)
from fer.models import create_model


def tiny_net(num_classes: int = 2) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 24x24
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 12x12
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes),
    )


def test_maps_have_the_face_shape_and_lie_in_0_1():
    torch.manual_seed(0)
    net = create_model("fastcnn", width=4, num_classes=7).train()
    faces = torch.rand(5, 1, 48, 48)
    cam = grad_cam(net, faces)
    assert cam.maps.shape == (5, 48, 48) and cam.maps.dtype == torch.float32
    assert cam.maps.min() >= 0 and cam.maps.max() <= 1
    assert torch.equal(cam.classes, cam.probs.argmax(1)) and cam.probs.shape == (5, 7)
    assert net.training and all(p.grad is None for p in net.parameters())  # mode and gradients left alone
    chosen = grad_cam(net, faces, classes=[3] * 5)
    assert chosen.classes.tolist() == [3] * 5


@pytest.mark.parametrize("attention", [None, "se", "cbam"])
def test_the_last_spatial_conv_layer_is_found(attention):
    net = create_model("fastcnn", width=4, attention=attention)
    name, module = find_layer(net, None, (1, 48, 48))
    assert isinstance(module, nn.Conv2d) and module.out_channels == 32  # the last 3x3 conv, not a 1x1 gate
    assert name == ("features.24" if attention is None else "features.27")
    assert find_layer(create_model("cnn4"), None, (1, 48, 48))[0] == "features.3.0"


def test_a_named_layer_and_an_unknown_one():
    net = tiny_net()
    assert grad_cam(net, torch.rand(2, 1, 48, 48), layer="3").layer == "3"
    with pytest.raises(ConfigError, match="conv layers: 0, 3, 6"):
        grad_cam(net, torch.rand(2, 1, 48, 48), layer="head")


def planted_faces(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noise faces, each with a plain bright square somewhere (a distractor); class 1 also has a striped
    square elsewhere, the only thing that tells the classes apart. Returns faces, labels, stripe masks."""
    faces = torch.rand(n, 1, 48, 48, generator=g) * 0.3
    labels = torch.arange(n) % 2
    masks = torch.zeros(n, 48, 48, dtype=torch.bool)
    stripes = torch.tensor([1.0, 0.0]).repeat(5)[:10].view(10, 1).expand(10, 10)
    for i in range(n):
        # The distractor lives in the left half, the stripes in the right half, at random heights.
        y, x = torch.randint(0, 38, (2,), generator=g).tolist()
        faces[i, 0, y : y + 10, x // 2 : x // 2 + 10] = 0.5
        if labels[i]:
            y, x = torch.randint(0, 38, (1,), generator=g).item(), 24 + torch.randint(0, 14, (1,), generator=g).item()
            faces[i, 0, y : y + 10, x : x + 10] = stripes
            masks[i, y : y + 10, x : x + 10] = True
    return faces, labels, masks


def test_the_map_points_at_the_planted_discriminative_region(restore_threads):
    torch.set_num_threads(1)  # a net this small only loses time to thread hand-offs
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = tiny_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(60):
        faces, labels, _ = planted_faces(32, g)
        loss = nn.functional.cross_entropy(net(faces), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    faces, labels, masks = planted_faces(40, g)
    with torch.no_grad():
        assert (net(faces).argmax(1) == labels).float().mean() > 0.95
    striped = labels == 1
    cam = grad_cam(net, faces[striped], classes=[1] * int(striped.sum()))
    maps, inside = cam.maps, masks[striped]
    mean_in = (maps * inside).flatten(1).sum(1) / inside.flatten(1).sum(1)
    mean_out = (maps * ~inside).flatten(1).sum(1) / (~inside).flatten(1).sum(1)
    assert (mean_in > 2 * mean_out).float().mean() >= 0.9
    # The brightest point of the map lies on the stripes (give or take the 4-pixel cells of the 12x12 layer).
    grown = nn.functional.max_pool2d(inside.float().unsqueeze(1), 9, stride=1, padding=4).squeeze(1).bool()
    peaks = maps.flatten(1).argmax(1)
    assert grown.flatten(1)[torch.arange(len(peaks)), peaks].float().mean() >= 0.9


def test_figures_are_written(tmp_path):
    torch.manual_seed(0)
    net = tiny_net(num_classes=3)
    faces = (torch.rand(7, 1, 48, 48) * 255).to(torch.uint8)
    labels = torch.tensor([0, 0, 1, 2, 2, 2, 0])
    cam = grad_cam(net, faces.float() / 255)
    grid = save_figure(class_grid_figure(faces, cam, labels, ["angry", "happy", "sad"], per_class=3),
                       tmp_path / "figs" / "cam_grid.png")
    one = save_figure(face_figure(faces[0], cam.maps[0], "angry 40%"), tmp_path / "cam_face.png")
    for path in (grid, one):
        image = mpimg.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0
