"""`ferkit eval` (scripts/eval.py): evaluate one or more checkpoints on a split of FER-2013 (or data=folder|ferplus|rafdb|affectnet) and write the report
into the run directory.

    ferkit eval ckpt=path/to/best.ckpt data.root=/path/to/fer2013 split=val tta=flip
    ferkit eval data.root=/path/to/faces split=test   # the bundled model on any labelled folder
    ferkit eval ckpt=model.onnx tta=twelvecrop        # an exported model (ONNX Runtime)
    ferkit eval classifier.backend=torch              # PyTorch instead of ONNX Runtime
    ferkit eval ckpt=last.ckpt data=folder data.root=PATH split=test   # another dataset, with its classes
    ferkit eval cam=12                                # also cam.png: face 12's Grad-CAM map (or cam=face.jpg)

Besides the command, what it decides: the backend and device, which models (the bundled one by default), the
faces of the split, and the report, with the run's curves and training command when one checkpoint of a run
is scored. The heavy imports wait inside the functions, so `ferkit eval --help` answers at once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from fer.cli.entrypoint import command_line, hydra_command, launcher


@hydra_command("eval")
def main(cfg: DictConfig) -> float:
    return evaluate(cfg)["accuracy"]


def pick_device(device: str) -> str:
    from fer.api.settings import check_device

    if device != "auto":
        return check_device(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def checkpoint_paths(ckpt: Any, backend: str) -> list[str]:
    from fer.checkpoints import bundled_model_path

    if ckpt is None:
        return [str(bundled_model_path(onnx=backend == "onnxruntime"))]
    return [str(p) for p in ckpt] if isinstance(ckpt, ListConfig | list) else [str(ckpt)]


def open_models(paths: list[str], backend: str, device: str, threads: int) -> list:
    if backend == "onnxruntime":  # .onnx files directly; checkpoints exported in memory
        from fer.inference.backends import open_backend

        # Scoring owns the cores: spinning threads keep ONNX Runtime's parallel sections hot.
        return [open_backend(p, "onnxruntime", threads=threads, spin=True) for p in paths]
    import torch

    from fer.evaluation.scoring import load_ensemble

    torch.set_num_threads(threads)
    return load_ensemble(paths, device)


def run_context(paths: list[str]) -> tuple[list | None, str | None]:
    """(history, training command) of the run holding a single checkpoint (<run>/checkpoints/x.ckpt)."""
    if len(paths) != 1:
        return None, None
    run_dir = Path(paths[0]).parent.parent
    history_file, overrides = run_dir / "history.json", run_dir / ".hydra" / "overrides.yaml"
    history = json.loads(history_file.read_text()) if history_file.is_file() else None
    command = " ".join([launcher("train"), *OmegaConf.load(overrides)]) if overrides.is_file() else None
    return history, command


def load_faces(cfg: DictConfig, model_classes: list[str]) -> tuple[Any, list[str]]:
    """(EvalData of cfg.split, the data's class names): FER-2013 in any of load_split's layouts (a bare
    <class>/ or test/<class>/ folder named after the model's classes), or any other dataset
    (data=folder|ferplus|rafdb|affectnet) through its reader, with its own classes."""
    from fer.data.datasets import load_dataset
    from fer.data.load import load_split
    from fer.data.splits import EvalData

    data = cfg.data
    name = data.get("name") or "fer2013"
    if name == "fer2013":
        faces = load_split(data.root, cfg.split, data.cache_dir, class_names=model_classes)
        return faces, list(faces.class_names)
    # Settings the data group does not set are the dataset's shipped ones (fer.data.shipped_conf).
    splits = load_dataset(name, data.root, data.cache_dir, val_fraction=data.get("val_fraction"),
                          label_mode=data.get("label_mode"), seed=data.get("seed"))
    return EvalData(splits[cfg.split], splits.source, list(splits.notes)), list(splits.class_names)


def write_cam(cfg: DictConfig, faces: Any, device: str) -> str:
    """cam.png for cfg.cam (an index into the split or a face image), from the first checkpoint with torch."""
    from fer.checkpoints.loading import load_model
    from fer.errors import ConfigError
    from fer.evaluation.activation_report import face_to_explain, write_face_activation

    torch_paths = checkpoint_paths(cfg.ckpt, "torch")
    if torch_paths[0].endswith(".onnx"):
        raise ConfigError(f"cam= needs a PyTorch model (.ckpt or .pt) for its gradients, not {torch_paths[0]}")
    model = load_model(torch_paths[0])
    model.net.to(device)
    face, label = face_to_explain(cfg.cam, faces, cfg.split)
    return str(write_face_activation(cfg.paths.output_dir, model.net, model.class_names, face, label))


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score cfg.ckpt (one, a list = an ensemble, or None = the bundled model) on cfg.split of cfg.data (its
    classes); write the report (and with cfg.cam, one face's class-activation map) into cfg.paths.output_dir
    and return it."""
    from fer.evaluation.report import write_report
    from fer.evaluation.scoring import evaluate_split, tta_mode
    from fer.inference.backends import resolve_backend
    from fer.inference.classifier import classifier_threads

    tta = tta_mode(cfg.tta)  # checked before any model loads; an old name is reported by its new one
    device = pick_device(cfg.device)
    threads = classifier_threads(cfg.classifier.threads)
    backend = resolve_backend(cfg.classifier.backend)
    if backend == "onnxruntime" and device != "cpu":
        backend = "torch"  # the CPU build of ONNX Runtime: a GPU evaluates with torch
    paths = checkpoint_paths(cfg.ckpt, backend)
    models = open_models(paths, backend, device, threads)
    data, class_names = load_faces(cfg, list(models[0].class_names))
    start, cpu = time.perf_counter(), time.process_time()
    probs, targets = evaluate_split(models, data.faces, tta, batch_size=cfg.data.eval_batch_size,
                                    data_classes=class_names, progress_bar=cfg.get("progress"))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    history, train_command = run_context(paths)
    report = write_report(
        cfg.paths.output_dir, probs, targets, class_names, history=history,
        meta={"checkpoint": ", ".join(paths), "split": cfg.split, "tta": tta,
              "data": data.source, "data_notes": data.notes, "backend": backend,
              "scoring_seconds": round(seconds, 2), "scoring_cpu_seconds": round(cpu, 2),
              "command": command_line("eval"), "train_command": train_command},
    )
    print(f"{cfg.split} accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
          f"({len(paths)} checkpoint(s), tta={tta}, {backend}, {len(targets)} faces scored in {seconds:.1f} s, "
          f"CPU {cpu:.1f} s) -> {cfg.paths.output_dir}")
    if report["ece"] is not None:
        print(f"calibration: ECE {report['ece']:.4f} ({report['calibration_bins']} bins), NLL {report['nll']:.4f}")
    if cfg.get("cam") is not None:
        print(f"class-activation map -> {write_cam(cfg, data.faces, device)}")
    return report
