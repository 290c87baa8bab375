"""Every registered proxy × preset agrees with an independent computation, on a few cells, every run.

Generated from the registry: a new proxy or preset is checked without a test change, and a proxy
without an independent computation in tests/golden/independent.py (CHECKS) fails here. Each check
reruns the proxy on tiny settings while capturing the exact network and inputs it used, recomputes
the value without the proxy's helpers (numpy float64 loops, closed forms) and compares; unlike the
golden files, this catches a regression that also changes the recorded values.
"""
from __future__ import annotations

import pytest
from golden.independent import CHECKS, agrees
from golden.tiny import TEST_CELLS, preset_space, tiny_images, tiny_settings

from zcbench.proxies.registry import REGISTRY

CASES = [(name, preset) for name in REGISTRY.names() for preset in REGISTRY.get(name).presets]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name,preset", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_proxy_agrees_with_its_independent_computation(name, preset):
    spec = REGISTRY.get(name)
    assert name in CHECKS, f"no independent computation for proxy {name!r}: add one to tests/golden/independent.py"
    settings, why_not = tiny_settings(spec, preset)
    assert settings is not None, why_not
    space = preset_space(spec, preset)
    cells = list(TEST_CELLS[space].values())  # conv-rich, mixed and (NB201) the dead cell
    check = CHECKS[name](spec, settings, space, cells, tiny_images())
    assert agrees(check), check
