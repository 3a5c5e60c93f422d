"""The interactive window: q (or Esc) quits, space pauses, s saves a screenshot."""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
from enum import Enum
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from fer.errors import DisplayError, OutputError
from fer.inference.frame_loop import run_frames
from fer.inference.pipeline import LivePipeline
from fer.inference.sources import FrameSource
from fer.live.pacing import Pacer
from fer.live.render import DEFAULT_STYLE, RenderStyle, render
from fer.outputs import ensure_writable_folder, save_atomically

log = logging.getLogger(__name__)

WINDOW = "FER live (q quit, space pause, s screenshot)"


class Action(Enum):
    NONE = "none"
    QUIT = "quit"
    PAUSE = "pause"
    SCREENSHOT = "screenshot"


def key_action(key: int) -> Action:
    """Map cv2.waitKey's code to an action (-1 means no key)."""
    if key < 0:
        return Action.NONE
    key &= 0xFF
    if key in (ord("q"), ord("Q"), 27):
        return Action.QUIT
    if key == ord(" "):
        return Action.PAUSE
    if key in (ord("s"), ord("S")):
        return Action.SCREENSHOT
    return Action.NONE


def check_display() -> None:
    """Fail early with advice where there is no screen (OpenCV's GUI would abort the process)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError("no display found (DISPLAY is not set). Run without a window: "
                           "headless=true output=annotated.mp4")


def write_png(canvas: np.ndarray, path: Path) -> None:
    # cv2.imwrite reports a failed write by returning False; an OSError makes it an OutputError.
    if not cv2.imwrite(str(path), canvas):
        raise OSError(errno.EIO, "the PNG could not be written")


def save_screenshot(canvas: np.ndarray, folder: str | Path, index: int) -> Path:
    """Write the shown frame whole or not at all, like every other output (fer.outputs); OutputError if not."""
    folder = Path(folder)
    ensure_writable_folder(folder)
    path = folder / f"fer_{time.strftime('%Y%m%d_%H%M%S')}_{index:06d}.png"
    save_atomically(path, lambda partial: write_png(canvas, partial))
    return path


def run_window(pipeline: LivePipeline, source: FrameSource, style: RenderStyle = DEFAULT_STYLE,
               screenshot_dir: str | Path = "screenshots", max_frames: int | None = None, *,
               pace: bool) -> int:
    """Show live results until q or the end of the source; returns the number of frames shown.

    pace (conf/webcam.yaml's ui.pace_video): a video file plays at its own frame rate, not as fast as its
    frames are analysed.
    """
    check_display()
    cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
    photo = source.kind == "images"
    pacer = Pacer(source.fps) if pace and source.kind == "video" else None
    shown = 0
    try:
        for step in run_frames(pipeline, source, partial(render, style=style), max_frames):
            if pacer is not None:
                pacer.wait()  # keys pressed meanwhile wait in the window's queue for the waitKey below
            canvas = step.canvas
            assert canvas is not None  # run_frames draws every frame it is given a draw function for
            cv2.imshow(WINDOW, canvas)
            shown += 1
            paused = False
            while True:
                # A photo stays up until a key; a camera runs as fast as it is processed, a video too
                # unless paced (above).
                action = key_action(cv2.waitKey(0 if photo else 30 if paused else 1))
                if action is Action.QUIT:
                    return shown
                if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                    return shown  # window closed with the mouse
                if action is Action.SCREENSHOT:
                    try:
                        log.info("screenshot saved to %s", save_screenshot(canvas, screenshot_dir, shown))
                    except OutputError as e:  # a failed screenshot is reported; the live view goes on
                        log.error("screenshot not saved: %s", e)
                    if photo:
                        continue
                elif action is Action.PAUSE and not photo:
                    paused = not paused
                if photo or not paused:
                    break
    finally:
        cv2.destroyAllWindows()
    return shown
