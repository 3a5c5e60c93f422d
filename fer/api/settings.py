"""The webcam settings: read for code that runs outside a Hydra entry point (the Python API, the service),
and checked, names and values, wherever they enter (`live_settings`, `check_webcam_config`).

They come from the very files `ferkit webcam` composes: conf/webcam.yaml and the detector group it names,
installed as the package `fer.conf`, so a checkout and an installed copy agree and no default is written
twice. The two files are read as plain YAML rather than composed by Hydra: that costs a few milliseconds
instead of Hydra's and OmegaConf's start-up (a few tenths of a second), and works inside another Hydra
application too, where Hydra's compose API would clash with its global state. tests/test_live_config.py
checks that the result equals Hydra's composition of the same files.

The value checks of the top-level keys and of `ui`, `camera` and `classifier` sit here, beside the reader;
the smoothing group's sit beside the tracker (fer.inference.tracking), each detector's on its class. All
are fer.numbers checkers, so the command line, the Python API and the service refuse alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from fer.errors import ConfigError, require_extra
from fer.inference.conf_files import detector_settings, load_conf
from fer.inference.detectors import check_detector_settings
from fer.inference.tracking import SMOOTHING_CHECKS
from fer.numbers import Check, check_values, flag, known_settings, renamed_settings, whole_number

# Keys of conf/webcam.yaml (and groups of its defaults list) that say where runs go or what the window shows,
# not how frames are read.
NOT_PIPELINE = ("paths", "hydra", "task_name", "ui", "camera", "source", "headless", "output", "jsonl",
                "max_frames", "progress")
# Config groups of webcam.yaml's defaults list that configure the pipeline (paths and hydra place run folders).
PIPELINE_GROUPS = ("detector",)


DEVICE = re.compile(r"(cpu|cuda)(:\d+)?")  # the part of torch.device's syntax this package runs on


def check_device(device: Any, name: str = "device") -> str:
    """cpu, cuda or cuda:N, and a GPU must be there for cuda (PyTorch is imported only for cuda)."""
    text = str(device)
    if not DEVICE.fullmatch(text):
        raise ConfigError(f"{name}={text!r} is not a device this package runs on; use {name}=cpu, "
                          f"{name}=cuda or {name}=cuda:N")
    if text.startswith("cuda"):
        torch = require_extra("torch", f"{name}={text}")
        if not torch.cuda.is_available():
            raise ConfigError(f"{name}={text} but no CUDA GPU is available to this PyTorch; use {name}=cpu")
    return text


def _at_least(minimum: int, allow_none: bool = False) -> Check:
    return partial(whole_number, minimum=minimum, allow_none=allow_none)


# The checks of conf/webcam.yaml's values, beside the reader of that file: key -> check, and per group;
# the smoothing and detector groups declare theirs beside the code that uses them (fer.inference).
WEBCAM_CHECKS: dict[str, Check] = {
    "max_frames": _at_least(1, allow_none=True), "max_image_pixels": _at_least(1),
    "threads": _at_least(1, allow_none=True), "device": check_device,
}
GROUP_CHECKS: dict[str, dict[str, Check]] = {
    "classifier": {"threads": _at_least(1, allow_none=True)},  # null: every core
    "camera": {"width": _at_least(1, allow_none=True), "height": _at_least(1, allow_none=True)},
    # The panel needs room for the crop, the class names and bars; the frame for the panel's rows.
    "ui": {"panel_width": _at_least(200), "min_height": _at_least(120), "max_height": _at_least(120),
           "show_fps": flag, "pace_video": flag},
    "smoothing": SMOOTHING_CHECKS,
}


def check_webcam_values(cfg: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the first bad value of a webcam config (every key optional)."""
    check_values(cfg, WEBCAM_CHECKS)
    for group, checks in GROUP_CHECKS.items():
        check_values(cfg.get(group) or {}, checks, group)
    ui = cfg.get("ui") or {}
    if ui.get("min_height", 0) > ui.get("max_height", float("inf")):
        raise ConfigError(f"ui.min_height={ui['min_height']} is larger than ui.max_height={ui['max_height']}")
    det = dict(cfg.get("detector") or {})
    if "name" in det:
        check_detector_settings(det.pop("name"), det)


def check_webcam_config(cfg: Mapping[str, Any]) -> None:
    """A composed webcam-style config (the Hydra entry points'): its names, as the Python API checks them
    (`smoothing=3` or `+smoothing.ema_alpah=0.3`), then its values."""
    check_settings(webcam_part(cfg))
    check_webcam_values(cfg)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) \
            else value
    return out


def webcam_settings(detector: str | None = None) -> dict[str, Any]:
    """Every setting of conf/webcam.yaml with its default: its own keys, the detector group's file (that of
    `detector` if named), and None for the groups that only place run folders (paths, hydra)."""
    webcam = load_conf("webcam.yaml")
    settings = {k: v for k, v in webcam.items() if k != "defaults"}
    for entry in webcam["defaults"]:  # `_self_` comes first: the groups' files win, as in Hydra
        if isinstance(entry, dict):
            (group, option), = entry.items()
            settings[group] = load_conf(group, f"{option}.yaml") if group in PIPELINE_GROUPS else None
    if detector and detector != settings["detector"]["name"]:
        settings["detector"] = detector_settings(detector)
    return settings


def check_settings(update: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> None:
    """Refuse a misspelt key of `update` (nested like conf/webcam.yaml) with the valid ones: the check a
    command line's `key=value` gets, so `{"smoothing": {"ema_alpah": 0.1}}` is refused as
    `smoothing.ema_alpah=0.1` is. defaults: webcam_settings() for update's detector, if already read."""
    valid = dict(defaults or webcam_settings(_detector_name(update)))
    if list(valid["detector"]) == ["name"]:
        valid["detector"] = None  # a detector registered in code without a file: its arguments are its own
    known_settings(update, valid)


def _detector_name(update: Mapping[str, Any]) -> str | None:
    detector = update.get("detector")
    return detector.get("name") if isinstance(detector, Mapping) else None


def webcam_part(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The webcam settings of a composed config that holds more (conf/serve.yaml's port, analyze's csv)."""
    valid = webcam_settings()
    return {k: v for k, v in cfg.items() if k in valid}


def with_webcam_defaults(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A webcam-style config with every key of conf/webcam.yaml (and of its detector's file): a caller that
    gives only some (a script, a test) gets the file's values for the rest, never a second default."""
    return _merge(webcam_settings(_detector_name(cfg)), cfg)


def live_settings(update: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """conf/webcam.yaml with its detector group, then `update` (nested like the YAML) merged on top.

    Like Hydra's `detector=haar`, an update naming another detector starts from that detector's file.
    A key that conf/webcam.yaml does not have, or a bad value, is refused (ConfigError), as on the command
    line; a renamed key (fer.numbers.RENAMED_SETTINGS) is read under its new name.
    """
    update = renamed_settings(update or {})
    defaults = webcam_settings(_detector_name(update))
    check_settings(update, defaults)
    settings = _merge({k: v for k, v in defaults.items() if k not in NOT_PIPELINE}, update)
    check_webcam_values(settings)
    return settings
