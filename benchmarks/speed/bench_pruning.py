"""Cost of the TE-NAS pruning search (benchmarks.pruning, `code` preset) on CPU.

One round measures one candidate of the first round, as the search does it: 3 repeats of κ on the
C=3, N=1 supernet (origin and pruned, B=72 per-sample backward passes each) and of R on the thin
supernet (3 × 1,000 crops, origin and pruned). A search measures 24 + 18 + 12 = 54 candidates, so a
search costs ≈ 54 × this (later rounds have fewer ops per edge, hence a little less). Run with
`pytest benchmarks/speed/bench_pruning.py --benchmark-enable`.
"""
import time

import numpy as np
import torch

from zcbench.benchmarks.pruning import CODE, SearchContext, measure_candidate
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.init import initialize
from zcbench.spaces.nb201_networks import supernet_mask


def test_one_first_round_candidate(benchmark, threads):
    data = synthetic_imageset(n=200, size=32, num_classes=10, seed=0)
    ctx = SearchContext(data, CODE, np.random.default_rng(0), 10, torch.device("cpu"))
    mask = supernet_mask()
    origin = initialize(ctx.supernet(mask), CODE.ntk_init)

    def candidate_once():
        started = time.process_time()
        record = measure_candidate(ctx, origin, mask, (0, 3))  # conv3x3 on edge 0→1
        return record, time.process_time() - started

    record, cpu_seconds = benchmark.pedantic(candidate_once, rounds=1, iterations=1)
    assert len(record["ntk_change"]) == CODE.repeats
    benchmark.extra_info.update(cpu_seconds=cpu_seconds, torch_threads=threads, candidates_per_search=54)
