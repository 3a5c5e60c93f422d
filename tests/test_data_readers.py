"""Both FER-2013 layouts, the split protocol, the cache, and every kind of bad input."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
import torch

from fer.constants import CLASSES
from fer.data.load import load_fer2013
from fer.errors import CSVFormatError, DataError
from tests.conftest import make_csv, make_folder_dataset


def test_folder_layout_splits_by_prefix(folder_dataset):
    s = load_fer2013(folder_dataset)
    assert (len(s.train), len(s.val), len(s.test)) == (42, 14, 14)
    assert s.train.images.shape == (42, 48, 48) and s.train.images.dtype == torch.uint8
    assert s.train.class_counts() == [6] * 7
    assert s.val.class_counts() == [2] * 7 and s.test.class_counts() == [2] * 7
    assert not s.notes and s.skipped == 0


def test_csv_layout_maps_labels_and_usage(csv_dataset):
    s = load_fer2013(csv_dataset)
    assert (len(s.train), len(s.val), len(s.test)) == (28, 14, 14)
    assert s.train.class_counts() == [4] * 7
    # CSV label 6 is Neutral, which is index 4 in the alphabetical class order.
    assert CLASSES[4] == "neutral"


def test_csv_found_inside_a_folder(tmp_path):
    make_csv(tmp_path / "fer2013.csv")
    assert len(load_fer2013(tmp_path).train) == 28


def test_folder_and_csv_agree_on_the_same_images(tmp_path):
    a = load_fer2013(make_folder_dataset(tmp_path / "f", n_train=3))
    b = load_fer2013(make_csv(tmp_path / "x.csv", {"Training": 3, "PublicTest": 2, "PrivateTest": 2}))
    assert a.train.class_counts() == b.train.class_counts()
    assert sorted(a.val.labels.tolist()) == sorted(b.val.labels.tolist())


def test_only_public_test_is_used_for_val_and_test_with_a_warning(tmp_path, caplog):
    root = make_folder_dataset(tmp_path / "d", n_private=0)
    with caplog.at_level(logging.WARNING):
        s = load_fer2013(root)
    assert len(s.val) == len(s.test) == 14
    assert torch.equal(s.val.images, s.test.images)
    assert "only PublicTest" in caplog.text and "both val and test" in caplog.text


def test_csv_without_private_rows_reuses_public(tmp_path, caplog):
    path = make_csv(tmp_path / "fer2013.csv", {"Training": 2, "PublicTest": 1})
    with caplog.at_level(logging.WARNING):
        s = load_fer2013(path)
    assert len(s.test) == len(s.val) == 7
    assert "no PrivateTest" in caplog.text


def test_cache_round_trip_and_invalidation(folder_dataset, tmp_path, caplog):
    cache = tmp_path / "cache"
    first = load_fer2013(folder_dataset, cache)
    assert len(list(cache.glob("*.pt"))) == 1
    with caplog.at_level(logging.INFO):
        second = load_fer2013(folder_dataset, cache)
    assert "from cache" in caplog.text
    assert torch.equal(first.train.images, second.train.images)
    # Adding a file changes the fingerprint, so the data is read again.
    cv2.imwrite(str(folder_dataset / "train" / "happy" / "Training_new.jpg"), np.zeros((48, 48), np.uint8))
    third = load_fer2013(folder_dataset, cache)
    assert len(third.train) == len(first.train) + 1


def test_colour_and_odd_sized_images_are_converted(tmp_path):
    root = make_folder_dataset(tmp_path / "d", n_train=0)
    colour = np.zeros((96, 120, 3), np.uint8)
    colour[..., 2] = 200  # pure red in BGR
    cv2.imwrite(str(root / "train" / "sad" / "Training_colour.png"), colour)
    s = load_fer2013(root)
    assert s.train.images.shape == (1, 48, 48)
    assert s.train.labels.tolist() == [CLASSES.index("sad")]
    expected = int(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)[0, 0])
    assert abs(int(s.train.images.float().mean()) - expected) <= 2


def test_unreadable_file_is_skipped_counted_and_reported_once(tmp_path, caplog):
    root = make_folder_dataset(tmp_path / "d", n_train=2)
    (root / "train" / "fear" / "Training_broken.jpg").write_bytes(b"not a jpeg")
    (root / "train" / "fear" / "Training_empty.jpg").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        s = load_fer2013(root)
    assert s.skipped == 2 and len(s.train) == 14
    assert caplog.text.count("skipped 2 unreadable") == 1


def test_unknown_class_folder_lists_the_valid_names(tmp_path):
    root = make_folder_dataset(tmp_path / "d", n_train=1)
    (root / "train" / "contempt").mkdir()
    with pytest.raises(ValueError) as err:
        load_fer2013(root)
    for name in CLASSES:
        assert name in str(err.value)
    assert "contempt" in str(err.value)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("3,1 2 3,Training", "expected 2304 pixels"),
        ("9,{pixels},Training", "outside 0-6"),
        ("x,{pixels},Training", "not an integer"),
        ("3,{pixels},Validation", "Usage 'Validation'"),
        ("3,{bad},Training", "space-separated integers"),
    ],
)
def test_malformed_csv_row_reports_its_line(tmp_path, row, problem):
    path = make_csv(tmp_path / "fer2013.csv", {"Training": 1})
    pixels = " ".join(["7"] * 2304)
    bad = " ".join(["7"] * 2303 + ["seven"])
    with open(path, "a") as f:
        f.write(row.format(pixels=pixels, bad=bad) + "\n")
    with pytest.raises(CSVFormatError, match=problem) as err:
        load_fer2013(path)
    assert "line 9" in str(err.value)  # header + 7 good rows, then the bad one


def test_csv_header_must_name_columns(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("label,data\n1,2\n")
    with pytest.raises(CSVFormatError, match="line 1"):
        load_fer2013(path)


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_missing_or_empty_path_names_both_layouts(tmp_path, kind):
    root = tmp_path / "nothing"
    if kind == "empty":
        root.mkdir()
    with pytest.raises(DataError) as err:
        load_fer2013(root)
    text = str(err.value)
    assert "train/<class>" in text and "fer2013.csv" in text and "Kaggle" in text
