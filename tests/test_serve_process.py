"""scripts/serve.py as a process: it serves, and SIGTERM or SIGINT shut it down cleanly (exit 0, temp gone)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
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
                                              ({"max_upload": 1}, "unknown service setting")])
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
