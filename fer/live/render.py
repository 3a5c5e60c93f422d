"""The reference's split screen as a pure function: (frame, results) -> a new BGR image.

Left: the frame with a box, label and confidence per face. Right: the 48x48 crop the model saw,
enlarged, and one horizontal bar per class, the top class highlighted with its percentage.
Nothing here touches a window, so it runs (and is tested) without a display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from fer.inference.conf_files import load_conf
from fer.inference.pipeline import FaceResult, FrameResult

FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR. Track colours cycle so that two people are told apart at a glance.
PALETTE = ((80, 200, 80), (240, 160, 40), (60, 120, 255), (200, 80, 200), (40, 200, 220), (180, 180, 60))


def ui_default(key: str) -> Any:
    """A field whose default is conf/webcam.yaml's `ui.<key>`: the value is written there only."""
    return field(default_factory=lambda: load_conf("webcam.yaml")["ui"][key])


@dataclass(frozen=True)
class RenderStyle:
    """The look of the split screen: its sizes are conf/webcam.yaml's `ui` settings (read from there when
    not given), its colours the drawing's own."""

    panel_width: int = ui_default("panel_width")
    min_height: int = ui_default("min_height")  # small frames (a lone photo) are enlarged so the panel fits
    max_height: int = ui_default("max_height")  # big frames are shrunk for display
    background: tuple[int, int, int] = (32, 32, 32)
    bar_color: tuple[int, int, int] = (140, 140, 140)
    highlight: tuple[int, int, int] = (80, 200, 80)
    text: tuple[int, int, int] = (235, 235, 235)
    show_fps: bool = ui_default("show_fps")


DEFAULT_STYLE = RenderStyle()


@dataclass(frozen=True)
class BarRow:
    name: str
    percent: int
    y: int  # top of the bar in canvas pixels
    x: int  # left end of the bar
    height: int
    max_width: int  # width of a 100% bar
    width: int  # drawn width
    highlighted: bool


@dataclass(frozen=True)
class PanelLayout:
    x0: int  # panel's left edge in the canvas
    crop: tuple[int, int, int]  # x, y, side of the enlarged crop
    bars: list[BarRow]


def bar_percentages(probs: np.ndarray) -> list[int]:
    """Whole percentages that add up to exactly 100 (largest remainders get the spare points)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 0, None)
    if p.sum() <= 0:
        return [0] * len(p)
    raw = p / p.sum() * 100
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: 100 - out.sum()]:
        out[i] += 1
    return out.tolist()


def display_scale(frame_shape: tuple[int, ...], style: RenderStyle) -> float:
    h = frame_shape[0]
    if h < style.min_height:
        return style.min_height / h
    if h > style.max_height:
        return style.max_height / h
    return 1.0


def panel_layout(height: int, x0: int, class_names: list[str], probs: np.ndarray | None,
                 style: RenderStyle = DEFAULT_STYLE) -> PanelLayout:
    pad = 12
    side = int(min(style.panel_width - 2 * pad, height * 0.45))
    crop = (x0 + (style.panel_width - side) // 2, pad + 22, side)
    top = crop[1] + side + 36
    row = max(12, min(30, (height - top - pad) // max(1, len(class_names))))
    label_w = 92
    bar_x = x0 + pad + label_w
    max_w = style.panel_width - 2 * pad - label_w - 44
    percents = bar_percentages(probs) if probs is not None else [0] * len(class_names)
    best = int(np.argmax(probs)) if probs is not None else -1
    bars = [BarRow(name, pct, top + i * row, bar_x, max(4, row - 8), max_w, round(max_w * pct / 100),
                   i == best) for i, (name, pct) in enumerate(zip(class_names, percents, strict=True))]
    return PanelLayout(x0, crop, bars)


def render(frame: np.ndarray, result: FrameResult, fps: float | None = None,
           style: RenderStyle = DEFAULT_STYLE) -> np.ndarray:
    """Annotated frame + side panel, as a new (H, W + panel_width, 3) uint8 image."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    s = display_scale(frame.shape, style)
    left = frame if s == 1 else cv2.resize(frame, None, fx=s, fy=s, interpolation=cv2.INTER_AREA
                                           if s < 1 else cv2.INTER_LINEAR)
    h, w = left.shape[:2]
    # One C call copies the frame and fills the panel: numpy's fill from a colour tuple is a large share
    # of the live loop's time (docs/benchmarks.md).
    canvas = cv2.copyMakeBorder(left, 0, 0, 0, style.panel_width, cv2.BORDER_CONSTANT, value=style.background)
    for face in result.faces:
        draw_face(canvas, face, s)
    if fps is not None and style.show_fps:
        label = f"FPS {fps:5.1f}" if fps > 0 else "FPS   --"
        cv2.rectangle(canvas, (0, 0), (118, 26), (0, 0, 0), -1)
        cv2.putText(canvas, label, (6, 19), FONT, 0.55, (0, 255, 255), 1, cv2.LINE_AA)
    draw_panel(canvas, w, result.primary, result.class_names, style)
    return canvas


