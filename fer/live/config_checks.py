"""Checks of the live config (conf/webcam.yaml) where it enters, so a bad value is named, not a traceback.

Command-line values arrive as whatever Hydra parsed: `max_frames=abc` is the string "abc", and
`ui.panel_width=0` an int that would only fail deep inside the renderer.
"""

from __future__ import annotations

import re
from typing import Any

from fer.api.settings import check_settings, webcam_part
from fer.errors import ConfigError, require_extra
from fer.numbers import fraction, positive_number, whole_number

# The panel needs room for the crop, the class names and bars; the frame for the panel's rows.
UI_MINIMA = {"panel_width": 200, "min_height": 120, "max_height": 120}


DEVICE = re.compile(r"(cpu|cuda)(:\d+)?")  # the part of torch.device's syntax this package runs on


def check_device(device: Any) -> str:
    """cpu, cuda or cuda:N, and a GPU must be there for cuda (PyTorch is imported only for cuda)."""
    text = str(device)
    if not DEVICE.fullmatch(text):
        raise ConfigError(f"device={text!r} is not a device this package runs on; use device=cpu, "
                          "device=cuda or device=cuda:N")
    if text.startswith("cuda"):
        torch = require_extra("torch", f"device={text}")
        if not torch.cuda.is_available():
            raise ConfigError(f"device={text} but no CUDA GPU is available to this PyTorch; use device=cpu")
    return text


def check_live_config(cfg: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad key or value of the webcam config."""
    check_settings(webcam_part(cfg))  # `smoothing=3` or `+smoothing.ema_alpah=0.3`, as the Python API refuses
    whole_number(cfg.get("max_frames"), "max_frames", 1, allow_none=True)
    whole_number(cfg.get("max_image_pixels", 1), "max_image_pixels", 1)
    whole_number(cfg.get("threads"), "threads", 1, allow_none=True)
    whole_number((cfg.get("classifier") or {}).get("threads", 1), "classifier.threads", 1)
    check_device(cfg.get("device", "cpu"))
    cam = cfg.get("camera") or {}
    for key in ("width", "height"):
        whole_number(cam.get(key), f"camera.{key}", 1, allow_none=True)
    ui = cfg.get("ui") or {}
    for key, least in UI_MINIMA.items():
        if key in ui:
            whole_number(ui[key], f"ui.{key}", least)
    for key in ("show_fps", "pace_video"):
        if key in ui and not isinstance(ui[key], bool):
            raise ConfigError(f"ui.{key}={ui[key]!r} must be true or false")
    if ui.get("min_height", 0) > ui.get("max_height", float("inf")):
        raise ConfigError(f"ui.min_height={ui['min_height']} is larger than ui.max_height={ui['max_height']}")
    sm = cfg.get("smoothing") or {}
    if "detect_every" in sm:
        whole_number(sm["detect_every"], "smoothing.detect_every", 1)
    if "persistence" in sm:
        whole_number(sm["persistence"], "smoothing.persistence", 0)
    for key in ("ema_alpha", "box_alpha"):
        if key in sm:
            fraction(sm[key], f"smoothing.{key}", 0.0, 1.0, low_open=True)
    if "iou_threshold" in sm:
        fraction(sm["iou_threshold"], "smoothing.iou_threshold", 0.0, 1.0)
    check_detector_numbers(cfg.get("detector") or {})


# The numeric arguments of conf/detector/*.yaml: (check, arguments). A zero input width or a Haar scale
# factor of 1 would otherwise fail deep inside OpenCV, after the model has loaded.
DETECTOR_NUMBERS = {
    "input_width": (whole_number, (32,)), "still_input_width": (whole_number, (32,)),
    "threshold": (fraction, (0.0, 1.0)), "nms_threshold": (fraction, (0.0, 1.0)),
    "box_scale": (positive_number, ()), "detect_scale": (positive_number, ()),
    "min_neighbors": (whole_number, (0,)), "min_size": (whole_number, (1,)),
}


def check_detector_numbers(det: dict[str, Any]) -> None:
    for key, (check, args) in DETECTOR_NUMBERS.items():
        if key in det:
            check(det[key], f"detector.{key}", *args)
    if "scale_factor" in det and not (positive_number(det["scale_factor"], "detector.scale_factor") > 1):
        raise ConfigError(f"detector.scale_factor={det['scale_factor']!r} must be a number > 1 (e.g. 1.1)")
