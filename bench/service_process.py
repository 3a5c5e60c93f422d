"""A service process for the benches that measure one: the wait until the started process answers /healthz
(its port from fer.service.ports.free_port)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request


def wait_until_healthy(proc: subprocess.Popen, port: int, timeout: float = 120) -> dict:
    """/healthz's answer once the server `proc` started gives one; RuntimeError if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before it answered /healthz")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer /healthz within {timeout:g} s")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                return json.loads(reply.read())
        except OSError:
            time.sleep(0.2)
