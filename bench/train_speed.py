"""Training throughput: the full pipeline (DataModule + augmentation + Lightning Trainer + callbacks +
logging) against a bare torch loop over the same in-memory tensors, for several precision settings, and
how close each comes to the machine's limit: the model's training FLOPs x images/s as a fraction of the
GFLOPS of a 2048x2048x2048 product on the same threads (the faster of matmul and a 1x1 convolution; fp32,
and bf16 where the CPU has native bf16).

    python -m bench.train_speed --data ../shared/data/fer2013            # one full cnn4 epoch per row
    python -m bench.train_speed --data ... --batches 60 --out -          # quick look, print only
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python -m bench.train_speed ...   # an AVX2-only CPU

Writes the `## Training speed, <CPU class> (<CPU name>)` section of docs/benchmarks.md; settings in bf16 are
skipped on CPUs without native bf16 (emulated, about 10x slower).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from bench.common import ROOT, cpu_name, gemm_gflops, machine_line, write_section
from fer.data.datamodule import FERDataModule
from fer.data.preprocess import to_model_input
from fer.training.build import build_module, instantiate_group
from fer.training.precision import cpu_hardware

HEADING = "## Training speed, {cpu_class} ({cpu})"
# name -> (trainer precision, channels_last, augmentation mode)
SETTINGS = {
    "fp32": ("32-true", False, "per_sample"),
    "fp32-cl": ("32-true", True, "per_sample"),
    "bf16-cl": ("bf16-mixed", True, "per_sample"),
    "bf16-cl-batched": ("bf16-mixed", True, "batched"),
}


class TrainEpochTimer(L.Callback):
    """Seconds and images from the first to the last training batch of epoch 0 (validation excluded)."""

    def __init__(self):
        self.start = self.end = 0.0
        self.images = 0

    def on_train_epoch_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.images += len(batch[1])
        self.end = time.perf_counter()


def compose_cfg(data_root: str, out: Path, model: str, precision: str, channels_last: bool, aug: str, batches):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[
            "experiment=reference", f"model={model}", f"data.root={data_root}", "trainer.max_epochs=1",
            f"trainer.precision={precision}", f"model.channels_last={channels_last}", f"data.augment.mode={aug}",
            "data.batch_size=64",
            f"+trainer.limit_train_batches={batches or 1.0}", "+trainer.limit_val_batches=2",
            "+trainer.num_sanity_val_steps=0",
        ])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    return cfg


def pipeline_images_per_s(cfg) -> float:
    dm = FERDataModule(**OmegaConf.to_container(cfg.data, resolve=True))
    module = build_module(cfg, dm)
    timer = TrainEpochTimer()
    callbacks = [*instantiate_group(cfg.callbacks), timer]
    trainer = L.Trainer(**cfg.trainer, callbacks=callbacks, logger=instantiate_group(cfg.logger),
                        default_root_dir=cfg.paths.output_dir)
    trainer.fit(module, datamodule=dm)
    return timer.images / (timer.end - timer.start)


def bare_images_per_s(cfg, batches) -> float:
    """The same model, optimiser and batches, with nothing around the step."""
    dm = FERDataModule(**OmegaConf.to_container(cfg.data, resolve=True))
    module = build_module(cfg, dm)
    net, opt = module.net.train(), module.configure_optimizers()["optimizer"]
    images = to_model_input(dm.splits.train.images)
    labels = dm.splits.train.labels
    weight = module.class_weight
    bf16 = cfg.trainer.precision == "bf16-mixed"
    order = torch.randperm(len(labels)).split(cfg.data.batch_size)[:-1]
    order = order[:batches] if batches else order
    start = 0.0
    # Two untimed steps first: a process's first batches pay for kernel set-up and fresh memory.
    for step, idx in enumerate([*order[:2], *order]):
        if step == 2:
            start = time.perf_counter()
        x, y = images[idx], labels[idx]
        if cfg.model.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x).float(), y, weight=weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return len(order) * cfg.data.batch_size / (time.perf_counter() - start)


def train_flops_per_image(cfg, batch: int = 8) -> float:
    """Forward + backward FLOPs of one training image, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    from fer.models import create_model

    net = create_model(cfg.model.name, num_classes=7, **cfg.model.kwargs)
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(net(torch.randn(batch, 1, 48, 48)), torch.zeros(batch, dtype=torch.long)).backward()
    return counter.get_total_flops() / batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="FER-2013 root")
    ap.add_argument("--model", default="cnn4")
    ap.add_argument("--batches", type=int, default=None, help="time this many batches instead of a full epoch")
    ap.add_argument("--settings", default=",".join(SETTINGS), help=f"comma list of: {', '.join(SETTINGS)}")
    ap.add_argument("--out", default="docs", help="'-' prints only")
    args = ap.parse_args()
    names = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        sys.exit(f"unknown settings {unknown}; choose from: {', '.join(SETTINGS)}")
    hw = cpu_hardware()
    skipped = [n for n in names if SETTINGS[n][0].startswith("bf16") and not hw.native_bf16]
    names = [n for n in names if n not in skipped]
    L.seed_everything(0)
    gemm = {"fp32": gemm_gflops(torch.float32)}
    if hw.native_bf16:
        gemm["bf16"] = gemm_gflops(torch.bfloat16)
    peak = {k: max(v.values()) for k, v in gemm.items()}
    peak_text = ", ".join(f"{k} {peak[k]:.0f} GFLOPS (matmul {v['matmul']:.0f}, 1x1 conv {v['conv1x1']:.0f})"
                          for k, v in gemm.items())
    print(f"{hw.cpu_class}: peak {peak_text}")
    rows = []
    flops = None
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            precision, cl, aug = SETTINGS[name]
            cfg = compose_cfg(args.data, Path(tmp), args.model, precision, cl, aug, args.batches)
            flops = flops or train_flops_per_image(cfg)
            bare = bare_images_per_s(cfg, args.batches)
            full = pipeline_images_per_s(cfg)
            rows.append((name, precision, cl, aug, bare, full))
            print(f"{name:36s} bare {bare:7.1f} img/s  pipeline {full:7.1f} img/s  ratio {bare / full:.3f}",
                  flush=True)
    capability, cpu_class = hw.cpu_capability, hw.cpu_class
    span = f"{args.batches} batches of 64" if args.batches else "one full epoch (28,709 images, batch 64)"
    command = "python -m bench.train_speed " + " ".join(sys.argv[1:])
    heading = HEADING.format(cpu_class=cpu_class, cpu=cpu_name())
    lines = [heading, "", f"`{command}`", "",
             f"- Machine: {machine_line(torch.get_num_threads())}; CPU capability {capability} "
             f"({hw.reason}); load average at the end {os.getloadavg()[0]:.1f}.",
             f"- Peak: the faster of a 2048x2048 matmul and the same product as a 1x1 convolution, on these "
             f"threads: {peak_text}."
             + (f" Skipped (bf16 emulated here): {', '.join(skipped)}." if skipped else ""),
             f"- Model FLOPs per training image (forward + backward, FlopCounterMode): {flops / 1e6:.0f} M; "
             "achieved GFLOPS = FLOPs/image x pipeline images/s, as a fraction of the peak of the precision "
             "the convolutions run in.",
             f"- Model: {args.model}, Adam, balanced class weights; each row times {span} of training "
             "(validation excluded) through the bare loop and through the full pipeline.",
             "- Target: pipeline overhead ratio (bare img/s ÷ pipeline img/s) <= 1.10.", "",
             "| setting | CPU | precision | channels_last | augmentation | bare loop img/s | full pipeline img/s "
             "| ratio | epoch (pipeline) | achieved GFLOPS | fraction of peak |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, precision, cl, aug, bare, full in rows:
        achieved = flops * full / 1e9
        ref = peak["bf16"] if precision.startswith("bf16") else peak["fp32"]
        lines.append(f"| {name} | {cpu_class} | {precision} | {cl} | {aug} | {bare:.0f} | {full:.0f} | "
                     f"{bare / full:.3f} | {28709 / full:.0f} s | {achieved:.1f} | {achieved / ref:.1%} |")
    text = "\n".join(lines) + "\n"
    if args.out == "-":
        print(text)
    else:
        write_section(heading, text)


if __name__ == "__main__":
    main()
