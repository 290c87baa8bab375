"""Cost of one NTK κ (`ntk`, `code` preset) per architecture at full size on CPU: loop vs vectorized.

C=16, N=5 network with 10 outputs on 32 px images, one repeat (the `code` preset runs 3), both
gradient paths in the same run so their ratio is the speed-up of `method='vectorized'`. Run with
`pytest benchmarks/speed/bench_ntk.py --benchmark-enable`. The batch is the code preset's 72; set
NTK_BENCH_BATCH to shrink it for a brief run on a small shared CPU (the loop does one backward pass
per sample, so its cost grows ~B², the vectorized path's ~B). Wall and CPU seconds, batch and torch
threads are in `extra_info` (CPU seconds are the fairer number on a shared machine);
BENCH_THREADS sets torch's thread count (default 1; benchmarks/speed/conftest.py).
"""
import os
import time

import pytest

from zcbench.proxies.registry import get_proxy
from zcbench.spaces.images import synthetic_imageset

ARCHS = {
    "all-conv3x3 (most expensive)": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
                                    "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nb201-6111 (best C10)": 6111,
}
BATCH = int(os.environ.get("NTK_BENCH_BATCH", "72"))


@pytest.fixture(scope="module")
def images():
    return synthetic_imageset(n=max(BATCH, 16), size=32, num_classes=10, seed=0)


@pytest.mark.parametrize("method", ["loop", "vectorized"])
@pytest.mark.parametrize("label", list(ARCHS))
def test_one_full_size_kappa(benchmark, images, threads, label, method):
    benchmark.group = f"ntk {label}, B={BATCH}"

    def kappa_once():
        started = time.process_time()
        result = get_proxy("ntk").score(ARCHS[label], data=images, setting="code", repeats=1, batch_size=BATCH,
                                        method=method)
        return result, time.process_time() - started

    result, cpu_seconds = benchmark.pedantic(kappa_once, rounds=1, iterations=1)
    benchmark.extra_info.update(arch=str(ARCHS[label]), method=method, batch_size=BATCH, torch_threads=threads,
                                cpu_seconds=round(cpu_seconds, 2), wall_seconds=round(result.seconds, 2),
                                kappa=result.value)
    assert result.ok, result.status
