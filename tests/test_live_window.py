"""The interactive loop's keys (q quits, space pauses, s saves) with OpenCV's GUI calls faked."""

import logging

import cv2
import numpy as np
import pytest
from live_helpers import FixedDetector, pipeline, write_video

from fer.errors import OutputError
from fer.inference.sources import open_source
from fer.live import window
from fer.live.window import Action, key_action, run_window


def test_key_mapping():
    assert key_action(-1) is Action.NONE
    assert key_action(ord("q")) is Action.QUIT and key_action(27) is Action.QUIT
    assert key_action(ord(" ")) is Action.PAUSE
    assert key_action(ord("s")) is Action.SCREENSHOT
    assert key_action(ord("x")) is Action.NONE
    assert key_action(0x100000 | ord("q")) is Action.QUIT  # modifier bits some backends add


@pytest.fixture
def fake_gui(monkeypatch):
    shown, keys = [], []
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(cv2, "namedWindow", lambda *a: None)
    monkeypatch.setattr(cv2, "imshow", lambda name, img: shown.append(img.shape))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: keys.pop(0) if keys else -1)
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    return shown, keys


def test_quit_pause_and_screenshot(tmp_path, fake_gui):
    shown, keys = fake_gui
    video = write_video(tmp_path / "in.mp4", frames=10)
    # frame 1: no key; frame 2: space (pause) then -1 while paused, 's' saves, space resumes;
    # frame 3: q quits.
    keys.extend([-1, ord(" "), -1, ord("s"), ord(" "), ord("q")])
    with open_source(str(video)) as src:
        count = run_window(pipeline(tmp_path, FixedDetector([[40, 60, 80, 80]])), src,
                           screenshot_dir=tmp_path / "shots")
    assert count == 3 and len(shown) == 3
    shots = list((tmp_path / "shots").iterdir())
    assert len(shots) == 1 and shots[0].suffix == ".png" and cv2.imread(str(shots[0])).shape == shown[1]
    assert not shots[0].name.startswith(".")  # written under a partial name, then renamed (fer.outputs)


def test_a_failed_screenshot_is_one_line_and_the_view_goes_on(tmp_path, fake_gui, caplog):
    shown, keys = fake_gui
    (tmp_path / "shots").write_text("a file where the screenshot folder should be")
    video = write_video(tmp_path / "in.mp4", frames=3)
    keys.extend([ord("s"), -1, ord("q")])
    with open_source(str(video)) as src, caplog.at_level(logging.ERROR):
        count = run_window(pipeline(tmp_path, FixedDetector([])), src, screenshot_dir=tmp_path / "shots")
    assert count == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("screenshot not saved: ") and "\n" not in errors[0]
    assert (tmp_path / "shots").is_file() and not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_save_screenshot_refuses_an_unwritable_png(tmp_path, monkeypatch):
    monkeypatch.setattr(cv2, "imwrite", lambda path, img: False)  # what OpenCV does when it cannot write
    with pytest.raises(OutputError, match="shots"):
        window.save_screenshot(np.zeros((8, 8, 3), np.uint8), tmp_path / "shots", 1)
    assert list((tmp_path / "shots").iterdir()) == []


def test_video_plays_to_the_end_without_keys(tmp_path, fake_gui):
    shown, _ = fake_gui
    video = write_video(tmp_path / "in.mp4", frames=4)
    with open_source(str(video)) as src:
        assert run_window(pipeline(tmp_path, FixedDetector([])), src) == 4


def test_stills_wait_for_a_key(tmp_path, fake_gui):
    shown, keys = fake_gui
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((100, 120, 3), np.uint8))
    keys.extend([ord("s"), ord("n"), ord("q")])  # save, next image, quit
    with open_source(str(tmp_path)) as src:
        assert run_window(pipeline(tmp_path, FixedDetector([])), src, screenshot_dir=tmp_path / "s") == 2


def test_no_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(window.sys, "platform", "linux")
    with pytest.raises(window.DisplayError, match="headless=true"):
        window.check_display()
