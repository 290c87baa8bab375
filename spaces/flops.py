"""FLOPs of a network by forward hooks, in the convention of the NB201 API's `flop` field.

Counted per sample, in millions: Conv2d = H_out·W_out·C_out·(C_in/groups)·k_h·k_w (+ H_out·W_out·C_out
with a bias); Linear = in·out (+ out with a bias). Pooling, BN, ReLU and additions are not counted,
which is what the NB201 API reports (checked against xautodl's counter in the tests), so
`avg_pool_3x3` and `skip_connect` cells cost the same as `none`.
"""
from __future__ import annotations

import functools

import torch
from torch import nn


def _module_flops(module: nn.Module, output: torch.Tensor) -> float:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        positions = output.shape[2] * output.shape[3]
        flops = positions * module.out_channels * (module.in_channels // module.groups) * kh * kw
        return flops + (positions * module.out_channels if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features + (module.out_features if module.bias is not None else 0)
    return 0.0


def count_flops(network: nn.Module, input_shape: tuple[int, ...]) -> float:
    """MFLOPs of one forward pass of a single sample of shape `input_shape` (C, H, W)."""
    total = [0.0]

    def hook(module, _inputs, output):
        total[0] += _module_flops(module, output)

    handles = [m.register_forward_hook(hook) for m in network.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        was_training = network.training
        network.eval()
        with torch.no_grad():
            network(torch.zeros(1, *input_shape))
        network.train(was_training)
    finally:
        for h in handles:
            h.remove()
    return total[0] / 1e6


@functools.lru_cache(maxsize=None)
def nb201_flop_coefficients(input_size: int, num_classes: int) -> dict[str, float]:
    """MFLOPs of the C=16, N=5 NB201 network split into a base and a per-edge amount for each op.

    Every edge of every cell sees the same shape within a stage, so an op adds the same amount
    wherever it sits: FLOPs(arch) = base + Σ_edges per_op[op]. Derived once with `count_flops`.
    """
    from zcbench.spaces.nb201 import EDGES, OPS, NB201Arch
    from zcbench.spaces.nb201_networks import build_network

    def flops(ops):
        return count_flops(build_network(NB201Arch(ops), num_classes=num_classes), (3, input_size, input_size))

    base = flops(("none",) * len(EDGES))
    return {"base": base, **{op: flops((op,) + ("none",) * (len(EDGES) - 1)) - base for op in OPS}}


def nb201_flops(arch, input_size: int = 32, num_classes: int = 10) -> float:
    coef = nb201_flop_coefficients(input_size, num_classes)
    return coef["base"] + sum(coef[op] for op in arch.ops)
