"""The proxy registry: one `ProxySpec` per proxy, with metadata, settings presets and a wrapper.

`ProxySpec.score(arch, ...)` is the thin stateful shell around a proxy's pure `compute` function:
it resolves the arch, builds the settings from a named preset (`code` = what the authors' released
code computes, `paper` = what the paper text says), seeds a *forked* torch RNG (no global state
leaks), times the call, and turns exceptions and non-finite values into a recorded status.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from zcbench.proxies.settings import apply_overrides
from zcbench.spaces.catalog import DATASET_CLASSES, Space, get_space
from zcbench.spaces.errors import SettingsError, ZcbenchError
from zcbench.spaces.images import ImageSet
from zcbench.spaces.registry import Registry

COST_CLASSES = ("parameter-free", "forward", "backward", "per-sample-backward", "short-train")
NEEDS = ("images", "labels", "gradients")
STATUS_OK = "ok"
# Diagnostics key set on every result for a cell whose output cannot depend on its input (no
# input→output path avoids `none`): its value is the proxy's degenerate-case rule, not a measurement.
DEAD_CELL = "dead_cell"
ENTRY_POINT_GROUP = "zcbench.proxies"
# The built-in proxies, imported on the registry's first lookup.
BUILTIN_PROXIES = {
    "params": "zcbench.proxies.params:PARAMS", "flops": "zcbench.proxies.flops:FLOPS",
    "lr1": "zcbench.proxies.linear_regions:LR1", "mgm": "zcbench.proxies.mgm:MGM", "ntk": "zcbench.proxies.ntk:NTK",
    "naswot": "zcbench.proxies.naswot:NASWOT", "naswot_v1": "zcbench.proxies.naswot:NASWOT_V1",
    "angle": "zcbench.proxies.short_train:ANGLE", "angle_feat": "zcbench.proxies.short_train:ANGLE_FEAT",
    "loss": "zcbench.proxies.short_train:LOSS",
    # gradient-family zoo (protocols §G.1–G.9)
    "grad_norm": "zcbench.proxies.zoo_gradients:GRAD_NORM", "snip": "zcbench.proxies.zoo_gradients:SNIP",
    "plain": "zcbench.proxies.zoo_gradients:PLAIN", "grasp": "zcbench.proxies.zoo_gradients:GRASP",
    "fisher": "zcbench.proxies.zoo_gradients:FISHER", "synflow": "zcbench.proxies.zoo_gradients:SYNFLOW",
    "l2_norm": "zcbench.proxies.zoo_gradients:L2_NORM",
    # later zoo (protocols §G.10–G.14)
    "epe_nas": "zcbench.proxies.zoo_other:EPE_NAS", "zen": "zcbench.proxies.zoo_other:ZEN",
    "zico": "zcbench.proxies.zoo_other:ZICO", "meco": "zcbench.proxies.zoo_other:MECO",
    "swap": "zcbench.proxies.zoo_other:SWAP",
}


@dataclass(frozen=True)
class ProxyResult:
    """One score: `value` is meaningful only when `status == 'ok'`; otherwise status says why."""

    value: float
    status: str = STATUS_OK
    diagnostics: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def dead_cell(self) -> bool:
        """Scored on a cell with no live input→output path (see `ProxySpec.score`)."""
        return bool(self.diagnostics.get(DEAD_CELL))


def classify(value: float, diagnostics: dict | None = None) -> ProxyResult:
    """Wrap a raw float: +inf → 'inf', −inf → '-inf', NaN → 'nan'; the value is kept as computed."""
    value = float(value)
    status = STATUS_OK if math.isfinite(value) else ("nan" if math.isnan(value) else
                                                     ("inf" if value > 0 else "-inf"))
    return ProxyResult(value, status, dict(diagnostics or {}))


def error_status(exc: BaseException) -> str:
    return f"error:{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class EvalContext:
    """What a proxy's compute function gets besides its settings."""

    space: Space
    arch: Any
    data: ImageSet | None
    dataset: str
    seed: int
    device: torch.device

    def rng(self, stream: str = "data") -> np.random.Generator:
        """A numpy Generator determined by (seed, stream name): independent, reproducible streams."""
        digest = hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    @property
    def num_classes(self) -> int:
        if self.data is not None:
            return self.data.num_classes
        return DATASET_CLASSES.get(self.dataset, 10)

    def require_data(self, proxy: str) -> ImageSet:
        if self.data is None:
            raise ZcbenchError(f"proxy {proxy!r} needs images: pass an ImageSet (or --data-dir)")
        return self.data


def settings_dict(settings) -> dict:
    return dataclasses.asdict(settings)


