"""Memory layout for CPU training: NCHW against NHWC (channels_last), per precision and model width.

    python -m bench.channels_last                         # this machine's precisions, widths 16 24 32 48
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python -m bench.channels_last --precisions fp32

Times one training step (forward, backward, SGD) of fastcnn on a batch of 128 random faces, the median
of the steps after the first three. This is what `model.channels_last: auto` is decided from
(fer/training/precision.py). bf16 rows run only where the CPU has native bf16 (AMX or AVX512-BF16).
Prints a markdown table; the numbers belong beside the CPU capability it names.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F

from fer.models import create_model
from fer.training.precision import detect_hardware


def step_seconds(width: int, bf16: bool, channels_last: bool, steps: int) -> float:
    torch.manual_seed(0)
    net = create_model("fastcnn", width=width)
    x, y = torch.randn(128, 1, 48, 48), torch.randint(0, 7, (128,))
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[3:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="16,24,32,48", help="comma list of fastcnn widths")
    ap.add_argument("--precisions", default="bf16,fp32", help="comma list of bf16, fp32")
    ap.add_argument("--steps", type=int, default=10, help="steps per row, the first three not counted")
    args = ap.parse_args()
    hw = detect_hardware()
    widths = [int(w) for w in args.widths.split(",")]
    print(f"CPU capability {hw.cpu_capability} ({hw.reason}), {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; seconds per training step of 128 faces, NCHW / NHWC\n")
    print("| precision | " + " | ".join(f"width {w}" for w in widths) + " |")
    print("|---|" + "---|" * len(widths))
    for precision in args.precisions.split(","):
        if precision == "bf16" and not hw.native_bf16:
            print(f"| bf16 | skipped: no native bf16 on {hw.cpu_capability} (emulated, about 10x slower) |")
            continue
        cells = []
        for w in widths:
            nchw, nhwc = (step_seconds(w, precision == "bf16", cl, args.steps) for cl in (False, True))
            cells.append(f"{nchw:.3f} / **{nhwc:.3f}**" if nhwc < nchw else f"**{nchw:.3f}** / {nhwc:.3f}")
        print(f"| {precision} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
