"""PublicTest accuracy and scoring time of every shipped classifier file, and twelve-crop with the default.

    FER2013_ROOT=/path/to/fer2013 python -m bench.shipped_models
    FER2013_ROOT=/path/to/fer2013 python -m bench.shipped_models --out -     # print the table only

Each row is one run of `python scripts/eval.py` exactly as a user types it (single pass over the 3,589
PublicTest faces for every file the weights' .json sidecars list, then `tta=twelvecrop` with no ckpt, i.e.
the default model, `--twelvecrop-runs` times), one after another; its accuracy and scoring seconds are read
from what eval.py prints, and the wall time of the whole command (start-up, loading, scoring, report) is
measured around it. Twelve-crop time is set against this CPU's fp32 peak (the faster of a matmul and a 1x1
convolution, measured first): the same fraction of another CPU's peak predicts its time. The table
replaces the `## Shipped models` section of docs/benchmarks.md and leaves the rest alone.
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

from bench.common import ROOT, cpu_name, gemm_gflops, publish
from fer.checkpoints.bundled import BUNDLED_ONNX, shipped_files

SECTION = "## Shipped models"
TARGET_S = 120
VIEWS = 12  # twelve-crop: the face, its mirror, five 44-px crops and their mirrors
PRINTED = re.compile(r"accuracy (?P<acc>[0-9.]+) .*? (?P<faces>\d+) faces scored in (?P<s>[0-9.]+) s, CPU (?P<cpu>[0-9.]+) s")


def run_eval(args: list[str], run_dir: Path) -> dict:
    cmd = [sys.executable, "scripts/eval.py", *args, f"hydra.run.dir={run_dir}"]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    found = PRINTED.search(out.stdout + out.stderr)
    if out.returncode or found is None:
        sys.exit(f"could not read the result of {' '.join(cmd)}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return {"command": " ".join(["python scripts/eval.py", *args]), "accuracy": float(found["acc"]),
            "faces": int(found["faces"]), "scoring_s": float(found["s"]), "cpu_s": float(found["cpu"]),
            "wall_s": wall, "load": os.getloadavg()[0]}


def forward_flops() -> float:
    """FLOPs of one 48x48 face through the default model (its .pt twin), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    from fer.checkpoints.loading import load_model

    net = load_model(BUNDLED_ONNX.with_suffix(".pt")).net.float().eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        net(torch.zeros(8, 1, 48, 48))
    return counter.get_total_flops() / 8


def twelvecrop_lines(runs: list[dict], peak: float, flops: float) -> list[str]:
    """How far each twelve-crop run is from the target, in seconds and as a fraction of the fp32 peak."""
    if not runs:
        return []
    total = VIEWS * runs[0]["faces"] * flops
    achieved = [total / r["scoring_s"] / 1e9 for r in runs]
    met = sum(r["scoring_s"] <= TARGET_S for r in runs)
    times = ", ".join(f"{r['scoring_s']:.1f}" for r in runs)
    return ["", f"Twelve-crop with the default, {len(runs)} runs: scoring "
            f"{times} s, target <= {TARGET_S} s met in {met} of {len(runs)}. "
            f"It is {VIEWS} x {runs[0]['faces']:,} forwards of {flops / 2e6:.0f} M multiply-adds, "
            f"{total / 1e12:.1f} TFLOP, all of it in fp32 convolutions: "
            f"{min(achieved):.0f}-{max(achieved):.0f} GFLOPS, {min(achieved) / peak:.0%}-{max(achieved) / peak:.0%} "
            f"of this CPU's fp32 peak ({peak:.0f} GFLOPS on {os.cpu_count()} cores). {TARGET_S} s needs "
            f"{total / TARGET_S / 1e9:.0f} GFLOPS, {total / TARGET_S / 1e9 / peak:.0%} of this peak; a CPU whose fp32 "
            f"peak is P GFLOPS takes about {total / 1e9 / (sum(achieved) / len(achieved) / peak):,.0f} / P s "
            "at the same fraction."]


def table(rows: list[dict], peak: float, flops: float) -> str:
    lines = [SECTION, "", "`FER2013_ROOT=/path/to/fer2013 python -m bench.shipped_models`", "",
             f"- Machine: {cpu_name()}, {os.cpu_count()} cores, torch CPU capability "
             f"`{torch.backends.cpu.get_cpu_capability()}`; eval.py's default `classifier.threads` (every core).",
             f"- The default model is `{BUNDLED_ONNX.relative_to(ROOT)}`. Scoring: seconds eval.py reports for "
             "the faces alone; wall: the whole command, Python start-up and report included. Load: the 1-minute "
             "load average after the row (one eval alone keeps it near 2 on these 2 cores).",
             "- Targets: twelve-crop with the default <= 120 s.", "",
             "| command | file | recorded | PublicTest | faces | scoring s | CPU s | wall s | load |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        recorded = f"{r['recorded'] * 100:.2f}%" if r.get("recorded") is not None else ""
        lines.append(f"| `{r['command']}` | {r['file']} | {recorded} | {r['accuracy'] * 100:.2f}% | {r['faces']} | "
                     f"{r['scoring_s']:.1f} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {r['load']:.1f} |")
    lines += twelvecrop_lines([r for r in rows if r["recorded"] is None], peak, flops)
    lines += ["", "Recorded: the PublicTest accuracy the file's .json sidecar records (tests/test_real_data.py "
              "checks every file scores it)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twelvecrop-runs", "--tencrop-runs", type=int, default=3,
                    help="twelve-crop runs of the default (the time varies)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the table only")
    args = ap.parse_args()
    if not Path(os.environ.get("FER2013_ROOT", "")).is_dir():
        sys.exit("set FER2013_ROOT to the FER-2013 folder (train/ and test/)")
    peak = max(gemm_gflops(torch.float32, reps=20).values())
    flops = forward_flops()
    print(f"fp32 peak {peak:.0f} GFLOPS; default model {flops / 1e9:.3f} GFLOP a face", file=sys.stderr, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, entry in shipped_files().items():
            rel = path.relative_to(ROOT)
            r = run_eval([f"ckpt={rel}"], Path(tmp, path.stem))
            rows.append({**r, "file": path.name, "recorded": entry["accuracy"]})
            print(f"{path.name:32s} {r['accuracy']:.4f}  {r['scoring_s']:.1f} s", file=sys.stderr, flush=True)
        for i in range(args.twelvecrop_runs):
            r = run_eval(["tta=twelvecrop"], Path(tmp, f"twelvecrop{i}"))
            rows.append({**r, "file": f"{BUNDLED_ONNX.name}, twelve-crop", "recorded": None})
            print(f"twelve-crop default {r['accuracy']:.4f}  {r['scoring_s']:.1f} s", file=sys.stderr, flush=True)
    publish(SECTION, table(rows, peak, flops), args.out)


if __name__ == "__main__":
    main()
