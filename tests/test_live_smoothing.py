"""Smoothing: EMA maths, persistence expiry, frame skipping and per-face track identity."""

import numpy as np
import pytest
from live_helpers import FixedDetector, pipeline, smoothing, synthetic_frame, tracker

from fer.inference.tracking import FrameSkipper, ema, iou_matrix


def onehot(i, n=7, p=1.0):
    v = np.full(n, (1 - p) / (n - 1))
    v[i] = p
    return v


def test_ema_maths():
    assert np.allclose(ema(None, [0.2, 0.8], 0.3), [0.2, 0.8])
    assert np.allclose(ema(np.array([1.0, 0.0]), [0.0, 1.0], 0.25), [0.75, 0.25])
    # n updates with the same value v from p0 leave (1 - a)^n of the gap.
    a, p0, v = 0.4, np.array([1.0, 0.0]), np.array([0.0, 1.0])
    p = p0
    for _ in range(5):
        p = ema(p, v, a)
    assert np.allclose(p, v + (p0 - v) * (1 - a) ** 5)
    assert np.isclose(p.sum(), 1.0)  # a convex mix of distributions stays a distribution


def test_iou_matrix():
    iou = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    assert np.allclose(iou, [[1.0, 50 / 150, 0.0]])


def test_tracker_ema_per_face_and_alpha_one_disables_smoothing():
    tr = tracker(ema_alpha=0.5)
    tr.update(0, [[0, 0, 50, 50]], [onehot(3)])
    (t,) = tr.update(1, [[2, 0, 50, 50]], [onehot(0)])
    assert np.allclose(t.probs, 0.5 * onehot(0) + 0.5 * onehot(3))
    assert np.allclose(t.raw_probs, onehot(0))
    raw = tracker(ema_alpha=1.0)
    raw.update(0, [[0, 0, 50, 50]], [onehot(3)])
    (t,) = raw.update(1, [[0, 0, 50, 50]], [onehot(0)])
    assert np.allclose(t.probs, onehot(0))


def test_persistence_expiry():
    tr = tracker(persistence=15)
    tr.update(0, [[10, 10, 40, 40]], [onehot(3)])
    for i in range(1, 16):  # unseen for 15 frames: still shown
        assert len(tr.update(i, np.zeros((0, 4)), np.zeros((0, 7)))) == 1, i
    assert tr.update(16, np.zeros((0, 4)), np.zeros((0, 7))) == []  # the 16th frame drops it
    assert tracker(persistence=0).update(0, [[0, 0, 9, 9]], [onehot(1)])  # seen now: kept
    tr0 = tracker(persistence=0)
    tr0.update(0, [[0, 0, 9, 9]], [onehot(1)])
    assert tr0.expire(1) == []


def test_reappearing_face_within_persistence_keeps_its_track():
    tr = tracker(persistence=5)
    (a,) = tr.update(0, [[10, 10, 40, 40]], [onehot(3)])
    tr.update(3, np.zeros((0, 4)), np.zeros((0, 7)))
    (b,) = tr.update(5, [[12, 10, 40, 40]], [onehot(3)])
    assert b.id == a.id and b.hits == 2


def test_two_faces_keep_identity_and_separate_labels():
    tr = tracker(ema_alpha=0.5, persistence=15)
    left, right = np.array([10, 10, 60, 60]), np.array([200, 20, 60, 60])
    tracks = tr.update(0, [left, right], [onehot(3), onehot(5)])
    ids = {tuple(t.box.astype(int)): t.id for t in tracks}
    for i in range(1, 10):  # both drift right; detections arrive in alternating order
        l_box, r_box = left + [3 * i, 0, 0, 0], right + [3 * i, 1, 0, 0]
        boxes, probs = ([l_box, r_box], [onehot(3), onehot(5)]) if i % 2 else ([r_box, l_box], [onehot(5), onehot(3)])
        tracks = tr.update(i, boxes, probs)
    assert len(tracks) == 2
    by_x = sorted(tracks, key=lambda t: t.box[0])
    assert by_x[0].id == ids[tuple(left)] and by_x[1].id == ids[tuple(right)]
    assert int(np.argmax(by_x[0].probs)) == 3 and int(np.argmax(by_x[1].probs)) == 5
    assert np.isclose(by_x[0].probs[3], 1.0) and np.isclose(by_x[1].probs[5], 1.0)  # never mixed


def test_one_detection_updates_one_track_only():
    tr = tracker(iou_threshold=0.1)
    tr.update(0, [[0, 0, 50, 50], [30, 0, 50, 50]], [onehot(0), onehot(1)])
    tracks = tr.update(1, [[15, 0, 50, 50]], [onehot(2)])
    assert sum(t.fresh(1) for t in tracks) == 1


def test_frame_skipper():
    sk = FrameSkipper(2)
    assert [sk.should_detect(i) for i in range(6)] == [True, False, True, False, True, False]
    assert all(FrameSkipper(1).should_detect(i) for i in range(5))
    with pytest.raises(ValueError):  # checked where the settings enter (SMOOTHING_CHECKS)
        smoothing(detect_every=0)


def test_pipeline_detects_every_nth_frame_and_labels_every_frame(tmp_path):
    det = FixedDetector([[40, 60, 80, 80]])
    pipe = pipeline(tmp_path, det, detect_every=3)
    frame = synthetic_frame()
    results = [pipe.process(frame, i) for i in range(9)]
    assert det.calls == 3
    assert [r.detected for r in results] == [True, False, False] * 3
    assert all(len(r.faces) == 1 and r.faces[0].label for r in results)  # skipped frames keep the label
    assert [r.faces[0].fresh for r in results[:3]] == [True, False, False]
    assert results[1].timings["detect"] == 0 and results[0].timings["classify"] > 0


def test_pipeline_persistence_with_skipping(tmp_path):
    det = FixedDetector([[40, 60, 80, 80]], [], [], [], [], [])
    pipe = pipeline(tmp_path, det, detect_every=2, persistence=4)
    counts = [len(pipe.process(synthetic_frame(), i).faces) for i in range(8)]
    assert counts == [1, 1, 1, 1, 1, 0, 0, 0]


def test_classify_in_background_moves_classification_to_the_next_frame(tmp_path):
    det = FixedDetector([[40, 60, 80, 80]])
    pipe = pipeline(tmp_path, det, detect_every=2)
    pipe.classify_in_background = True
    results = [pipe.process(synthetic_frame(), i) for i in range(6)]
    classified = [r.timings["classify"] > 0 for r in results]
    # Frame 0 has nothing on screen yet, so it is classified at once. Later detections are classified on
    # the worker thread and their labels taken on a following frame once ready, at the latest before the
    # next detection (frame 2's by frame 4): never on the detecting frame itself.
    assert classified[0] and not classified[1] and not classified[2]
    assert classified[3] or classified[4]
    assert [r.detected for r in results] == [True, False, True, False, True, False]
    assert all(len(r.faces) == 1 for r in results)  # every frame labelled
    assert results[3].faces[0].track_id == results[0].faces[0].track_id


def test_photos_are_never_classified_in_the_background(tmp_path):
    pipe = pipeline(tmp_path, FixedDetector([[40, 60, 80, 80]]), detect_every=2)
    pipe.classify_in_background = True
    for _ in range(2):
        pipe.reset()
        r = pipe.process(synthetic_frame(), 0, photo=True)
        assert r.timings["classify"] > 0 and len(r.faces) == 1
