"""Frame sources: camera fallback with a fake capture, video, images, folders, bad inputs."""

import cv2
import numpy as np
import pytest
from live_helpers import synthetic_frame, write_video

from fer.errors import SourceError
from fer.inference.prefetch import Prefetch
from fer.inference.sources import open_camera, open_source


class FakeCapture:
    """Stands in for cv2.VideoCapture: `working` indices open and deliver `frames` frames."""

    def __init__(self, index, working=(), frames=3, blank=()):
        self.index, self.opened = index, index in working or index in blank
        self.left = frames if index in working else 0
        self.released = False

    def isOpened(self):
        return self.opened

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.full((48, 64, 3), self.index, np.uint8)

    def set(self, prop, value):
        return True

    def get(self, prop):
        return 30.0

    def release(self):
        self.released = True


def factory(working=(), blank=(), log=None):
    def make(index):
        cap = FakeCapture(index, working, blank=blank)
        if log is not None:
            log.append(cap)
        return cap

    return make


def test_camera_fallback_uses_first_working_index():
    made = []
    src = open_camera(0, fallback=[1, 2, 3], factory=factory(working={2}, blank={1}, log=made))
    frames = list(src)
    assert src.kind == "camera" and src.live and "camera 2" in src.name
    assert [c.index for c in made] == [0, 1, 2]
    assert made[1].released  # opened but gave no frame: released, then the next index
    assert len(frames) == 3 and int(frames[0].image[0, 0, 0]) == 2
    assert [f.index for f in frames] == [0, 1, 2]


def test_camera_requested_index_first_and_no_duplicates():
    made = []
    open_camera(1, fallback=[0, 1, 2], factory=factory(working={0, 1}, log=made))
    assert [c.index for c in made] == [1]


def test_no_camera_gives_clear_error():
    with pytest.raises(SourceError, match=r"no camera could be opened \(tried indices 0, 1, 2\).*source="):
        open_source("0", fallback=[1, 2], factory=factory())


def test_video_source_reads_every_frame(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=7)
    with open_source(str(path)) as src:
        frames = list(src)
    assert src.kind == "video" and len(frames) == 7 and frames[0].image.shape == (240, 320, 3)


def test_prefetch_yields_the_same_frames(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=9)
    plain = [f.image for f in open_source(str(path))]
    fetched = list(Prefetch(open_source(str(path)), depth=2))
    assert [f.index for f in fetched] == list(range(9))
    assert all(np.array_equal(a, b.image) for a, b in zip(plain, fetched, strict=True))


def test_prefetch_stops_early_without_hanging(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=20)
    it = iter(Prefetch(open_source(str(path)), depth=1))
    next(it)
    it.close()  # the consumer stops: the reader thread must not stay blocked


def test_unreadable_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(SourceError, match="cannot open .*broken.mp4"):
        open_source(str(bad))


def test_missing_source(tmp_path):
    with pytest.raises(SourceError, match="source not found"):
        open_source(str(tmp_path / "nope.mp4"))


def test_image_file_and_folder(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), synthetic_frame(seed=i))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    src = open_source(str(tmp_path))
    frames = list(src)
    assert src.kind == "images" and [f.name for f in frames] == ["img0.png", "img1.png", "img2.png"]
    one = list(open_source(str(tmp_path / "img1.png")))
    assert len(one) == 1 and one[0].image.shape == (240, 320, 3)


def test_empty_image_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(SourceError, match="no images in"):
        open_source(str(tmp_path))


def test_unreadable_single_image(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    with pytest.raises(SourceError, match=r"bad\.jpg .*image"):
        open_source(str(bad))
