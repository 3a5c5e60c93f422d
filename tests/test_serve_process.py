"""scripts/serve.py as a process: it serves, SIGTERM or SIGINT shut it down cleanly (exit 0, temp gone), and
hostile request heads and uploads get a quick JSON refusal on real sockets."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import pytest
from live_helpers import synthetic_frame
from service_helpers import free_port
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve.py exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                return json.load(r)
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve.py did not answer /healthz in time")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_shuts_down_cleanly_on_signals(tmp_path, sig):
    port = free_port()
    env = dict(os.environ)  # the installed fer (editable or not), with the conf/ it ships
    proc = subprocess.Popen([sys.executable, "scripts/serve.py", f"port={port}", f"service.temp_dir={tmp_path}",
                             f"hydra.run.dir={tmp_path / 'run'}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert health["status"] == "ok"
        assert any(p.name.startswith("fer-serve-") for p in tmp_path.iterdir())
        with connect(f"ws://127.0.0.1:{port}/v1/stream") as ws:  # a stream open during shutdown
            ws.send(cv2.imencode(".jpg", synthetic_frame())[1].tobytes())
            assert json.loads(ws.recv(timeout=30))["type"] == "result"
            proc.send_signal(sig)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
        assert closed.value.rcvd.code == 1012  # "service restart": the server closed it on the way down
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "Application shutdown complete" in out
    assert not any(p.name.startswith("fer-serve-") for p in tmp_path.iterdir())


@pytest.mark.parametrize("service, words", [({"max_streams": -1}, "max_streams"), ({"max_image_mb": 0}, "max_image_mb"),
                                              ({"max_upload": 1}, "service has no setting max_upload; valid service settings:")])
def test_bad_service_settings_are_config_errors(service, words):
    from fer.service.server import serve

    with pytest.raises(ConfigError, match=words):  # scripts/serve.py prints it on one line and exits 2
        serve({"service": service})


def test_hydra_composition_and_the_settings_defaults_agree():
    """`ferkit serve` (Hydra) and `create_app()` (plain YAML) read the same serve.yaml values."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fer.service.settings import ServerSettings, ServiceSettings

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = OmegaConf.to_container(compose("serve"), resolve=False)
    assert ServiceSettings.from_config(cfg["service"]) == ServiceSettings()
    assert ServerSettings.from_config(cfg) == ServerSettings()


