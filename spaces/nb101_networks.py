"""The NB101 network in PyTorch, matching the official TensorFlow model (`nasbench/lib/model_builder.py`).

Macro: stem Conv3×3-BN-ReLU (128 channels in NB101; 16 in the NASWOT/Revisit proxy code) → 3 stacks of
3 cells, a 2×2/2 max-pool and channel doubling before stacks 2 and 3 → global mean → Linear (with bias).
Cell (protocols §1.4): interior vertex = op(Σ inputs), where an input from another interior vertex is
truncated to this vertex's channels and the input vertex always enters through a 1×1 projection
(Conv-BN-ReLU); output = concat of the interior vertices feeding it, plus a projection of the input when
input→output is an edge (the projection alone when no interior vertex exists). Output channels are
split evenly among the vertices feeding the output (remainder to the first ones); other vertices take
the max of their successors.

Every conv has no bias and is followed by a BN with γ and β, so the trainable parameters are conv
weights, BN γ/β and the dense layer — `count_parameters` gives the same number without building.
BN momentum: TF's moving-average decay 0.997 is PyTorch momentum 0.003 (the NASWOT port passes 0.997).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from zcbench.spaces.init import initialize
from zcbench.spaces.nb201_networks import NetOutput
from zcbench.spaces.pooling import MaxPool3x3

TF_BN_DECAY = 0.997
BN_MOMENTUM = 1.0 - TF_BN_DECAY
BN_EPSILON = 1e-5
KERNELS = {"conv3x3-bn-relu": 3, "conv1x1-bn-relu": 1}  # maxpool3x3 has no parameters


def vertex_channels(matrix, c_in: int, c_out: int) -> list[int]:
    """Output channels of every vertex of a pruned cell (NB101 `compute_vertex_channels`)."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    if not feeders:
        return channels
    base, extra = divmod(c_out, len(feeders))
    for rank, v in enumerate(feeders):
        channels[v] = base + (rank < extra)
    for v in range(n - 2, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v][w])
    if min(channels) <= 0:
        raise ValueError(f"cell with {c_out} output channels leaves a vertex without channels: {channels}")
    return channels


def conv_bn_relu(c_in: int, c_out: int, kernel: int, bn_momentum: float) -> nn.Sequential:
    """TF `conv_bn_relu`: 'same' conv without bias, BN (ε 1e-5) with γ and β, ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=bn_momentum),
                         nn.ReLU())


class NB101Cell(nn.Module):
    """One NB101 module for a pruned (matrix, ops) spec, from `c_in` to `c_out` channels."""

    def __init__(self, matrix, ops, c_in: int, c_out: int, bn_momentum: float = BN_MOMENTUM):
        super().__init__()
        self.matrix = [list(row) for row in matrix]
        self.channels = vertex_channels(self.matrix, c_in, c_out)
        n = len(self.matrix)
        self.vertex_ops = nn.ModuleList(
            MaxPool3x3() if op == "maxpool3x3"
            else conv_bn_relu(self.channels[v], self.channels[v], KERNELS[op], bn_momentum)
            for v, op in enumerate(ops[1:-1], start=1))
        self.projections = nn.ModuleDict({str(v): conv_bn_relu(c_in, self.channels[v], 1, bn_momentum)
                                          for v in range(1, n) if self.matrix[0][v]})

    def forward(self, x):
        out = len(self.matrix) - 1
        values = [x]
        concat = []
        for v in range(1, out):
            # Successors never have more channels; the surplus (at most 1) is sliced off, as in TF.
            inputs = [values[src][:, :self.channels[v]] for src in range(1, v) if self.matrix[src][v]]
            if self.matrix[0][v]:
                inputs.append(self.projections[str(v)](x))
            values.append(self.vertex_ops[v - 1](sum(inputs[1:], inputs[0])))
            if self.matrix[v][out]:
                concat.append(values[v])
        if not concat:
            return self.projections[str(out)](x)
        y = torch.cat(concat, dim=1) if len(concat) > 1 else concat[0]
        return y + self.projections[str(out)](x) if self.matrix[0][out] else y


class NB101Network(nn.Module):
    """Stem → stacks of cells (max-pool + channel doubling between stacks) → mean → Linear."""

    def __init__(self, arch, stem_channels: int = 128, num_stacks: int = 3, modules_per_stack: int = 3,
                 num_classes: int = 10, bn_momentum: float = BN_MOMENTUM):
        super().__init__()
        self.arch = arch
        self.stem = conv_bn_relu(3, stem_channels, 3, bn_momentum)
        layers, c_in = [], stem_channels
        for c_out in stack_channels(stem_channels, num_stacks):
            if c_out != stem_channels:
                # TF max_pooling2d 'same' rounds the output size up; ceil_mode does the same.
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
            for _ in range(modules_per_stack):
                layers.append(NB101Cell(arch.matrix, arch.ops, c_in, c_out, bn_momentum))
                c_in = c_out
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x) -> NetOutput:
        features = self.cells(self.stem(x)).mean(dim=(2, 3))
        return NetOutput(self.classifier(features), features)


def stack_channels(stem_channels: int, num_stacks: int) -> list[int]:
    return [stem_channels * 2 ** s for s in range(num_stacks)]


def naswot_init(network: nn.Module) -> nn.Module:
    """The NB101 proxy code's init (protocols §1.4): conv N(0, √(2/(k·k·C_out))), BN γ=1 β=0,
    Linear N(0, 0.01); biases 0. Draws from torch's global RNG (callers seed it)."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / (kh * kw * module.out_channels)))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01)
            nn.init.zeros_(module.bias)
    return network


