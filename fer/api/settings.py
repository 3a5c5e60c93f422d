"""The live pipeline's settings for code that runs outside a Hydra entry point (the Python API, the service).

They come from the very files `ferkit webcam` composes: conf/webcam.yaml and the detector group it names,
installed as the package `fer.conf`, so a checkout and an installed copy agree and no default is written
twice. The two files are read as plain YAML rather than composed by Hydra: that costs a few milliseconds
instead of Hydra's and OmegaConf's start-up (a few tenths of a second), and works inside another Hydra
application too, where Hydra's compose API would clash with its global state. tests/test_live_config.py
checks that the result equals Hydra's composition of the same files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fer.inference.conf_files import detector_settings, load_conf

# Keys of conf/webcam.yaml that say where runs go or what the window shows, not how frames are read.
NOT_PIPELINE = ("paths", "task_name", "ui", "camera", "source", "headless", "output", "jsonl", "max_frames",
                "progress")
# Config groups of webcam.yaml's defaults list that configure the pipeline (paths and hydra place run folders).
PIPELINE_GROUPS = ("detector",)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) \
            else value
    return out


def live_settings(update: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """conf/webcam.yaml with its detector group, then `update` (nested like the YAML) merged on top.

    Like Hydra's `detector=haar`, an update naming another detector starts from that detector's file.
    """
    webcam = load_conf("webcam.yaml")
    settings = {k: v for k, v in webcam.items() if k not in (*NOT_PIPELINE, "defaults")}
    for entry in webcam["defaults"]:  # `_self_` comes first: the groups' files win, as in Hydra
        if isinstance(entry, dict):
            (group, option), = entry.items()
            if group in PIPELINE_GROUPS:
                settings[group] = load_conf(group, f"{option}.yaml")
    update = dict(update or {})
    name = (update.get("detector") or {}).get("name")
    if name and name != settings["detector"]["name"]:
        settings["detector"] = detector_settings(name)
    return _merge(settings, update)
