"""Numeric precision and memory layout chosen from the hardware that runs the training.

bf16 autocast is fast only where the CPU has native bf16 kernels (AMX or AVX512-BF16); elsewhere
PyTorch emulates it and a batch takes about ten times longer than in fp32. `trainer.precision: auto`
and `model.channels_last: auto` resolve here, before the Trainer is built.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import asdict, dataclass

import torch
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)

AUTO = "auto"
# oneDNN ISA limits (ONEDNN_MAX_CPU_ISA) that still allow its bf16 kernels.
BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX",
             "AVX10_1_512_AMX_FP16", "AVX10_2_512_AMX_2", "DEFAULT", "ALL")
SLOW_BF16_WARNING = (
    "trainer.precision=bf16-mixed on a CPU without native bf16 ({why}): bf16 is emulated here and training "
    "will be about 10x slower than fp32. Use trainer.precision=auto (or 32-true) to train in fp32.")


@dataclass(frozen=True)
class Hardware:
    """What the precision choice depends on, in words that go into logs and reports."""

    device: str           # "cpu" or "cuda"
    cpu_capability: str   # torch.backends.cpu.get_cpu_capability(): DEFAULT, AVX2, AVX512, ...
    native_bf16: bool     # bf16 matmuls/convs run on native kernels (CPU: AMX or AVX512-BF16)
    gpu_name: str = ""
    reason: str = ""
    bf16_unit: str = ""   # CPU: "AMX" or "AVX512-BF16" where bf16 is native

    @property
    def cpu_class(self) -> str:
        """The CPU class speed results are grouped by: "AVX2", "AVX512 + AVX512-BF16", "AVX512 + AMX"."""
        return f"{self.cpu_capability} + {self.bf16_unit}" if self.bf16_unit else self.cpu_capability

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def onednn_isa_limit() -> str:
    return (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()


def cpu_hardware() -> Hardware:
    capability = torch.backends.cpu.get_cpu_capability()
    # The cpuinfo flags ignore ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA, so the limits are checked as well.
    amx = bool(torch.cpu._is_amx_tile_supported())
    avx512_bf16 = bool(torch.cpu._is_avx512_bf16_supported())
    isa = onednn_isa_limit()
    unit = ""
    if not (amx or avx512_bf16):
        why = f"CPU {capability} without AMX or AVX512-BF16"
    elif not capability.startswith("AVX512"):
        why = f"CPU capability limited to {capability} (ATEN_CPU_CAPABILITY)"
    elif isa and isa not in BF16_ISAS:
        why = f"oneDNN limited to {isa} (ONEDNN_MAX_CPU_ISA)"
    else:
        unit = "AMX" if amx else "AVX512-BF16"
        why = f"CPU {capability} with {unit}"
    return Hardware("cpu", capability, bool(unit), reason=why, bf16_unit=unit)


def detect_hardware(accelerator: str = AUTO) -> Hardware:
    """The hardware a Trainer with this `accelerator` setting will train on."""
    capability = torch.backends.cpu.get_cpu_capability()
    if accelerator in (AUTO, "gpu", "cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        native = bool(torch.cuda.is_bf16_supported())
        why = f"GPU {name} {'with' if native else 'without'} bf16 support"
        return Hardware("cuda", capability, native, gpu_name=name, reason=why)
    return cpu_hardware()


def choose_precision(hw: Hardware) -> str:
    if hw.native_bf16:
        return "bf16-mixed"
    return "16-mixed" if hw.device == "cuda" else "32-true"


def choose_channels_last(hw: Hardware, precision: str) -> bool:
    # On a CPU, oneDNN's NHWC convolutions train as fast or faster in every precision measured on an idle
    # machine (the figures are in docs/benchmarks.md). On a GPU it pays off with tensor cores, i.e. in
    # reduced precision only.
    if hw.device == "cuda":
        return precision != "32-true"
    return True


@dataclass(frozen=True)
class Resolved:
    precision: str
    channels_last: bool
    hardware: Hardware

    def summary(self) -> dict[str, object]:
        """Flat record for logs, hparams and the report's meta."""
        return {"precision": self.precision, "precision_reason": self.hardware.reason,
                "channels_last": self.channels_last, "cpu_capability": self.hardware.cpu_capability,
                "native_bf16": self.hardware.native_bf16, "gpu": self.hardware.gpu_name or None}


def resolve(precision: str | None, channels_last: bool | str | None, accelerator: str = AUTO,
            hw: Hardware | None = None) -> Resolved:
    """Replace `auto` by the hardware's choice; warn about explicit settings that will be very slow."""
    hw = hw or detect_hardware(accelerator)
    precision = str(precision) if precision is not None else AUTO
    if precision == AUTO:
        precision = choose_precision(hw)
        log.info("precision auto -> %s (%s)", precision, hw.reason)
    elif precision.startswith("bf16") and hw.device == "cpu" and not hw.native_bf16:
        log.warning(SLOW_BF16_WARNING.format(why=hw.reason))
    else:
        log.info("precision %s as configured (%s)", precision, hw.reason)
    if channels_last is None or channels_last == AUTO:
        channels_last = choose_channels_last(hw, precision)
        log.info("channels_last auto -> %s", channels_last)
    return Resolved(precision, bool(channels_last), hw)


def resolve_training(cfg) -> Resolved:
    """The precision and channels_last a training config gets on this machine (fer.training.settings applies
    them to the config)."""
    r = resolve(cfg.trainer.get("precision"), cfg.model.get("channels_last"),
                str(cfg.trainer.get("accelerator", AUTO)))
    log.info("training with precision %s, channels_last %s on %s", r.precision, r.channels_last, r.hardware.reason)
    return r


def with_hardware(cfg: DictConfig, resolved: Resolved) -> DictConfig:
    """`trainer.precision` and `model.channels_last` as resolved, `auto` no more."""
    out = copy.deepcopy(cfg)
    with open_dict(out):
        out.trainer.precision = resolved.precision
        out.model.channels_last = resolved.channels_last
    return out
