"""Generated multipart bodies (how many parts and fields, their names, header counts and sizes, a missing end)
never get a 500, never leave a file behind, and are refused whenever they pass a limit.

The companion of tests/test_image_fuzz.py, which damages the image inside a well-formed upload: here the
image is whole and the structure around it is what varies.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import cv2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from live_helpers import FixedDetector, synthetic_frame, tiny_model
from python_multipart.multipart import DEFAULT_MAX_HEADER_COUNT, DEFAULT_MAX_HEADER_SIZE

from fer.api.recognizer import Recognizer
from fer.service import ServiceSettings, create_app

MAX_PARTS = 4
IMAGE = cv2.imencode(".png", synthetic_frame(60, 80))[1].tobytes()


@dataclass(frozen=True)
class Part:
    name: str | None  # None: no name in the Content-Disposition
    filename: str | None
    data: bytes
    headers: tuple[str, ...]  # extra header lines, "Name: value"

    def encode(self) -> bytes:
        disposition = "form-data" + (f'; name="{self.name}"' if self.name is not None else "") + \
            (f'; filename="{self.filename}"' if self.filename is not None else "")
        lines = [f"Content-Disposition: {disposition}", *self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.data

    @property
    def header_lines(self) -> list[str]:
        return self.encode().split(b"\r\n\r\n", 1)[0].decode().split("\r\n")


def header_lines(sizes):
    return st.builds(lambda n, size: f"X-H{n}: " + "v" * size, st.integers(0, 99), sizes)


few = st.lists(header_lines(st.integers(0, 40)), max_size=2)
many = st.lists(header_lines(st.integers(0, 40)), min_size=DEFAULT_MAX_HEADER_COUNT - 2,
                max_size=DEFAULT_MAX_HEADER_COUNT)  # about as many as allowed, or one more
too_long = st.lists(header_lines(st.integers(DEFAULT_MAX_HEADER_SIZE, 4400)), min_size=1, max_size=1)
# Mostly a few short header lines; sometimes many, or one far too long.
extra_headers = st.sampled_from([few] * 6 + [many, too_long]).flatmap(lambda kind: kind)


@st.composite
def parts(draw, names) -> Part:
    name = draw(names)
    data = IMAGE if name == "file" and draw(st.integers(0, 3)) else draw(st.binary(max_size=64))
    filename = draw(st.one_of(st.none(), st.sampled_from(["a.png", "", "../../etc/passwd", "клип.png"])))
    return Part(name, filename, data, tuple(draw(extra_headers)))


@st.composite
def bodies(draw) -> tuple[list[Part], bytes, bool, str]:
    """(the parts, the body, whether it ends with its closing boundary, the boundary)."""
    if draw(st.booleans()):  # a whole upload among plain fields, up to one part too many
        fields = draw(st.lists(st.builds(Part, st.sampled_from(["note", "photo"]), st.none(), st.binary(max_size=16),
                                         few.map(tuple)), max_size=MAX_PARTS))
        files = [Part("file", "a.png", IMAGE, ())]
    else:
        fields = draw(st.lists(parts(st.sampled_from(["note", "photo", "x" * 300, None])), max_size=MAX_PARTS + 3))
        files = draw(st.lists(parts(st.just("file")), max_size=2))  # no upload, one, or one too many
    items = draw(st.permutations(fields + files))
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\n".encode() + p.encode() + b"\r\n" for p in items)
    closed = draw(st.integers(0, 4)) > 0 or not items
    return items, body + (f"--{boundary}--\r\n".encode() if closed else b""), closed, boundary


def within_limits(part: Part) -> bool:
    lines = part.header_lines
    return len(lines) <= DEFAULT_MAX_HEADER_COUNT and all(len(line) <= DEFAULT_MAX_HEADER_SIZE for line in lines)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tmp")
    recognizer = Recognizer(ckpt=tiny_model(tmp_path_factory.mktemp("ckpt")), detector=FixedDetector([[0, 0, 8, 8]]))
    app = create_app(ServiceSettings(temp_dir=str(tmp), max_parts=MAX_PARTS, max_image_pixels=1_000_000), recognizer)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def open_files() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies())
def test_multipart_structure_is_answered_and_limited(client, body):
    items, data, closed, boundary = body
    before = open_files()
    r = client.post("/v1/predict", content=data, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    event(f"status {r.status_code}")
    assert r.status_code in (200, 400, 413, 415), r.text
    assert ("faces" in r.json()) if r.status_code == 200 else r.json()["error"]
    if len(items) > MAX_PARTS or not all(within_limits(p) for p in items):
        assert r.status_code == 400, "a body over the part or header limits was accepted"
    if r.status_code == 200:
        assert closed and [p.name for p in items].count("file") == 1
    assert list(client.app.state.tmp.iterdir()) == []  # nothing stays on disk
    assert open_files() <= before  # and no file stays open
