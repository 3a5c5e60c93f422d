"""The live pipeline's settings (conf/webcam.yaml) for code that runs outside a Hydra entry point.

The Python API and the service use the very pipeline `scripts/webcam.py` builds, so they start from
the same config. A checkout has it in conf/; an installed copy without conf/ falls back to the
defaults `build_pipeline` applies to an empty config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"

# Keys of conf/webcam.yaml that say where runs go or what the window shows, not how frames are read.
NOT_PIPELINE = ("paths", "task_name", "ui", "camera", "source", "headless", "output", "jsonl", "max_frames")


def live_settings(overrides: Sequence[str] = ()) -> dict[str, Any]:
    """conf/webcam.yaml composed with Hydra (plus `overrides`, e.g. "smoothing.ema_alpha=0.3")."""
    if not (CONF_DIR / "webcam.yaml").is_file():
        return {}
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    if GlobalHydra.instance().is_initialized():
        # Inside another Hydra application: its entry point passes its own config instead.
        return {}
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="webcam", overrides=list(overrides))
    settings = OmegaConf.to_container(cfg, resolve=False)
    return {k: v for k, v in settings.items() if k not in NOT_PIPELINE}
