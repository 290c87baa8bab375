"""reports.concordance against scipy on a fake published table; statuses of what cannot be compared; the
NB-Suite-Zero sweep config and its agreement with the name mapping."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA_MISSING
from scipy import stats as sps

from zcbench.benchmarks.sweep.config import load_config
from zcbench.benchmarks.sweep.plan import select_archs
from zcbench.proxies.registry import REGISTRY
from zcbench.reports import concordance as cc
from zcbench.spaces import nb201
from zcbench.spaces import published_scores as ps
from zcbench.spaces.catalog import NB201

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "zoo_naslib_concordance.toml"
CELLS = list(range(100, 4100, 100))  # 40 NB201 cells
CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}


def fake_published(values: dict[str, np.ndarray], cells=CELLS, dataset: str = "cifar10") -> pd.DataFrame:
    """A published table (through the real parser) with the given measure values per cell, exact #params."""
    data = {}
    for k, index in enumerate(cells):
        arch = nb201.index_to_arch(index)
        key = str(ps.arch_to_naslib_tuple(arch))
        cell = {"idx": str(k), "arch": key, "val_accuracy": 80.0,
                "params": {"score": NB201.param_count(arch, CLASSES[ps.dataset_name(dataset)]) / 1e6, "time": 0.0}}
        cell.update({name: {"score": float(v[k]), "time": 0.0} for name, v in values.items()})
        data[key] = cell
    return ps.parse_published_scores({dataset: data})


def ours_table(proxy: str, values, cells=CELLS, dataset: str = "cifar10", **extra) -> pd.DataFrame:
    return pd.DataFrame({"dataset": dataset, "index": cells, "proxy": proxy, "value": values, **extra})


@pytest.fixture
def pair():
    rng = np.random.default_rng(3)
    theirs = rng.normal(size=len(CELLS))
    ours = theirs + rng.normal(scale=0.8, size=len(CELLS))
    return ours, theirs


def test_tau_and_rho_equal_scipy(pair):
    ours, theirs = pair
    result = cc.concordance(ours_table("naswot", ours), fake_published({"nwot": theirs}), reps=200)
    row = result[result["published"] == "nwot"].iloc[0]
    assert row["status"] == "ok" and row["n"] == len(CELLS) and row["proxy"] == "naswot"
    assert row["kendall"] == pytest.approx(sps.kendalltau(ours, theirs).statistic, abs=1e-12)
    assert row["spearman"] == pytest.approx(sps.spearmanr(ours, theirs).statistic, abs=1e-12)
    assert row["kendall_low"] < row["kendall"] < row["kendall_high"]
    assert row["spearman_low"] < row["spearman"] < row["spearman_high"]
    assert row["level"] == 0.95 and row["reps"] == 200


def test_interval_is_reproducible_and_narrows_with_agreement(pair):
    ours, theirs = pair
    published = fake_published({"nwot": theirs})
    a = cc.concordance(ours_table("naswot", ours), published, reps=200, seed=5)
    b = cc.concordance(ours_table("naswot", ours), published, reps=200, seed=5)
    pd.testing.assert_frame_equal(a, b)
    exact = cc.concordance(ours_table("naswot", 2 * theirs + 1), published, reps=200)
    row = exact[exact["published"] == "nwot"].iloc[0]
    assert row["kendall"] == pytest.approx(1.0) and row["kendall_low"] == pytest.approx(1.0)


def test_failed_cells_on_either_side_are_excluded_and_counted(pair):
    ours, theirs = pair
    ours, theirs = ours.copy(), theirs.copy()
    theirs[0] = ps.SENTINEL
    theirs[1] = -np.inf
    ours[2] = np.nan
    status = np.array(["ok"] * len(CELLS), dtype=object)
    status[3] = "singular"
    result = cc.concordance(ours_table("naswot", ours, status=status), fake_published({"nwot": theirs}), reps=50)
    row = result[result["published"] == "nwot"].iloc[0]
    assert (row["cells_common"], row["n"], row["excluded_ours"], row["excluded_published"]) == (40, 36, 2, 2)
    keep = np.arange(4, len(CELLS))
    assert row["kendall"] == pytest.approx(sps.kendalltau(ours[keep], theirs[keep]).statistic)


