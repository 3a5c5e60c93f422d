"""The one image reader (fer.inference.images): every kind of input -> BGR uint8, or one clear SourceError."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from live_helpers import synthetic_frame
from PIL import Image

from fer.errors import SourceError
from fer.inference.images import TooManyPixels, decode_image, read_image, to_bgr


def test_every_input_kind_gives_the_same_bgr(tmp_path):
    frame = synthetic_frame()
    cv2.imwrite(str(tmp_path / "f.png"), frame)
    pil = Image.open(tmp_path / "f.png")
    for image in (tmp_path / "f.png", str(tmp_path / "f.png"), (tmp_path / "f.png").read_bytes(), frame, pil,
                  np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])):
        out = to_bgr(image)
        assert out.dtype == np.uint8 and out.shape == frame.shape and np.array_equal(out, frame)
    gray = to_bgr(frame[..., 0])
    assert gray.shape == frame.shape and np.array_equal(gray[..., 2], frame[..., 0])


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_16_bit_pil_images_are_scaled_like_the_file(tmp_path, mode):
    ramp = (np.arange(64 * 80, dtype=np.uint32).reshape(64, 80) * 13 % 65536).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), ramp)
    pil = Image.open(tmp_path / "g16.png")
    pil = pil if pil.mode == mode else pil.convert(mode)
    from_pil, from_file = to_bgr(pil), read_image(tmp_path / "g16.png")
    assert np.array_equal(from_pil, from_file) and from_pil.max() > 200 and from_pil.min() == 0  # not all white


def test_float_pil_images_in_0_1_are_scaled():
    out = to_bgr(Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64), mode="F"))
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


@pytest.mark.parametrize("array, words", [
    (np.zeros((0, 0, 3), np.uint8), "empty"), (np.zeros((0, 10), np.uint8), "empty"),
    (np.zeros((100,), np.uint8), "got shape (100,)"), (np.zeros((20, 20, 2), np.uint8), "got shape (20, 20, 2)"),
    (np.zeros((2, 20, 20, 3), np.uint8), "got shape"), (np.zeros((20, 20, 3), np.float32), "uint8"),
    (np.zeros((20, 20, 3), bool), "uint8"), (np.zeros((5, 40, 3), np.uint8), "only 40x5 pixels"),
])
def test_odd_arrays_are_one_clear_source_error(array, words):
    with pytest.raises(SourceError, match=None) as e:
        to_bgr(array)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_bytes_are_checked_before_and_after_decoding():
    whole = cv2.imencode(".jpg", synthetic_frame())[1].tobytes()
    with pytest.raises(SourceError, match="truncated JPEG"):
        decode_image(whole[: len(whole) // 2])
    with pytest.raises(SourceError, match="empty"):
        decode_image(b"")
    with pytest.raises(TooManyPixels, match="320x240 pixels"):
        decode_image(whole, max_pixels=320 * 240 - 1)
    assert decode_image(whole, max_pixels=320 * 240).shape == (240, 320, 3)
    with pytest.raises(SourceError, match="damaged image header"):
        decode_image(cv2.imencode(".png", synthetic_frame())[1].tobytes()[:20], max_pixels=10**6)
    with pytest.raises(SourceError, match="a dict"):
        to_bgr({"not": "an image"})


def test_predict_refuses_odd_arrays_with_a_source_error(tmp_path):
    from live_helpers import FixedDetector, lightning_style_checkpoint

    from fer.api.recognizer import Recognizer

    r = Recognizer(ckpt=lightning_style_checkpoint(tmp_path / "m.ckpt"), detector=FixedDetector([[0, 0, 8, 8]]))
    with pytest.raises(SourceError, match="empty"):
        r.predict(np.zeros((0, 0, 3)).astype(np.uint8))
    with pytest.raises(SourceError, match="uint8"):
        r.predict(np.zeros((0, 0, 3)))
