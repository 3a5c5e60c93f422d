"""Generated damaged inputs (truncated, bit-flipped, lying headers, odd PIL modes) never crash the readers.

The image reader, POST /v1/predict and the /v1/stream WebSocket: each answers with a SourceError, a 4xx
or an error reply, never a 500 or another exception.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_helpers import FixedDetector, lightning_style_checkpoint
from PIL import Image

from fer.api.recognizer import Recognizer
from fer.errors import SourceError
from fer.inference.images import to_bgr
from fer.service import ServiceSettings, create_app

FORMATS = [".jpg", ".png", ".bmp", ".webp", ".tiff"]
MODES = ["1", "L", "P", "LA", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "I;16", "I;16B",
         "F"]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def encoded(draw) -> bytes:
    """A small real image file, then cut short, bit-flipped and/or with a header that lies about its size."""
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**16))
    image = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    data = bytearray(cv2.imencode(draw(st.sampled_from(FORMATS)), image)[1].tobytes())
    if draw(st.booleans()) and data.startswith(b"\x89PNG"):  # IHDR: a huge declared size
        data[16:24] = struct.pack(">II", draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] ^= 1 << draw(st.integers(0, 7))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@st.composite
def pil_images(draw) -> Image.Image:
    size = (draw(st.integers(0, 24)), draw(st.integers(0, 24)))
    return Image.new(draw(st.sampled_from(MODES)), size, color=None)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    ckpt = lightning_style_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")
    recognizer = Recognizer(ckpt=ckpt, detector=FixedDetector([[0, 0, 8, 8]]))
    with TestClient(create_app(ServiceSettings(max_image_pixels=1_000_000), recognizer),
                    raise_server_exceptions=False) as c:
        yield c


@FUZZ
@given(image=st.one_of(encoded(), pil_images()))
def test_the_reader_returns_bgr_or_a_source_error(image):
    try:
        out = to_bgr(image)
    except SourceError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3 and min(out.shape[:2]) >= 8


@FUZZ
@given(data=encoded())
def test_uploads_never_get_a_500(client, data):
    r = client.post("/v1/predict", files={"file": ("fuzz.bin", data)})
    assert r.status_code in (200, 400, 413, 415), r.text
    assert ("faces" in r.json()) if r.status_code == 200 else r.json()["error"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(encoded(), min_size=1, max_size=4))
def test_stream_frames_never_break_the_stream(client, frames):
    with client.websocket_connect("/v1/stream") as ws:
        for data in frames:
            ws.send_bytes(data)
            reply = ws.receive_json()
            assert reply["type"] in ("result", "error")
            assert reply["type"] == "result" or reply["error"]
