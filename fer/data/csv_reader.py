"""Reader for the original fer2013.csv: columns emotion, pixels, Usage."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from fer.constants import CLASSES, CSV_LABEL_TO_CLASS, CSV_USAGE_TO_SPLIT, IMAGE_SIZE
from fer.data.splits import LabeledImages
from fer.errors import CSVFormatError

PIXELS = IMAGE_SIZE * IMAGE_SIZE
COLUMNS = ("emotion", "pixels", "Usage")
# The CSV's label order differs from the folder layout's alphabetical order; map it once.
CSV_TO_INDEX = [CLASSES.index(name) for name in CSV_LABEL_TO_CLASS]


def parse_row(row: dict[str, str], line: int, path: Path) -> tuple[np.ndarray, int, str]:
    where = f"{path}, line {line}"
    try:
        emotion = int(row["emotion"])
    except (TypeError, ValueError):
        raise CSVFormatError(f"{where}: emotion {row.get('emotion')!r} is not an integer 0-6") from None
    if not 0 <= emotion < len(CSV_TO_INDEX):
        raise CSVFormatError(f"{where}: emotion {emotion} is outside 0-6")
    try:
        values = np.array((row["pixels"] or "").split(), dtype=np.int32)
    except ValueError:
        raise CSVFormatError(f"{where}: pixels must be space-separated integers") from None
    if values.size != PIXELS:
        raise CSVFormatError(f"{where}: expected {PIXELS} pixels (48x48), found {values.size}")
    if values.min() < 0 or values.max() > 255:
        raise CSVFormatError(f"{where}: pixel values must lie in 0-255")
    # No default: a row without a Usage would silently join Training (and could leak a test face into it).
    usage = (row.get("Usage") or "").strip()
    if usage not in CSV_USAGE_TO_SPLIT:
        found = f"Usage {usage!r}" if usage else "an empty Usage"
        raise CSVFormatError(f"{where}: {found}; it must be one of {', '.join(CSV_USAGE_TO_SPLIT)}")
    return values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE), CSV_TO_INDEX[emotion], CSV_USAGE_TO_SPLIT[usage]


def read_csv(path: Path) -> dict[str, LabeledImages]:
    """Read every row; a malformed row raises CSVFormatError naming its line number."""
    parts: dict[str, tuple[list[np.ndarray], list[int]]] = {s: ([], []) for s in ("train", "val", "test")}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise CSVFormatError(
                f"{path}, line 1: the header must name the columns {','.join(COLUMNS)}; missing: "
                f"{', '.join(c for c in COLUMNS if c in missing)}"
            )
        for row in reader:
            image, label, split = parse_row(row, reader.line_num, path)
            parts[split][0].append(image)
            parts[split][1].append(label)
    out = {}
    for split, (images, labels) in parts.items():
        stacked = torch.from_numpy(np.stack(images)) if images else torch.empty(0, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
        out[split] = LabeledImages(stacked, torch.tensor(labels, dtype=torch.long))
    return out