def draw_face(canvas: np.ndarray, face: FaceResult, s: float) -> None:
    x, y, bw, bh = (round(v * s) for v in face.box)
    color = PALETTE[(face.track_id - 1) % len(PALETTE)]
    cv2.rectangle(canvas, (x, y), (x + bw, y + bh), color, 2)
    text = f"{face.label} {face.confidence * 100:.0f}%"
    (tw, th), _ = cv2.getTextSize(text, FONT, 0.6, 1)
    ty = y - 6 if y - th - 10 >= 0 else y + bh + th + 6
    cv2.rectangle(canvas, (x, ty - th - 5), (x + tw + 6, ty + 4), color, -1)
    cv2.putText(canvas, text, (x + 3, ty), FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)


def draw_panel(canvas: np.ndarray, x0: int, face: FaceResult | None, class_names: list[str],
               style: RenderStyle) -> None:
    h = canvas.shape[0]
    layout = panel_layout(h, x0, class_names, face.probs if face is not None else None, style)
    cx, cy, side = layout.crop
    title = f"face {face.track_id}: model input 48x48" if face is not None else "no face detected"
    if face is not None:  # a swatch in the face's box colour says which face the panel shows
        cv2.rectangle(canvas, (x0 + 12, 10), (x0 + 24, 22), PALETTE[(face.track_id - 1) % len(PALETTE)], -1)
    cv2.putText(canvas, title, (x0 + (30 if face is not None else 12), 22), FONT, 0.5, style.text, 1, cv2.LINE_AA)
    if face is not None and face.crop is not None:
        big = cv2.resize(face.crop, (side, side), interpolation=cv2.INTER_NEAREST)
        canvas[cy:cy + side, cx:cx + side] = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)  # numpy's broadcast is slower
    else:
        cv2.rectangle(canvas, (cx, cy), (cx + side, cy + side), (90, 90, 90), 1)
    if face is not None:
        heading = f"{face.label} {bar_percentages(face.probs)[int(np.argmax(face.probs))]}%"
        cv2.putText(canvas, heading, (x0 + 12, cy + side + 26), FONT, 0.7, style.highlight, 2, cv2.LINE_AA)
    for bar in layout.bars:
        color = style.highlight if bar.highlighted else style.bar_color
        text_color = style.highlight if bar.highlighted else style.text
        mid = bar.y + bar.height // 2 + 5
        cv2.putText(canvas, bar.name, (x0 + 12, mid), FONT, 0.45, text_color, 1, cv2.LINE_AA)
        cv2.rectangle(canvas, (bar.x, bar.y), (bar.x + bar.max_width, bar.y + bar.height), (70, 70, 70), 1)
        if bar.width > 0:
            cv2.rectangle(canvas, (bar.x, bar.y), (bar.x + bar.width, bar.y + bar.height), color, -1)
        if face is not None:
            cv2.putText(canvas, f"{bar.percent}%", (bar.x + bar.max_width + 4, mid), FONT, 0.42, text_color,
                        1, cv2.LINE_AA)
