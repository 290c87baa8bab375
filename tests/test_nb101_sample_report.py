"""The NB101 sample τ table: its statistic against scipy on hand-grouped data, computed from a library sample
(one row per module, every sample row taking its module's score), and the ledger's R12 entries reading it
(always indicative; named as missing when absent; ambiguous samples refused)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from zcbench.reports.ledger import all_claims
from zcbench.reports.ledger.inputs import Inputs
from zcbench.reports.ledger.run import evaluate
from zcbench.reports.nb101_sample import (
    ACCURACY_NOTE,
    NB101SampleTaus,
    load_nb101_sample_taus,
    nb101_sample_taus,
    sample_tau_table,
)
from zcbench.spaces.errors import CorruptDataError

RESULTS = Path(__file__).parents[1] / "results"

METRICS = {"#Param": ("params", 1.0), "NTK (-kappa)": ("ntk", -1.0)}


def random_sample(seed=0, n=40, modules=15):
    """Rows of a sample with repeated modules, tied scores and one failed NTK row."""
    rng = np.random.default_rng(seed)
    module = rng.integers(0, modules, n)
    cells = pd.DataFrame({"module_hash": [f"m{m}" for m in module],
                          "val_accuracy": rng.integers(80, 95, n).astype(float)})  # ties
    params = (module * 1000).astype(float)  # a function of the module, as #Param is
    ntk = rng.integers(0, 6, n).astype(float)  # ties
    ntk[3] = np.nan
    rows = [{"cell": c, "module_hash": cells.module_hash[c], "proxy": "params", "value": params[c], "status": "ok"}
            for c in range(n)]
    rows += [{"cell": c, "module_hash": cells.module_hash[c], "proxy": "ntk", "value": ntk[c],
              "status": "nonfinite: nan" if c == 3 else "ok"} for c in range(n)]
    return pd.DataFrame(rows), cells, params, ntk


def test_row_and_module_taus_equal_scipy_on_hand_grouped_values():
    scores, cells, params, ntk = random_sample()
    table = sample_tau_table(scores, cells, METRICS, "note").set_index(["unit", "metric"])
    ok = np.isfinite(ntk)
    row = table.loc[("row", "NTK (-kappa)")]
    assert row["n"] == ok.sum() and json.loads(row["excluded_statuses"]) == {"nonfinite: nan": 1}
    assert row["kendall_tau_b"] == pytest.approx(kendalltau(-ntk[ok], cells.val_accuracy[ok]).statistic)
    assert row["kendall_tau_b_params"] == pytest.approx(kendalltau(-ntk[ok], params[ok]).statistic)
    per_module = {}
    for c in np.flatnonzero(ok):
        per_module.setdefault(cells.module_hash[c], []).append(c)
    names = sorted(per_module)
    score = [-np.mean(ntk[per_module[m]]) for m in names]
    accuracy = [cells.val_accuracy[cells.module_hash == m].mean() for m in names]  # all rows of the module
    size = [params[per_module[m][0]] for m in names]
    module = table.loc[("module", "NTK (-kappa)")]
    assert module["n"] == len(names)
    assert module["kendall_tau_b"] == pytest.approx(kendalltau(score, accuracy).statistic)
    assert module["kendall_tau_b_params"] == pytest.approx(kendalltau(score, size).statistic)


def module_rows(proxies=("params", "ntk"), modules=15, seed=1):
    """Library rows of sample `nb101_sample500` (sweep schema, one row per module: `arch` = module hash):
    #Param a function of the module, tied values of the other proxies, one failed row each."""
    rng = np.random.default_rng(seed)
    rows = []
    for proxy in proxies:
        values = np.arange(modules) * 1000.0 if proxy == "params" else rng.integers(0, 6, modules).astype(float)
        if proxy != "params":
            values[3] = np.nan
        rows += [{"sweep": "nb101_sample500", "arch": f"m{m}", "proxy": proxy, "value": values[m],
                  "status": "nonfinite: nan" if np.isnan(values[m]) else "ok", "setting": "nb101",
                  "settings_hash": f"hash-{proxy}", "settings_json": json.dumps({"batch_size": 16}),
                  "torch_version": "2.13", "device": "cpu"} for m in range(modules)]
    return pd.DataFrame(rows)


def sample_cells():
    return random_sample()[1].assign(num_vertices=5)


def test_sample_taus_give_every_row_its_module_score():
    cells, results = sample_cells(), module_rows()
    table, meta = nb101_sample_taus(results, "nb101_sample500", cells)
    by_module = results.set_index(["proxy", "arch"])
    per_row = pd.DataFrame([{"cell": c, "module_hash": m, "proxy": proxy,
                             **by_module.loc[(proxy, m), ["value", "status"]]}
                            for c, m in cells["module_hash"].items() for proxy in ("params", "ntk")])
    expected = sample_tau_table(per_row, cells, METRICS, ACCURACY_NOTE).set_index(["unit", "metric"])
    got = table.set_index(["unit", "metric"])
    pd.testing.assert_frame_equal(got.loc[expected.index], expected)
    assert meta["sample_composition"]["rows"] == len(cells)
    assert meta["ntk_batch_note"] == "NTK batch 16, not the code setting's 72"


def test_sample_with_two_settings_of_one_proxy_is_refused():
    results = module_rows()
    results.loc[results.index[-1], "settings_hash"] = "other"
    with pytest.raises(CorruptDataError, match="several settings"):
        nb101_sample_taus(results, "nb101_sample500", sample_cells())


def r12_entries(sample):
    inputs = Inputs(None, None, quick=True, seed=0, nb101_sample=sample)
    return {c.id: evaluate(c, inputs)[0] for c in all_claims() if c.id.startswith("R12/")}


def test_r12_entries_read_the_module_rows_and_are_indicative():
    table, meta = nb101_sample_taus(module_rows(("params", "lr1", "naswot", "ntk")), "nb101_sample500",
                                    sample_cells())
    sample = NB101SampleTaus(table, meta, None)
    entries = r12_entries(sample)
    assert set(entries) == {"R12/lr1", "R12/ntk", "R12/lr2"}
    for entry in entries.values():
        assert entry["verdict"] == "indicative"
    expected = sample.row("module", "NTK (-kappa)")["kendall_tau_b_params"]
    assert entries["R12/ntk"]["our_value"] == pytest.approx(expected)


def test_r12_without_the_sample_names_the_sweep_config(tmp_path):
    assert load_nb101_sample_taus(tmp_path) is None
    for entry in r12_entries(None).values():
        assert entry["verdict"] == "needs-results" and "configs/samples/nb101_sample500.toml" in entry["enable"]


def test_committed_sample_loads_through_its_manifest(shared_data):
    sample = load_nb101_sample_taus(RESULTS, shared_data)
    assert sample.meta["sample_composition"] == {"rows": 500, "distinct_modules": 292,
                                                 "rows_of_the_most_common_module": 55,
                                                 "pruned_vertex_counts": {2: 55, 3: 90, 4: 130, 5: 164, 6: 60, 7: 1}}
    row = sample.row("module", "LR2 (naswot)")
    assert row["n"] == 292 and row["n_cells_scored"] == 500
