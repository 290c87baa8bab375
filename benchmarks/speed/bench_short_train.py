"""Cost of the short training behind `angle`/`angle_feat`/`loss` per architecture on CPU: the reference
trainer against a channels_last candidate, in the same run, with achieved FLOP/s.

    pytest benchmarks/speed/bench_short_train.py --benchmark-enable

C=16, N=5 network with 10 outputs, Kaiming-normal init, 10 classes × 10 synthetic 32 px images, full-batch
SGD of the `code` preset (proxies.short_train.train_network; one such run serves all three proxies, cached
per arch: tests/test_short_train.py). SHORT_TRAIN_BENCH_ITERATIONS (default 5; the preset runs 50 and
costs 10× one round here) keeps the run brief. Variants: `reference` and `channels_last` (the same
trainer on a channels_last network: a candidate, not a setting; docs/benchmarks.md "Expensive proxies").
FLOPs: closed-form forward count (proxies/flops.py, NB201 multiply-accumulates ×2) × 3 (forward +
backward) × 100 images × iterations. BENCH_ROUNDS (default 2) and BENCH_THREADS (default 1) size the run.
"""
import dataclasses
import os

import numpy as np
import pytest
import torch

from zcbench.proxies import short_train as st
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.init import initialize
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network

ARCHS = {
    "all-conv3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nb201-6111": 6111,
}
VARIANTS = ("reference", "channels_last")
ITERATIONS = int(os.environ.get("SHORT_TRAIN_BENCH_ITERATIONS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
LOSSES: dict[str, float] = {}


@pytest.fixture(scope="module")
def images():
    return synthetic_imageset(n=100, size=32, num_classes=10, seed=0)


@pytest.mark.parametrize("label,variant", [(a, v) for a in ARCHS for v in VARIANTS])
def test_short_training(benchmark, speed_table, threads, images, label, variant):
    settings = dataclasses.replace(st.PRESETS["code"], iterations=ITERATIONS)
    arch = resolve_arch(ARCHS[label])

    def fresh_network():
        torch.manual_seed(0)
        network = initialize(build_network(arch, num_classes=settings.classes), settings.init)
        if variant == "channels_last":
            network = network.to(memory_format=torch.channels_last)
        return network, images, settings, np.random.default_rng(0), torch.device("cpu")

    (losses, _), cpu, wall = speed_table.run(benchmark, st.train_network, fresh_network, ROUNDS)
    LOSSES.setdefault(label, losses[-1])
    rel = abs(losses[-1] - LOSSES[label]) / LOSSES[label]
    flops = 3 * 2e6 * get_space("nb201").flops(arch, 32, 10) * len(images) * ITERATIONS
    speed_table.record(benchmark, group=f"short training {label}, {ITERATIONS} it.", variant=variant,
                       cpu_seconds=cpu, wall_seconds=wall, flops=flops, reference="reference", loss_last=losses[-1],
                       value_check=f"last loss rel. diff vs reference {rel:.1e} (float32)")
    assert len(losses) == ITERATIONS