def start_serve(tmp_path, *overrides: str) -> subprocess.Popen:
    env = dict(os.environ)  # the installed fer (editable or not), with the conf/ it ships
    return subprocess.Popen([sys.executable, "scripts/serve.py", f"service.temp_dir={tmp_path}",
                             f"hydra.run.dir={tmp_path / 'run'}", *overrides], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_stalled_connections_are_dropped_and_others_are_served(tmp_path):
    """Seventy clients that send half a request head and stall would hold every one of the 64 slots."""
    port = free_port()
    proc = start_serve(tmp_path, f"port={port}", "header_timeout_s=1")
    stalled = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        for _ in range(70):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
            stalled.append(s)
        time.sleep(2)  # past header_timeout_s
        assert all(s.recv(1024) == b"" for s in stalled)  # each was closed by the server
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        # A whole request head is not cut short, however long its reply takes afterwards.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.5)
            s.sendall(b"\r\n")
            assert s.recv(1024).startswith(b"HTTP/1.1 200")
    finally:
        for s in stalled:
            s.close()
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_mistyped_port_is_one_line_and_exit_2(tmp_path):
    proc = start_serve(tmp_path, "port=abc")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1 and "port='abc'" in out and "1-65535" in out


@pytest.mark.parametrize("cfg, words", [
    ({"port": 70000}, "port=70000 must be a TCP port 1-65535"), ({"port": -1}, "port=-1"),
    ({"port": True}, "port=True"),
    ({"host": ""}, "host='' must be an address"), ({"host": None}, "host=None"),
    ({"log_level": "loud"}, "log_level='loud' must be one of critical"),
    ({"max_connections": 0}, "max_connections=0 must be a whole number > 0"),
    ({"header_timeout_s": "ten"}, "header_timeout_s='ten' must be a number > 0"),
    ({"shutdown_timeout_s": -1}, "shutdown_timeout_s=-1"),
    ({"max_head_kb": 0}, "max_head_kb=0 must be a number > 0"),
    ({"service": {"max_parts": 0}}, "max_parts=0 must be a whole number > 0"),
    ({"service": {"max_video_total_pixels": "lots"}}, "max_video_total_pixels='lots'"),
    ({"service": {"max_video_mb": "big"}}, "max_video_mb='big' must be a number > 0"),
    ({"service": {"max_video_frames": 2.5}}, "max_video_frames=2.5 must be a whole number"),
    ({"service": {"max_image_pixels": -5}}, "max_image_pixels=-5"),
    ({"service": {"max_frame_mb": True}}, "max_frame_mb=True"),
    ({"service": {"temp_dir": "/no/such/folder"}}, "temp_dir='/no/such/folder' must be an existing folder"),
])
def test_mistyped_serve_settings_are_config_errors(cfg, words):
    from fer.service.server import serve

    with pytest.raises(ConfigError) as e:
        serve(cfg)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """scripts/serve.py on a free port, with its default limits: (port, process)."""
    port = free_port()
    proc = start_serve(tmp_path_factory.mktemp("served"), f"port={port}")
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield port, proc
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def exchange(port: int, *pieces: bytes, pause: float = 0.0) -> bytes:
    """Send the pieces (pausing between them), then read until the server closes: all it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for piece in pieces:
            s.sendall(piece)
            time.sleep(pause)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


HEAD_START = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
MANY_HEADERS = b"".join(b"X-%d: v\r\n" % i for i in range(10_000))  # about 100 KB of headers


@pytest.mark.parametrize("how", ["headers whole", "headers in pieces", "long URL", "pipelined"])
def test_request_heads_over_the_limit_get_431_however_they_arrive(served, how):
    port, _ = served
    big_head = HEAD_START + MANY_HEADERS + b"\r\n"
    t0 = time.monotonic()
    if how == "headers whole":
        answer = exchange(port, big_head)
    elif how == "headers in pieces":  # 1 KB at a time: h11 alone refuses these too, in plain text
        answer = exchange(port, *(big_head[i:i + 1024] for i in range(0, 20 * 1024, 1024)), pause=0.005)
    elif how == "long URL":
        answer = exchange(port, b"GET /healthz?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    else:  # a small request, then a big head behind it in the same write
        answer = exchange(port, HEAD_START + b"\r\n" + big_head)
        first, answer = answer.split(b"HTTP/1.1 ", 2)[1:]
        assert first.startswith(b"200 ")
        answer = b"HTTP/1.1 " + answer
    assert time.monotonic() - t0 < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"application/json" in head, answer[:300]
    assert "over the limit of 16 KB" in json.loads(body)["error"]


def test_request_heads_under_the_limit_are_served(served):
    port, _ = served
    twelve_kb = MANY_HEADERS[:MANY_HEADERS.index(b"\r\n", 12_000) + 2]
    t0 = time.monotonic()
    answer = exchange(port, HEAD_START + twelve_kb + b"Connection: close\r\n\r\n")
    assert time.monotonic() - t0 < 2  # closed at once, as asked
    assert answer.startswith(b"HTTP/1.1 200 ")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_many_tiny_parts_get_a_quick_400_and_open_no_files(served):
    """30,000 one-byte file parts (2.6 MB) once held 20,000 open files in the server for 35 s."""
    port, proc = served
    boundary = "b0undary"
    body = b"".join(b'--%s\r\nContent-Disposition: form-data; name="f%d"; filename="x"\r\n\r\nx\r\n'
                    % (boundary.encode(), i) for i in range(30_000)) + f"--{boundary}--\r\n".encode()
    before = open_files(proc.pid)
    most = [before]
    done = threading.Event()

    def watch():
        while not done.is_set():
            most.append(open_files(proc.pid))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/predict", body=body,
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        r = conn.getresponse()
        status, reply = r.status, json.loads(r.read())
        took = time.monotonic() - t0
        conn.close()
    finally:
        done.set()
        watcher.join()
    assert status == 400 and "more than 4 parts" in reply["error"]
    assert took < 1, f"{took:.2f} s"
    assert max(most) <= before + 8  # a socket or two, never a file per part
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as health:
        assert health.status == 200
