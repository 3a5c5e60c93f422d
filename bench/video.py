"""A video's frames for the benches that prepare or replay clips, read by the project's own video source
(fer.inference.sources.open_video), so a bench decodes a file as the live path and `analyze` do."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fer.inference.sources import open_video


def video_frames(path: str | Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """The BGR frames of the video at `path`, the first `limit` of them where given."""
    with open_video(path) as source:
        for frame in itertools.islice(source, limit):
            yield frame.image
