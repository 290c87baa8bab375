"""The report's zoo section: concordance of a `concordance/*` library entry with a published table,
on a fake data directory (ground truth + a 40-cell NB-Suite-Zero table) and fake scores."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau
from test_reproduce import write_fake_data_dir, write_library_table

from zcbench.proxies.registry import REGISTRY, settings_hash
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger import zoo
from zcbench.spaces import nb201
from zcbench.spaces import published_scores as ps
from zcbench.spaces.catalog import NB201

CELLS = list(range(7, 15625, 390))  # 41 cells


def published_json(nwot: np.ndarray, synflow: np.ndarray) -> dict:
    data = {}
    for k, index in enumerate(CELLS):
        key = str(ps.arch_to_naslib_tuple(nb201.index_to_arch(index)))
        data[key] = {"idx": str(k), "arch": key, "val_accuracy": float(50 + k % 7),
                     "params": {"score": NB201.param_count(nb201.index_to_arch(index), 10) / 1e6, "time": 0.0},
                     "nwot": {"score": float(nwot[k]), "time": 0.0},
                     "synflow": {"score": float(synflow[k]), "time": 0.0}}
    return {"cifar10": data}


def our_rows(values_by_seed: dict[int, np.ndarray], cells=CELLS) -> pd.DataFrame:
    spec = REGISTRY.get("naswot")
    frames = [pd.DataFrame({"space": "nb201", "arch": [str(c) for c in cells], "proxy": "naswot", "setting": "naslib",
                            "settings_hash": settings_hash(spec.presets["naslib"]), "dataset": "cifar10", "seed": seed,
                            "score": values, "status": "ok", "seconds": 0.1, "proxy_version": 1,
                            "package_version": "0", "git_commit": "abc", "torch_version": "t", "device": "cpu",
                            "data_source": "folder:images/fake[test]"}) for seed, values in values_by_seed.items()]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    truth = write_fake_data_dir(root / "data")
    # the substitute images' folder (empty): a missing sweep reads needs-results whether or not $ZCBENCH_DATA
    # points at real images
    (root / "data" / "images" / "cifar10-test-jpg").mkdir(parents=True)
    rng = np.random.default_rng(0)
    nwot = rng.normal(size=len(CELLS))
    (root / "data" / "naslib-zc").mkdir()
    table = published_json(nwot, rng.normal(size=len(CELLS)))
    (root / "data" / "naslib-zc" / ps.FILE_NAME).write_text(json.dumps(table))
    ours = {0: nwot + rng.normal(0, 0.3, len(CELLS)), 1: nwot + rng.normal(0, 0.3, len(CELLS))}
    write_library_table(root / "results" / "concordance" / "zoo_fake", our_rows(ours))
    return {"root": root, "truth": truth, "nwot": nwot, "ours": ours}


def section(fake, results="results"):
    inputs = ins.load_inputs(fake["root"] / "data", fake["root"] / results, quick=True)
    return inputs, zoo.concordance_section(inputs)


def test_concordance_rows_match_independent_statistics(fake):
    inputs, (tables, figures) = section(fake)
    table = tables[0].frame
    rows = table[(table["proxy"] == "naswot")].set_index("seed")
    assert list(rows.index) == [0, 1] and (rows["n"] == len(CELLS)).all()
    for seed in (0, 1):
        expected = kendalltau(fake["ours"][seed], fake["nwot"]).statistic
        assert rows.loc[seed, "kendall"] == pytest.approx(round(expected, 3), abs=1e-3)
    seed_to_seed = kendalltau(fake["ours"][0], fake["ours"][1]).statistic
    assert rows.loc[0, "tau_ours_seed_to_seed"] == pytest.approx(round(seed_to_seed, 3), abs=1e-3)
    accuracy = fake["truth"].set_index("index")["cifar10_test_v1_1"].loc[CELLS].to_numpy()
    assert rows.loc[0, "tau_ours_accuracy"] == pytest.approx(round(kendalltau(fake["ours"][0], accuracy).statistic, 3),
                                                             abs=1e-3)
    assert [f[0] for f in figures] == ["zoo-concordance"]


def test_measures_we_did_not_score_are_listed_not_dropped(fake):
    _, (tables, _) = section(fake)
    table = tables[0].frame.set_index("published")
    assert table.loc["synflow", "status"] == "not-scored" and np.isnan(table.loc["synflow", "kendall"])
    assert table.loc["synflow", "zico_tab1_tau"] == zoo.ZICO_TABLE1_TAU_C10["synflow"]


def test_paper_claims_never_read_concordance_entries(fake):
    inputs, _ = section(fake)
    assert inputs.results.empty  # the only table is a concordance entry


def test_without_concordance_results_the_section_says_how_to_compute(fake, tmp_path):
    inputs = ins.load_inputs(fake["root"] / "data", tmp_path, quick=True)
    (table,), figures = zoo.concordance_section(inputs)
    assert figures == [] and table.frame["status"].tolist() == ["needs-results"]
    assert "configs/zoo_naslib_concordance.toml" in table.frame["enable"].iloc[0]


def test_params_and_flops_are_computed_for_the_table_cells(fake):
    _, (tables, _) = section(fake)
    rows = tables[0].frame.set_index("published")
    assert rows.loc["params", "status"] == "ok" and rows.loc["params", "n"] == len(CELLS)
    assert rows.loc["params", "kendall"] == 1.0  # the fake table's #params are the exact counts


# ---------------------------------------------------------------------------------------------
# the zoo vs accuracy (report section and the Z1 context rows)

def zoo_sweep_rows(values_by_seed: dict[int, np.ndarray], proxy: str = "grad_norm", cells=CELLS) -> pd.DataFrame:
    frame = our_rows(values_by_seed, cells)
    spec = REGISTRY.get(proxy)
    return frame.assign(proxy=proxy, setting="code", settings_hash=settings_hash(spec.presets["code"]))


@pytest.fixture(scope="module")
def zoo_sweep(fake, tmp_path_factory):
    results = tmp_path_factory.mktemp("zoo_sweep")
    rng = np.random.default_rng(1)
    accuracy = fake["truth"].set_index("index")["cifar10_test_v1_1"].loc[CELLS].to_numpy()
    values = {seed: accuracy + rng.normal(0, 3, len(CELLS)) for seed in (0, 1, 2)}
    write_library_table(results / "sweeps" / "zoo_fake", zoo_sweep_rows(values))
    inputs = ins.load_inputs(fake["root"] / "data", results, quick=True)
    return {"inputs": inputs, "values": values, "accuracy": accuracy}


def test_accuracy_section_gives_tau_and_rho_per_seed_mean_with_an_interval(zoo_sweep):
    (table,) = zoo.accuracy_section(zoo_sweep["inputs"])
    rows = table.frame.set_index("proxy")
    taus = [kendalltau(v, zoo_sweep["accuracy"]).statistic for v in zoo_sweep["values"].values()]
    assert rows.loc["grad_norm", "seeds"] == "0,1,2" and rows.loc["grad_norm", "n"] == len(CELLS)
    assert rows.loc["grad_norm", "kendall"] == pytest.approx(round(float(np.mean(taus)), 3), abs=1e-3)
    grad_norm = rows.loc["grad_norm"]
    assert grad_norm["kendall_low"] < grad_norm["kendall"] < grad_norm["kendall_high"]
    assert rows.loc["grad_norm", "zico_tab1_tau"] == zoo.ZICO_TABLE1_TAU_C10["grad_norm"]
    assert rows.loc["snip", "status"] == "needs-results"  # listed, never dropped
    assert "configs/nb201_zoo_cifar10.toml" in rows.loc["snip", "enable"]


def test_one_seed_of_a_seeded_proxy_on_every_cell_claims_no_interval(fake, tmp_path):
    """Seed 0 of the full table alone: τ is measured, but with no second draw no interval is shown."""
    accuracy = fake["truth"].set_index("index")["cifar10_test_v1_1"]
    values = accuracy.to_numpy() + np.random.default_rng(2).normal(0, 3, len(accuracy))
    write_library_table(tmp_path / "results" / "sweeps" / "zoo_one_seed",
                        zoo_sweep_rows({0: values}, cells=list(accuracy.index)))
    inputs = ins.load_inputs(fake["root"] / "data", tmp_path / "results", quick=True)
    (table,) = zoo.accuracy_section(inputs)
    row = table.frame.set_index("proxy").loc["grad_norm"]
    assert row["n"] == len(accuracy) and row["seeds"] == "0"
    assert row["kendall"] == pytest.approx(round(kendalltau(values, accuracy).statistic, 3), abs=1e-3)
    assert all(np.isnan(row[k]) for k in ("kendall_low", "kendall_high", "spearman_low", "spearman_high"))
    assert row["status"] == "one seed: no interval" and "nb201_zoo_seeds_sample1000" in row["enable"]
    from zcbench.reports.ledger.claims import all_claims
    from zcbench.reports.ledger.run import evaluate

    z1 = next(c for c in all_claims() if c.id == "Z1/grad_norm")
    entry, _, _ = evaluate(z1, inputs)
    assert entry["verdict"] == "context" and entry["seeds"] == [0] and entry["interval"] is None


def test_seed_zero_on_every_cell_is_shown_beside_the_seeds_sample(fake, tmp_path):
    """Seed 0 on all cells, seeds 1–2 on a sample: the interval comes from the sample, seed 0's all-cells τ
    and its cell count sit beside it, and the count renders as a count."""
    from zcbench.reports.render import markdown_table

    accuracy = fake["truth"].set_index("index")["cifar10_test_v1_1"]
    rng = np.random.default_rng(3)
    everything = accuracy.to_numpy() + rng.normal(0, 3, len(accuracy))
    sample = {seed: accuracy.loc[CELLS].to_numpy() + rng.normal(0, 3, len(CELLS)) for seed in (1, 2)}
    write_library_table(tmp_path / "results" / "sweeps" / "zoo_all", zoo_sweep_rows({0: everything},
                                                                                     cells=list(accuracy.index)))
    write_library_table(tmp_path / "results" / "sweeps" / "zoo_seeds", zoo_sweep_rows(sample))
    inputs = ins.load_inputs(fake["root"] / "data", tmp_path / "results", quick=True)
    (table,) = zoo.accuracy_section(inputs)
    row = table.frame.set_index("proxy").loc["grad_norm"]
    assert row["seeds"] == "0,1,2" and row["n"] == len(CELLS) and row["status"] == "computed"
    assert row["kendall_first_seed_all_scored"] == pytest.approx(
        round(kendalltau(everything, accuracy).statistic, 3), abs=1e-3)
    assert row["n_first_seed"] == len(accuracy)
    assert f"| {len(accuracy):,} |" in markdown_table(table.frame) or f"| {len(accuracy)} |" in markdown_table(
        table.frame)


def test_accuracy_section_shows_the_suite_tables_own_rho(fake, zoo_sweep):
    from scipy.stats import spearmanr

    table = json.loads((fake["root"] / "data" / "naslib-zc" / ps.FILE_NAME).read_text())["cifar10"]
    synflow = [cell["synflow"]["score"] for cell in table.values()]
    val_accuracy = [cell["val_accuracy"] for cell in table.values()]
    (section,) = zoo.accuracy_section(zoo_sweep["inputs"])
    rows = section.frame.set_index("proxy")
    assert rows.loc["synflow", "suite_rho_val_accuracy"] == pytest.approx(
        round(spearmanr(synflow, val_accuracy).statistic, 3), abs=1e-3)
    assert np.isnan(rows.loc["zico", "suite_rho_val_accuracy"])  # the Suite has no ZiCo column


def test_z1_rows_are_context_with_our_value_when_it_exists(zoo_sweep):
    from zcbench.reports.ledger.claims import all_claims
    from zcbench.reports.ledger.run import evaluate

    claims = {c.id: c for c in all_claims()}
    computed, _, _ = evaluate(claims["Z1/grad_norm"], zoo_sweep["inputs"])
    taus = [kendalltau(v, zoo_sweep["accuracy"]).statistic for v in zoo_sweep["values"].values()]
    assert computed["verdict"] == "context" and computed["our_value"] == pytest.approx(np.mean(taus), abs=1e-9)
    assert computed["seeds"] == [0, 1, 2] and computed["interval"]["seeds"] == 3
    missing, _, _ = evaluate(claims["Z1/snip"], zoo_sweep["inputs"])
    assert missing["verdict"] == "context" and missing["our_value"] is None
    assert "configs/nb201_zoo_sample1000.toml" in missing["enable"]
