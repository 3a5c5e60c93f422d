"""Only the service's own page may use it: foreign Origins and Hosts get 403, over real sockets.

A real uvicorn server on 127.0.0.1 (a thread), a browser's view of it: WebSocket handshakes and
multipart POSTs carrying an Origin header, and a DNS-rebinding Host.
"""

from __future__ import annotations

import http.client
import json
import socket
import uuid

import cv2
import pytest
from fastapi.testclient import TestClient
from live_helpers import FixedDetector, synthetic_frame, tiny_model
from service_helpers import live_server
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from fer.api.recognizer import Recognizer
from fer.errors import ConfigError
from fer.service import ServiceSettings, create_app

FOREIGN = ["http://evil.example", "https://attacker.site", "null", "http://127.0.0.1.evil.example:8000"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    ckpt = tiny_model(tmp_path_factory.mktemp("ckpt"))
    recognizer = Recognizer(ckpt=ckpt, detector=FixedDetector([[40, 60, 80, 80]]))
    return create_app(ServiceSettings(max_streams=2), recognizer)


@pytest.fixture(scope="module")
def url(app):
    with live_server(app) as url:
        yield url


def jpeg() -> bytes:
    return cv2.imencode(".jpg", synthetic_frame())[1].tobytes()


def request(url: str, method: str, path: str, headers: dict, body: bytes | None = None) -> tuple[int, dict]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        conn.close()


def multipart(data: bytes, name: str = "frame.jpg") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("origin", FOREIGN)
def test_foreign_websocket_handshakes_are_refused(url, origin):
    ws_url = url.replace("http", "ws") + "/v1/stream"
    for _ in range(3):  # more than max_streams: refused ones never hold a stream slot
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url, origin=origin, open_timeout=30).close()
        assert refused.value.response.status_code == 403
        assert "cross-origin" in json.loads(refused.value.response.body)["error"]
    assert request(url, "GET", "/healthz", {})[1]["streams"]["open"] == 0


def test_the_pages_own_origins_stream(url):
    port = url.rsplit(":", 1)[1]
    for origin in (url, f"http://localhost:{port}", None):  # the page's, another local name, no browser
        with connect(url.replace("http", "ws") + "/v1/stream", origin=origin, open_timeout=30) as ws:
            ws.send(jpeg())
            assert json.loads(ws.recv(timeout=30))["type"] == "result"


@pytest.mark.parametrize("origin, status", [("http://evil.example", 403), ("null", 403), (None, 200), ("own", 200)])
def test_cross_site_uploads_are_refused(url, origin, status):
    body, content_type = multipart(jpeg())
    headers = {"Content-Type": content_type}
    if origin:
        headers["Origin"] = url if origin == "own" else origin
    code, reply = request(url, "POST", "/v1/predict", headers, body)
    assert code == status, reply
    assert ("faces" in reply) if status == 200 else "cross-origin" in reply["error"]


@pytest.mark.parametrize("host, status", [("evil.example", 403), ("evil.example:{port}", 403),
                                          ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("[::1]:{port}", 200)])
def test_only_its_own_host_names_are_served(url, host, status):
    """A foreign name resolving to 127.0.0.1 (DNS rebinding) arrives with its own Host header."""
    port = url.rsplit(":", 1)[1]
    code, reply = request(url, "GET", "/healthz", {"Host": host.format(port=port)})
    assert code == status, reply
    if status == 403:
        assert "allowed_hosts" in reply["error"]


def test_a_foreign_host_cannot_open_a_stream(url):
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)  # evil.example resolving to 127.0.0.1
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://evil.example:{port}/v1/stream", sock=sock, open_timeout=30).close()
    assert refused.value.response.status_code == 403


def test_origins_and_hosts_named_in_the_config_are_served(app):
    settings = ServiceSettings(allowed_origins=["https://FER.example.org/"], allowed_hosts=["fer.example.org"])
    with TestClient(create_app(settings, app.state.recognizer)) as client:
        assert client.get("/healthz", headers={"Origin": "https://fer.example.org"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "fer.example.org"}).status_code == 200
        # Behind a proxy that keeps the Host, the page it serves is that host's own origin.
        assert client.get("/healthz", headers={"Host": "fer.example.org",
                                                "Origin": "https://fer.example.org"}).status_code == 200
        assert client.get("/healthz", headers={"Origin": "https://other.example.org"}).status_code == 403
        assert client.get("/healthz", headers={"Host": "other.example.org"}).status_code == 403
    with TestClient(create_app(ServiceSettings(allowed_hosts=["*"]), app.state.recognizer)) as client:
        assert client.get("/healthz", headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize("service, words", [
    ({"allowed_origins": ["fer.example.org"]}, "not an origin"),
    ({"allowed_origins": ["https://fer.example.org/path"]}, "not an origin"),
    ({"allowed_origins": "https://fer.example.org"}, "must be a list"),
    ({"allowed_hosts": [""]}, "list of host names"),
])
def test_mistyped_origins_and_hosts_are_config_errors(service, words):
    with pytest.raises(ConfigError, match=words):
        ServiceSettings.from_config(service)
