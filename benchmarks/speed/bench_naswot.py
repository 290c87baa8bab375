"""NASWOT / LR2 kernel at full size (C16 N5, 32 px, the `code` preset's batch of 128, `class_name`
selection): agreement matrices reused for ReLU inputs that reach several hooked modules, against
recomputing one per hooked module, in the same run.

    pytest benchmarks/speed/bench_naswot.py --benchmark-enable

A NB201 node output feeds every later edge and the `code` selection also hooks each ReLUConvBN wrapper
beside its inner ReLU, so most hooked inputs repeat. Both variants check K is identical; the speed table
(conftest.py) gives the ratio and the achieved FLOP/s (closed-form forward FLOPs × the batch + 2·B²·units
per agreement matrix computed). BENCH_ROUNDS (default 2) sizes the run.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from zcbench.proxies import naswot
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network

ARCHS = (6111, 1462)  # NB201 index 6111 (mixed) and 1462 (every edge conv3x3)
BATCH = 128
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
KERNELS: dict[tuple[int, int], torch.Tensor] = {}


def matrices_computed(network, images, recent_inputs: int) -> tuple[int, int]:
    """(agreement matrices computed, units summed over them) in one count, untimed: for the FLOPs."""
    computed = []
    original = naswot._CodeKernel._agreements

    def counting(self, relu_input):
        before = self.recomputed
        agreements = original(self, relu_input)
        if self.recomputed > before:
            computed.append(relu_input[0].numel())
        return agreements

    naswot._CodeKernel._agreements = counting
    try:
        naswot.relu_code_kernel(network, images, "single_forward", recent_inputs=recent_inputs)
    finally:
        naswot._CodeKernel._agreements = original
    return len(computed), sum(computed)


def kernel(network, images, recent_inputs: int) -> torch.Tensor:
    return naswot.relu_code_kernel(network, images, "single_forward", recent_inputs=recent_inputs)[0]


@pytest.mark.parametrize("arch", ARCHS, ids=[f"nb201-{a}" for a in ARCHS])
@pytest.mark.parametrize("recent_inputs", [0, naswot.RECENT_INPUTS], ids=["recompute-each", "reuse-shared"])
def test_naswot_kernel(benchmark, speed_table, threads, arch, recent_inputs):
    images, _, _ = synthetic_imageset(n=BATCH, size=32, num_classes=10, seed=0).batch(
        BATCH, np.random.default_rng(0), augment=False)
    torch.manual_seed(0)
    network = build_network(resolve_arch(arch)).train()
    matrices, units = matrices_computed(network, images, recent_inputs)
    K, cpu, wall = speed_table.run(benchmark, kernel, lambda: (network, images, recent_inputs), ROUNDS)
    KERNELS[arch, recent_inputs] = K
    flops = 2e6 * get_space("nb201").flops(resolve_arch(arch), 32, 10) * BATCH + 2 * BATCH ** 2 * units
    reference = KERNELS.get((arch, 0))
    check = "reference" if not recent_inputs else (
        "K identical to recomputing each input" if reference is not None and torch.equal(reference, K)
        else "K DIFFERS")
    speed_table.record(benchmark, group=f"naswot kernel nb201-{arch} B={BATCH}",
                       variant="reuse shared inputs" if recent_inputs else "recompute each",
                       agreement_matrices=matrices, cpu_seconds=cpu, wall_seconds=wall, flops=flops,
                       reference=None if not recent_inputs else "recompute each", value_check=check)
    if recent_inputs:
        assert reference is not None and torch.equal(reference, K)
