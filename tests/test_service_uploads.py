"""Hostile and unlucky uploads: multipart structure, an unwritable upload folder, /v1/analyze's work limits,
and a client that leaves while its video is analysed."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from live_helpers import synthetic_frame, tiny_model, write_video
from python_multipart.multipart import MultipartParser
from service_helpers import SlowDetector, live_server

from fer.api.recognizer import Recognizer
from fer.service import ServiceSettings, create_app
from fer.service.errors import RequestError
from fer.service.routes import frames_to_analyze
from fer.service.uploads import UploadParts

BOX = [40, 60, 80, 80]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("ckpt"))


def make_app(ckpt: Path, tmp: Path, detector=None, **limits):
    tmp.mkdir(exist_ok=True)
    settings = ServiceSettings(temp_dir=str(tmp), **limits)
    return create_app(settings, Recognizer(ckpt=ckpt, detector=detector or SlowDetector(0, BOX),
                                           settings={"smoothing": {"detect_every": 1}}))


@pytest.fixture
def client(tiny_ckpt, tmp_path):
    with TestClient(make_app(tiny_ckpt, tmp_path / "tmp")) as c:
        yield c


def png() -> bytes:
    return cv2.imencode(".png", synthetic_frame())[1].tobytes()


def part(name: str, data: bytes, filename: str | None = None, headers: tuple[str, ...] = ()) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    lines = [f"Content-Disposition: {disposition}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def multipart(*parts: bytes, close: bool = True) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
    body += f"--{boundary}--\r\n".encode() if close else b""
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def tiny_parts(count: int) -> tuple[bytes, dict[str, str]]:
    """One upload of `count` one-byte file parts: about 90 bytes each."""
    return multipart(*(part(f"f{i}", b"x", filename="x") for i in range(count)))


def test_an_upload_of_many_tiny_parts_is_refused_at_once(client, caplog):
    body, headers = tiny_parts(30_000)
    caplog.set_level(logging.DEBUG)
    t0 = time.perf_counter()
    r = client.post("/v1/predict", content=body, headers=headers)
    assert time.perf_counter() - t0 < 1
    assert r.status_code == 400 and "more than 4 parts" in r.json()["error"]
    assert not [rec for rec in caplog.records if rec.name.startswith("python_multipart")]
    assert list(client.app.state.tmp.iterdir()) == []


def test_only_the_file_part_is_written(tmp_path):
    body, headers = multipart(part("note", b"a text field"), part("other", b"another file" * 100, filename="o.bin"),
                              part("file", b"the upload", filename="photo.jpg"), part("more", b"x" * 1000))
    parts = UploadParts(tmp_path / "upload", limit=1 << 20, max_parts=4, what="image")
    parser = MultipartParser(headers["content-type"].split("boundary=")[1], parts.callbacks())
    for i in range(0, len(body), 7):  # in pieces, as a network delivers it
        parser.write(body[i:i + 7])
    assert parts.ended and parts.filename == "photo.jpg" and parts.size == len(b"the upload")
    assert [p.name for p in tmp_path.iterdir()] == ["upload"] and (tmp_path / "upload").read_bytes() == b"the upload"


def test_normal_uploads_log_nothing_per_part(client, caplog):
    caplog.set_level(logging.DEBUG)
    body, headers = multipart(part("file", png(), filename="frame.png"), part("note", b"hello"))
    r = client.post("/v1/predict", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert not [rec for rec in caplog.records if rec.name.startswith("python_multipart")]


@pytest.mark.parametrize("parts, words", [
    ((part("file", b"a", "a.png"), part("file", b"b", "b.png")), "more than one part named 'file'"),
    ((b'Content-Disposition: form-data; filename="a.png"\r\n\r\nabc',), "no name"),
    ((part("file", b"a", "a.png", headers=("X-Long: " + "y" * 5000,)),), "header size"),
    ((part("file", b"a", "a.png", headers=tuple(f"X-{i}: y" for i in range(9))),), "header count"),
    ((part("file", b"YWJj", "a.png", headers=("Content-Transfer-Encoding: base64",)),), "not supported"),
    ((part("note", b"no file here"),), "no file in the upload"),
    ((part("file", b"", "empty.png"),), "empty"),
])
def test_malformed_multipart_structure_is_a_400(client, parts, words):
    body, headers = multipart(*parts)
    r = client.post("/v1/predict", content=body, headers=headers)
    assert r.status_code == 400 and words in r.json()["error"], r.text


def test_a_body_without_its_closing_boundary_is_a_400(client):
    body, headers = multipart(part("file", png(), "frame.png"), close=False)
    r = client.post("/v1/predict", content=body, headers=headers)
    assert r.status_code == 400 and "closing boundary" in r.json()["error"]


def test_a_file_part_without_a_plain_filename_is_still_the_upload(client):
    """RFC 5987 names (filename*=UTF-8''...) only, or none at all: the part named 'file' is the upload."""
    for extra in ("; filename*=UTF-8''%D0%BA.png", ""):
        body = (b'Content-Disposition: form-data; name="file"' + extra.encode() + b"\r\n\r\n" + png())
        data, headers = multipart(body)
        r = client.post("/v1/predict", content=data, headers=headers)
        assert r.status_code == 200 and len(r.json()["faces"]) == 1, r.text


# ---------------------------------------------------------------- the upload folder read-only, full or deleted

def upload_for(route: str, tmp_path: Path) -> dict:
    if route == "/v1/predict":
        return {"file": ("frame.png", png())}
    return {"file": ("clip.mp4", write_video(tmp_path / "clip.mp4", frames=3).read_bytes())}


ROUTES = ["/v1/predict", "/v1/analyze"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_deleted_upload_folder_is_made_again(client, tmp_path, route):
    shutil.rmtree(client.app.state.tmp)
    r = client.post(route, files=upload_for(route, tmp_path))
    assert r.status_code == 200, r.text
    assert client.app.state.tmp.is_dir() and list(client.app.state.tmp.iterdir()) == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_folder_that_cannot_be_made_again_is_a_503(client, tmp_path, route):
    tmp = client.app.state.tmp
    shutil.rmtree(tmp)
    tmp.parent.rename(tmp_path / "moved")
    (tmp_path / "tmp").write_text("a file where the folder's parent was")
    r = client.post(route, files=upload_for(route, tmp_path))
    assert r.status_code == 503 and "cannot store uploads" in r.json()["error"]
    assert str(tmp_path) not in r.json()["error"]  # the server's paths stay on the server
    (tmp_path / "tmp").unlink()
    (tmp_path / "moved").rename(tmp_path / "tmp")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("route", ROUTES)
def test_a_read_only_upload_folder_is_a_503(client, tmp_path, route):
    tmp = client.app.state.tmp
    tmp.chmod(0o500)
    try:
        r = client.post(route, files=upload_for(route, tmp_path))
    finally:
        tmp.chmod(0o700)
    assert r.status_code == 503 and "cannot store uploads" in r.json()["error"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_read_only_file_system_is_a_503(client, tmp_path, route, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("fer.service.storage.tempfile.mkdtemp", read_only)
    r = client.post(route, files=upload_for(route, tmp_path))
    assert r.status_code == 503 and "Read-only file system" in r.json()["error"]


class FullDisk:
    """A real upload file whose writes (or, with at_close, whose last flush) fail with ENOSPC."""

    def __init__(self, file, at_close: bool):
        self.file, self.at_close = file, at_close

    def write(self, data: bytes) -> int:
        if not self.at_close:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.file.write(data)

    @property
    def closed(self) -> bool:
        return self.file.closed

    def close(self) -> None:
        if self.file.closed:
            return
        self.file.close()  # as io's files do: closed even when the flush before fails
        if self.at_close:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("at_close", [False, True], ids=["write", "close"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_full_disk_is_a_503_and_the_failed_file_is_closed(client, tmp_path, route, at_close, monkeypatch):
    opened = []
    real_open = Path.open

    def open_on_a_full_disk(self, mode="r", *args, **kwargs):
        f = real_open(self, mode, *args, **kwargs)
        if mode != "xb":  # the upload being written; reading it back is left alone
            return f
        opened.append(f)
        return FullDisk(f, at_close)

    monkeypatch.setattr(Path, "open", open_on_a_full_disk)
    r = client.post(route, files=upload_for(route, tmp_path))
    assert r.status_code == 503 and "No space left on device" in r.json()["error"], r.text
    assert len(opened) == 1 and opened[0].closed
    assert list(client.app.state.tmp.iterdir()) == []  # the partial upload and its folder are gone


# ---------------------------------------------------------------- /v1/analyze: pixels per frame, total work

def test_video_frames_over_the_pixel_limit_are_a_413(tiny_ckpt, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=4).read_bytes()  # 320x240
    with TestClient(make_app(tiny_ckpt, tmp_path / "tmp", max_video_frame_pixels=320 * 200)) as client:
        r = client.post("/v1/analyze", files={"file": ("clip.mp4", clip)})
    assert r.status_code == 413 and "frames are 320x240" in r.json()["error"]


def test_frames_times_pixels_over_the_work_limit_are_a_413(tiny_ckpt, tmp_path):
    detector = SlowDetector(0, BOX)
    clip = write_video(tmp_path / "clip.mp4", frames=8).read_bytes()
    with TestClient(make_app(tiny_ckpt, tmp_path / "tmp", detector,
                             max_video_total_pixels=6 * 320 * 240)) as client:
        r = client.post("/v1/analyze", files={"file": ("clip.mp4", clip)})
        assert r.status_code == 413 and "8 frames of 320x240" in r.json()["error"]
        assert detector.calls == 0  # refused before any work
        short = write_video(tmp_path / "short.mp4", frames=6).read_bytes()
        assert client.post("/v1/analyze", files={"file": ("short.mp4", short)}).json()["frame_count"] == 6


def test_a_video_announcing_too_few_frames_stops_at_the_work_limit():
    settings = ServiceSettings(max_video_frames=900, max_video_total_pixels=100 * 640 * 480)
    assert frames_to_analyze(0, 640, 480, settings) == 100  # none announced: the budget decides
    assert frames_to_analyze(10, 320, 240, settings) == 400
    assert frames_to_analyze(10, 32, 24, settings) == 900
    with pytest.raises(RequestError, match="megapixels to analyse"):
        frames_to_analyze(101, 640, 480, settings)


def test_the_analysis_stops_when_the_client_leaves(tiny_ckpt, tmp_path):
    detector = SlowDetector(0.05, BOX)
    clip = write_video(tmp_path / "long.mp4", frames=80, size=(160, 120)).read_bytes()  # 4 s of work
    body, headers = multipart(part("file", clip, "long.mp4"))
    app = make_app(tiny_ckpt, tmp_path / "tmp", detector)
    with live_server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {headers['content-type']}\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            deadline = time.monotonic() + 30
            while detector.calls < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        time.sleep(0.5)  # the client has gone: at most the frame under way finishes
        stopped_at = detector.calls
        time.sleep(0.5)
        assert detector.calls == stopped_at < 40
        deadline = time.monotonic() + 10
        while list(app.state.tmp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(app.state.tmp.iterdir()) == []
