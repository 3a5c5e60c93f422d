"""FER+: the FER-2013 faces relabelled by ten taggers each (fer2013.csv pixels + fer2013new.csv votes).

fer2013new.csv has one row per row of fer2013.csv, in the same order, with the columns Usage, Image name
and the vote counts neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
Classes: the seven FER-2013 classes plus contempt, in alphabetical order (CLASSES_WITH_CONTEMPT).

Label modes (after the FER+ paper, Barsoum et al. 2016). In every mode single votes (a count of 1) are
removed first as tagger noise; then a face is dropped when
  - it is not a face: its image name is blank or NF has the most votes ("not a face"),
  - unknown has the most votes ("unknown"), or no votes are left ("no votes");
ties between an emotion and unknown/NF go to the emotion. Then, per mode:
  majority:     the face is kept only when its most voted emotion has more than half of the remaining
                votes (unknown and NF included), and that emotion is its label ("no majority" otherwise).
  probability:  every face left is kept; `targets` is its vote distribution over the 8 emotions (remaining
                emotion votes / their sum) and `labels` its most voted emotion (ties: the first column).
                Training draws a hard label from `targets` for each face anew every epoch (the paper's
                probabilistic label drawing).
  crossentropy: the same faces, labels and targets as probability; training minimises the cross-entropy
                -sum_k targets_k * log softmax(logits)_k against the whole distribution.
Metrics always score `labels`.
"""

from __future__ import annotations

import csv
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fer.constants import CLASSES_WITH_CONTEMPT, CSV_USAGE_TO_SPLIT, IMAGE_SIZE
from fer.data.csv_reader import PIXELS, parse_row
from fer.data.shipped_conf import data_settings
from fer.data.splits import FERSplits, LabeledImages
from fer.errors import ConfigError, CSVFormatError, DataError

log = logging.getLogger(__name__)

LABEL_MODES = ("majority", "probability", "crossentropy")
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
                "unknown", "NF")
# The FER+ emotion columns under the project's class names.
VOTE_TO_CLASS = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
UNKNOWN, NOT_FACE = 8, 9
PARSE_ROWS = 2048  # pixel rows parsed per numpy call (about 20 MB of text)
DROP_REASONS = ("not a face", "unknown", "no votes", "no majority")
FERPLUS_HELP = (
    "FER+ needs two files in data.root (or the FERPLUS_ROOT environment variable): fer2013.csv, the FER-2013 "
    "pixels from the Kaggle challenge 'challenges-in-representation-learning-facial-expression-recognition-"
    "challenge', and fer2013new.csv, the votes from https://github.com/microsoft/FERPlus"
)


@dataclass
class Votes:
    """fer2013new.csv read: votes (N, 10) int64 in VOTE_COLUMNS order, split per row, blank-name rows."""

    counts: np.ndarray
    splits: list[str]
    blank_name: np.ndarray


@dataclass
class FERPlusLabels:
    """Which rows a label mode keeps, their labels (and targets), and why each other row was dropped."""

    keep: np.ndarray
    labels: np.ndarray
    targets: np.ndarray | None
    dropped: dict[str, np.ndarray] = field(default_factory=dict)  # reason -> bool mask over all rows


def find_files(root: str | Path) -> tuple[Path, Path]:
    """(fer2013.csv, fer2013new.csv) under root, or a DataError saying where to get them."""
    path = Path(root).expanduser()
    pixels, votes = path / "fer2013.csv", path / "fer2013new.csv"
    missing = [p.name for p in (pixels, votes) if not p.is_file()]
    if missing:
        where = f"{path} does not exist" if not path.is_dir() else f"{path} lacks {' and '.join(missing)}"
        raise DataError(f"FER+ not found: {where}. {FERPLUS_HELP}")
    return pixels, votes


