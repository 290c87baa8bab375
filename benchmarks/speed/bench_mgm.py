"""Cost per architecture of MGM (fast torch.func path vs the authors' per-sample loop) and LR1, full size.

    pytest benchmarks/speed/bench_mgm.py --benchmark-enable

MGM: C16 N5 network, 50 augmented 32 px samples, `code` and `paper` presets, both methods in
the same run so their ratio can be read off. LR1: the whole `code` score (3 repeats × 3000 crops).
On a shared CPU, OMP_NUM_THREADS=1 gives steadier numbers; the thread count is recorded per row.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from zcbench.proxies.linear_regions import LR1
from zcbench.proxies.mgm import MGM, mgm
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network

ARCHS = {
    "conv3x3-all": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nb201-0": 0,  # avg-pool, two 1×1 convs, skips
    "none-all": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
}


@pytest.fixture(scope="module")
def cifar_sized_batch():
    images = synthetic_imageset(n=256, size=32, num_classes=10, seed=0)
    rng = np.random.default_rng(0)
    return images.tensors(images.sample_indices(50, rng), rng, augment=True)


@pytest.mark.parametrize("method", ["vectorized", "loop"])
@pytest.mark.parametrize("setting", ["code", "paper"])
@pytest.mark.parametrize("arch", list(ARCHS))
def test_mgm_per_architecture(benchmark, cifar_sized_batch, arch, setting, method):
    settings = dataclasses.replace(MGM.presets[setting], method=method)
    x, y = cifar_sized_batch

    def fresh_network():
        torch.manual_seed(0)
        return (build_network(resolve_arch(ARCHS[arch])), x, y, settings, np.random.default_rng(0)), {}

    result = benchmark.pedantic(mgm, setup=fresh_network, rounds=2, iterations=1)
    benchmark.extra_info.update(value=result.value, tensors=len(result.selection),
                                torch_threads=torch.get_num_threads())


@pytest.mark.parametrize("arch", list(ARCHS))
def test_lr1_per_architecture(benchmark, arch):
    images = synthetic_imageset(n=256, size=32, num_classes=10, seed=0)
    result = benchmark.pedantic(LR1.score, args=(ARCHS[arch],), kwargs={"data": images}, rounds=5, iterations=1)
    benchmark.extra_info.update(value=result.value, torch_threads=torch.get_num_threads())
