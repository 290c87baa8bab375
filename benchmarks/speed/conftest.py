"""Shared fixtures of the pytest-benchmark suites (`pytest benchmarks --benchmark-enable`)."""
import os

import pytest
import torch

BENCH_THREADS = int(os.environ.get("BENCH_THREADS", "1"))


@pytest.fixture
def threads():
    """torch's intra-op threads for one benchmark: $BENCH_THREADS (default 1, the per-worker setting of
    CPU sweeps), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(BENCH_THREADS)
    yield BENCH_THREADS
    torch.set_num_threads(before)
