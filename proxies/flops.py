"""FLOPs: multiply-accumulates of the evaluation network, as the NB201 API counts them (spaces.flops).

NB201: closed form per op on the C=16, N=5 network; NB101: counted on the stem-128 network (as
`zcbench space export nb101` reports them).

A size baseline like #Param (protocols §A5): none of the four papers defines it, so the `code` and
`paper` presets are the same. Higher is better, as for #Param: on NB201 larger cells train to higher
accuracy, and the zero-cost-proxy literature uses FLOPs as a positively correlated baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec
from zcbench.proxies.settings import Settings
from zcbench.spaces.catalog import DATASET_INPUT_SIZE
from zcbench.spaces.errors import ZcbenchError


@dataclass(frozen=True)
class FlopSettings(Settings):
    """`None` takes the dataset's value: input 32 px (CIFAR) or 16 px (ImageNet16-120); 10/100/120 classes."""

    MINIMUM = {"input_size": 1, "num_classes": 1}

    input_size: int | None = None
    num_classes: int | None = None


def flops_score(ctx: EvalContext, settings: FlopSettings) -> ProxyResult:
    if settings.input_size is None and ctx.dataset not in DATASET_INPUT_SIZE:
        raise ZcbenchError(f"no input size known for dataset {ctx.dataset!r} (known: {sorted(DATASET_INPUT_SIZE)}); "
                           f"set the flops setting input_size")
    size = settings.input_size or DATASET_INPUT_SIZE[ctx.dataset]
    classes = settings.num_classes or ctx.num_classes
    return ProxyResult(ctx.space.flops(ctx.arch, size, classes), diagnostics={
        "input_size": size, "num_classes": classes, "unit": "MFLOPs"})


FLOPS = ProxySpec(
    name="flops", version=1, higher_is_better=True, cost_class="parameter-free", needs=(),
    paper="NAS-Bench-201 (Dong & Yang, ICLR'20) cost info",
    summary="MFLOPs of the evaluation network (NB201 C=16, N=5; NB101 stem 128)",
    settings_type=FlopSettings, presets={"code": FlopSettings(), "paper": FlopSettings()},
    compute=flops_score, spaces=("nb201", "nb101"))
