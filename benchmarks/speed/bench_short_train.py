"""Cost of one full-size short training (the `angle`/`loss` proxies) per architecture on CPU.

C=16, N=5 network with 10 outputs, 10 classes × 10 images of 32 px, 50 full-batch iterations
(the `code` preset). Run with `pytest benchmarks/speed/bench_short_train.py --benchmark-enable`; the
wall and CPU seconds per arch and the torch thread count are in `extra_info` (CPU seconds are the
fairer number on a shared machine). BENCH_THREADS sets torch's thread count (default 1).
"""
import time

import pytest

from zcbench.proxies import short_train as st
from zcbench.proxies.registry import get_proxy
from zcbench.spaces.images import synthetic_imageset

ARCHS = {
    "all-conv3x3 (most expensive)": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
                                    "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nb201-6111 (best C10)": 6111,
    "mixed": "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
}


@pytest.fixture(scope="module")
def images():
    return synthetic_imageset(n=200, size=32, num_classes=10, seed=0)


@pytest.mark.parametrize("label", list(ARCHS))
def test_one_full_size_short_training(benchmark, images, threads, label):
    def train_once():
        st.clear_run_cache()
        started = time.process_time()
        result = get_proxy("angle").score(ARCHS[label], data=images, trivial_filter=False)
        return result, time.process_time() - started

    result, cpu_seconds = benchmark.pedantic(train_once, rounds=1, iterations=1)
    benchmark.extra_info.update(arch=str(ARCHS[label]), torch_threads=threads, cpu_seconds=round(cpu_seconds, 2),
                                wall_seconds=round(result.seconds, 2), iterations=result.diagnostics["iterations_run"])
    assert result.ok and result.diagnostics["iterations_run"] == 50
