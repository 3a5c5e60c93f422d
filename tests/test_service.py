"""The service through FastAPI's TestClient: predict, analyze, the WebSocket stream and every bad input."""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from live_helpers import (
    CLASSES,
    FixedDetector,
    lightning_style_checkpoint,
    media,
    needs_media,
    synthetic_frame,
    write_video,
)
from starlette.testclient import WebSocketDenialResponse

from fer.api.recognizer import Recognizer
from fer.service import ServiceSettings, create_app

BOX = [40, 60, 80, 80]


class SlowDetector(FixedDetector):
    """A fixed box after a pause: frames then arrive faster than they are classified."""

    def __init__(self, seconds: float):
        super().__init__([BOX])
        self.seconds = seconds

    def detect(self, frame):
        time.sleep(self.seconds)
        return super().detect(frame)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return lightning_style_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


def recognizer(ckpt: Path, detector=None) -> Recognizer:
    return Recognizer(ckpt=ckpt, detector=detector or FixedDetector([BOX]), settings={"smoothing": {"detect_every": 1}})


@pytest.fixture
def client(tiny_ckpt, tmp_path):
    settings = ServiceSettings(temp_dir=str(tmp_path / "tmp"), max_image_mb=0.5, max_video_mb=1,
                               max_frame_mb=0.25, max_image_pixels=2_000_000, max_video_frames=20, max_streams=2)
    (tmp_path / "tmp").mkdir()
    with TestClient(create_app(settings, recognizer(tiny_ckpt))) as c:
        yield c
    assert not any((tmp_path / "tmp").iterdir())  # the service's temporary folder is gone


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def check_face(face: dict, box=BOX) -> None:
    assert face["box"] == box and face["label"] in CLASSES
    assert list(face["probabilities"]) == list(CLASSES)
    assert sum(face["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert face["confidence"] == max(face["probabilities"].values())


def test_page_health_docs_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text and "text/html" in page.headers["content-type"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["classes"] == list(CLASSES)
    assert health["streams"] == {"open": 0, "max": 2}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "multipart/form-data" in paths["/v1/predict"]["post"]["requestBody"]["content"]


def test_predict_an_uploaded_image(client):
    r = client.post("/v1/predict", files={"file": ("frame.png", png(synthetic_frame()), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (320, 240) and body["classes"] == list(CLASSES)
    assert len(body["faces"]) == 1 and "crop" not in body["faces"][0]
    check_face(body["faces"][0])
    # Gray JPEG, and the crop the model saw on request.
    gray = cv2.cvtColor(synthetic_frame(), cv2.COLOR_BGR2GRAY)
    r = client.post("/v1/predict?crops=true", files={"file": ("gray.jpg", jpeg(gray))})
    assert r.status_code == 200 and r.json()["faces"][0]["crop"].startswith("data:image/png;base64,")


def test_analyze_an_uploaded_clip_as_json_and_csv(client, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=8).read_bytes()
    r = client.post("/v1/analyze", files={"file": ("clip.mp4", clip, "video/mp4")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["frame_count"] == 8 and body["source"] == "clip.mp4" and body["tracks"] == [1]
    assert [f["frame"] for f in body["frames"]] == list(range(8))
    check_face(body["frames"][3]["faces"][0])
    r = client.post("/v1/analyze?format=csv", files={"file": ("clip.mp4", clip)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "clip_analysis.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 8 and rows[0]["track_id"] == "1" and set(CLASSES) <= set(rows[0])


def test_stream_round_trip_keeps_tracks_per_connection(client):
    frame = jpeg(synthetic_frame())
    with client.websocket_connect("/v1/stream") as a, client.websocket_connect("/v1/stream") as b:
        assert client.get("/healthz").json()["streams"]["open"] == 2
        for seq in (1, 2, 3):
            a.send_bytes(frame)
            reply = a.receive_json()
            assert reply["type"] == "result" and reply["seq"] == seq and reply["dropped"] == 0
            assert reply["faces"][0]["track_id"] == 1 and reply["faces"][0]["crop"].startswith("data:image/png")
            check_face(reply["faces"][0])
            assert reply["latency_ms"] >= 0 and "classify" in reply["timings"]
        b.send_bytes(frame)
        assert b.receive_json()["faces"][0]["track_id"] == 1  # its own tracker, not face 2 of a shared one
    assert client.get("/healthz").json()["streams"]["open"] == 0


def test_stream_drops_stale_frames_and_says_so(tiny_ckpt):
    with TestClient(create_app(ServiceSettings(), recognizer(tiny_ckpt, SlowDetector(0.3)))) as client, \
            client.websocket_connect("/v1/stream") as ws:
        frame = jpeg(synthetic_frame())
        for _ in range(6):
            ws.send_bytes(frame)
        replies = [ws.receive_json()]
        while replies[-1]["seq"] < 6:
            replies.append(ws.receive_json())
    assert replies[0]["seq"] == 1  # the first frame is classified at once
    assert len(replies) < 6 and sum(r["dropped"] for r in replies) == 6 - len(replies)
    assert replies[-1]["dropped_total"] == 6 - len(replies)


def test_stream_errors_keep_the_stream_open(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text("hello")
        assert "binary" in ws.receive_json()["error"]
        ws.send_bytes(b"\xff\xd8\xff broken")
        bad = ws.receive_json()
        assert bad["type"] == "error" and bad["seq"] == 1 and "decode" in bad["error"]
        ws.send_bytes(b"\xff\xd8\xff" + bytes(300_000))
        big = ws.receive_json()
        assert big["type"] == "error" and "limit" in big["error"]
        ws.send_bytes(jpeg(synthetic_frame()))
        ok = ws.receive_json()
        assert ok["type"] == "result" and ok["seq"] == 3


def test_streams_beyond_the_limit_get_503(client):
    with client.websocket_connect("/v1/stream"), client.websocket_connect("/v1/stream"):
        with pytest.raises(WebSocketDenialResponse) as refused:
            with client.websocket_connect("/v1/stream"):
                pass
        assert refused.value.status_code == 503 and "limit is 2" in refused.value.json()["error"]


def mp4_header(rest: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + rest


@pytest.mark.parametrize("route, upload, status, words", [
    ("/v1/predict", ("empty.jpg", b""), 400, "empty"),
    ("/v1/predict", ("notes.txt", b"just some text" * 10), 415, "neither an image"),
    ("/v1/predict", ("broken.jpg", b"\xff\xd8\xff\xe0" + bytes(2000)), 400, "cannot be decoded"),
    ("/v1/predict", ("clip.mp4", mp4_header(bytes(100))), 415, "/v1/analyze"),
    ("/v1/predict", ("big.png", b"\x89PNG\r\n\x1a\n" + bytes(600_000)), 413, "0.5 MB"),
    ("/v1/analyze", ("frame.png", png(synthetic_frame())), 415, "/v1/predict"),
    ("/v1/analyze", ("broken.mp4", mp4_header(b"junk" * 500)), 400, "damaged"),
    ("/v1/analyze", ("notes.txt", b"plain text"), 415, "neither"),
    ("/v1/analyze", ("empty.mp4", b""), 400, "empty"),
    ("/v1/analyze", ("big.mp4", mp4_header(bytes(1_200_000))), 413, "1 MB"),
])
def test_bad_uploads_get_a_4xx_with_a_json_error(client, route, upload, status, words):
    r = client.post(route, files={"file": upload})
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_bad_requests_say_what_was_wrong(client, tmp_path):
    r = client.post("/v1/predict", content=jpeg(synthetic_frame()), headers={"content-type": "image/jpeg"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["error"]
    r = client.post("/v1/predict", files={"photo": ("a.png", png(synthetic_frame()))})
    assert r.status_code == 400 and "field named 'file'" in r.json()["error"]
    r = client.post("/v1/predict", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400
    huge = np.zeros((1500, 1500, 3), dtype=np.uint8)  # a small PNG of more pixels than allowed
    r = client.post("/v1/predict", files={"file": ("huge.png", png(huge))})
    assert r.status_code == 413 and "megapixels" in r.json()["error"]
    long_clip = write_video(tmp_path / "long.mp4", frames=25).read_bytes()
    r = client.post("/v1/analyze", files={"file": ("long.mp4", long_clip)})
    assert r.status_code == 413 and "25 frames" in r.json()["error"]
    assert client.post("/v1/analyze?format=xml", files={"file": ("long.mp4", long_clip)}).status_code == 422


def test_a_declared_oversized_body_is_refused_before_it_is_read(client):
    def body():
        yield b"never read"
        raise AssertionError("the body was read")

    r = client.post("/v1/predict", content=body(),
                    headers={"content-type": "multipart/form-data; boundary=x", "content-length": "999999999"})
    assert r.status_code == 413


def test_uploads_are_read_into_the_service_temp_folder_only(client, tmp_path):
    tmp = client.app.state.tmp
    assert tmp.parent == tmp_path / "tmp" and tmp.name.startswith("fer-serve-")
    seen = []

    def watch():
        while not seen or seen[-1] != "done":
            seen.extend(str(p) for p in tmp.rglob("*") if p.is_file())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        clip = write_video(tmp_path / "clip.mp4", frames=20).read_bytes()
        assert client.post("/v1/analyze", files={"file": ("clip.mp4", clip)}).status_code == 200
    finally:
        seen.append("done")
        watcher.join()
    assert len(seen) > 1  # the upload was on disk while it was read ...
    assert list(tmp.iterdir()) == []  # ... and is gone after the request


@needs_media
def test_real_photos_and_clip_with_the_bundled_model(tmp_path):
    with TestClient(create_app()) as client:
        r = client.post("/v1/predict", files={"file": media("multi_face.jpg").open("rb")})
        assert r.status_code == 200 and len(r.json()["faces"]) >= 3
        for name in ("single_face.jpg", "0-f1-su-ph.jpg"):
            faces = client.post("/v1/predict", files={"file": media(name).open("rb")}).json()["faces"]
            assert len(faces) == 1 and faces[0]["label"] in CLASSES
        body = client.post("/v1/analyze", files={"file": media("single_face.mp4").open("rb")}).json()
        assert sum(bool(f["faces"]) for f in body["frames"]) >= 0.9 * body["frame_count"]
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(media("single_face.jpg").read_bytes())
            assert len(ws.receive_json()["faces"]) == 1
