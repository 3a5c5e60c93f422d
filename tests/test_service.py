"""The service through FastAPI's TestClient: predict, analyze, the WebSocket stream and every bad input."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from live_helpers import (
    CLASSES,
    FixedDetector,
    declared_png,
    media,
    needs_media,
    synthetic_frame,
    tiny_model,
    write_video,
)
from service_helpers import SlowDetector
from starlette.testclient import WebSocketDenialResponse

from fer.api.recognizer import Recognizer
from fer.service import ServiceSettings, create_app

BOX = [40, 60, 80, 80]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("ckpt"))


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
    assert body["frames_announced"] == 8 and body["incomplete"] is False


def test_a_cut_short_video_is_flagged_in_json_and_csv(client, tmp_path):
    path = tmp_path / "damaged.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24, (160, 120))
    for i in range(18):
        writer.write(synthetic_frame(120, 160, seed=i))
    writer.release()
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third:2 * third] = bytes(third)  # the container still announces all 18 frames
    r = client.post("/v1/analyze", files={"file": ("damaged.avi", bytes(data))})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["incomplete"] is True and body["frames_announced"] == 18 and 0 < body["frame_count"] < 18
    text = client.post("/v1/analyze?format=csv", files={"file": ("damaged.avi", bytes(data))}).text
    first, header = text.splitlines()[:2]
    assert first.startswith("# incomplete: damaged.avi announces 18 frames but only") and header.startswith("frame,")


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
    with TestClient(create_app(ServiceSettings(), recognizer(tiny_ckpt, SlowDetector(0.3, BOX)))) as client, \
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


def test_create_app_without_settings_takes_serve_yaml_values():
    """The service's defaults are written once, in conf/serve.yaml (the pixel limit in the webcam.yaml it
    includes); `create_app()` serves with exactly those."""
    conf = Path(__file__).resolve().parents[1] / "conf"
    service = yaml.safe_load((conf / "serve.yaml").read_text(encoding="utf-8"))["service"]
    pixels = yaml.safe_load((conf / "webcam.yaml").read_text(encoding="utf-8"))["max_image_pixels"]
    settings = create_app().state.settings
    as_yaml = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(settings).items()}
    assert as_yaml == {**service, "max_image_pixels": pixels, "pipeline": {}}


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


def test_stream_frames_get_the_pixel_limit_before_decoding(client):
    huge = declared_png(15000, 15000)  # 225 megapixels in about 220 KB, under the 0.25 MB frame limit
    assert len(huge) < 0.25 * (1 << 20)
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(huge)
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["seq"] == 1 and "megapixels" in refused["error"]
        ws.send_bytes(jpeg(synthetic_frame()))  # the stream stays usable
        assert ws.receive_json()["type"] == "result"
    r = client.post("/v1/predict", files={"file": ("huge.png", huge)})
    assert r.status_code == 413 and "declares 225 megapixels" in r.json()["error"]


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp"])
@pytest.mark.parametrize("keep", [20, 26, 30])
def test_a_damaged_image_header_is_a_400(client, ext, keep):
    data = cv2.imencode(ext, synthetic_frame())[1].tobytes()[:keep]
    r = client.post("/v1/predict", files={"file": (f"cut{ext}", data)})
    assert r.status_code == 400, r.text
    assert "cut" in r.json()["error"]


def test_a_truncated_jpeg_is_a_400_not_half_a_photo(client):
    whole = jpeg(synthetic_frame())
    r = client.post("/v1/predict", files={"file": ("half.jpg", whole[: len(whole) // 2])})
    assert r.status_code == 400 and "truncated" in r.json()["error"]
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(whole[: len(whole) // 2])
        assert "truncated" in ws.receive_json()["error"]
    # Bytes after the end of the image (a camera's trailer) are no truncation.
    assert client.post("/v1/predict", files={"file": ("trailer.jpg", whole + b"TRAILER" * 20)}).status_code == 200


@pytest.mark.parametrize("name, ascii_name", [
    ("клип.mp4", "analysis.csv"),
    ('a"; filename=evil.sh; x=".mp4', None),  # the client sends the quotes as %22
    ("semi;colon.mp4", "semi_colon_analysis.csv"),
])
def test_csv_download_names_are_safe_headers(client, tmp_path, name, ascii_name):
    clip = write_video(tmp_path / "clip.mp4", frames=3).read_bytes()
    r = client.post("/v1/analyze?format=csv", files={"file": (name, clip)})
    assert r.status_code == 200, r.text
    params = [p.strip() for p in r.headers["content-disposition"].split(";")]
    assert params[0] == "attachment" and len(params) == 3  # nothing injected
    assert re.fullmatch(r'filename="[A-Za-z0-9._-]+_analysis\.csv"|filename="analysis\.csv"', params[1])
    assert ascii_name is None or params[1] == f'filename="{ascii_name}"'
    exact = unquote(params[2].removeprefix("filename*=UTF-8''"))
    assert exact.endswith("_analysis.csv") and (ascii_name is None or exact == Path(name).stem + "_analysis.csv")


def test_framework_refusals_are_json_errors_too(client):
    r = client.post("/v1/predict?crops=maybe", files={"file": ("frame.png", png(synthetic_frame()))})
    assert r.status_code == 422
    assert r.json() == {"error": "crops (query): Input should be a valid boolean, unable to interpret input, "
                                 "got 'maybe'"}
    assert "'json' or 'csv'" in client.post("/v1/analyze?format=xml").json()["error"]
    assert client.get("/nowhere").json() == {"error": "Not Found"}
    assert client.get("/v1/predict").status_code == 405 and "error" in client.get("/v1/predict").json()


def test_api_docs_work_offline(client):
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/docs-static/") for s in sources), sources
        for s in sources:
            assert client.get(s).status_code == 200
    assert "SwaggerUIBundle" in client.get("/docs-static/swagger-ui-bundle.js").text
