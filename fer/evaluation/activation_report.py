"""Class-activation figures of a report: `class_activation.png` (a few test faces per class with their
Grad-CAM maps, written with the training report) and `cam.png` (one face, `scripts/eval.py cam=...`).
Both cost one forward and backward pass over a handful of faces."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fer.data.folder_reader import decode_file
from fer.data.preprocess import to_gray48, to_model_input
from fer.data.splits import LabeledImages
from fer.errors import ConfigError, DataError
from fer.evaluation.class_activation import class_grid_figure, face_figure, grad_cam, save_figure

log = logging.getLogger(__name__)

PER_CLASS = 4


def device_of(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def write_class_activation(out_dir: str | Path, net: nn.Module, faces: LabeledImages, class_names: Sequence[str],
                           per_class: int = PER_CLASS) -> Path | None:
    """class_activation.png: the first `per_class` faces of each class, each map explaining the class the
    model predicts for it (net's outputs in `class_names`' order). None when the net has no conv layer."""
    picked = torch.cat([(faces.labels == k).nonzero().squeeze(1)[:per_class] for k in range(len(class_names))])
    if len(picked) == 0:
        return None
    images = faces.images[picked]
    x = to_model_input(images.to(device_of(net)))
    try:
        cam = grad_cam(net.float(), x)
    except ConfigError as e:  # a net without spatial conv layers: the report stands without the figure
        log.warning("no class-activation figure: %s", e)
        return None
    fig = class_grid_figure(images, cam, faces.labels[picked], class_names, per_class=per_class)
    return save_figure(fig, Path(out_dir) / "class_activation.png")


def face_to_explain(cam: str | int, faces: LabeledImages, split: str) -> tuple[torch.Tensor, str]:
    """(uint8 48x48 face, its description) from `cam`: an index into the split's faces or an image path."""
    text = str(cam)
    if text.lstrip("-").isdigit():
        i = int(text)
        if not 0 <= i < len(faces):
            raise ConfigError(f"cam={i} is not a face of split={split}: choose an index in 0..{len(faces) - 1} "
                              "or the path of a face image")
        return faces.images[i], f"{split} face {i}"
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"cam={text!r} is neither an index into split={split} (0..{len(faces) - 1}) nor an "
                          "image file")
    image, why = decode_file(path)
    if image is None:
        raise DataError(f"cam={path}: {why}")
    return torch.from_numpy(np.ascontiguousarray(to_gray48(image))), path.name


def write_face_activation(out_dir: str | Path, net: nn.Module, class_names: Sequence[str], face: torch.Tensor,
                          label: str) -> Path:
    """cam.png: one face beside the map of the class the model predicts for it."""
    x = to_model_input(face[None].to(device_of(net)))
    result = grad_cam(net.float(), x)
    k = int(result.classes[0])
    title = f"{label}: {class_names[k]} {float(result.probs[0, k]):.0%}"
    return save_figure(face_figure(face, result.maps[0], title), Path(out_dir) / "cam.png")