def read_votes(path: Path) -> Votes:
    """Parse fer2013new.csv; a missing column or a malformed count raises DataError naming the line."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("Usage", "Image name", *VOTE_COLUMNS) if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}, line 1: not a FER+ votes file; missing column(s) {', '.join(missing)}")
        counts, splits, blank = [], [], []
        for row in reader:
            usage = (row["Usage"] or "").strip()
            if usage not in CSV_USAGE_TO_SPLIT:
                raise DataError(f"{path}, line {reader.line_num}: Usage {usage!r} is not one of "
                                f"{', '.join(CSV_USAGE_TO_SPLIT)}")
            try:
                counts.append([int(row[c]) for c in VOTE_COLUMNS])
            except (TypeError, ValueError):
                raise DataError(f"{path}, line {reader.line_num}: vote counts must be whole numbers") from None
            splits.append(CSV_USAGE_TO_SPLIT[usage])
            blank.append(not (row["Image name"] or "").strip())
    return Votes(np.array(counts, dtype=np.int64).reshape(-1, len(VOTE_COLUMNS)), splits, np.array(blank, bool))


def label_faces(votes: Votes, mode: str) -> FERPlusLabels:
    """Apply a label mode (see the module docstring) to every row at once."""
    if mode not in LABEL_MODES:
        raise ConfigError(f"unknown FER+ label mode {mode!r}; choose one of: {', '.join(LABEL_MODES)}")
    v = np.where(votes.counts == 1, 0, votes.counts)  # single votes are tagger noise
    top = v.argmax(1)  # first maximum: an emotion wins a tie with unknown or NF
    total = v.sum(1)
    not_face = votes.blank_name | (top == NOT_FACE)
    dropped = {"not a face": not_face}
    dropped["unknown"] = ~not_face & (top == UNKNOWN)
    dropped["no votes"] = ~not_face & (total == 0)
    valid = ~(dropped["not a face"] | dropped["unknown"] | dropped["no votes"])
    emotions = v[:, :UNKNOWN]
    to_class = np.array([CLASSES_WITH_CONTEMPT.index(n) for n in VOTE_TO_CLASS])
    if mode == "majority":
        dropped["no majority"] = valid & (2 * emotions.max(1) <= total)
        keep = valid & ~dropped["no majority"]
        return FERPlusLabels(keep, to_class[emotions[keep].argmax(1)], None, dropped)
    dropped["no majority"] = np.zeros(len(v), bool)
    kept = emotions[valid].astype(np.float32)
    dist = kept / kept.sum(1, keepdims=True)
    targets = np.zeros((len(dist), len(CLASSES_WITH_CONTEMPT)), np.float32)
    targets[:, to_class] = dist  # columns reordered into the class order
    return FERPlusLabels(valid, to_class[kept.argmax(1)], targets, dropped)


def count_note(votes: Votes, labelled: FERPlusLabels, mode: str) -> str:
    """Kept and dropped faces per split, e.g. for the log and the report."""
    splits = np.array(votes.splits)
    parts = []
    for split in ("train", "val", "test"):
        rows = splits == split
        why = ", ".join(f"{int((m & rows).sum())} {reason}" for reason, m in labelled.dropped.items() if (m & rows).any())
        parts.append(f"{split} {int((labelled.keep & rows).sum())} of {int(rows.sum())} kept"
                     + (f" (dropped: {why})" if why else ""))
    return f"FER+ label mode {mode}: " + "; ".join(parts)


def read_pixels(path: Path, votes: Votes) -> np.ndarray:
    """fer2013.csv's faces (N,48,48) uint8 in row order; its rows must match the votes row for row.

    The pixel strings are parsed in bulk (a few thousand rows per numpy call, several times faster than
    row by row); a row that is not 2304 space-separated values in 0-255 gets fer2013.csv's own row check,
    which names its line.
    """
    texts: list[str] = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("pixels", "Usage") if c not in (reader.fieldnames or [])]
        if missing:
            raise CSVFormatError(f"{path}, line 1: the header lacks the column(s) {', '.join(missing)}")
        for row in reader:
            n = len(texts)
            if n >= len(votes.splits):
                raise DataError(f"{path} has more rows than the {len(votes.splits)} of fer2013new.csv; FER+ "
                                "needs the original fer2013.csv in its original row order")
            if CSV_USAGE_TO_SPLIT.get((row["Usage"] or "").strip()) != votes.splits[n]:
                raise DataError(f"{path}, line {reader.line_num}: Usage differs from row {n + 1} of "
                                "fer2013new.csv; FER+ needs the original fer2013.csv in its original row order")
            text = (row["pixels"] or "").strip()
            if text.count(" ") != PIXELS - 1:  # not the plain layout: the strict per-row check explains
                parse_row({"emotion": "0", "pixels": text, "Usage": row["Usage"]}, reader.line_num, path)
                text = " ".join(text.split())
            texts.append(text)
    if len(texts) != len(votes.splits):
        raise DataError(f"{path} has {len(texts)} rows but fer2013new.csv {len(votes.splits)}; they must match "
                        "row for row")
    images = np.empty((len(texts), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for start in range(0, len(texts), PARSE_ROWS):
        chunk = texts[start : start + PARSE_ROWS]
        with warnings.catch_warnings():  # a non-number ends the parse early; the size check below catches it
            warnings.simplefilter("ignore", DeprecationWarning)
            values = np.fromstring(" ".join(chunk), dtype=np.int32, sep=" ")
        if values.size != len(chunk) * PIXELS or values.min() < 0 or values.max() > 255:
            for i, text in enumerate(chunk):  # find the row and let the row check name it
                parse_row({"emotion": "0", "pixels": text, "Usage": "Training"}, start + i + 2, path)
        images[start : start + len(chunk)] = values.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return images


def read_ferplus(root: str | Path, label_mode: str | None = None) -> FERSplits:
    """FER+ with one label mode (conf/data/ferplus.yaml's when not given); every split is FER-2013's own
    (Training / PublicTest / PrivateTest)."""
    label_mode = data_settings("ferplus")["label_mode"] if label_mode is None else label_mode
    pixels_path, votes_path = find_files(root)
    votes = read_votes(votes_path)
    labelled = label_faces(votes, label_mode)
    images = read_pixels(pixels_path, votes)
    note = count_note(votes, labelled, label_mode)
    log.info(note)
    kept_splits = np.array(votes.splits)[labelled.keep]
    kept_images = images[labelled.keep]
    parts = {}
    for split in ("train", "val", "test"):
        rows = kept_splits == split
        targets = None if labelled.targets is None else torch.from_numpy(labelled.targets[rows])
        parts[split] = LabeledImages(torch.from_numpy(kept_images[rows]),
                                     torch.from_numpy(labelled.labels[rows]).long(), targets)
    return FERSplits(parts["train"], parts["val"], parts["test"], source=f"{pixels_path} + {votes_path}",
                     notes=[note], class_names=CLASSES_WITH_CONTEMPT)
