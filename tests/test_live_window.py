"""The interactive loop's keys (q quits, space pauses, s saves) and a video's pace, with OpenCV's GUI calls
faked."""

import logging
import time

import cv2
import numpy as np
import pytest
from live_helpers import FixedDetector, pipeline, write_video

from fer.errors import OutputError
from fer.inference.sources import FrameSource, open_source
from fer.live import window
from fer.live.headless import run_headless
from fer.live.pacing import Pacer
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
                           screenshot_dir=tmp_path / "shots", pace=False)
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
        count = run_window(pipeline(tmp_path, FixedDetector([])), src, screenshot_dir=tmp_path / "shots", pace=False)
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
        assert run_window(pipeline(tmp_path, FixedDetector([])), src, pace=False) == 4


def test_stills_wait_for_a_key(tmp_path, fake_gui):
    shown, keys = fake_gui
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((100, 120, 3), np.uint8))
    keys.extend([ord("s"), ord("n"), ord("q")])  # save, next image, quit
    with open_source(str(tmp_path)) as src:
        assert run_window(pipeline(tmp_path, FixedDetector([])), src, screenshot_dir=tmp_path / "s", pace=True) == 2


def test_no_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(window.sys, "platform", "linux")
    with pytest.raises(window.DisplayError, match="headless=true"):
        window.check_display()


class FakeClock:
    """time for a Pacer: `work(s)` is analysis taking s seconds; sleeping advances it too."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def work(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_pacer_shows_frames_at_the_videos_rate_and_never_rushes_to_catch_up():
    clock = FakeClock()
    pacer = Pacer(25.0, clock=lambda: clock.now, sleep=clock.sleep)
    shown = []
    for work in (0.01, 0.01, 0.01, 0.01):  # analysis quicker than the video: each frame waits its turn
        clock.work(work)
        pacer.wait()
        shown.append(clock.now)
    assert clock.slept == [0.03, 0.03, 0.03] and np.allclose(np.diff(shown), 0.04)
    clock.slept.clear()
    clock.work(2.0)  # a pause (or a stall): the schedule restarts instead of racing through the backlog
    pacer.wait()
    for _ in range(3):  # analysis slower than the video: shown as soon as ready, no waiting
        clock.work(0.05)
        pacer.wait()
    assert clock.slept == []


class Camera(FrameSource):
    kind, fps, live = "camera", 10.0, True

    def __init__(self, frames: int):
        self.frames = frames

    def __iter__(self):
        from fer.inference.sources import Frame

        for i in range(self.frames):
            yield Frame(i, np.zeros((120, 160, 3), np.uint8), f"camera:{i}")


def test_a_video_file_plays_at_its_own_frame_rate_in_the_window(tmp_path, fake_gui, monkeypatch):
    shown_at = []
    monkeypatch.setattr(cv2, "imshow", lambda name, img: shown_at.append(time.perf_counter()))
    video = write_video(tmp_path / "in.mp4", frames=6)  # 10 frames/s
    with open_source(str(video)) as src:
        assert run_window(pipeline(tmp_path, FixedDetector([])), src, pace=True) == 6
    assert min(np.diff(shown_at)) >= 0.095  # a frame a tenth of a second after the last, however fast analysed


def test_cameras_unpaced_windows_and_headless_runs_are_never_slowed(tmp_path, fake_gui, monkeypatch):
    def refuse(self):
        raise AssertionError("paced")

    monkeypatch.setattr(Pacer, "wait", refuse)
    video = write_video(tmp_path / "in.mp4", frames=4)
    assert run_window(pipeline(tmp_path, FixedDetector([])), Camera(4), pace=True) == 4  # a camera sets its own pace
    with open_source(str(video)) as src:
        assert run_window(pipeline(tmp_path, FixedDetector([])), src, pace=False) == 4  # ui.pace_video=false
    with open_source(str(video)) as src:
        assert run_headless(pipeline(tmp_path, FixedDetector([])), src, tmp_path / "out.mp4").frames == 4
