"""Live facial-expression recognition: camera, video, image or folder; window or headless.

    python scripts/webcam.py                                   # camera 0 with the bundled model
    python scripts/webcam.py ckpt=PATH source=1
    python scripts/webcam.py headless=true source=clip.mp4 output=annotated.mp4
    python scripts/webcam.py detector=haar                     # the reference detector and parameters

Keys in the window: q quits, space pauses, s saves a screenshot (ui.screenshot_dir).
"""

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))


@hydra.main(version_base="1.3", config_path="../conf", config_name="webcam")
def main(cfg: DictConfig) -> None:
    from fer.live.run import run

    code = run(OmegaConf.to_container(cfg, resolve=True))
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
