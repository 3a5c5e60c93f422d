"""Checkpoints written whole or not at all, like every other output (fer.outputs).

Lightning's own save goes through an fsspec transaction that writes into $TMPDIR and moves the file
into place: when the run folder is on another file system the move is a copy, and a disk that fills
during it leaves a truncated `best-*.ckpt`. Here the checkpoint is written under a partial name
beside its final one, fsync'ed and renamed. A full disk removes the partial file and ends the run with
one OutputError; the checkpoints already there (the best so far, the last) stay as they were, because
ModelCheckpoint removes a superseded file only after its successor has been saved.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from fer.outputs import write_atomically


def is_local(path: Any) -> bool:
    return "://" not in str(path) or str(path).startswith("file://")


class WholeCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO that writes local checkpoints beside their final name and renames them;
    checkpoints on remote storage (s3://, ...) keep Lightning's own transaction."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None or not is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        # Serialised in memory first, as Lightning does: a failed write is then a plain OSError of the
        # file (ENOSPC), not torch's RuntimeError from the middle of its zip writer.
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        write_atomically(Path(str(path).removeprefix("file://")), buffer.getbuffer())
