"""Run the live pipeline from the webcam config, in a window or headless.

Every expected failure (missing or foreign checkpoint, no camera, unreadable media, no display) is a
FERError that `run` lets through: the entry point's `exit_on_user_error` (fer.cli.entrypoint) turns it
into one line on stderr and exit code 2, as for every other command.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fer.api.settings import check_webcam_config, with_webcam_defaults
from fer.errors import ConfigError
from fer.inference.build import build_pipeline
from fer.inference.prefetch import Prefetch
from fer.inference.sources import open_source
from fer.live.render import RenderStyle
from fer.signals import exit_code, interrupt_on_signals

log = logging.getLogger(__name__)


def render_style(cfg: dict[str, Any]) -> RenderStyle:
    ui = cfg["ui"]
    return RenderStyle(**{k: ui[k] for k in ("panel_width", "min_height", "max_height", "show_fps")})


def run(cfg: dict[str, Any]) -> int:
    """Run as configured; returns the process exit code (0, or 128+N after signal N). Raises FERError."""
    from fer.live.headless import run_headless
    from fer.live.window import check_display, run_window

    try:
        check_webcam_config(cfg)
        cfg = with_webcam_defaults(cfg)
        headless = bool(cfg["headless"])
        if headless and not cfg.get("output"):
            raise ConfigError("headless=true needs output=PATH: a .mp4/.avi for a video or camera, "
                             "a folder (or .png for one image) for images")
        if not headless:
            check_display()  # before loading anything, so the advice comes at once
        pipeline = build_pipeline(cfg)
        cam = cfg["camera"]
        source = open_source(cfg["source"], fallback=cam["fallback"], width=cam["width"], height=cam["height"],
                             max_pixels=cfg["max_image_pixels"])
        if cfg["prefetch"] and source.kind == "video":
            source = Prefetch(source)
        style = render_style(cfg)
        checkpoint = [("checkpoint", Path(cfg["ckpt"]))] if cfg["ckpt"] else []
        with source, interrupt_on_signals():
            if headless:
                s = run_headless(pipeline, source, cfg["output"], cfg["jsonl"], style, cfg["max_frames"],
                                 inputs=checkpoint, progress_bar=cfg["progress"])
                announced = f" of {s.frames_announced} announced" if s.frames_announced else ""
                log.info("%d frames%s (%d with a face) -> %s and %s; labels: %s", s.frames, announced,
                         s.frames_with_faces, s.output, s.jsonl, s.labels or "none")
                log.info("%.1f fps (%.2f s from the first frame to the closed output), p95 frame time %.1f ms",
                         s.fps, s.seconds, s.p95_ms)
                if s.frames_with_faces == 0:
                    log.warning("no face was found in any frame")
            else:
                ui = cfg["ui"]
                run_window(pipeline, source, style, ui["screenshot_dir"], cfg["max_frames"],
                           pace=bool(ui["pace_video"]))
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP (see fer.signals): outputs are final
        return exit_code(e)
    return 0
