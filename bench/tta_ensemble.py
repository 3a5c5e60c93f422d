"""What test-time augmentation and ensembling add: PublicTest accuracy of each checkpoint with no TTA,
flip and twelve-crop, then of the average of all of them, with the inference time each costs.

    python -m bench.tta_ensemble --data ../shared/data/fer2013 \
        --ckpt fast_cpu=outputs/fast_cpu/.../best.ckpt cpu_hour=outputs/cpu_hour/.../best.ckpt

Writes the `## Test-time augmentation and ensembles` section of docs/benchmarks.md (`--out -` prints only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from bench.common import machine_line, write_section
from fer.data.load import load_split
from fer.evaluation.scoring import TTA_MODES, evaluate_split, load_ensemble

HEADING = "## Test-time augmentation and ensembles"


def accuracy(probs: torch.Tensor, targets: torch.Tensor) -> float:
    return (probs.argmax(1) == targets).float().mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="FER-2013 root")
    ap.add_argument("--ckpt", nargs="+", required=True, metavar="NAME=PATH", help="checkpoints or bundles")
    ap.add_argument("--split", default="val", help="val = PublicTest")
    ap.add_argument("--out", default="docs", help="'-' prints only")
    args = ap.parse_args()
    named = dict(item.split("=", 1) if "=" in item else (Path(item).stem, item) for item in args.ckpt)
    faces = load_split(args.data, args.split, Path(__file__).resolve().parents[1] / "data" / "cache").faces
    models = dict(zip(named, load_ensemble(list(named.values())), strict=True))

    probs: dict[tuple[str, str], torch.Tensor] = {}
    seconds: dict[tuple[str, str], float] = {}
    targets = None
    for name, model in models.items():
        for mode in TTA_MODES:
            start = time.perf_counter()
            probs[name, mode], targets = evaluate_split([model], faces, mode)
            seconds[name, mode] = time.perf_counter() - start
            print(f"{name:>12} {mode:>8}: {accuracy(probs[name, mode], targets):.4f}  {seconds[name, mode]:.1f} s",
                  flush=True)

    n = len(targets)
    lines = [HEADING, "",
             f"`python -m {' '.join(['bench.tta_ensemble', *sys.argv[1:]])}`", "",
             f"{machine_line(torch.get_num_threads())}. Accuracy on {args.split} ({n:,} faces, PublicTest); "
             "time is the whole split on the CPU in fp32, batch 512. Flip averages 2 views, twelve-crop 12 "
             "(full, flip, four corners and the centre at 44 px and their flips).", "",
             "| model | no TTA | flip | twelve-crop | twelve-crop gain | time: none / flip / twelve-crop |",
             "|---|---:|---:|---:|---:|---|"]
    for name in models:
        acc = {m: accuracy(probs[name, m], targets) for m in TTA_MODES}
        times = " / ".join(f"{seconds[name, m]:.1f} s" for m in TTA_MODES)
        lines.append(f"| {name} (`{Path(named[name]).name}`) | {acc['none']:.2%} | {acc['flip']:.2%} | "
                     f"{acc['twelvecrop']:.2%} | {acc['twelvecrop'] - acc['none']:+.2%} | {times} |")
    if len(models) > 1:
        acc = {m: accuracy(torch.stack([probs[k, m] for k in models]).mean(0), targets) for m in TTA_MODES}
        best_single = max(accuracy(probs[k, "none"], targets) for k in models)
        times = " / ".join(f"{sum(seconds[k, m] for k in models):.1f} s" for m in TTA_MODES)
        lines.append(f"| **ensemble of all {len(models)}** (mean probability) | {acc['none']:.2%} | "
                     f"{acc['flip']:.2%} | **{acc['twelvecrop']:.2%}** | {acc['twelvecrop'] - acc['none']:+.2%} | "
                     f"{times} |")
        lines += ["", f"The ensemble without TTA adds {acc['none'] - best_single:+.2%} over its best member "
                      f"without TTA; with twelve-crop, {acc['twelvecrop'] - best_single:+.2%}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out != "-":
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
