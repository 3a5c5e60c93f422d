"""scripts/serve.py as a process: it serves, and SIGTERM or SIGINT shut it down cleanly (exit 0, temp gone)."""

from __future__ import annotations

import json
import os
import signal
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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
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