def test_statuses_for_what_cannot_be_compared(pair):
    ours, theirs = pair
    published = fake_published({"nwot": theirs, "synflow": theirs, "snip": theirs})
    table = pd.concat([ours_table("naswot", ours), ours_table("lr1", ours)])
    result = cc.concordance(table, published, implemented={"naswot", "snip", "lr1", "params"}, reps=20)
    status = dict(zip(result["published"] + "/" + result["proxy"], result["status"]))
    assert status["nwot/naswot"] == "ok"
    assert status["synflow/synflow"] == "not-implemented"  # no zcbench proxy of that name (here)
    assert status["snip/snip"] == "not-scored"  # registered, not in our table
    assert status["params/params"] == "not-scored"
    assert status["/lr1"] == "no-counterpart"
    assert "val_accuracy" not in set(result["published"])  # the target is not a proxy
    few = cc.concordance(ours_table("naswot", ours[:2], cells=CELLS[:2]), published, reps=10)
    assert few.set_index("published").loc["nwot", "status"] == "too-few-cells"


def test_registry_decides_not_implemented_by_default(pair):
    ours, theirs = pair
    result = cc.concordance(ours_table("naswot", ours), fake_published({"nwot": theirs, "jacov": theirs}), reps=10)
    row = result.set_index("published").loc["jacov"]
    assert row["proxy"] == "naswot_v1" and row["status"] == ("not-scored" if "naswot_v1" in REGISTRY else
                                                            "not-implemented")


def test_merged_sweep_schema_groups_by_setting_and_seed(pair):
    ours, theirs = pair
    merged = pd.concat([
        pd.DataFrame({"arch": [str(i) for i in CELLS], "proxy": "naswot", "setting": "naslib", "seed": seed,
                      "dataset": "cifar10", "score": ours + seed, "status": "ok"}) for seed in (0, 1)])
    result = cc.concordance(merged, fake_published({"nwot": theirs}), reps=10)
    rows = result[result["status"] == "ok"]
    assert sorted(rows["seed"]) == [0, 1] and (rows["setting"] == "naslib").all()
    duplicated = merged.drop(columns=["seed"])
    with pytest.raises(ValueError, match="one setting and seed"):
        cc.concordance(duplicated, fake_published({"nwot": theirs}), reps=10)


def test_explicit_pairs_limit_the_report(pair):
    ours, theirs = pair
    result = cc.concordance(ours_table("mine", ours), fake_published({"nwot": theirs, "snip": theirs}),
                            pairs={"mine": "snip"}, reps=10)
    assert list(result["published"]) == ["snip"] and result["status"].iloc[0] == "ok"


def test_other_datasets_are_matched_by_their_own_names(pair):
    ours, theirs = pair
    published = fake_published({"nwot": theirs}, dataset="ImageNet16-120")
    result = cc.concordance(ours_table("naswot", ours, dataset="ImageNet16-120"), published, reps=10)
    assert result.set_index("published").loc["nwot", "dataset"] == "imagenet16"
    assert result.set_index("published").loc["nwot", "n"] == len(CELLS)


@pytest.mark.shared_data
def test_params_agree_exactly_with_the_real_table(shared_data):
    path = shared_data / "naslib-zc" / ps.FILE_NAME
    if not path.is_file():
        pytest.skip(f"{DATA_MISSING}: {path} is absent")
    published = ps.load_published_scores(path)
    ours = pd.concat([ours_table("params", [NB201.param_count(nb201.index_to_arch(i), CLASSES[d]) for i in cells],
                                 cells=cells, dataset=d)
                      for d in CLASSES for cells in [ps.published_cells(published, d)]])
    result = cc.concordance(ours, published, reps=20)
    rows = result[result["published"] == "params"].set_index("dataset")
    assert rows["n"].to_dict() == {"cifar10": 725, "cifar100": 725, "imagenet16": 724}
    assert np.allclose(rows["kendall"], 1.0, atol=1e-12) and np.allclose(rows["spearman"], 1.0, atol=1e-12)


# ------------------------------------------------------------------------------------- the sweep config

def test_config_selects_the_table_cells_with_the_mapped_settings():
    config = load_config(CONFIG)
    assert config.archs.select == "indices" and config.seeds == (0, 1) and config.datasets == ("cifar10",)
    cells = select_archs(config)
    assert len(cells) == 725 and len(set(cells)) == 725
    for entry in config.proxies:
        correspondence = ps.BY_PUBLISHED[ps.published_name(entry.name)]
        assert (entry.setting, entry.overrides) == (correspondence.setting, correspondence.overrides), entry
        REGISTRY.get(entry.name).settings(entry.setting, **dict(entry.overrides))  # valid settings


def test_config_scores_every_mapped_measure_of_the_table():
    """Every published measure with a registered counterpart is in the config (params and flops are exact
    and need no sweep)."""
    names = {entry.name for entry in load_config(CONFIG).proxies}
    mapped = {c.ours[0] for c in ps.CORRESPONDENCES if c.ours[0] in REGISTRY} - {"params", "flops"}
    assert names == mapped
