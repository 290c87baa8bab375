"""Record golden values: every registered proxy × preset on 20 cells, tiny networks, synthetic images.

    python tests/golden/record_goldens.py [--proxy NAME ...]

Writes `tests/golden/<proxy>_<setting>.json`: the space the preset is meant for (`nb101` presets on
NB101 cells, every other preset on NB201), the tiny settings (tests/golden/tiny.py), the images and
seed, the comparison rule `tests/test_goldens.py` applies, and per cell the value, the status and the
numeric diagnostics. Before writing, the 20 cells are checked against the independent computations
of golden/independent.py (numpy, float64, written without the proxy's helpers) on the exact network
and inputs the proxy used — captured by wrapping the proxy's pure score function; what they measured
goes into the file's header (tests/test_independent_references.py reruns them on a few cells in every
test run):

* ntk — Θ from B explicit per-sample backward passes (zero grads, forward the batch, backward the
  sample's summed logits), G in float64, numpy eigvalsh → mean κ over repeats;
* naswot — binary codes of the hooked ReLU inputs, K = Σ [c cᵀ + (1−c)(1−c)ᵀ] (Hamming form) in
  numpy float64, numpy slogdet;
* naswot_v1 — numpy corrcoef and eigvalsh of the captured input Jacobian, the v1 formula;
* lr1 — own forward hooks on nn.ReLU (4-D inputs), numpy unique rows of the sign patterns;
* mgm — the authors' per-sample loop (batch-1 CE backward), entry walk, and the numpy centred-halves
  or Gram-mean formula;
* params — parameters counted on the built C=16, N=5 network; flops — closed form per conv/linear;
* angle / angle_feat / loss — the short training re-done with SGD written out on the captured network,
  proxy set and augmentation RNG: classifier cosine, last loss, feature cosine (no pseudo-weights).
Record only proxies whose own tests pass; re-record after an intended change of a proxy.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

import kernels  # noqa: F401 — importing it pins the AVX2 kernels, before torch is imported
import numpy as np
import torch

from zcbench.benchmarks.provenance import run_provenance
from zcbench.proxies.registry import REGISTRY, settings_dict, settings_hash
from zcbench.spaces import nb201
from zcbench.spaces.catalog import get_space
from zcbench.spaces.nb101 import random_arch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # `golden.tiny` as the tests import it
from golden.independent import CHECKS, DATASET, SEED, agrees, score  # noqa: E402
from golden.tiny import (  # noqa: E402
    IMAGE_SIZE,
    NUM_CLASSES,
    NUM_IMAGES,
    TEST_CELLS,
    comparable_diagnostics,
    preset_space,
    tiny_images,
    tiny_settings,
)

IMAGE_SEED = 0
CELL_SAMPLE_SEED = 2024
GOLDEN_CELLS = 20

# Comparison rule per proxy: None = bit-exact; else relative tolerance (absolute floor in ATOL).
# Integer-valued or closed-form proxies are exact; float32 gradient/eigen pipelines get a tolerance
# that covers re-association of float32 sums across CPUs and BLAS builds (MGM's centred sums cancel:
# its float32 fast and loop paths already differ by up to ~3 % on NB101 cells).
RTOL = {"params": None, "flops": None, "lr1": None, "naswot": 1e-9, "naswot_v1": 1e-5, "ntk": 1e-3,
        "mgm": 5e-2, "angle": 1e-4, "angle_feat": 1e-4, "loss": 1e-4}
DEFAULT_RTOL = 1e-4
ATOL = {"mgm": 1e-10}


def golden_cells(space: str) -> list[str]:
    """20 cells as arch strings: the space's test cells (tests/golden/tiny.py: for NB201 the dead,
    conv-rich and mixed ones), then seeded random cells."""
    fixed = list(TEST_CELLS[space].values())
    rng = np.random.default_rng(CELL_SAMPLE_SEED)
    if space == "nb201":
        sample = [str(nb201.index_to_arch(int(i))) for i in rng.choice(nb201.NUM_ARCHS, size=40, replace=False)]
    elif space == "nb101":
        sample = [str(random_arch(rng)) for _ in range(40)]
    else:
        raise SystemExit(f"no golden cells for space {space!r}: add a sampler to golden_cells")
    return (fixed + [c for c in sample if c not in fixed])[:GOLDEN_CELLS]


def encode(value: float):
    """JSON-safe float: non-finite values as strings (repr keeps finite floats bit-exact)."""
    return value if math.isfinite(value) else repr(value)


def record(name: str, preset: str, images) -> Path | None:
    spec = REGISTRY.get(name)
    settings, why_not = tiny_settings(spec, preset)
    if settings is None:
        print(f"skip {name}/{preset}: {why_not}")
        return None
    space = preset_space(spec, preset)
    cells = golden_cells(space)
    if name not in CHECKS:
        raise SystemExit(f"no independent check for proxy {name!r}: write one in golden/independent.py (CHECKS) "
                         "before recording its goldens")
    check = CHECKS[name](spec, settings, space, cells, images)
    if check["cells_compared"] and not agrees(check):
        raise SystemExit(f"{name}/{preset}: independent check FAILED: {check}")
    rows = []
    for cell in cells:
        result = score(spec, settings, space, cell, images)
        if result.status.startswith("error:"):
            raise SystemExit(f"{name}/{preset} cell {cell}: {result.status}")
        rows.append({"id": get_space(space).arch_id(get_space(space).arch(cell)), "arch": cell,
                     "value": encode(result.value), "status": result.status,
                     "diagnostics": {key: [encode(v) for v in values]
                                     for key, values in comparable_diagnostics(result.diagnostics).items()}})
    rtol = RTOL.get(name, DEFAULT_RTOL)
    golden = {
        "proxy": name, "version": spec.version, "setting": preset, "space": space,
        "settings": settings_dict(settings), "settings_hash": settings_hash(settings),
        "dataset": DATASET, "seed": SEED,
        "images": {"kind": "synthetic", "n": NUM_IMAGES, "size": IMAGE_SIZE, "num_classes": NUM_CLASSES,
                   "seed": IMAGE_SEED},
        "comparison": {"exact": rtol is None, "rtol": rtol, "atol": ATOL.get(name, 0.0),
                       "statuses": "must be equal", "diagnostics": "numeric ones, same rule as the value"},
        "independent_check": check,
        "recorded": {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "torch": torch.__version__, "numpy": np.__version__,
                     "git_commit": run_provenance()["git_commit"], "device": "cpu",
                     "torch_threads": torch.get_num_threads(),
                     "cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "cells": rows,
    }
    path = HERE / f"{name}_{preset}.json"
    path.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path.name}: check {check['method'][:60]}… max rel diff {check['max_rel_diff']}")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--proxy", action="append", default=None, help="proxy name (repeatable; default all)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    images = tiny_images(IMAGE_SEED)
    for name in args.proxy or REGISTRY.names():
        for preset in REGISTRY.get(name).presets:
            record(name, preset, images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
