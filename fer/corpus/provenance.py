"""OUT/provenance.json: how the numbers of a corpus run were made (model file and its SHA-256, every
setting, package versions), and the refusal to mix two ways of making them in one OUT.

The `results` part holds what the numbers depend on (the model's bytes, the pipeline settings,
sample_fps, max_frames, the package version); its fingerprint is stamped on every clip's record.
Settings that change only the speed (threads, workers, prefetch, shards) are recorded beside it,
not compared: the results are the same bytes whatever they are.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

from fer.errors import ConfigError
from fer.outputs import write_atomically

FILE = "provenance.json"
SPEED_ONLY = ("threads", "prefetch")  # pipeline settings that never change a number
SPEED_ONLY_CLASSIFIER = ("threads",)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def results_settings(pipeline: dict[str, Any], model: dict[str, str], sample_fps: float | None,
                     max_frames: int | None) -> dict[str, Any]:
    """What the numbers depend on. The model is named by its bytes (ckpt=null and the bundled file's path
    are the same model) and the backend that runs it (classifier.backend=auto picks one by what is
    installed)."""
    settings = {k: v for k, v in pipeline.items() if k not in (*SPEED_ONLY, "ckpt")}
    settings["classifier"] = {k: v for k, v in pipeline["classifier"].items() if k not in SPEED_ONLY_CLASSIFIER}
    return {"model_sha256": sha256_of(Path(model["path"])), "backend": model["backend"], "settings": settings,
            "sample_fps": sample_fps, "max_frames": max_frames, "ferkit_version": package_version()}


def package_version() -> str:
    try:
        return importlib.metadata.version("ferkit")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def fingerprint(results: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(results, sort_keys=True).encode()).hexdigest()[:16]


def provenance(results: dict[str, Any], model: dict[str, str], run: dict[str, Any]) -> dict[str, Any]:
    import cv2
    import onnxruntime

    return {"fingerprint": fingerprint(results), "results": results, "model": model, "run": run,
            "versions": {"python": platform.python_version(), "opencv": cv2.__version__,
                         "onnxruntime": onnxruntime.__version__}}


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """'key: old -> new' for every leaf that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old} -> {new}"]


def claim(out: Path, record: dict[str, Any]) -> None:
    """Write OUT/provenance.json, or check that the one there was made the same way; refuse otherwise."""
    path = out / FILE
    if path.is_file():
        try:
            there = json.loads(path.read_text())
        except (OSError, ValueError):
            there = None
        if there is not None and there.get("fingerprint") == record["fingerprint"]:
            return
        changed = differences((there or {}).get("results"), record["results"]) if there else ["(unreadable)"]
        raise ConfigError(f"output={out} holds results made another way ({'; '.join(changed[:4])}); one folder "
                          "never mixes two. Write these to another folder (output=...), or delete "
                          f"{out} to redo every clip this way (docs/corpus.md)")
    write_atomically(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), shared=True)
