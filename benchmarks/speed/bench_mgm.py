"""Cost per architecture of MGM (the authors' per-sample loop vs the torch.func fast path, float32 and
float64) and of LR1, full size, with achieved FLOP/s.

    pytest benchmarks/speed/bench_mgm.py --benchmark-enable

MGM: C16 N5 network, 50 augmented 32 px samples, estimator of the `code` preset. Variants, all in the
same run: `loop/float32` (the `code` preset, the reference), `loop/float64`, `vectorized/float32` and
`vectorized/float64` (the `code64` preset). Each value is compared with the float32 loop and the
float64 loop (the numerically meaningful value); the speed of `vectorized/float64` is compared with
`loop/float64` (same precision), the others' with `loop/float32`. FLOPs: closed-form forward count (proxies/flops.py,
NB201 multiply-accumulates ×2) × 3 (forward + backward ≈ 2 forwards) × 50 samples. LR1: the whole
`code` score (3 repeats × 3000 crops). BENCH_ROUNDS (default 2) and BENCH_THREADS (default 1) size the run.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch

from zcbench.proxies.linear_regions import LR1
from zcbench.proxies.mgm import DTYPES, MGM, mgm
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network

ARCHS = {
    "conv3x3-all": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nb201-0": 0,  # avg-pool, two 1×1 convs, skips
    "none-all": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
}
MGM_ARCHS = ("conv3x3-all", "nb201-0")
# (method, dtype), in measurement order: the reference first, then the float64 loop every value is checked against
VARIANTS = (("loop", "float32"), ("loop", "float64"), ("vectorized", "float32"), ("vectorized", "float64"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
VALUES: dict[tuple[str, str], float] = {}


@pytest.fixture(scope="module")
def cifar_sized_batch():
    images = synthetic_imageset(n=256, size=32, num_classes=10, seed=0)
    rng = np.random.default_rng(0)
    return images.tensors(images.sample_indices(50, rng), rng, augment=True)


@pytest.mark.parametrize("label,method,dtype", [(a, m, d) for a in MGM_ARCHS for m, d in VARIANTS])
def test_mgm_per_architecture(benchmark, speed_table, threads, cifar_sized_batch, label, method, dtype):
    settings = dataclasses.replace(MGM.presets["code"], method=method, dtype=dtype)
    arch = resolve_arch(ARCHS[label])
    x, y = cifar_sized_batch
    torch_dtype = DTYPES[dtype]

    def fresh_network():
        torch.manual_seed(0)
        network = build_network(arch).to(torch_dtype)
        return network, x.to(torch_dtype), y, settings, np.random.default_rng(0)

    result, cpu, wall = speed_table.run(benchmark, mgm, fresh_network, ROUNDS)
    VALUES[label, f"{method}/{dtype}"] = result.value
    checks = [f"vs loop/float32 {_rel(result.value, VALUES[label, 'loop/float32']):.1e}"]
    if (label, "loop/float64") in VALUES:
        checks.append(f"vs loop/float64 {_rel(result.value, VALUES[label, 'loop/float64']):.1e}")
    flops = 3 * 2e6 * get_space("nb201").flops(arch, 32, 10) * settings.samples
    speed_table.record(benchmark, group=f"mgm {label}", variant=f"{method}/{dtype}", cpu_seconds=cpu,
                       wall_seconds=wall, flops=flops,
                       reference="loop/float64" if (method, dtype) == ("vectorized", "float64") else "loop/float32",
                       value=result.value, tensors=len(result.selection), value_check="rel. diff " + ", ".join(checks))


def _rel(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference) if reference else abs(value)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_lr1_per_architecture(benchmark, threads, arch):
    images = synthetic_imageset(n=256, size=32, num_classes=10, seed=0)
    result = benchmark.pedantic(LR1.score, args=(ARCHS[arch],), kwargs={"data": images}, rounds=5, iterations=1)
    benchmark.extra_info.update(value=result.value, torch_threads=torch.get_num_threads())
