"""Network builders for the NB201 space (written from the protocol, protocols §1.1, A1, A2).

* `build_network`: the NB201 evaluation network (stem, 3 stages of N cells at C/2C/4C joined by
  residual reduction blocks, BN+ReLU, global average pool, linear). Default C=16, N=5.
* `build_thin_network`: the LR1 network (C=1, N=1, no stem: only the first cell, then BN+ReLU,
  pool, linear) fed with 1×3×3 single-channel crops.
* `build_supernet`: the TE-NAS search supernet (C=3, N=1 by default) whose edges mix every op that
  is switched on in a per-edge op mask with softmax weights; masked ops get α = −1000 and weights
  ≤ 0.01 are not executed, as in the TE-NAS code.

Every network's forward returns `NetOutput(logits, features)`: a named pair, so callers pick a field
by name instead of relying on a tuple position (the original code bases disagree on that order).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from zcbench.spaces.nb201 import EDGES, OPS, NB201Arch
from zcbench.spaces.pooling import AvgPool3x3

MASKED_LOGIT = -1000.0
MIN_MIX_WEIGHT = 0.01


class NetOutput(NamedTuple):
    logits: torch.Tensor
    features: torch.Tensor


class ReLUConvBN(nn.Sequential):
    """Pre-activation conv op: ReLU → Conv (no bias) → BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out, affine=True, track_running_stats=True))


class Zero(nn.Module):
    """The `none` op: multiplies its input by zero (keeps shape, dtype and the autograd graph)."""

    def forward(self, x):
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    raise ValueError(f"unknown NB201 op {name!r}; expected one of {OPS}")


class InferCell(nn.Module):
    """A fixed NB201 cell: node j = Σ_i op_{j<-i}(node i); output = node 3."""

    def __init__(self, arch: NB201Arch, channels: int):
        super().__init__()
        self.arch = arch
        self.edges = nn.ModuleList(make_op(op, channels) for op in arch.ops)

    def forward(self, x):
        nodes = [x]
        for node in range(1, 4):
            nodes.append(sum(self.edges[EDGES.index((node, src))](nodes[src]) for src in range(node)))
        return nodes[3]


class MixedEdge(nn.Module):
    """A supernet edge: every op of the space, combined with softmax weights over the unmasked ones."""

    def __init__(self, channels: int):
        super().__init__()
        self.ops = nn.ModuleList(make_op(op, channels) for op in OPS)

    def forward(self, x, alphas):
        weights = torch.softmax(alphas, dim=-1)
        return sum(op(x) * w for op, w in zip(self.ops, weights) if w > MIN_MIX_WEIGHT)


class SearchCell(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(channels) for _ in EDGES)

    def forward(self, x, alphas):
        nodes = [x]
        for node in range(1, 4):
            nodes.append(sum(self.edges[k](nodes[src], alphas[k])
                             for k, (to, src) in enumerate(EDGES) if to == node))
        return nodes[3]


class ResidualReduction(nn.Module):
    """NB201's residual reduction block: ReLUConvBN 3×3 /2 → ReLUConvBN 3×3; shortcut AvgPool 2×2 + Conv 1×1."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x, alphas=None):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def _stage_channels(channels: int, cells_per_stage: int, thin: bool) -> list[tuple[str, int, int]]:
    """The cell sequence as (kind, c_in, c_out); thin networks keep only the first cell."""
    if thin:
        return [("cell", channels, channels)]
    layout = []
    for stage, width in enumerate((channels, 2 * channels, 4 * channels)):
        if stage > 0:
            layout.append(("reduce", width // 2, width))
        layout += [("cell", width, width)] * cells_per_stage
    return layout


class _Network(nn.Module):
    """Shared macro skeleton of the evaluation network and the supernet."""

    def __init__(self, make_cell, channels: int, cells_per_stage: int, num_classes: int, thin: bool):
        super().__init__()
        self.thin = thin
        self.stem = None if thin else nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False),
                                                    nn.BatchNorm2d(channels))
        layout = _stage_channels(channels, cells_per_stage, thin)
        self.cells = nn.ModuleList(make_cell(c_out) if kind == "cell" else ResidualReduction(c_in, c_out)
                                   for kind, c_in, c_out in layout)
        width = layout[-1][2]
        self.lastact = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def _cells(self, x):
        for cell in self.cells:
            x = cell(x)
        return x

    def forward(self, x) -> NetOutput:
        if self.stem is not None:
            x = self.stem(x)
        x = self.lastact(self._cells(x))
        features = self.global_pooling(x).flatten(1)
        return NetOutput(self.classifier(features), features)


class NB201Network(_Network):
    """NB201 evaluation network (`infer.tiny`) for one fixed cell."""

    def __init__(self, arch: NB201Arch, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                 thin: bool = False):
        super().__init__(lambda c: InferCell(arch, c), channels, cells_per_stage, num_classes, thin)
        self.arch = arch


class NB201Supernet(_Network):
    """TE-NAS-style supernet: one set of α per edge shared by every cell; masked ops never run."""

    def __init__(self, op_mask, channels: int = 3, cells_per_stage: int = 1, num_classes: int = 10,
                 thin: bool = False):
        super().__init__(SearchCell, channels, cells_per_stage, num_classes, thin)
        mask = torch.as_tensor(op_mask, dtype=torch.bool)
        if mask.shape != (len(EDGES), len(OPS)) or not mask.any(dim=1).all():
            raise ValueError(f"op mask must be {len(EDGES)}×{len(OPS)} booleans with ≥1 op per edge, got "
                             f"shape {tuple(mask.shape)}")
        self.register_buffer("op_mask", mask)
        self.arch_parameters = nn.Parameter(torch.zeros(len(EDGES), len(OPS)))

    def masked_alphas(self):
        return self.arch_parameters.masked_fill(~self.op_mask, MASKED_LOGIT)

    def _cells(self, x):
        alphas = self.masked_alphas()
        for cell in self.cells:
            x = cell(x, alphas)
        return x


def build_network(arch: NB201Arch, channels: int = 16, cells_per_stage: int = 5,
                  num_classes: int = 10) -> NB201Network:
    """The NB201 evaluation network; defaults are the benchmark's C=16, N=5."""
    return NB201Network(arch, channels, cells_per_stage, num_classes)


def build_thin_network(arch: NB201Arch, num_classes: int = 10) -> NB201Network:
    """The LR1 network: C=1, N=1, no stem (one cell on a 1-channel input)."""
    return NB201Network(arch, channels=1, cells_per_stage=1, num_classes=num_classes, thin=True)


def supernet_mask(excluded=("none",)) -> torch.Tensor:
    """A full op mask with the given ops switched off on every edge (TE-NAS masks `none` at start)."""
    return torch.tensor([[op not in excluded for op in OPS] for _ in EDGES])


def build_supernet(op_mask=None, channels: int = 3, cells_per_stage: int = 1, num_classes: int = 10,
                   thin: bool = False) -> NB201Supernet:
    """The TE-NAS search supernet (default C=3, N=1, `none` masked)."""
    return NB201Supernet(supernet_mask() if op_mask is None else op_mask, channels, cells_per_stage,
                         num_classes, thin)


def arch_mask(arch: NB201Arch) -> torch.Tensor:
    """The single-path op mask that selects exactly this cell in a supernet."""
    return torch.tensor([[op == chosen for op in OPS] for chosen in arch.ops])
