"""Checks of the live config (conf/webcam.yaml) where it enters, so a bad value is named, not a traceback.

Command-line values arrive as whatever Hydra parsed: `max_frames=abc` is the string "abc", and
`ui.panel_width=0` an int that would only fail deep inside the renderer.
"""

from __future__ import annotations

from typing import Any

import torch

from fer.errors import ConfigError

# The panel needs room for the crop, the class names and bars; the frame for the panel's rows.
UI_MINIMA = {"panel_width": 200, "min_height": 120, "max_height": 120}


def whole_number(value: Any, name: str, minimum: int, allow_none: bool = False) -> int | None:
    """An int >= minimum (or None where allowed); bools and numeric strings are not ints here."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " or null" if allow_none else ""
        raise ConfigError(f"{name}={value!r} must be a whole number >= {minimum}{extra}")
    return value


def fraction(value: Any, name: str, low: float, high: float, low_open: bool = False) -> float:
    """A number in [low, high] (or (low, high] with low_open)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = (low < value if low_open else low <= value) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ConfigError(f"{name}={value!r} must be a number in {bracket}{low}, {high}]")
    return float(value)


def check_device(device: Any) -> str:
    """cpu, cuda or cuda:N, and a GPU must be there for cuda."""
    text = str(device)
    try:
        parsed = torch.device(text)
    except RuntimeError:
        raise ConfigError(f"device={text!r} is not a device; use device=cpu or device=cuda") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={text} but no CUDA GPU is available to this PyTorch; use device=cpu")
    if parsed.type not in ("cpu", "cuda"):
        raise ConfigError(f"device={text!r} is not supported here; use device=cpu or device=cuda")
    return text


def check_live_config(cfg: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad value of the webcam config."""
    whole_number(cfg.get("max_frames"), "max_frames", 1, allow_none=True)
    whole_number(cfg.get("threads"), "threads", 1, allow_none=True)
    whole_number((cfg.get("classifier") or {}).get("threads", 1), "classifier.threads", 1)
    check_device(cfg.get("device", "cpu"))
    ui = cfg.get("ui") or {}
    for key, least in UI_MINIMA.items():
        if key in ui:
            whole_number(ui[key], f"ui.{key}", least)
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
