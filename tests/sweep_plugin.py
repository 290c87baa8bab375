"""Test-only proxies for the sweep tests, registered by importing this module (a sweep `plugins` entry).

They run in spawned workers and submitit jobs too, which import this module by name (the tests put
`tests/` on PYTHONPATH). Each is cheap and deterministic given (arch, seed, data):
* `sweeptest_tiny`  — mean logit of a C=4, N=1 network on a seeded image batch; `delay` slows it.
* `sweeptest_flaky` — raises ValueError for NB201 indices ≡ 0 mod 5, returns NaN for ≡ 0 mod 7.
* `sweeptest_oom`   — raises CUDA's OutOfMemoryError while `micro_batch` > `fits`, and offers
                      `split_for_oom` (halve the micro-batch); the value does not depend on the split.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from zcbench.proxies.registry import REGISTRY, EvalContext, ProxyResult, ProxySpec


@dataclass(frozen=True)
class TinySettings:
    channels: int = 4
    cells: int = 1
    batch: int = 8
    delay: float = 0.0


def tiny_score(ctx: EvalContext, s: TinySettings) -> ProxyResult:
    data = ctx.require_data("sweeptest_tiny")
    images, _, _ = data.batch(s.batch, ctx.rng("data"))
    network = ctx.space.build(ctx.arch, channels=s.channels, cells=s.cells, num_classes=ctx.num_classes)
    with torch.no_grad():
        value = float(network(images).logits.double().mean())
    time.sleep(s.delay)
    return ProxyResult(value, diagnostics={"batch": s.batch})


@dataclass(frozen=True)
class FlakySettings:
    pass


def flaky_score(ctx: EvalContext, s: FlakySettings) -> ProxyResult:
    if ctx.arch.index % 5 == 0:
        raise ValueError(f"planted failure for arch {ctx.arch.index}")
    return ProxyResult(float("nan") if ctx.arch.index % 7 == 0 else float(ctx.arch.index))


@dataclass(frozen=True)
class OomSettings:
    batch: int = 16
    micro_batch: int = 16
    fits: int = 4  # largest micro-batch that "fits in memory"

    def split_for_oom(self):
        return dataclasses.replace(self, micro_batch=self.micro_batch // 2) if self.micro_batch > 1 else None


def oom_score(ctx: EvalContext, s: OomSettings) -> ProxyResult:
    if s.micro_batch > s.fits:
        raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (planted: micro-batch {s.micro_batch} > {s.fits})")
    return ProxyResult(float(ctx.arch.index * s.batch), diagnostics={"micro_batch": s.micro_batch})


def _register(name, settings_type, compute, needs=()):
    if name not in REGISTRY:
        REGISTRY.register(ProxySpec(name=name, version=1, higher_is_better=True, cost_class="forward", needs=needs,
                                    paper="test", summary=f"sweep test proxy {name}", settings_type=settings_type,
                                    presets={"code": settings_type()}, compute=compute, spaces=("nb201",)))


_register("sweeptest_tiny", TinySettings, tiny_score, needs=("images",))
_register("sweeptest_flaky", FlakySettings, flaky_score)
_register("sweeptest_oom", OomSettings, oom_score)
