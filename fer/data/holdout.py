"""Hold a stratified, seeded share of the training faces out as val, for datasets without a val split."""

from __future__ import annotations

import logging

import torch

from fer.data.splits import FERSplits, LabeledImages
from fer.errors import ConfigError

log = logging.getLogger(__name__)


def hold_out_val(train: LabeledImages, fraction: float, seed: int) -> tuple[LabeledImages, LabeledImages]:
    """(rest of train, val): about `fraction` of each class, drawn with `seed`, so class shares match.

    A class with at least two faces keeps at least one in each part; a single face stays in train.
    Both parts keep the original order of the faces.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"data.val_fraction={fraction!r} must lie strictly between 0 and 1")
    g = torch.Generator().manual_seed(seed)
    held: list[torch.Tensor] = []
    for label in torch.unique(train.labels).tolist():
        members = (train.labels == label).nonzero().squeeze(1)
        n = len(members)
        if n < 2:
            continue
        k = min(max(round(n * fraction), 1), n - 1)
        held.append(members[torch.randperm(n, generator=g)[:k]])
    mask = torch.zeros(len(train), dtype=torch.bool)
    if held:
        mask[torch.cat(held)] = True
    return train.subset((~mask).nonzero().squeeze(1)), train.subset(mask.nonzero().squeeze(1))


def val_note(fraction: float, seed: int, n_val: int, where: str) -> str:
    """The line saying val was held out; kept with the splits' notes, which the loader logs on every load."""
    return (f"{where} has no val split: a stratified {fraction:.0%} of its training faces ({n_val}, "
            f"seed {seed}) is held out as val (data.val_fraction)")


def splits_with_held_out_val(name: str, source: str, train: LabeledImages, test: LabeledImages, skipped: int,
                             notes: list[str], class_names: tuple[str, ...], fraction: float, seed: int) -> FERSplits:
    """The splits of a dataset published with train and test only: val held out of train, and said so."""
    train, val = hold_out_val(train, fraction, seed)
    notes = [*notes, val_note(fraction, seed, len(val), f"{name} at {source}")]
    log.info("%s from %s: %d train, %d val, %d test faces", name, source, len(train), len(val), len(test))
    return FERSplits(train, val, test, source=source, skipped=skipped, notes=notes, class_names=class_names,
                     val_fraction=fraction)
