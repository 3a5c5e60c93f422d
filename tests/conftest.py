"""Shared fixtures: tiny synthetic FER-2013 datasets in both real layouts, made fresh per test."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer.constants import CLASSES, CSV_LABEL_TO_CLASS

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"


def face_like(label: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A noisy image whose brightness pattern depends on the class, so a model can learn it."""
    img = rng.normal(60 + 25 * label, 20, (size, size))
    img[: size // 2] += 30 * (label % 2)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_folder_dataset(
    root: Path, n_train: int = 6, n_public: int = 2, n_private: int = 2, seed: int = 0
) -> Path:
    """root/train/<class>/Training_*.jpg and root/test/<class>/{PublicTest,PrivateTest}_*.jpg."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASSES):
        for split, prefix, n in (("train", "Training", n_train), ("test", "PublicTest", n_public),
                                 ("test", "PrivateTest", n_private)):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                cv2.imwrite(str(d / f"{prefix}_{label}{i:04d}.jpg"), face_like(label, rng))
    return root


def make_csv(path: Path, per_usage: dict[str, int] | None = None, seed: int = 0) -> Path:
    """A fer2013.csv with `emotion,pixels,Usage` rows, labels in the CSV's own order."""
    per_usage = per_usage or {"Training": 4, "PublicTest": 2, "PrivateTest": 2}
    rng = np.random.default_rng(seed)
    lines = ["emotion,pixels,Usage"]
    for usage, n in per_usage.items():
        for emotion in range(7):
            label = CLASSES.index(CSV_LABEL_TO_CLASS[emotion])
            for _ in range(n):
                pixels = " ".join(map(str, face_like(label, rng).ravel()))
                lines.append(f"{emotion},{pixels},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(autouse=True)
def root_log_handlers_of_this_test_only():
    """Hydra apps run in-process attach handlers to the root logger that write to the streams pytest
    captured for that test; left in place, a later test's log line would hit a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def folder_dataset(tmp_path: Path) -> Path:
    return make_folder_dataset(tmp_path / "fer2013")


@pytest.fixture
def csv_dataset(tmp_path: Path) -> Path:
    return make_csv(tmp_path / "fer2013.csv")


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory) -> Path:
    """One decoded-tensor cache for every real-data test, so the JPEGs are decoded once."""
    return tmp_path_factory.mktemp("real_cache")


@pytest.fixture
def real_fer_root() -> Path:
    root = os.environ.get("FER2013_ROOT")
    if not root or not Path(root).is_dir():
        pytest.skip("set FER2013_ROOT to the real FER-2013 to run this test")
    return Path(root)


@pytest.fixture
def restore_threads():
    """Give back the torch and OpenCV thread counts a test changed (run() sets them process-wide)."""
    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None  # none: light install
    torch_threads, cv_threads = torch.get_num_threads() if torch else 0, cv2.getNumThreads()
    yield
    if torch:
        torch.set_num_threads(torch_threads)
    cv2.setNumThreads(cv_threads)
