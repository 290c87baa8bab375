"""The NB101 sample τ table: its statistic against scipy on hand-grouped data, and the ledger's R12 entries
reading it (always indicative; named as missing when absent; malformed tables refused)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from zcbench.reports import claims as ledger
from zcbench.reports.nb101_sample import load_nb101_sample_taus, sample_tau_table
from zcbench.reports.reproduce import Inputs, evaluate
from zcbench.spaces.errors import CorruptDataError

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


def write_table(results, table=None, meta=None):
    scores, cells, *_ = random_sample()
    folder = results / "nb101_sample500"
    folder.mkdir(parents=True)
    metrics = {"LR1": ("params", 1.0), "LR2 (naswot)": ("params", 1.0), "NTK (-kappa)": ("ntk", -1.0)}
    (table if table is not None else sample_tau_table(scores, cells, metrics, "note")).to_csv(folder / "tau.csv")
    (folder / "tau.json").write_text(json.dumps(meta or {"sample_composition": {"rows": 40}, "lr1": "assumed"}))
    return load_nb101_sample_taus(results)


def r12_entries(sample):
    inputs = Inputs(None, None, quick=True, seed=0, nb101_sample=sample)
    return {c.id: evaluate(c, inputs) for c in ledger.all_claims() if c.id.startswith("R12/")}


def test_r12_entries_read_the_module_rows_and_are_indicative(tmp_path):
    sample = write_table(tmp_path)
    entries = r12_entries(sample)
    assert set(entries) == {"R12/lr1", "R12/ntk", "R12/lr2"}
    for entry in entries.values():
        assert entry["verdict"] == "indicative" and "not the paper's 10,000 cells" in entry["explanation"]
    expected = sample.row("module", "NTK (-kappa)")["kendall_tau_b_params"]
    assert entries["R12/ntk"]["our_value"] == pytest.approx(expected)


def test_r12_without_the_sample_table_names_the_script(tmp_path):
    assert load_nb101_sample_taus(tmp_path) is None
    for entry in r12_entries(None).values():
        assert entry["verdict"] == "needs-results" and "nb101_sample_tau.py" in entry["enable"]


def test_sample_table_of_an_older_script_is_refused_by_name(tmp_path):
    old = pd.DataFrame({"metric": ["LR1"], "proxy": ["lr1"], "n": [3], "kendall_tau_b": [0.1]})
    with pytest.raises(CorruptDataError, match="missing column"):
        write_table(tmp_path, table=old)