def build_network(arch, stem_channels: int = 128, num_stacks: int = 3, modules_per_stack: int = 3,
                  num_classes: int = 10, bn_momentum: float = BN_MOMENTUM, init: str = "naswot") -> NB101Network:
    """The NB101 network of a pruned cell. `init`: 'naswot' or any `spaces.init.INIT_SCHEMES` name."""
    network = NB101Network(arch, stem_channels, num_stacks, modules_per_stack, num_classes, bn_momentum)
    return naswot_init(network) if init == "naswot" else initialize(network, init)


class NB101ThinNetwork(nn.Module):
    """The LR1 network on NB101 — OUR ASSUMPTION, defined by no source (protocols §E.6).

    Revisit reports NB101 LR1 (Tab. 2) with unreleased code; we transfer TE-NAS's NB201 thin recipe
    (§A2: no stem, one cell, one channel per node, 1×3×3 inputs): a single NB101 cell on a 1-channel
    input in which every interior vertex has one channel (output = the concat of the k vertices feeding
    it, plus the k-channel input projection when input→output is an edge), then global mean → Linear.
    There is no final BN+ReLU because the NB101 network has none.
    """

    def __init__(self, arch, num_classes: int = 10, bn_momentum: float = BN_MOMENTUM):
        super().__init__()
        self.arch = arch
        out = len(arch.matrix) - 1
        width = max(1, sum(arch.matrix[v][out] for v in range(1, out)))  # one channel per feeding vertex
        self.cell = NB101Cell(arch.matrix, arch.ops, 1, width, bn_momentum)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x) -> NetOutput:
        features = self.cell(x).mean(dim=(2, 3))
        return NetOutput(self.classifier(features), features)


def build_thin_network(arch, num_classes: int = 10, init: str = "naswot") -> NB101ThinNetwork:
    """The assumed NB101 LR1 network (see NB101ThinNetwork), with the NB101 proxy code's init by default."""
    network = NB101ThinNetwork(arch, num_classes)
    return naswot_init(network) if init == "naswot" else initialize(network, init)


def _convs(arch, stem_channels: int, num_stacks: int, modules_per_stack: int, input_size: int):
    """(C_in, C_out, kernel, output positions) of every conv of `build_network(...)`, in any order."""
    side = input_size
    yield 3, stem_channels, 3, side * side
    c_in, n = stem_channels, len(arch.matrix)
    for c_out in stack_channels(stem_channels, num_stacks):
        if c_out != stem_channels:
            side = -(-side // 2)  # the 2×2 'same' max-pool rounds up
        for _ in range(modules_per_stack):
            channels = vertex_channels(arch.matrix, c_in, c_out)
            for v, op in enumerate(arch.ops[1:-1], start=1):
                if op in KERNELS:
                    yield channels[v], channels[v], KERNELS[op], side * side
            for v in range(1, n):
                if arch.matrix[0][v]:
                    yield c_in, channels[v], 1, side * side
            c_in = c_out


def count_parameters(arch, stem_channels: int = 128, num_stacks: int = 3, modules_per_stack: int = 3,
                     num_classes: int = 10) -> int:
    """Trainable parameters of `build_network(...)` without building it (each conv: k²·C_in·C_out + 2·C_out)."""
    convs = sum(k * k * c_in * c_out + 2 * c_out
                for c_in, c_out, k, _ in _convs(arch, stem_channels, num_stacks, modules_per_stack, 32))
    c_last = stack_channels(stem_channels, num_stacks)[-1]
    return convs + c_last * num_classes + num_classes


def count_flops(arch, stem_channels: int = 128, num_stacks: int = 3, modules_per_stack: int = 3,
                num_classes: int = 10, input_size: int = 32) -> float:
    """MFLOPs of one forward of `build_network(...)` without building it, in `spaces.flops.count_flops`'s
    convention (conv: positions·k²·C_in·C_out, Linear: in·out + out; pooling, BN, ReLU, sums not counted)."""
    convs = sum(positions * k * k * c_in * c_out
                for c_in, c_out, k, positions in _convs(arch, stem_channels, num_stacks, modules_per_stack,
                                                        input_size))
    c_last = stack_channels(stem_channels, num_stacks)[-1]
    return (convs + c_last * num_classes + num_classes) / 1e6
