"""Precision from the hardware, and training to a wall-clock budget, on synthetic data."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest
import torch
import yaml

from fer.data.augment import AugmentConfig
from fer.errors import ConfigError
from fer.training import precision
from fer.training.budget import (
    BudgetPlan,
    add_partial_epoch,
    choose_size,
    epochs_that_fit,
    minimum_epochs,
    process_age_s,
)
from fer.training.budget.plan import crop_batch_factor
from fer.training.budget.timing import Throughput
from fer.training.deadline import DeadlineGuard
from fer.training.fit import train
from fer.training.precision import Hardware, resolve
from tests.conftest import ROOT
from tests.test_training import FAST, make_cfg

AMX = Hardware("cpu", "AVX512", True, reason="CPU AVX512 with AMX")
AVX2 = Hardware("cpu", "AVX2", False, reason="CPU AVX2 without AMX or AVX512-BF16")


def test_auto_precision_follows_native_bf16():
    assert resolve("auto", "auto", hw=AMX).precision == "bf16-mixed"
    assert resolve("auto", "auto", hw=AMX).channels_last is True
    assert resolve("auto", "auto", hw=AVX2).precision == "32-true"
    assert resolve("auto", "auto", hw=AVX2).channels_last is True  # NHWC is faster in fp32 on CPUs too
    old_gpu = Hardware("cuda", "AVX2", False, gpu_name="Tesla T4")
    assert resolve("auto", None, hw=old_gpu).precision == "16-mixed"
    assert resolve("32-true", True, hw=AMX).precision == "32-true"


def test_explicit_bf16_without_native_kernels_warns(caplog):
    with caplog.at_level(logging.WARNING, logger=precision.__name__):
        r = resolve("bf16-mixed", False, hw=AVX2)
    assert r.precision == "bf16-mixed"
    assert "10x slower" in caplog.text and "trainer.precision=auto" in caplog.text


@pytest.mark.parametrize("capability, amx, avx512_bf16, cpu_class, chosen", [
    ("AVX512", True, True, "AVX512 + AMX", "bf16-mixed"),            # Xeon Sapphire Rapids and later
    ("AVX512", False, True, "AVX512 + AVX512-BF16", "bf16-mixed"),   # EPYC Zen 4/5
    ("AVX512", False, False, "AVX512", "32-true"),                   # Xeon Skylake to Ice Lake
    ("AVX2", False, False, "AVX2", "32-true")])
def test_the_cpu_class_names_the_native_bf16_unit(monkeypatch, capability, amx, avx512_bf16, cpu_class, chosen):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    hw = precision.cpu_hardware()
    assert (hw.cpu_class, precision.choose_precision(hw)) == (cpu_class, chosen)


CAPABILITY = ("import json, torch; from fer.training.precision import cpu_hardware, choose_precision; "
              "hw = cpu_hardware(); print(json.dumps([torch.backends.cpu.get_cpu_capability(), "
              "choose_precision(hw), hw.reason]))")


@pytest.mark.parametrize("env", [{"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
                                 {"ONEDNN_MAX_CPU_ISA": "AVX2"}, {"ATEN_CPU_CAPABILITY": "avx2"}])
def test_emulated_avx2_resolves_to_fp32(env, monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    out = subprocess.run([sys.executable, "-c", CAPABILITY], capture_output=True, text=True, cwd=ROOT, check=True)
    capability, chosen, reason = json.loads(out.stdout)
    assert chosen == "32-true", reason


def test_plan_takes_the_widest_model_that_gets_min_epochs():
    ladder = [{"width": 48}, {"width": 32}, {"width": 16}]
    assert choose_size(ladder, {0: 100.0, 1: 50.0, 2: 20.0}, 600, min_epochs=[8, 8, 8], max_epochs=60) == (1, 12)
    assert choose_size(ladder, {0: 10.0, 1: 5.0, 2: 2.0}, 600, min_epochs=[8, 8, 8], max_epochs=40) == (0, 40)
    # nothing reaches min_epochs: the smallest gets what fits, at least one epoch
    assert choose_size(ladder, {0: 900.0, 1: 700.0, 2: 650.0}, 600, min_epochs=[8, 8, 8], max_epochs=60) == (2, 1)
    # a size with its own, higher minimum is passed over until it gets that many epochs
    assert choose_size(ladder, {0: 60.0, 1: 30.0, 2: 20.0}, 600, min_epochs=[15, 8, 8], max_epochs=60) == (1, 20)
    assert choose_size(ladder, {0: 40.0, 1: 30.0, 2: 20.0}, 600, min_epochs=[15, 8, 8], max_epochs=60) == (0, 15)
    assert epochs_that_fit(59.9, 6.0, 60) == 9
    # the hour recipe buys epochs before width; an explicit setting wins
    assert (minimum_epochs(None, 10), minimum_epochs(None, 60), minimum_epochs(3, 60)) == (14, 15, 3)


def test_leftover_time_becomes_a_shorter_last_epoch():
    t = Throughput({}, train_batch_s=0.5, val_pass_s=4.0, epoch_overhead_s=1.0)
    epoch_s = 100 * 0.5 + 4.0 + 1.0  # 100 batches per epoch
    # 8 whole epochs (440 s) leave 50 s: after its validation and overhead, 45 s = 90 more batches
    assert add_partial_epoch(8, epoch_s, 490.0, t, 100) == (9, 890)
    # 12 s left over buys 14 batches, more than a tenth of an epoch: still worth it
    assert add_partial_epoch(8, epoch_s, 452.0, t, 100) == (9, 814)
    # 7 s left over: 4 batches are not worth another validation pass
    assert add_partial_epoch(8, epoch_s, 447.0, t, 100) == (8, None)
    assert process_age_s() > 0


def test_crops_the_warm_up_did_not_time_are_costed_by_their_pixels():
    whole, crop40 = AugmentConfig(mode="batched"), AugmentConfig(mode="batched", crop=40)
    assert crop_batch_factor(whole, whole) == 1.0 and crop_batch_factor(crop40, crop40) == 1.0
    assert crop_batch_factor(whole, crop40) == pytest.approx((40 / 48) ** 2)
    # crops for 80% of the time at 0.69x, whole faces for the rest: 1 / (0.8 / 0.69 + 0.2 / 1) per batch
    until = AugmentConfig(mode="batched", crop=40, crop_until=0.8)
    expected = 1 / (0.8 / (40 / 48) ** 2 + 0.2)
    assert crop_batch_factor(whole, until) == pytest.approx(expected)
    assert crop_batch_factor(crop40, until) == pytest.approx(expected / (40 / 48) ** 2)  # the warm-up cropped


def test_budget_run_ends_on_time_with_a_complete_schedule(folder_dataset, tmp_path):
    """A 30-second budget: the run, test and report included, ends within 15% of it and the LR schedule
    completes; the per-epoch overhead is measured, not assumed. The warm-up's estimate may be off either way
    (inside the full suite it has read 12% slow): the guard stretches or shortens the schedule to the clock."""
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        pytest.skip("other jobs already load every core: a wall-clock budget cannot be checked fairly now")
    budget_s = 30.0
    cfg = make_cfg(folder_dataset, tmp_path, "experiment=budget", f"budget.minutes={budget_s / 60}",
                   "budget.count_from=call", "budget.warmup_batches=4", "budget.min_epochs=2",
                   "budget.ladder=[{width:8,dropout:0.1,min_epochs:2,augment:{erasing:0.0,degrees:5}}]",
                   "budget.measure_index=0",
                   "trainer.precision=32-true",
                   "budget.max_epochs=1000", "budget.report_s=3", "logger=csv", *FAST)
    start = time.time()
    train(cfg)
    elapsed = time.time() - start
    assert 0.85 * budget_s <= elapsed <= 1.15 * budget_s, elapsed
    report = json.loads((tmp_path / "report.json").read_text())
    plan = report["budget"]
    assert report["precision"] in ("bf16-mixed", "32-true") and report["cpu_capability"]
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) >= 1 and plan["steps_run"] > 0 and plan["planned_steps"] > 0
    assert plan["measured"][0]["epoch_overhead_s"] > 0
    assert plan["augment"]["degrees"] == 5 and plan["augment"]["hflip"] == 0.5  # the size's over the recipe's
    assert "min_epochs" not in plan["model_kwargs"]  # the planner's, not the model's
    # The run's stored settings carry the plan; the caller's config is left as it was given.
    hparams = yaml.safe_load((tmp_path / "csv" / "hparams.yaml").read_text())
    assert hparams["data/augment/degrees"] == 5 and hparams["model/kwargs/width"] == 8
    assert hparams["trainer/max_epochs"] == plan["epochs"] and "model/kwargs/min_epochs" not in hparams
    assert cfg.data.augment.degrees == 15 and cfg.trainer.precision == "32-true"
    final_lr = cfg.optim.lr / 25 / 1e4  # OneCycleLR: max_lr / div_factor / final_div_factor
    assert plan["schedule_complete"] and history[-1]["lr"] < 1e-3 * cfg.optim.lr
    assert plan["last_step_lr"] < 1e-3 * cfg.optim.lr or plan["last_step_lr"] == pytest.approx(final_lr, rel=1e-3)


def test_a_size_with_an_unknown_augment_setting_is_named(folder_dataset, tmp_path):
    cfg = make_cfg(folder_dataset, tmp_path, "experiment=budget", "budget.ladder=[{width:8,augment:{erase:0.5}}]",
                   *FAST)
    with pytest.raises(ConfigError, match="erase.*valid: .*erasing"):
        train(cfg)


class FakeTrainer:
    """The few Trainer attributes DeadlineGuard reads."""

    def __init__(self, sched, opt):
        self.lr_scheduler_configs = [type("C", (), {"scheduler": sched})()]
        self.optimizers = [opt]
        self.should_stop = False
        self.current_epoch = 0
        self.global_step = 0
        epoch_loop = type("E", (), {"max_steps": 890})()
        self.fit_loop = type("F", (), {"max_epochs": 9, "epoch_loop": epoch_loop})()


def one_cycle(total: int):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total)


def test_guard_moves_a_late_schedule_to_its_end_and_stops():
    now = time.time()
    plan = BudgetPlan(budget_s=100, started_at=now - 100, model_kwargs={}, epochs=3, epoch_s=30, reserve_s=5)
    opt, sched = one_cycle(50)
    trainer, guard = FakeTrainer(sched, opt), DeadlineGuard(plan)
    guard.on_train_start(trainer, None)
    guard._start = now - 50  # half the planned steps' time is gone, but the deadline has passed
    sched.step()             # Lightning steps the scheduler before on_train_batch_end
    trainer.global_step = 1
    guard.on_train_batch_end(trainer, None, None, None, 0)
    assert trainer.should_stop and sched.last_epoch == 49
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 25 / 1e4, rel=1e-6)


def test_guard_holds_a_fast_run_to_the_clock():
    """Steps faster than planned do not end the fit early: the planned limits are lifted and the schedule
    follows the share of the time used, so the run goes on past its planned steps until the time is up."""
    now = time.time()
    plan = BudgetPlan(budget_s=1000, started_at=now, model_kwargs={}, epochs=3, epoch_s=30, reserve_s=5)
    opt, sched = one_cycle(50)
    trainer, guard = FakeTrainer(sched, opt), DeadlineGuard(plan)
    guard.on_train_start(trainer, None)
    assert trainer.fit_loop.epoch_loop.max_steps == -1 and trainer.fit_loop.max_epochs > 9
    for _ in range(60):  # more steps than the schedule has, in a moment of a 1000-s budget
        sched.step()
        trainer.global_step += 1
        guard.on_train_batch_end(trainer, None, None, None, 0)
    assert not trainer.should_stop and sched.last_epoch <= 1
    assert opt.param_groups[0]["lr"] < 0.1 / 2  # still warming up, as the clock says
