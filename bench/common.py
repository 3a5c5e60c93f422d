"""Shared by the bench/ scripts: machine description and section-wise updates of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"


def cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        return re.search(r"model name\s*:\s*(.+)", text).group(1).strip()
    except (OSError, AttributeError):
        return platform.processor() or "unknown CPU"


def cpu_flags() -> set[str]:
    """The kernel's CPU feature flags (empty where there is no /proc/cpuinfo, e.g. on macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))


def machine_line(threads: int) -> str:
    import torch  # here, not at the top: the benches of the light install (and their spawned workers) skip it

    return (f"{cpu_name()}, {threads} torch threads on {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def gemm_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 5) -> dict[str, float]:
    """Best-of-`reps` GFLOPS of one n x n x n product, through the BLAS (`a @ b`) and through oneDNN (the same
    product as a 1x1 convolution, the library the model's convolutions run in). The better of the two is
    the machine's practical peak on these threads: MKL's fp32 matmul reaches only half of oneDNN's on AMD."""
    import torch
    import torch.nn.functional as F

    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    x = torch.randn(1, n, 32, n // 32).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(n, n, 1, 1).to(dtype).contiguous(memory_format=torch.channels_last)
    result = {}
    for name, product in (("matmul", lambda: a @ b), ("conv1x1", lambda: F.conv2d(x, w))):
        product()
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            product()
            best = min(best, time.perf_counter() - t)
        result[name] = 2 * n**3 / best / 1e9
    return result


def write_section(heading: str, text: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the `heading` section (up to the next `## ` heading) or append it; other sections stay."""
    old = path.read_text() if path.is_file() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text + "\n", old, count=1) if pattern.search(old) else old.rstrip() + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new.rstrip() + "\n")


def publish(heading: str, text: str, out: str) -> None:
    """Print the section (out='-') or write it into the markdown file `out` and say so."""
    if out == "-":
        print(text)
    else:
        write_section(heading, text, Path(out))
        print(f"wrote the '{heading}' section of {out}")
