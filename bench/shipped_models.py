"""PublicTest accuracy and scoring time of every shipped classifier file, and ten-crop with the default.

    FER2013_ROOT=/path/to/fer2013 python bench/shipped_models.py
    FER2013_ROOT=/path/to/fer2013 python bench/shipped_models.py --out -     # print the table only

Each row is one run of `python scripts/eval.py` exactly as a user types it (single pass over the 3,589
PublicTest faces for every file the weights' .json sidecars list, then `tta=tencrop` with no ckpt, i.e.
the default model), one after another; its accuracy and scoring seconds are read from what eval.py
prints, and the wall time of the whole command (start-up, loading, scoring, report) is measured around
it. The table replaces the `## Shipped models` section of docs/benchmarks.md and leaves the rest alone.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import cpu_name, publish  # noqa: E402

from fer.checkpoints.bundled import BUNDLED_ONNX, shipped_files  # noqa: E402

SECTION = "## Shipped models"
PRINTED = re.compile(r"accuracy (?P<acc>[0-9.]+) .*? (?P<faces>\d+) faces scored in (?P<s>[0-9.]+) s, CPU (?P<cpu>[0-9.]+) s")


def run_eval(args: list[str], run_dir: Path) -> dict:
    cmd = [sys.executable, "scripts/eval.py", *args, f"hydra.run.dir={run_dir}"]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    found = PRINTED.search(out.stdout + out.stderr)
    if found is None:
        sys.exit(f"could not read the result of {' '.join(cmd)}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return {"command": " ".join(["python scripts/eval.py", *args]), "accuracy": float(found["acc"]),
            "faces": int(found["faces"]), "scoring_s": float(found["s"]), "cpu_s": float(found["cpu"]),
            "wall_s": wall, "load": os.getloadavg()[0]}


def table(rows: list[dict]) -> str:
    lines = [SECTION, "", "`FER2013_ROOT=/path/to/fer2013 python bench/shipped_models.py`", "",
             f"- Machine: {cpu_name()}, {os.cpu_count()} cores, torch CPU capability "
             f"`{torch.backends.cpu.get_cpu_capability()}`; eval.py's default `classifier.threads` (every core).",
             f"- The default model is `{BUNDLED_ONNX.relative_to(ROOT)}`. Scoring: seconds eval.py reports for "
             "the faces alone; wall: the whole command, Python start-up and report included. Load: the 1-minute "
             "load average after the row (one eval alone keeps it near 2 on these 2 cores).",
             "- Targets: ten-crop with the default <= 120 s.", "",
             "| command | file | recorded | PublicTest | faces | scoring s | CPU s | wall s | load |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        recorded = f"{r['recorded'] * 100:.2f}%" if r.get("recorded") is not None else ""
        lines.append(f"| `{r['command']}` | {r['file']} | {recorded} | {r['accuracy'] * 100:.2f}% | {r['faces']} | "
                     f"{r['scoring_s']:.1f} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {r['load']:.1f} |")
    lines += ["", "Recorded: the PublicTest accuracy the file's .json sidecar records (tests/test_real_data.py "
              "checks every file scores it)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the table only")
    args = ap.parse_args()
    if not Path(os.environ.get("FER2013_ROOT", "")).is_dir():
        sys.exit("set FER2013_ROOT to the FER-2013 folder (train/ and test/)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, entry in shipped_files().items():
            rel = path.relative_to(ROOT)
            r = run_eval([f"ckpt={rel}"], Path(tmp, path.stem))
            rows.append({**r, "file": path.name, "recorded": entry["test_accuracy"]})
            print(f"{path.name:32s} {r['accuracy']:.4f}  {r['scoring_s']:.1f} s", file=sys.stderr, flush=True)
        r = run_eval(["tta=tencrop"], Path(tmp, "tencrop"))
        rows.append({**r, "file": f"{BUNDLED_ONNX.name}, ten-crop", "recorded": None})
        print(f"ten-crop default {r['accuracy']:.4f}  {r['scoring_s']:.1f} s", file=sys.stderr, flush=True)
    publish(SECTION, table(rows), args.out)


if __name__ == "__main__":
    main()
