"""#Param: the parameter count of the evaluation network (Revisit's strongest "proxy", protocols §A5).

NB201: the C=16, N=5 network; NB101: the official stem-128 network, i.e. the records'
`trainable_parameters` (protocols §A5, §E.10), not the stem-16 network the other proxies score.
"""
from __future__ import annotations

from dataclasses import dataclass

from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec
from zcbench.proxies.settings import Settings

UNITS = ("millions", "count")


@dataclass(frozen=True)
class ParamSettings(Settings):
    """`num_classes=None` uses the dataset's head (10/100/120), as the NB201 API's cost info does;
    `unit`: millions (NB201 reports "params" in units of 10^6) or count."""

    CHOICES = {"unit": UNITS}
    MINIMUM = {"num_classes": 1}

    num_classes: int | None = None
    unit: str = "millions"


def param_count_score(ctx: EvalContext, settings: ParamSettings) -> ProxyResult:
    classes = settings.num_classes or ctx.num_classes
    count = ctx.space.param_count(ctx.arch, num_classes=classes)
    value = count / 1e6 if settings.unit == "millions" else float(count)
    return ProxyResult(value, diagnostics={"params": count, "num_classes": classes})


PARAMS = ProxySpec(
    name="params", version=1, higher_is_better=True, cost_class="parameter-free", needs=(),
    paper="Revisit (Yang et al., WACV'23) §3",
    summary="#Param (10^6) of the C=16, N=5 NB201 network / the stem-128 NB101 network",
    settings_type=ParamSettings, presets={"code": ParamSettings(), "paper": ParamSettings()},
    compute=param_count_score, spaces=("nb201", "nb101"))
