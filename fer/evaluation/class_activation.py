"""Grad-CAM (Selvaraju et al. 2017): where in a face a model looked for the class it scores.

The activations A (C,h,w) of one conv layer and the gradients of a class score y_c with respect to them
give each channel a weight w_k = mean over positions of dy_c/dA_k; the map is ReLU(sum_k w_k A_k),
upsampled to the face and scaled to [0, 1] per face. The layer is the last conv layer with a spatial
output (found by one probe pass; 1x1 gates of attention blocks are passed over) unless one is named.
Figures: `class_grid_figure` (a few faces per class, for training reports) and `face_figure` (one face).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from fer.errors import ConfigError  # noqa: E402

OVERLAY_ALPHA = 0.45


@dataclass
class ClassActivation:
    """Per face: the map (N,H,W) in [0, 1], the class it explains (N,) and the model's probabilities (N,K)."""

    maps: torch.Tensor
    classes: torch.Tensor
    probs: torch.Tensor
    layer: str


def spatial_conv_layers(model: nn.Module, input_shape: tuple[int, ...]) -> list[str]:
    """Names of conv layers whose output has more than one channel and more than one position, in the
    order a forward pass runs them."""
    names = {m: n for n, m in model.named_modules()}
    order: list[str] = []

    def record(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        if output.ndim == 4 and output.shape[1] > 1 and output.shape[2] * output.shape[3] > 1:
            order.append(names[module])

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return order


def find_layer(model: nn.Module, layer: str | None, input_shape: tuple[int, ...]) -> tuple[str, nn.Module]:
    """(name, module) of the layer named, or of the last spatial conv layer; ConfigError lists the choices."""
    convs = spatial_conv_layers(model, input_shape)
    modules = dict(model.named_modules())
    if layer is None:
        if not convs:
            raise ConfigError(f"{type(model).__name__} has no conv layer with a spatial output for Grad-CAM")
        layer = convs[-1]
    if layer not in modules or layer == "":
        raise ConfigError(f"no layer {layer!r} in {type(model).__name__}; conv layers: {', '.join(convs)}")
    return layer, modules[layer]


def grad_cam(model: nn.Module, faces: torch.Tensor, classes: torch.Tensor | Sequence[int] | None = None,
             layer: str | None = None) -> ClassActivation:
    """Grad-CAM maps for a batch of model inputs (N,C,H,W), for `classes` (default: each face's predicted class).

    The model runs in eval mode (restored afterwards) and its parameter gradients are left untouched.
    """
    name, module = find_layer(model, layer, tuple(faces.shape[1:]))
    saved: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _inputs, output: torch.Tensor) -> None:
        saved["activations"] = output

    hook = module.register_forward_hook(keep)
    was_training = model.training
    try:
        model.eval()
        with torch.enable_grad():
            # Gradients are taken with respect to the activations only, so frozen weights work too.
            x = faces.detach().clone().requires_grad_(True)
            logits = model(x)
            chosen = logits.argmax(1) if classes is None else torch.as_tensor(classes, device=logits.device).long()
            score = logits.gather(1, chosen.view(-1, 1)).sum()
            acts = saved["activations"]
            (grads,) = torch.autograd.grad(score, acts)
    finally:
        hook.remove()
        model.train(was_training)
    weights = grads.mean((2, 3), keepdim=True)
    cam = F.relu((weights * acts).sum(1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=faces.shape[2:], mode="bilinear", align_corners=False).squeeze(1)
    peak = cam.flatten(1).amax(1).view(-1, 1, 1)
    cam = torch.where(peak > 0, cam / peak.clamp(min=1e-12), torch.zeros_like(cam)).clamp(0, 1)
    return ClassActivation(cam.cpu(), chosen.detach().cpu(), logits.detach().softmax(1).cpu(), name)


def _overlay(ax: plt.Axes, face: np.ndarray, cam: np.ndarray) -> None:
    ax.imshow(face, cmap="gray", vmin=0, vmax=1)
    ax.imshow(cam, cmap="jet", alpha=OVERLAY_ALPHA, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def _gray(face: torch.Tensor) -> np.ndarray:
    """A model input (1,H,W) or (H,W) in [0, 1], or uint8, as a float (H,W) image for imshow."""
    image = face.detach().float().cpu()
    if image.ndim == 3:
        image = image.mean(0)
    return (image / 255.0 if face.dtype == torch.uint8 else image).numpy()


def class_grid_figure(faces: torch.Tensor, cam: ClassActivation, labels: torch.Tensor, class_names: Sequence[str],
                      per_class: int = 4) -> plt.Figure:
    """One row per class: up to `per_class` of its faces (true label) with their maps; titles name the
    class each map explains and its probability (green when it is the true class)."""
    rows = len(class_names)
    fig, axes = plt.subplots(rows, per_class, figsize=(1.6 * per_class + 1.2, 1.7 * rows), squeeze=False)
    for r, name in enumerate(class_names):
        members = (labels.cpu() == r).nonzero().squeeze(1)[:per_class].tolist()
        axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
        for c in range(per_class):
            ax = axes[r][c]
            if c >= len(members):  # fewer faces than columns: blank, but the row keeps its class label
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_frame_on(False)
                continue
            i = members[c]
            _overlay(ax, _gray(faces[i]), cam.maps[i].numpy())
            k = int(cam.classes[i])
            ax.set_title(f"{class_names[k]} {float(cam.probs[i, k]):.0%}", fontsize=8,
                         color="green" if k == r else "red")
    fig.suptitle(f"Grad-CAM ({cam.layer}): where the model looked for the class in each title", fontsize=10)
    fig.tight_layout()
    return fig


def face_figure(face: torch.Tensor, cam_map: torch.Tensor, title: str) -> plt.Figure:
    """One face beside its map overlaid, e.g. `happy 87%`."""
    fig, axes = plt.subplots(1, 2, figsize=(5, 2.8))
    gray = _gray(face)
    axes[0].imshow(gray, cmap="gray", vmin=0, vmax=1)
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    _overlay(axes[1], gray, cam_map.detach().cpu().numpy())
    axes[1].set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write a figure (parent folders created) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
