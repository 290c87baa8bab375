"""Cost of one NTK κ (`ntk`, `code` settings, one repeat) per architecture on CPU: the reference loop
against every candidate fast path, in the same run, with achieved FLOP/s.

    pytest benchmarks/speed/bench_ntk.py --benchmark-enable

C=16, N=5 network with 10 outputs on 32 px images. Variants (each κ compared with the loop's):
* `loop` — the reference (`method='loop'`): one forward of the batch, B backward passes through the
  retained graph;
* `vectorized` — `method='vectorized'`: torch.func jacrev of the B summed outputs (vmap over the B vjps);
* `loop+channels_last` — the loop on a channels_last network and batch (a candidate, not a setting:
  see docs/benchmarks.md "Expensive proxies");
* `batched-backward` — the loop's retained graph back-propagated 8 one-hot output rows at a time with
  `torch.autograd.grad(..., is_grads_batched=True)` (a candidate, not a setting).

FLOPs: the closed-form forward count of proxies/flops.py (NB201 convention: multiply-accumulates,
×2 for FLOPs) per sample × B for the forward + 2 × that per backward pass × B passes. NTK_BENCH_BATCH
(default 16: the loop's cost grows ~B², the code preset uses 72), BENCH_ROUNDS (default 2) and
BENCH_THREADS (default 1) size the run.
"""
import dataclasses
import os

import numpy as np
import pytest
import torch

from zcbench.proxies import ntk
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network

ARCHS = {
    "all-conv3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nb201-6111": 6111,
}
VARIANTS = ("loop", "vectorized", "loop+channels_last", "batched-backward")
BATCH = int(os.environ.get("NTK_BENCH_BATCH", "16"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BATCHED_CHUNK = 8
KAPPAS: dict[str, float] = {}


def gradients_batched_backward(network, images, chunk=BATCHED_CHUNK) -> list[torch.Tensor]:
    """G from the retained graph, `chunk` one-hot output rows per vmapped backward (is_grads_batched)."""
    params = list(ntk.weight_parameters(network).values())
    out = network(images).logits
    n = out.shape[0]
    one_hot_rows = torch.eye(n, dtype=out.dtype)[:, :, None].expand(n, n, out.shape[1])
    blocks = [[] for _ in params]
    for start in range(0, n, chunk):
        grads = torch.autograd.grad(out, params, grad_outputs=one_hot_rows[start:start + chunk], retain_graph=True,
                                    is_grads_batched=True, allow_unused=True)
        for block, grad in zip(blocks, grads):
            block.append(grad.flatten(1))
    return [torch.cat(block) for block in blocks]


def kappa(variant: str, network, images, settings) -> float:
    if variant in ("loop", "vectorized"):
        return ntk.ntk_condition_number(network, images, dataclasses.replace(settings, method=variant)).value
    if variant == "loop+channels_last":
        network = network.to(memory_format=torch.channels_last)
        return ntk.ntk_condition_number(network, images.contiguous(memory_format=torch.channels_last),
                                        settings).value
    blocks = gradients_batched_backward(network, images)
    return ntk.condition_number(ntk.gram(blocks, ntk.EIG_DTYPES[settings.eig_dtype]), settings.nan_to_1e5).value


@pytest.fixture(scope="module")
def batch():
    data = synthetic_imageset(n=max(BATCH, 16), size=32, num_classes=10, seed=0)
    images, _, _ = data.batch(BATCH, np.random.default_rng(0), augment=True)
    return images


@pytest.mark.parametrize("label,variant", [(a, v) for a in ARCHS for v in VARIANTS])
def test_one_kappa(benchmark, speed_table, threads, batch, label, variant):
    settings = dataclasses.replace(ntk.CODE, method="loop")
    arch = resolve_arch(ARCHS[label])

    def fresh_network():
        torch.manual_seed(0)
        return build_network(arch, channels=16, cells_per_stage=5, num_classes=10).train(), batch, settings

    value, cpu, wall = speed_table.run(benchmark, lambda *a: kappa(variant, *a), fresh_network, ROUNDS)
    forward = 2e6 * get_space("nb201").flops(arch, 32, 10) * BATCH  # FLOPs of one forward of the batch
    KAPPAS.setdefault(label, value)  # the loop runs first
    rel = abs(value - KAPPAS[label]) / abs(KAPPAS[label])
    speed_table.record(benchmark, group=f"ntk κ {label}, B={BATCH}", variant=variant, cpu_seconds=cpu,
                       wall_seconds=wall, flops=forward * (1 + 2 * BATCH), reference="loop", kappa=value,
                       value_check=f"κ rel. diff vs loop {rel:.1e} (float32)")
    assert np.isfinite(value)
