"""Shared by the bench/ scripts: machine description and section-wise updates of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

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
    return (f"{cpu_name()}, {threads} torch threads on {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}")


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
