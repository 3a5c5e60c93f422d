"""`ferkit webcam` (scripts/webcam.py): live expression recognition from a camera, video, image or folder;
in a window or headless.

    ferkit webcam                                   # camera 0 with the bundled model
    ferkit webcam ckpt=PATH source=1
    ferkit webcam headless=true source=clip.mp4 output=annotated.mp4
    ferkit webcam detector=haar                     # the reference detector and parameters

Keys in the window: q quits, space pauses, s saves a screenshot (ui.screenshot_dir).
"""

from __future__ import annotations

import sys

from omegaconf import DictConfig

from fer.cli.entrypoint import hydra_command
from fer.data.shipped_conf import resolved_dict


@hydra_command("webcam")
def main(cfg: DictConfig) -> None:
    from fer.live.run import run

    code = run(resolved_dict(cfg))
    if code:
        sys.exit(code)
