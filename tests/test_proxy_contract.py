"""The contract every registered proxy keeps, generated from the registry (REGISTRY.names() × presets).

Each preset runs in the space it is meant for (`golden.tiny.preset_space`), on a tiny network (C=4,
one cell per stage, see tests/golden/tiny.py) with synthetic 8×8 images:
* a healthy cell gives a value with status 'ok' (finite), or a flagged status whose value agrees with
  it; a conv-rich cell is never inf/NaN/singular;
* the same seed gives a bit-identical value on CPU (memoised proxies have their cache cleared first);
* the call leaves global state alone (torch/numpy/python RNGs, threads, grad mode, default dtype, …);
* a dead cell (every edge `none`) never gives status 'ok' with a NaN value;
* diagnostics are JSON-serialisable (they are written into result rows);
* higher_is_better is a bool, and for #Param it matches "more parameters ⇒ higher value".
"""
from __future__ import annotations

import json
import math
import random
import struct
import sys

import numpy as np
import pytest
import torch
from golden.tiny import TEST_CELLS, preset_space, tiny_images, tiny_settings

from zcbench.proxies.registry import REGISTRY, ProxyResult

# Statuses whose value must be of the matching non-finite kind (registry.classify).
NON_FINITE_STATUS = {"inf": lambda v: v == math.inf, "-inf": lambda v: v == -math.inf, "nan": math.isnan}
SEED = 3

CASES = [pytest.param(name, preset, preset_space(spec, preset), id=f"{name}-{preset}-{preset_space(spec, preset)}")
         for name in REGISTRY.names() for spec in [REGISTRY.get(name)] for preset in spec.presets]


@pytest.fixture(scope="module")
def images():
    return tiny_images()


def tiny(name, preset, space):
    spec = REGISTRY.get(name)
    if space not in TEST_CELLS:
        pytest.xfail(f"no test cells for space {space!r}: add them to TEST_CELLS in tests/golden/tiny.py")
    settings, why_not = tiny_settings(spec, preset)
    if settings is None:
        pytest.xfail(why_not)
    return spec, settings


def forget_memoised_runs(spec) -> None:
    """Proxies that memoise expensive runs in-process expose `clear_run_cache()`; clear it so a
    repeated call recomputes instead of returning the stored result."""
    clear = getattr(sys.modules[spec.compute.__module__], "clear_run_cache", None)
    if clear is not None:
        clear()


def score(spec, settings, space, cell, images, seed=SEED) -> ProxyResult:
    forget_memoised_runs(spec)
    return spec.score(TEST_CELLS[space][cell], space=space, data=images, settings=settings, seed=seed,
                      dataset="cifar10")


def global_state() -> dict:
    return {"torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(), "python_rng": random.getstate(),
            "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "grad_enabled": torch.is_grad_enabled(), "inference_mode": torch.is_inference_mode_enabled(),
            "default_dtype": torch.get_default_dtype(),
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "anomaly": torch.is_anomaly_enabled(), "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "cudnn_deterministic": torch.backends.cudnn.deterministic}


def assert_same_state(before: dict, after: dict) -> None:
    for key, value in before.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, after[key]), f"{key} changed"
        elif key == "numpy_rng":
            assert value[0] == after[key][0] and np.array_equal(value[1], after[key][1]) \
                and value[2:] == after[key][2:], "numpy global RNG changed"
        else:
            assert after[key] == value, f"{key} changed: {value!r} → {after[key]!r}"


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def assert_well_formed(result: ProxyResult) -> None:
    assert isinstance(result, ProxyResult)
    assert not result.status.startswith("error:"), result.status
    assert isinstance(result.value, float), type(result.value)
    assert result.seconds >= 0
    if result.ok:
        assert math.isfinite(result.value), f"status 'ok' with value {result.value}"
    elif result.status in NON_FINITE_STATUS:
        assert NON_FINITE_STATUS[result.status](result.value), f"status {result.status!r}, value {result.value}"
    else:
        assert result.status and result.status == result.status.strip() and " " not in result.status, result.status
    json.dumps(result.diagnostics, allow_nan=True)


