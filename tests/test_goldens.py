"""Golden-value regression: every proxy × preset reproduces the values recorded in tests/golden/.

Each golden file is self-describing (settings, images, seed, comparison rule, what the independent
check measured when it was recorded); each cell's value, status and numeric diagnostics are compared,
with the CPU kernels the values were recorded with (AVX2, pinned by tests/golden/kernels.py).
The independent check itself runs in the default run, on a few cells: tests/test_independent_references.py.
Regenerate with `python tests/golden/record_goldens.py --proxy NAME`
after an intended change of a proxy, never to silence an unexplained difference.
"""
from __future__ import annotations

import json
import math
import os
import platform
import struct
from pathlib import Path

import pytest
from golden.kernels import GOLDEN_KERNELS
from golden.tiny import comparable_diagnostics, preset_space, tiny_settings

from zcbench.proxies.registry import REGISTRY, settings_hash
from zcbench.spaces.images import synthetic_imageset

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.json"))
FAST_CELLS = 6  # cells checked in the default run; the rest under -m slow
RECORD_HINT = "re-record with `python tests/golden/record_goldens.py --proxy {proxy}` if the change is intended"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def decode(value) -> float:
    return float(value)  # finite floats are JSON numbers, non-finite ones the strings 'inf', '-inf', 'nan'


def golden_settings(spec, golden: dict):
    """The recorded settings as the proxy's dataclass (JSON lists back to tuples)."""
    preset = spec.settings(golden["setting"])
    fields = {k: tuple(v) if isinstance(getattr(preset, k, None), tuple) and isinstance(v, list) else v
              for k, v in golden["settings"].items()}
    return spec.settings(golden["setting"], **fields)


def matches(got: float, want: float, rule: dict) -> bool:
    if rule["exact"] or not (math.isfinite(got) and math.isfinite(want)):
        return struct.pack("<d", got) == struct.pack("<d", want) or (math.isnan(got) and math.isnan(want))
    return abs(got - want) <= rule["atol"] + rule["rtol"] * abs(want)


def test_golden_files_exist_for_every_proxy_and_preset():
    recorded = {(g["proxy"], g["setting"]) for g in map(load, GOLDEN_FILES)}
    missing = [f"{spec.name}/{preset}" for spec in REGISTRY for preset in spec.presets
               if (spec.name, preset) not in recorded and tiny_settings(spec, preset)[0] is not None]
    assert not missing, f"no golden file for {missing}: run `python tests/golden/record_goldens.py --proxy NAME`"


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="the pin is for x86-64 only")
def test_the_session_runs_the_kernels_goldens_were_recorded_with():
    """tests/golden/kernels.py pins the AVX2 kernels before torch loads (unless the caller chose others)."""
    import torch

    wanted = os.environ["ATEN_CPU_CAPABILITY"]
    assert GOLDEN_KERNELS["ATEN_CPU_CAPABILITY"] == "avx2"
    assert torch.backends.cpu.get_cpu_capability().lower() == wanted.lower()


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_golden_header_describes_its_cells(path):
    golden = load(path)
    assert golden["independent_check"]["method"]
    assert path.stem == f"{golden['proxy']}_{golden['setting']}"
    assert golden["space"] == preset_space(REGISTRY.get(golden["proxy"]), golden["setting"])
    assert len(golden["cells"]) == 20


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_golden_settings_are_the_current_tiny_preset(path):
    """A changed preset (or proxy version) makes the file describe something the code no longer runs."""
    golden = load(path)
    spec = REGISTRY.get(golden["proxy"])
    assert spec.version == golden["version"], f"proxy version {spec.version} ≠ recorded {golden['version']}: " + \
        RECORD_HINT.format(proxy=spec.name)
    current, _ = tiny_settings(spec, golden["setting"])
    assert settings_hash(current) == golden["settings_hash"], \
        f"{spec.name}/{golden['setting']} tiny settings changed: " + RECORD_HINT.format(proxy=spec.name)


def check_cells(path: Path, cells: slice) -> None:
    golden = load(path)
    spec = REGISTRY.get(golden["proxy"])
    settings = golden_settings(spec, golden)
    assert settings_hash(settings) == golden["settings_hash"]
    img = golden["images"]
    images = synthetic_imageset(n=img["n"], size=img["size"], num_classes=img["num_classes"], seed=img["seed"])
    rule = golden["comparison"]
    differences = []
    for cell in golden["cells"][cells]:
        result = spec.score(cell["arch"], space=golden["space"], data=images, settings=settings,
                            seed=golden["seed"], dataset=golden["dataset"])
        want = decode(cell["value"])
        if result.status != cell["status"] or not matches(result.value, want, rule):
            differences.append(f"cell {cell['id']}: got {result.value!r} ({result.status}), "
                               f"golden {want!r} ({cell['status']})")
        got = comparable_diagnostics(result.diagnostics)
        for key, recorded in cell["diagnostics"].items():
            values = got.get(key, [])
            if len(values) != len(recorded) or not all(matches(v, decode(w), rule) for v, w in zip(values, recorded)):
                differences.append(f"cell {cell['id']} diagnostic {key}: got {values}, golden {recorded}")
        if unrecorded := sorted(set(got) - set(cell["diagnostics"])):
            differences.append(f"cell {cell['id']}: diagnostics {unrecorded} are not in the golden file")
    tolerance = "bit-exact" if rule["exact"] else f"rtol {rule['rtol']}, atol {rule['atol']}"
    assert not differences, (f"{path.name} ({tolerance}): {len(differences)} cells differ:\n  "
                             + "\n  ".join(differences) + "\n" + RECORD_HINT.format(proxy=spec.name))


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_proxy_reproduces_its_golden_values(path):
    """The first cells of each file: the space's test cells (conv-rich, mixed, NB201's dead one), then random ones."""
    check_cells(path, slice(None, FAST_CELLS))


@pytest.mark.slow
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_proxy_reproduces_its_remaining_golden_values(path):
    check_cells(path, slice(FAST_CELLS, None))
