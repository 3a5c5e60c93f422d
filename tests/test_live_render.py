"""The split-screen render is a pure function: shapes, bar percentages, highlight, no-face panel."""

import numpy as np
import pytest

from fer.constants import CLASSES
from fer.inference.pipeline import FaceResult, FrameResult
from fer.live.render import RenderStyle, bar_percentages, panel_layout, render

STYLE = RenderStyle()


def face(probs, box=(40, 50, 100, 100), track=1):
    probs = np.asarray(probs, dtype=np.float64)
    top = int(np.argmax(probs))
    crop = np.tile(np.arange(48, dtype=np.uint8) * 5, (48, 1))
    return FaceResult(track, box, probs, probs, CLASSES[top], float(probs[top]), crop, True)


def result(*faces):
    return FrameResult(0, list(faces), list(CLASSES), True)


PROBS = np.array([0.05, 0.02, 0.08, 0.61, 0.14, 0.06, 0.04])


def test_shape_and_input_untouched():
    frame = np.full((480, 640, 3), 90, np.uint8)
    before = frame.copy()
    out = render(frame, result(face(PROBS)), fps=30.0)
    assert out.shape == (480, 640 + STYLE.panel_width, 3) and out.dtype == np.uint8
    assert np.array_equal(frame, before)  # pure: the caller's frame is not drawn on
    assert not np.array_equal(out[:, :640], frame)  # the box and label are drawn on the copy


def test_same_input_same_image():
    frame = np.random.default_rng(0).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    r = result(face(PROBS))
    assert np.array_equal(render(frame, r, fps=12.5), render(frame, r, fps=12.5))


@pytest.mark.parametrize("probs", [PROBS, np.full(7, 1 / 7), [0.333, 0.333, 0.334, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0],
                                   np.random.default_rng(3).dirichlet(np.ones(7))])
def test_bar_percentages_sum_to_100(probs):
    pct = bar_percentages(np.asarray(probs))
    assert sum(pct) == 100 and all(p >= 0 for p in pct)
    assert int(np.argmax(pct)) == int(np.argmax(probs)) or max(pct) - min(pct) <= 1


def test_bars_drawn_widths_match_percentages_and_highlight_is_argmax():
    frame = np.zeros((480, 640, 3), np.uint8)
    out = render(frame, result(face(PROBS)))
    layout = panel_layout(480, 640, list(CLASSES), PROBS, STYLE)
    assert sum(b.percent for b in layout.bars) == 100
    assert [b.highlighted for b in layout.bars] == [i == 3 for i in range(7)]
    for bar in layout.bars:
        assert bar.width == round(bar.max_width * bar.percent / 100)
        y = bar.y + bar.height // 2
        inside = out[y, bar.x + 1]
        expected = STYLE.highlight if bar.highlighted else STYLE.bar_color
        if bar.width > 2:
            assert tuple(int(v) for v in inside) == expected, bar.name
        beyond = out[y, bar.x + bar.width + 2]
        assert tuple(int(v) for v in beyond) not in (STYLE.highlight, STYLE.bar_color)  # bar ends at its width


def test_panel_shows_the_models_crop_enlarged():
    frame = np.zeros((480, 640, 3), np.uint8)
    f = face(PROBS)
    out = render(frame, result(f))
    x, y, side = panel_layout(480, 640, list(CLASSES), PROBS, STYLE).crop
    shown = out[y:y + side, x:x + side, 0]
    assert side >= 4 * 48 - 10  # enlarged
    assert shown[0, 0] == f.crop[0, 0] and shown[0, -1] == f.crop[0, -1]


def test_panel_follows_the_largest_face():
    small = face([0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01], box=(10, 10, 40, 40), track=1)
    big = face(PROBS, box=(200, 100, 160, 160), track=2)
    r = result(small, big)
    assert r.primary is big
    out = render(np.zeros((480, 640, 3), np.uint8), r)
    bar = panel_layout(480, 640, list(CLASSES), PROBS, STYLE).bars[3]
    assert tuple(int(v) for v in out[bar.y + bar.height // 2, bar.x + 1]) == STYLE.highlight


def test_no_face_panel_and_small_gray_frame():
    out = render(np.zeros((48, 64), np.uint8), result())
    assert out.shape == (STYLE.min_height, round(64 * STYLE.min_height / 48) + STYLE.panel_width, 3)
    layout = panel_layout(out.shape[0], out.shape[1] - STYLE.panel_width, list(CLASSES), None, STYLE)
    assert not any(b.highlighted for b in layout.bars) and all(b.width == 0 for b in layout.bars)


def test_large_frame_is_shrunk_with_its_boxes():
    out = render(np.zeros((1440, 1920, 3), np.uint8), result(face(PROBS, box=(960, 720, 200, 200))))
    assert out.shape == (STYLE.max_height, 960 + STYLE.panel_width, 3)
    assert out[360 + 50, 480].any()  # the box's left edge, at half scale


def test_fps_is_drawn_only_when_given():
    frame = np.zeros((480, 640, 3), np.uint8)
    with_fps, without = render(frame, result(), fps=61.0), render(frame, result())
    assert with_fps[:26, :118].any() and not without[:26, :118].any()
