"""Evaluate one or more checkpoints on a FER-2013 split and write the report into the run directory.

    python scripts/eval.py ckpt=path/to/best.ckpt data.root=/path/to/fer2013 split=val tta=flip
    python scripts/eval.py data.root=/path/to/faces split=test   # the bundled model on any labelled folder
    python scripts/eval.py ckpt=model.onnx tta=tencrop           # an exported model (ONNX Runtime)
    python scripts/eval.py classifier.backend=torch              # PyTorch instead of ONNX Runtime
"""

import json
import os
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, ListConfig

from fer.cli.entrypoint import exit_on_user_error

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
@exit_on_user_error
def main(cfg: DictConfig) -> float:
    import torch
    from omegaconf import OmegaConf

    from fer.checkpoints import bundled_model_path
    from fer.cli.entrypoint import command_line
    from fer.constants import CLASSES
    from fer.data.load import load_split
    from fer.evaluation.evaluate import evaluate_split, load_ensemble
    from fer.evaluation.report import write_report
    from fer.inference.backends import open_backend, resolve_backend
    from fer.live.config_checks import check_device

    device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else check_device(cfg.device)
    clf = cfg.get("classifier") or {}
    threads = clf.get("threads") or os.cpu_count() or 1
    backend = resolve_backend(clf.get("backend", "auto"))
    if backend == "onnxruntime" and device != "cpu":
        backend = "torch"  # the CPU build of ONNX Runtime: a GPU evaluates with torch
    if cfg.ckpt is None:
        paths = [bundled_model_path(onnx=backend == "onnxruntime")]
    else:
        paths = list(cfg.ckpt) if isinstance(cfg.ckpt, ListConfig) else [cfg.ckpt]
    if backend == "onnxruntime":  # .onnx files directly; checkpoints exported in memory
        models = [open_backend(p, "onnxruntime", threads=threads) for p in paths]
    else:
        torch.set_num_threads(threads)
        models = load_ensemble(paths, device)
    data = load_split(cfg.data.root, cfg.split, cfg.data.cache_dir)
    start, cpu = time.perf_counter(), time.process_time()
    probs, targets = evaluate_split(models, data.faces, cfg.tta, batch_size=cfg.data.eval_batch_size)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # A checkpoint inside a training run (<run>/checkpoints/x.ckpt) brings its curves and command along.
    run_dir = Path(paths[0]).parent.parent
    single = len(paths) == 1
    history = json.loads((run_dir / "history.json").read_text()) if single and (run_dir / "history.json").is_file() else None
    overrides = run_dir / ".hydra" / "overrides.yaml"
    train_command = " ".join(["python scripts/train.py", *OmegaConf.load(overrides)]) if single and overrides.is_file() else None
    report = write_report(
        cfg.paths.output_dir,
        probs,
        targets,
        CLASSES,
        history=history,
        meta={"checkpoint": ", ".join(map(str, paths)), "split": cfg.split, "tta": cfg.tta,
              "data": data.source, "data_notes": data.notes, "backend": backend,
              "scoring_seconds": round(seconds, 2), "scoring_cpu_seconds": round(cpu, 2),
              "command": command_line("eval.py"), "train_command": train_command},
    )
    print(f"{cfg.split} accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
          f"({len(paths)} checkpoint(s), tta={cfg.tta}, {backend}, {len(targets)} faces scored in {seconds:.1f} s, "
          f"CPU {cpu:.1f} s) "
          f"-> {cfg.paths.output_dir}")
    return report["accuracy"]


if __name__ == "__main__":
    main()
