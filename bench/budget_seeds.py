"""A time budget over several seeds on this machine's CPU class: what `experiment=budget` scores on average.

    python -m bench.budget_seeds --minutes 10 --seeds 1 2 3 --data ../shared/data/fer2013
    python -m bench.budget_seeds --minutes 10 --seeds 1 2 3 --avx2 --data ../shared/data/fer2013

Each seed trains in turn (alone on the machine: the plan and the epochs it buys depend on the cores being
free) into outputs/bench/budget/<minutes>min_<native|avx2>_s<seed>/; a seed whose report.json exists is
not run again. `--avx2` holds PyTorch and oneDNN to AVX2 (fp32), as on most laptops. The table (each
seed's network, epochs, budget time used from process start to the final summary, PublicTest accuracy,
and their mean) goes into the CPU class's section of docs/results/budget/<minutes>min_seeds.md (`--out -`
prints it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, cpu_name, publish

AVX2_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def train_command(minutes: float, seed: int, data: str, run_dir: Path) -> list[str]:
    return [sys.executable, "scripts/train.py", "experiment=budget", f"budget.minutes={minutes:g}", f"seed={seed}",
            f"data.root={data}", f"hydra.run.dir={run_dir}"]


def run_env(avx2: bool) -> dict[str, str]:
    return {**os.environ, **(AVX2_ENV if avx2 else {})}


def run_seed(minutes: float, seed: int, data: str, run_dir: Path, avx2: bool) -> dict:
    report = run_dir / "report.json"
    if not report.is_file():
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "stdout.log", "w") as log:
            subprocess.run(train_command(minutes, seed, data, run_dir), cwd=ROOT, env=run_env(avx2), stdout=log,
                           stderr=subprocess.STDOUT, check=True)
    return json.loads(report.read_text())


def machine_class(avx2: bool) -> str:
    """This machine's CPU class ("AVX512 + AMX", "AVX512 + AVX512-BF16", "AVX2") as training names it
    (fer.training.precision), asked under the same ISA limits as the runs."""
    code = "from fer.training.precision import cpu_hardware; print(cpu_hardware().cpu_class)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=run_env(avx2), capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def table(minutes: float, seeds: list[int], reports: list[dict], cpu_class: str, avx2: bool) -> str:
    day = time.strftime("%Y-%m-%d", time.gmtime(reports[0]["budget"]["started_at"]))
    env = " ".join(f"{k}={v}" for k, v in AVX2_ENV.items()) + " " if avx2 else ""
    lines = [f"## {cpu_class}{' (emulated)' if avx2 else ''}", "",
             f"{cpu_name()}, {os.cpu_count()} cores, {day}. Each seed: `{env}python scripts/train.py experiment=budget "
             f"budget.minutes={minutes:g} seed=S data.root=...`, one after another on an otherwise idle machine.",
             "", "| seed | network | epochs (planned) | time used | PublicTest | ECE |", "|---:|---|---:|---:|---:|---:|"]
    for seed, r in zip(seeds, reports, strict=True):
        b = r["budget"]
        lines.append(f"| {seed} | fastcnn-{b['model_kwargs']['width']} | {r['epochs']} ({b['epochs']}) | "
                     f"{b['end_s'] / 60:.1f} min | {100 * r['accuracy']:.2f}% | {r['ece']:.3f} |")
    accs = [100 * r["accuracy"] for r in reports]
    spread = f" (sd {statistics.stdev(accs):.2f})" if len(accs) > 1 else ""
    lines.append(f"| **mean** | | | | **{statistics.mean(accs):.2f}%**{spread} | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--data", default=os.environ.get("FER2013_ROOT", "data/fer2013"))
    p.add_argument("--avx2", action="store_true", help="hold PyTorch and oneDNN to AVX2 (fp32)")
    p.add_argument("--runs", type=Path, default=ROOT / "outputs" / "bench" / "budget")
    p.add_argument("--out", default=None, help="markdown file for the table (default "
                   "docs/results/budget/<minutes>min_seeds.md; '-' prints it)")
    args = p.parse_args()
    tag = "avx2" if args.avx2 else "native"
    reports = [run_seed(args.minutes, s, args.data, args.runs / f"{args.minutes:g}min_{tag}_s{s}", args.avx2)
               for s in args.seeds]
    text = table(args.minutes, args.seeds, reports, machine_class(args.avx2), args.avx2)
    out = args.out or str(ROOT / "docs" / "results" / "budget" / f"{args.minutes:g}min_seeds.md")
    if out != "-" and not Path(out).is_file():
        Path(out).write_text(f"# The {args.minutes:g}-minute budget over seeds, per CPU class\n")
    publish(text.split("\n", 1)[0], text, out)


if __name__ == "__main__":
    main()
