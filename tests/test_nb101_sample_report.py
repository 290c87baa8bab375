"""The NB101 sample τ table: its statistic against scipy on hand-grouped data, computed from a library sample
per proxy seed (one row per module, every sample row taking its module's score), and the ledger's R12
entries: τ(proxy, #Param) per proxy seed, the uniform samples of the space preferred, the shared
292-module sample never deciding; named as missing when absent; ambiguous samples refused."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from zcbench.reports.ledger import all_claims
from zcbench.reports.ledger.inputs import Inputs
from zcbench.reports.ledger.nb101 import r12_table
from zcbench.reports.ledger.run import evaluate
from zcbench.reports.nb101_sample import (
    ACCURACY_NOTE,
    NB101SampleTaus,
    load_nb101_sample_taus,
    nb101_sample_taus,
    sample_tau_table,
)
from zcbench.reports.results import load_results
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


def module_rows(proxies=("params", "ntk"), modules=15, seed=1, sweep="nb101_sample500", proxy_seed=0, shift=0.0):
    """Library rows of an NB101 sample (sweep schema, one row per module: `arch` = module hash): #Param a
    function of the module, tied values of the other proxies (+ `shift`·module), one failed row each."""
    rng = np.random.default_rng([seed, proxy_seed])
    rows = []
    for proxy in proxies:
        values = (np.arange(modules) * 1000.0 if proxy == "params" else
                  rng.integers(0, 6, modules).astype(float) + shift * np.arange(modules))
        if proxy != "params":
            values[3] = np.nan
        rows += [{"sweep": sweep, "space": "nb101", "arch": f"m{m}", "proxy": proxy, "seed": proxy_seed,
                  "value": values[m], "status": "nonfinite: nan" if np.isnan(values[m]) else "ok", "setting": "nb101",
                  "settings_hash": f"hash-{proxy}", "settings_json": json.dumps({"batch_size": 16}),
                  "torch_version": "2.13", "device": "cpu", "data_source": "folder:images/fake[test]"}
                 for m in range(modules)]
    return pd.DataFrame(rows)


def seeded_rows(proxies=("params", "lr1", "naswot", "ntk"), seeds=(1, 2), modules=15, **kw):
    """Seed 0 in `nb101_sample500` (with #Param), `seeds` in `nb101_sample500_seeds` (without)."""
    frames = [module_rows(proxies, modules, **kw)]
    frames += [module_rows([p for p in proxies if p != "params"], modules, sweep="nb101_sample500_seeds",
                           proxy_seed=s, **kw) for s in seeds]
    return pd.concat(frames, ignore_index=True)


def sample_cells():
    return random_sample()[1].assign(num_vertices=5)


def per_row_scores(results, cells, proxies):
    by_module = results.set_index(["proxy", "arch"])
    return pd.DataFrame([{"cell": c, "module_hash": m, "proxy": proxy, **by_module.loc[(proxy, m), ["value", "status"]]}
                         for c, m in cells["module_hash"].items() for proxy in proxies])


def test_sample_taus_give_every_row_its_module_score():
    cells, results = sample_cells(), module_rows()
    table, meta = nb101_sample_taus(results, "nb101_sample500", cells)
    expected = sample_tau_table(per_row_scores(results, cells, ("params", "ntk")), cells, METRICS,
                                ACCURACY_NOTE).set_index(["unit", "metric"])
    got = table.set_index(["unit", "metric"])
    assert set(got["seed"]) == {0}
    pd.testing.assert_frame_equal(got.loc[expected.index, expected.columns], expected)
    assert meta["sample_composition"]["rows"] == len(cells)
    assert meta["ntk_batch_note"] == "NTK batch 16, not the code setting's 72"


def test_proxy_seeds_of_the_seeds_entry_are_evaluated_each_on_its_own_rows():
    cells, results = sample_cells(), seeded_rows(("params", "ntk"))
    table, meta = nb101_sample_taus(results, "nb101_sample500", cells, ("nb101_sample500_seeds",))
    assert meta["seeds"] == [0, 1, 2]
    assert sorted(table.loc[table["metric"] == "NTK (-kappa)", "seed"].unique()) == [0, 1, 2]
    assert set(table.loc[table["metric"] == "#Param", "seed"]) == {0}  # deterministic: listed once
    for seed in (1, 2):
        own = pd.concat([results[(results["seed"] == seed)], results[results["proxy"] == "params"]])
        expected = sample_tau_table(per_row_scores(own, cells, ("params", "ntk")), cells,
                                    {"NTK (-kappa)": METRICS["NTK (-kappa)"]}, ACCURACY_NOTE)
        got = table[(table["seed"] == seed) & (table["metric"] == "NTK (-kappa)")]
        assert got["kendall_tau_b_params"].tolist() == pytest.approx(expected["kendall_tau_b_params"].tolist())
    summary = NB101SampleTaus(table, meta, None).summary().set_index(["unit", "metric"])
    module = summary.loc[("module", "NTK (-kappa)")]
    per_seed = table[(table["unit"] == "module") & (table["metric"] == "NTK (-kappa)")].sort_values("seed")
    assert module["proxy_seeds"] == 3 and module["seeds"] == "0,1,2"
    assert module["kendall_tau_b_params"] == pytest.approx(per_seed["kendall_tau_b_params"].mean())
    assert module["kendall_tau_b_params_per_seed"].split()[1].startswith("1:")


def test_a_partial_seeds_entry_restricts_every_seed_to_the_modules_all_scored():
    cells = sample_cells()
    results = seeded_rows(("params", "ntk"))
    results = results[~((results["sweep"] == "nb101_sample500_seeds") & results["arch"].isin(["m0", "m1", "m2"]))]
    table, meta = nb101_sample_taus(results, "nb101_sample500", cells, ("nb101_sample500_seeds",))
    assert meta["modules_every_seed_scored"] == {"ntk": 12, "params": 15}
    module = table[(table["unit"] == "module") & (table["metric"] == "NTK (-kappa)")]
    assert (module["n"] == 11).all()  # 12 shared modules, one of them failed


def test_sample_with_two_settings_of_one_proxy_is_refused():
    results = module_rows()
    results.loc[results.index[-1], "settings_hash"] = "other"
    with pytest.raises(CorruptDataError, match="several settings"):
        nb101_sample_taus(results, "nb101_sample500", sample_cells())
    results = seeded_rows(("params", "ntk"))
    results.loc[results.index[-1], "settings_hash"] = "other"  # a seed computed with other settings
    with pytest.raises(CorruptDataError, match="several settings"):
        nb101_sample_taus(results, "nb101_sample500", sample_cells(), ("nb101_sample500_seeds",))


def r12_entries(results, data_dir=None):
    inputs = Inputs(data_dir, None, quick=True, seed=0, results=results)
    return {c.id: evaluate(c, inputs)[0] for c in all_claims() if c.id.startswith("R12/")}


def test_r12_with_one_seed_reads_the_module_rows_and_is_indicative():
    results = module_rows(("params", "lr1", "naswot", "ntk"))
    entries = r12_entries(results)
    assert set(entries) == {"R12/lr1", "R12/ntk", "R12/lr2"}
    wide = results.pivot(index="arch", columns="proxy", values="value").dropna()
    for entry in entries.values():
        assert entry["verdict"] == "indicative" and entry["seeds"] == [0]
        assert "fewer than 3 proxy seeds" in entry["why"] and "not a uniform sample" in entry["why"]
    assert entries["R12/ntk"]["our_value"] == pytest.approx(kendalltau(-wide["ntk"], wide["params"]).statistic)
    assert entries["R12/ntk"]["inputs"]["n_archs"] == len(wide) == 14
    table, _ = nb101_sample_taus(results, "nb101_sample500", sample_cells())
    sample = NB101SampleTaus(table, {}, None)  # the module unit of the sample table is the same statistic
    assert sample.row("module", "LR2 (naswot)")["kendall_tau_b_params"] == pytest.approx(
        entries["R12/lr2"]["our_value"], abs=1e-12)


def test_r12_per_proxy_seed_on_the_non_uniform_sample_never_decides():
    # κ rises with #Param, so −κ falls: τ ≈ −1, far outside anything near the paper's 0.36
    results = seeded_rows(shift=10.0)
    entries = r12_entries(results)
    ntk = entries["R12/ntk"]
    assert ntk["seeds"] == [0, 1, 2]
    wide = {s: results[(results["seed"] == s) & (results["proxy"] == "ntk")].set_index("arch")["value"]
            for s in (0, 1, 2)}
    params = results[results["proxy"] == "params"].set_index("arch")["value"]
    common = sorted(set.intersection(*(set(v.dropna().index) for v in wide.values())))
    per_seed = [kendalltau(-wide[s].loc[common], params.loc[common]).statistic for s in (0, 1, 2)]
    assert ntk["interval"]["per_seed"] == pytest.approx(per_seed)
    assert ntk["our_value"] == pytest.approx(np.mean(per_seed)) and max(per_seed) < -0.8
    assert ntk["interval"]["arch_sd"] > 0 and ntk["interval"]["interval"][1] < 0.3  # excludes 0.36 − 0.05
    assert ntk["verdict"] == "indicative" and "outside" in ntk["why"] and "not a uniform sample" in ntk["why"]
    assert ntk["details"]["uniform_sample"] is False
    assert ntk["rule"]["rule"] == "SampleInterval"
    assert ntk["substitute_inputs"]  # test-split images


def uniform_rows(name, proxies, seeds, modules=400, slope=1.0, noise=1.0, seed=5):
    """A fake uniform NB101 sample: #Param and proxies that grow with it (plus per-seed noise)."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(15, 1, modules)
    rows = [{"sweep": name, "space": "nb101", "arch": f"u{m}", "proxy": "params", "seed": 0, "value": size[m],
             "status": "ok", "setting": "code", "settings_hash": "hash-params", "settings_json": "{}",
             "data_source": "none"} for m in range(modules)]
    for proxy in proxies:
        for s in seeds:
            values = slope * np.log(size) + noise * np.random.default_rng([seed, s, len(proxy)]).normal(0, 1, modules)
            rows += [{"sweep": name, "space": "nb101", "arch": f"u{m}", "proxy": proxy, "seed": s,
                      "value": values[m], "status": "ok", "setting": "nb101", "settings_hash": f"hash-{proxy}",
                      "settings_json": json.dumps({"batch_size": 16 if "16" in name else 72}),
                      "data_source": "folder:images/fake[train]"} for m in range(modules)]
    return pd.DataFrame(rows)


def test_r12_prefers_the_uniform_sample_and_judges_it_by_the_interval():
    strong = uniform_rows("nb101_r12_sample10000", ("lr1", "naswot"), (0, 1, 2), noise=0.1)  # τ near 1
    results = pd.concat([seeded_rows(), strong], ignore_index=True)
    entries = r12_entries(results)
    lr1 = entries["R12/lr1"]
    assert lr1["details"]["source"]["entries"] == ["nb101_r12_sample10000"]
    assert lr1["details"]["uniform_sample"] is True and lr1["inputs"]["n_archs"] == 400
    assert lr1["our_value"] > 0.8 and lr1["verdict"] == "deviates"  # a uniform sample decides
    assert [o["source"] for o in lr1["details"]["other_sources"]] == ["nb101_sample500 + nb101_sample500_seeds"]
    assert not lr1["substitute_inputs"]  # training-split images
    # a uniform sample whose τ is the paper's: reproduced
    results = uniform_rows("nb101_r12_sample10000", ("lr1",), (0, 1, 2), noise=1.15)
    lr1 = r12_entries(results)["R12/lr1"]
    low, high = lr1["interval"]["interval"]
    assert low - 0.05 <= 0.46 <= high + 0.05 and lr1["verdict"] == "reproduced", lr1["why"]


def test_r12_ntk_prefers_three_seeds_then_the_most_modules():
    results = pd.concat([module_rows(("params", "ntk")),
                         uniform_rows("nb101_r12_ntk72_sample500", ("ntk",), (0,), modules=500),
                         uniform_rows("nb101_r12_ntk16_sample1000", ("ntk",), (0, 1, 2), modules=120)])
    ntk = r12_entries(results)["R12/ntk"]
    assert ntk["details"]["source"]["entries"] == ["nb101_r12_ntk16_sample1000"] and ntk["seeds"] == [0, 1, 2]
    assert "NTK batch 16, not the code setting's 72" in ntk["explanation"]
    assert {o["source"] for o in ntk["details"]["other_sources"]} == {"nb101_r12_ntk72_sample500",
                                                                       "nb101_sample500 + nb101_sample500_seeds"}
    # the code-batch sample beside the verdict: its own τ and a module-sampling interval around it
    beside, = [o for o in ntk["details"]["other_sources"] if o["source"] == "nb101_r12_ntk72_sample500"]
    own = results[results["sweep"] == "nb101_r12_ntk72_sample500"].pivot(index="arch", columns="proxy",
                                                                          values="value")
    assert beside["per_seed"]["0"] == pytest.approx(kendalltau(-own["ntk"], own["params"]).statistic)
    assert beside["mean"] == beside["per_seed"]["0"] and beside["arch_sd"] > 0
    assert beside["interval"][0] < beside["mean"] < beside["interval"][1]
    low, high = beside["interval"]
    covers = low - 0.05 <= 0.36 <= high + 0.05
    assert (f"nb101_r12_ntk72_sample500 (1 seed, n=500, NTK batch 72): {beside['mean']:.3f}, interval "
            f"[{low:.3f}, {high:.3f}] (module sampling only) ± 0.05: paper {'inside' if covers else 'outside'}"
            in ntk["explanation"])
    table = r12_table([ntk]).set_index("source")
    assert list(table["claim"]) == ["R12/ntk", "R12/ntk (other source)", "R12/ntk (other source)"]
    row = table.loc["nb101_r12_ntk72_sample500"]
    assert row["n modules"] == 500 and row["seeds"] == 1 and "module sampling only" in row["verdict"]
    assert row["95% interval"] == f"{beside['interval'][0]:.3f} – {beside['interval'][1]:.3f}"
    assert "not a uniform sample" in table.loc["nb101_sample500 + nb101_sample500_seeds", "verdict"]
    only72 = results[results["sweep"] != "nb101_r12_ntk16_sample1000"]
    ntk = r12_entries(only72)["R12/ntk"]
    assert ntk["details"]["source"]["entries"] == ["nb101_r12_ntk72_sample500"]
    assert ntk["verdict"] == "indicative" and "NTK batch 72 = the code setting" in ntk["explanation"]


def test_r12_without_nb101_rows_names_the_sweep_configs():
    for entry in r12_entries(pd.DataFrame()).values():
        assert entry["verdict"] == "needs-results"
        assert "configs/samples/nb101_sample500.toml" in entry["enable"]
        assert "configs/nb101_r12_" in entry["enable"]


def test_committed_sample_loads_through_its_manifest(shared_data):
    sample = load_nb101_sample_taus(RESULTS, shared_data)
    assert sample.meta["sample_composition"] == {"rows": 500, "distinct_modules": 292,
                                                 "rows_of_the_most_common_module": 55,
                                                 "pruned_vertex_counts": {2: 55, 3: 90, 4: 130, 5: 164, 6: 60, 7: 1}}
    row = sample.row("module", "LR2 (naswot)")
    assert row["n_cells_scored"] == 500 and row["n"] == sample.meta["modules_every_seed_scored"]["naswot"]
    assert load_nb101_sample_taus(RESULTS, shared_data, seeds_name="absent").meta["seeds"] == [0]
    lr2 = r12_entries(load_results(RESULTS))["R12/lr2"]
    sample_tau = sample.summary().set_index(["unit", "metric"]).loc[("module", "LR2 (naswot)"), "kendall_tau_b_params"]
    if lr2["details"]["source"]["entries"] == ["nb101_sample500"]:
        assert lr2["our_value"] == pytest.approx(sample_tau)
    else:  # a larger uniform sample is committed: the 500-cell sample is listed beside it, same statistic
        other, = [o for o in lr2["details"]["other_sources"] if o["source"].startswith("nb101_sample500")]
        assert np.mean(list(other["per_seed"].values())) == pytest.approx(sample_tau)