@pytest.mark.parametrize("name,preset,space", CASES)
@pytest.mark.parametrize("cell", ["conv", "mixed"])
def test_healthy_cell_scores_without_error(name, preset, space, cell, images):
    spec, settings = tiny(name, preset, space)
    result = score(spec, settings, space, cell, images)
    assert_well_formed(result)


@pytest.mark.parametrize("name,preset,space", CASES)
def test_conv_cell_gets_a_finite_value(name, preset, space, images):
    """A conv-rich cell is the easy case: no proxy may call it inf/NaN/singular. A rule status that
    keeps a finite value is allowed (Revisit's 'trivial' filter fires on tiny, briefly trained nets)."""
    spec, settings = tiny(name, preset, space)
    result = score(spec, settings, space, "conv", images)
    assert math.isfinite(result.value) and result.status not in (*NON_FINITE_STATUS, "singular"), \
        (result.status, result.value, result.diagnostics)


@pytest.mark.parametrize("name,preset,space", CASES)
def test_same_seed_is_bit_identical_on_cpu(name, preset, space, images):
    spec, settings = tiny(name, preset, space)
    first = score(spec, settings, space, "mixed", images)
    second = score(spec, settings, space, "mixed", images)
    assert bits(first.value) == bits(second.value), (first.value, second.value)
    assert first.status == second.status


@pytest.mark.parametrize("name,preset,space", CASES)
def test_scoring_leaves_global_state_unchanged(name, preset, space, images):
    spec, settings = tiny(name, preset, space)
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    before = global_state()
    score(spec, settings, space, "conv", images)
    assert_same_state(before, global_state())


@pytest.mark.parametrize("name,preset,space", [c for c in CASES if "dead" in TEST_CELLS.get(c.values[2], {})])
def test_dead_cell_is_never_ok_with_nan(name, preset, space, images):
    spec, settings = tiny(name, preset, space)
    result = score(spec, settings, space, "dead", images)
    assert_well_formed(result)
    assert not (result.ok and math.isnan(result.value))


@pytest.mark.parametrize("name", REGISTRY.names())
def test_direction_is_declared_as_bool(name):
    assert type(REGISTRY.get(name).higher_is_better) is bool


@pytest.mark.parametrize("preset", sorted(REGISTRY.get("params").presets))
def test_params_value_grows_with_the_parameter_count(preset):
    """#Param is higher-is-better and its value must order cells like their real parameter counts."""
    from zcbench.spaces.nb201 import parse_arch
    from zcbench.spaces.nb201_networks import build_network

    spec = REGISTRY.get("params")
    assert spec.higher_is_better is True
    cells = [TEST_CELLS["nb201"][c] for c in ("dead", "mixed", "conv")]
    values = [spec.score(c, setting=preset).value for c in cells]
    counts = [sum(p.numel() for p in build_network(parse_arch(c)).parameters()) for c in cells]
    assert counts == sorted(counts) and len(set(counts)) == 3
    assert values == sorted(values) and len(set(values)) == 3


def test_state_check_catches_a_proxy_that_leaks_global_state(images):
    """The checks above can fail: a proxy that reseeds numpy's global RNG and turns off grad mode."""
    import dataclasses

    from zcbench.proxies.registry import ProxySpec

    @dataclasses.dataclass(frozen=True)
    class NoSettings:
        unit: int = 1

    def leaky(ctx, settings):
        np.random.seed(0)
        torch.set_grad_enabled(False)
        return ProxyResult(1.0)

    spec = ProxySpec(name="leaky", version=1, higher_is_better=True, cost_class="parameter-free", needs=(),
                     paper="test", summary="leaks", settings_type=NoSettings, presets={"code": NoSettings()},
                     compute=leaky)
    before = global_state()
    try:
        spec.score(0)
        with pytest.raises(AssertionError, match="numpy|grad_enabled"):
            assert_same_state(before, global_state())
    finally:
        torch.set_grad_enabled(True)
