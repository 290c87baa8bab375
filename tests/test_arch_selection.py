"""Rows of a #Param-group sweep (the Revisit groups: a biased subset of NB201) feed only the group
experiment: mixed into a correlation's proxy seeds they would turn its uniform arch sample into a
biased one."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from test_reproduce import write_library_table

from zcbench.proxies.registry import REGISTRY, settings_hash
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.results import arch_selection


def naswot_rows(cells, seeds) -> pd.DataFrame:
    return pd.DataFrame([{"space": "nb201", "arch": str(c), "proxy": "naswot", "setting": "code",
                          "settings_hash": settings_hash(REGISTRY.get("naswot").presets["code"]), "dataset": "cifar10",
                          "seed": s, "score": float(c % 97), "status": "ok"} for s in seeds for c in cells])


def write_sweep(folder, frame, select: str):
    write_library_table(folder, frame)
    (folder / "sweep.json").write_text(json.dumps({"definition": {"archs": {"select": select}}}))


def test_group_sweeps_reach_only_the_group_experiment(tmp_path):
    write_sweep(tmp_path / "sweeps" / "whole", naswot_rows(range(0, 15625, 5), [0]), "all")
    write_sweep(tmp_path / "sweeps" / "sample", naswot_rows(range(0, 15625, 50), [1, 2]), "sample")
    write_sweep(tmp_path / "sweeps" / "groups", naswot_rows(range(3, 600), [1, 2]), "param_group")
    inputs = ins.Inputs(None, tmp_path, True, 0)
    inputs.results = ins.load_results(tmp_path)
    assert sorted(set(inputs.results["arch_select"])) == ["all", "param_group", "sample"]
    plain = ins.seed_scores(inputs, "naswot", "cifar10")
    assert sorted(plain) == [0, 1, 2] and len(plain[1].archs) == len(range(0, 15625, 50))
    grouped = ins.seed_scores(inputs, "naswot", "cifar10", groups=True)
    assert len(grouped[1].archs) == len(set(range(0, 15625, 50)) | set(range(3, 600)))
    assert np.array_equal(grouped[0].archs, plain[0].archs)


def test_a_folder_without_sweep_file_is_unknown(tmp_path):
    assert arch_selection(tmp_path) == "unknown"