def settings_hash(settings) -> str:
    """A short stable hash of a settings dataclass (its field values as sorted JSON)."""
    blob = json.dumps(settings_dict(settings), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ScoringInputs:
    """What a proxy's pure score function sees for one (arch, seed, settings): the freshly initialised
    network (mode and device set) and its first batch. `zcbench verify` hands these to a user's function."""

    network: Any  # torch.nn.Module; forward returns NetOutput(logits, features)
    images: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class ProxySpec:
    """Registry entry: metadata + settings presets + the pure compute function."""

    name: str
    version: int
    higher_is_better: bool
    cost_class: str
    needs: tuple[str, ...]
    paper: str
    summary: str
    settings_type: type
    presets: dict  # preset name ('code', 'paper', …) → settings instance
    compute: Callable[[EvalContext, Any], ProxyResult]
    spaces: tuple[str, ...] = ("nb201",)
    # Optional: (ctx, settings) → ScoringInputs, building exactly the network and batch `compute` builds
    # (same RNG draws in the same order). Lets `zcbench verify` score a user's function on identical inputs.
    build_inputs: Callable[[EvalContext, Any], ScoringInputs] | None = None

    def __post_init__(self):
        if self.cost_class not in COST_CLASSES:
            raise ValueError(f"{self.name}: cost class {self.cost_class!r} not in {COST_CLASSES}")
        if unknown := set(self.needs) - set(NEEDS):
            raise ValueError(f"{self.name}: unknown needs {sorted(unknown)}; expected a subset of {NEEDS}")
        if "code" not in self.presets:
            raise ValueError(f"{self.name}: every proxy has a 'code' preset")
        for preset, value in self.presets.items():
            if not isinstance(value, self.settings_type):
                raise TypeError(f"{self.name}: preset {preset!r} is not a {self.settings_type.__name__}")

    def settings(self, setting: str = "code", **overrides):
        """The settings of a named preset with field overrides, typed by the settings annotations
        (`batch_size="64"` → 64, see proxies.settings); unknown fields and invalid values are SettingsErrors."""
        if setting not in self.presets:
            raise SettingsError(f"proxy {self.name!r} has no setting {setting!r}; choose from {sorted(self.presets)}")
        names = {f.name for f in dataclasses.fields(self.settings_type)}
        if unknown := set(overrides) - names:
            raise SettingsError(f"proxy {self.name!r} has no settings field(s) {sorted(unknown)}; "
                                f"fields: {sorted(names)}")
        return apply_overrides(self.presets[setting], overrides)

    def metadata(self) -> dict:
        return {"name": self.name, "version": self.version, "higher_is_better": self.higher_is_better,
                "cost_class": self.cost_class, "needs": list(self.needs), "paper": self.paper,
                "summary": self.summary, "spaces": list(self.spaces),
                "settings": {k: settings_dict(v) for k, v in self.presets.items()}}

    def score(self, arch, *, space: str | Space = "nb201", data: ImageSet | None = None, setting: str = "code",
              settings=None, seed: int = 0, device: str | torch.device = "cpu", dataset: str = "cifar10",
              **overrides) -> ProxyResult:
        """Score one architecture. Never raises for a failure inside the proxy: the status records it."""
        space = get_space(space) if isinstance(space, str) else space
        if space.name not in self.spaces:
            raise ZcbenchError(f"proxy {self.name!r} does not support space {space.name!r} "
                               f"(supports {', '.join(self.spaces)})")
        settings = settings if settings is not None else self.settings(setting, **overrides)
        device = torch.device(device)
        ctx = EvalContext(space, space.arch(arch), data, dataset, seed, device)
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            try:
                result = self.compute(ctx, settings)
            except Exception as exc:  # recorded per architecture, never swallowed silently
                result = ProxyResult(float("nan"), error_status(exc))
        if result.ok and not math.isfinite(result.value):
            result = classify(result.value, result.diagnostics)
        if not space.has_live_path(ctx.arch):  # value and status kept as the proxy's rule gives them
            result = dataclasses.replace(result, diagnostics={**result.diagnostics, DEAD_CELL: True})
        return dataclasses.replace(result, seconds=time.perf_counter() - start)

    def scoring_inputs(self, arch, *, space: str | Space = "nb201", data: ImageSet | None = None,
                       setting: str = "code", settings=None, seed: int = 0, device: str | torch.device = "cpu",
                       dataset: str = "cifar10", then: Callable[[ScoringInputs], Any] | None = None, **overrides):
        """The network and batch `score` would compute on for these arguments (seeded the same way), or
        `then(inputs)` called inside that seeded RNG context (so it draws what the proxy's own scoring would)."""
        if self.build_inputs is None:
            raise ZcbenchError(f"proxy {self.name!r} does not expose the network and inputs it scores "
                               "(its ProxySpec has no build_inputs)")
        space = get_space(space) if isinstance(space, str) else space
        settings = settings if settings is not None else self.settings(setting, **overrides)
        device = torch.device(device)
        ctx = EvalContext(space, space.arch(arch), data, dataset, seed, device)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            inputs = self.build_inputs(ctx, settings)
            return inputs if then is None else then(inputs)


def proxy_registry(entries: dict[str, str] | None = None) -> Registry[ProxySpec]:
    """A proxy registry: `entries` (name → 'module:attr' of a ProxySpec) plus the installed distributions'
    `zcbench.proxies` entry points, each loaded on first use and reported on its own when it fails."""
    return Registry("proxy", ProxySpec, entries=entries, entry_point_group=ENTRY_POINT_GROUP, plural="proxies")


REGISTRY = proxy_registry(BUILTIN_PROXIES)


def get_proxy(name: str) -> ProxySpec:
    return REGISTRY.get(name)
