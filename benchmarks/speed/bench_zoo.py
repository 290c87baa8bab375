"""The saving of the shared gradient pass (protocols §G.1): grad_norm, snip, plain and fisher on one architecture
from one cross-entropy forward/backward, against one pass per proxy, full size (C16 N5, 32 px, the
`naslib` preset's batch of 32), in the same run.

    pytest benchmarks/speed/bench_zoo.py --benchmark-enable

Both variants score the same four proxies with the same seed and check the values are identical; the
speed table (conftest.py) gives the ratio and the achieved FLOP/s (closed-form forward FLOPs × 3 for
forward + backward × the batch × the passes made). BENCH_ROUNDS (default 2) sizes the run.
"""
from __future__ import annotations

import os

import pytest

from zcbench.proxies import zoo_gradients
from zcbench.proxies.registry import REGISTRY
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import resolve_arch

SHARED = ("grad_norm", "snip", "plain", "fisher")
ARCH = 6111
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
VALUES: dict[str, list[float]] = {}


def score_shared(images, share: bool) -> list[float]:
    """The scores of SHARED on ARCH; without `share` the pass cache is emptied before each proxy."""
    zoo_gradients.clear_run_cache()
    values = []
    for name in SHARED:
        if not share:
            zoo_gradients.clear_run_cache()
        values.append(REGISTRY.get(name).score(ARCH, data=images, setting="naslib").value)
    return values


@pytest.mark.parametrize("share", [False, True], ids=["one-pass-per-proxy", "shared-pass"])
def test_shared_gradient_pass(benchmark, speed_table, threads, share):
    images = synthetic_imageset(n=256, size=32, num_classes=10, seed=0)
    values, cpu, wall = speed_table.run(benchmark, score_shared, lambda: (images, share), ROUNDS)
    VALUES[str(share)] = values
    passes = 1 if share else len(SHARED)
    batch = REGISTRY.get("grad_norm").presets["naslib"].batch_size
    flops = 3 * 2e6 * get_space("nb201").flops(resolve_arch(ARCH), 32, 10) * batch * passes
    check = "reference" if not share else (
        "values identical to one pass per proxy" if VALUES.get("False") == values else "VALUES DIFFER")
    speed_table.record(benchmark, group=f"zoo {'+'.join(SHARED)} nb201-{ARCH}",
                       variant="shared pass" if share else "one pass per proxy", cpu_seconds=cpu, wall_seconds=wall,
                       flops=flops, reference=None if not share else "one pass per proxy", value_check=check)
    if share:
        assert values == VALUES["False"]
