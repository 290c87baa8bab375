"""The exact CPU pooling paths (spaces/pooling.py) against torch's own pooling kernels, in the same run,
at the sizes the sweeps use: the zoo table's six proxies (preset `code`, batch 64, C16 N5, 32 px) on a
NB201 cell with three `avg_pool_3x3` edges, and LR2 on NB101 (`naswot` `nb101`: batch 128, stem 16,
`single_forward`) on a cell with two `maxpool3x3` vertices.

    pytest benchmarks/speed/bench_pooling.py --benchmark-enable

Both variants check the scores are identical; the speed table (conftest.py) gives the ratio and the
achieved FLOP/s (closed-form conv/linear FLOPs: × 3 for a forward + backward, × the batch, × the
passes). BENCH_ROUNDS (default 2) sizes the run.
"""
from __future__ import annotations

import contextlib
import os

import pytest

from zcbench.proxies import zoo_gradients
from zcbench.proxies.registry import REGISTRY
from zcbench.spaces import nb101_networks
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb101 import make_arch
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.pooling import native_pooling

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
ZOO = ("grad_norm", "snip", "plain", "fisher", "synflow", "l2_norm")
NB201_ARCH = "|avg_pool_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
NB101_ARCH = make_arch([[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                       ["input", "maxpool3x3", "conv3x3-bn-relu", "maxpool3x3", "output"])
VALUES: dict[tuple[str, str], list[float]] = {}


def zoo_scores(images) -> list[float]:
    zoo_gradients.clear_run_cache()
    return [REGISTRY.get(name).score(NB201_ARCH, data=images, setting="code").value for name in ZOO]


def lr2_scores(images) -> list[float]:
    return [REGISTRY.get("naswot").score(NB101_ARCH, space="nb101", data=images, setting="nb101",
                                         method="single_forward").value]


def zoo_flops() -> float:
    forward = 2e6 * get_space("nb201").flops(resolve_arch(NB201_ARCH), 32, 10)
    return forward * REGISTRY.get("grad_norm").presets["code"].batch_size * (3 + 3 + 1)  # CE, synflow, l2: no pass


def lr2_flops() -> float:
    forward = 2e6 * nb101_networks.count_flops(NB101_ARCH, stem_channels=16, num_classes=1)
    return forward * REGISTRY.get("naswot").presets["nb101"].batch_size


WORKLOADS = {"zoo six, nb201 3× avg_pool_3x3": (zoo_scores, zoo_flops),
             "lr2 nb101 2× maxpool3x3": (lr2_scores, lr2_flops)}


@pytest.mark.parametrize("pooling", ["native", "exact fast path"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_pooling_paths(benchmark, speed_table, threads, workload, pooling):
    images = synthetic_imageset(n=256, size=32, num_classes=10, seed=0)
    score, flops = WORKLOADS[workload]

    def run(images):
        with native_pooling() if pooling == "native" else contextlib.nullcontext():
            return score(images)

    values, cpu, wall = speed_table.run(benchmark, run, lambda: (images,), ROUNDS)
    VALUES[workload, pooling] = values
    reference = VALUES.get((workload, "native"))
    check = "reference" if pooling == "native" else (
        "scores identical to torch's pooling" if reference == values else "SCORES DIFFER")
    speed_table.record(benchmark, group=workload, variant=pooling, cpu_seconds=cpu, wall_seconds=wall,
                       flops=flops(), reference=None if pooling == "native" else "native", value_check=check)
    if pooling != "native":
        assert values == reference
