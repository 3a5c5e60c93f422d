"""The light install (`pip install .`, no PyTorch): its size on disk, how fast `fer.Recognizer` answers
from a cold start, and the service's resident memory after start-up.

    python -m bench.install_size                      # fresh virtualenv under /tmp, writes docs/benchmarks.md
    python -m bench.install_size --venv /tmp/light --reuse --out -    # an existing one; print only

Writes the "Install size and start-up" section of docs/benchmarks.md and leaves the others alone.
Run it on an idle machine: start-up time is mostly imports, and any other busy process stretches it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, cpu_flags, cpu_name, publish
from bench.service_process import wait_until_healthy
from fer.service.ports import free_port

SECTION = "## Install size and start-up"
HEAVY = ("torch", "torchvision", "lightning", "torchmetrics", "tensorboard")
PREDICT = "import fer; print(fer.Recognizer().predict({photo!r}))"


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def install(venv: Path) -> float:
    """A fresh virtualenv with `pip install <checkout>`; returns the seconds it took."""
    shutil.rmtree(venv, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    had_build = (ROOT / "build").exists()
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True)
    if not had_build:
        shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' in-tree build folder
    return time.perf_counter() - start


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def biggest(site: Path, n: int = 8) -> list[tuple[str, int]]:
    """The largest distributions, their .libs folders counted with them (opencv_python.libs -> cv2's wheel)."""
    sizes: dict[str, int] = {}
    for entry in site.iterdir():
        if entry.name.endswith((".dist-info", "__pycache__")) or entry.suffix == ".pth":
            continue
        key = re.sub(r"\.libs$", "", entry.name).lower().replace("opencv_python", "cv2").replace("pillow", "pil")
        sizes[key] = sizes.get(key, 0) + (folder_bytes(entry) if entry.is_dir() else entry.stat().st_size)
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


def run_python(venv: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    # From a scratch folder, so the checkout's fer/ cannot shadow the installed package.
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run([str(venv / "bin" / "python"), *args], capture_output=True, text=True, cwd=tmp,
                              check=True, **kwargs)


def startup_seconds(venv: Path, photo: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run_python(venv, "-c", PREDICT.format(photo=photo))
        times.append(time.perf_counter() - start)
    return times


def import_offenders(venv: Path, photo: str, n: int = 8) -> list[tuple[str, float]]:
    """`python -X importtime`: the packages with the largest cumulative import time (ms), each counted
    once at its outermost import (so numpy's time is numpy's wherever fer first imported it)."""
    err = run_python(venv, "-X", "importtime", "-c", PREDICT.format(photo=photo)).stderr
    top: dict[str, float] = {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)", line)
        if m:
            name = m.group(2).split(".")[0]
            top[name] = max(top.get(name, 0.0), int(m.group(1)) / 1000)
    return sorted(top.items(), key=lambda kv: -kv[1])[:n]


def serve_rss_mb(venv: Path, timeout: float = 120) -> tuple[float, dict]:
    """Start scripts/serve.py in the venv, wait for /healthz, read the server's VmRSS; then stop it."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([str(venv / "bin" / "python"), str(ROOT / "scripts" / "serve.py"), f"port={port}",
                                 f"hydra.run.dir={tmp}/run"], cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            health = wait_until_healthy(proc, port, timeout)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss_kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        finally:
            proc.terminate()
            proc.wait(30)
    return rss_kb / 1024, health


def cpu_capability() -> str:
    """PyTorch's CPU capability where it is installed here (the light venv has none), and the AMX flag."""
    try:
        import torch

        cap = f"torch.backends.cpu.get_cpu_capability() = {torch.backends.cpu.get_cpu_capability()}"
    except ImportError:
        cap = "AVX512" if "avx512f" in cpu_flags() else "no AVX512"
    return cap + (", AMX" if "amx_tile" in cpu_flags() else "")


def du(path: Path) -> str:
    return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True).stdout.split("\t")[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default="/tmp/light", help="the virtualenv to (re)create and measure")
    ap.add_argument("--reuse", action="store_true", help="measure --venv as it is, without reinstalling")
    ap.add_argument("--photo", default=str(Path(os.environ.get("FER_MEDIA", "/work/shared/media")) / "single_face.jpg"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the section only")
    args = ap.parse_args(argv)
    venv = Path(args.venv)
    install_s = None if args.reuse else install(venv)
    heavy = run_python(venv, "-c", f"import importlib.util as u; print([m for m in {HEAVY!r} if u.find_spec(m)])")
    site = site_packages(venv)
    venv_bytes, site_bytes = folder_bytes(venv), folder_bytes(site)
    times = startup_seconds(venv, args.photo, args.runs)
    offenders = import_offenders(venv, args.photo)
    rss, health = serve_rss_mb(venv)
    load = os.getloadavg()
    py = run_python(venv, "-c", "import platform; print(platform.python_version())").stdout.strip()

    lines = [
        SECTION, "",
        f"`pip install .` into a fresh virtualenv (Python {py}), no PyTorch: what runs a shipped or exported "
        "model (live window and headless runs, `fer.Recognizer`, the service, `scripts/analyze.py`). "
        f"{cpu_name()} ({cpu_capability()}), {os.cpu_count()} cores; load average {load[0]:.1f} "
        f"when measured{' (busy: other processes shared the cores)' if load[0] > 1.5 else ''}.",
        "",
        "| | |", "|---|---|",
        f"| PyTorch, torchvision, Lightning, torchmetrics, tensorboard installed | {heavy.stdout.strip() or '[]'} |",
        f"| virtualenv on disk (`du -sh`; file bytes) | {du(venv)}; {mb(venv_bytes)} |",
        f"| its site-packages | {du(site)}; {mb(site_bytes)} (pip and setuptools: "
        f"{mb(sum(b for k, b in biggest(site, 999) if k in ('pip', 'setuptools')))}) |",
        f"| largest parts | {', '.join(f'{k} {mb(b)}' for k, b in biggest(site))} |",
        *([f"| install time | {install_s:.0f} s (wheels from the local cache) |"] if install_s else []),
        f"| `import fer; fer.Recognizer().predict(photo)`, cold process | median {statistics.median(times):.2f} s "
        f"over {len(times)} runs ({', '.join(f'{t:.2f}' for t in times)}) |",
        f"| slowest imports (`-X importtime`, cumulative) | {', '.join(f'{k} {v:.0f} ms' for k, v in offenders)} |",
        f"| `scripts/serve.py` resident memory after start (`VmRSS`) | {rss:.0f} MB (detector {health.get('detector', '?')}) |",
        "",
        "```",
        f"python -m bench.install_size --venv {venv}{' --reuse' if args.reuse else ''}",
        f"# = python3 -m venv {venv} && {venv}/bin/pip install .; du -sh {venv};",
        f"#   {venv}/bin/python -c \"{PREDICT.format(photo=Path(args.photo).name)}\" ({args.runs} runs);",
        f"#   {venv}/bin/python scripts/serve.py, wait for /healthz, VmRSS from /proc/<pid>/status",
        "```",
    ]
    publish(SECTION, "\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
