"""Start a network from a trained one of the same layout, possibly wider: the warm start of a slimmer student.

Each conv layer of the narrower net keeps the source's output channels whose BatchNorm scale |gamma| is
largest (a channel BN scales towards zero contributes little), in their original order; the next conv
and the classifier read only the channels kept. With equal widths this is a plain copy. Fine-tuning
(usually with the source as distillation teacher) then recovers what the dropped channels carried.
"""

from __future__ import annotations

import torch
from torch import nn

from fer.errors import CheckpointError


def _layers(net: nn.Module) -> tuple[list[tuple[nn.Conv2d, nn.BatchNorm2d]], nn.Linear]:
    """The (conv, bn) pairs in forward order and the final linear layer of a conv-BN-ReLU stack."""
    mods = list(net.modules())
    pairs = [(m, after) for m, after in zip(mods[:-1], mods[1:], strict=True)
             if isinstance(m, nn.Conv2d) and isinstance(after, nn.BatchNorm2d)]
    linears = [m for m in mods if isinstance(m, nn.Linear)]
    convs = [m for m in mods if isinstance(m, nn.Conv2d)]
    if not pairs or len(pairs) != len(convs) or len(linears) != 1:
        raise CheckpointError(f"{type(net).__name__} is not a plain conv-BN stack with one linear classifier; "
                              "only such nets (fastcnn, vgg13) can be narrowed")
    return pairs, linears[0]


def _widest(bn: nn.BatchNorm2d, keep: int) -> torch.Tensor:
    return bn.weight.detach().abs().topk(keep).indices.sort().values


@torch.no_grad()
def copy_narrowed(src: nn.Module, dst: nn.Module) -> list[int]:
    """Copy `src`'s weights into `dst`, keeping the strongest channels where `dst` is narrower.

    Both nets must have the same sequence of conv-BN layers (same depths and kernels) and `dst` no layer
    wider than `src`'s. Returns dst's widths. Raises CheckpointError naming the first mismatch.
    """
    src_pairs, src_fc = _layers(src)
    dst_pairs, dst_fc = _layers(dst)
    if len(src_pairs) != len(dst_pairs):
        raise CheckpointError(f"cannot start a net of {len(dst_pairs)} conv layers from one of {len(src_pairs)}")
    kept_in = torch.arange(src_pairs[0][0].in_channels)
    for i, ((sc, sb), (dc, db)) in enumerate(zip(src_pairs, dst_pairs, strict=True)):
        if dc.out_channels > sc.out_channels or dc.kernel_size != sc.kernel_size or dc.in_channels != len(kept_in):
            raise CheckpointError(f"conv layer {i}: {dc.in_channels}->{dc.out_channels} (kernel {dc.kernel_size}) "
                                  f"cannot come from {sc.in_channels}->{sc.out_channels} (kernel {sc.kernel_size})")
        kept = _widest(sb, dc.out_channels)
        dc.weight.copy_(sc.weight[kept][:, kept_in])
        if dc.bias is not None and sc.bias is not None:
            dc.bias.copy_(sc.bias[kept])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(db, name).copy_(getattr(sb, name)[kept])
        kept_in = kept
    if dst_fc.out_features != src_fc.out_features or dst_fc.in_features != len(kept_in):
        raise CheckpointError(f"classifier {dst_fc.in_features}->{dst_fc.out_features} cannot come from "
                              f"{src_fc.in_features}->{src_fc.out_features}")
    dst_fc.weight.copy_(src_fc.weight[:, kept_in])
    dst_fc.bias.copy_(src_fc.bias)
    return [dc.out_channels for dc, _ in dst_pairs]
