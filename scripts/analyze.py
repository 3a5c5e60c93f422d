"""A video -> per-frame, per-face expression probabilities (CSV) and a timeline plot (PNG).

    python scripts/analyze.py source=clip.mp4 csv=out.csv plot=timeline.png
    python scripts/analyze.py source=clip.mp4 ckpt=PATH smoothing.ema_alpha=0.3   # any webcam.py override
"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))


@hydra.main(version_base="1.3", config_path="../conf", config_name="analyze")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from fer.cli.analyze import analyze_video
    from fer.cli.entrypoint import exit_on_user_error

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    exit_on_user_error(analyze_video)(OmegaConf.to_container(cfg, resolve=True), run_dir)


if __name__ == "__main__":
    main()
