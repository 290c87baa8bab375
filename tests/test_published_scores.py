"""The NAS-Bench-Suite-Zero NB201 table reader: arch mapping, statuses, named errors; the real file when present."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA_MISSING
from scipy import stats as sps

from zcbench.spaces import nb201
from zcbench.spaces import published_scores as ps
from zcbench.spaces.catalog import NB201
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError

FAKE = Path(__file__).parent / "data" / "fake_zc_nasbench201.json"
INDEX_FILE = Path(__file__).resolve().parents[1] / "configs" / "zoo_naslib_concordance_cells.txt"


def real_table(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "naslib-zc" / ps.FILE_NAME
    if not path.is_file():
        pytest.skip(f"{DATA_MISSING}: {path} is absent")
    return ps.load_published_scores(path)


# ------------------------------------------------------------------------------------------ mapping

def test_the_documented_tuple_maps_to_the_documented_string():
    # shared/README: tuple (e0..e5) in NASLib edge order is |e0~0|+|e1~0|e3~1|+|e2~0|e4~1|e5~2|
    ops = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
    e = [ops[i] for i in (0, 2, 3, 2, 3, 1)]
    expected = f"|{e[0]}~0|+|{e[1]}~0|{e[3]}~1|+|{e[2]}~0|{e[4]}~1|{e[5]}~2|"
    assert str(ps.naslib_tuple_to_arch("(0, 2, 3, 2, 3, 1)")) == expected
    assert str(ps.naslib_tuple_to_arch((0, 2, 3, 2, 3, 1))) == expected


def test_tuple_mapping_is_a_bijection_on_the_space():
    seen = set()
    for arch in nb201.all_archs():
        t = ps.arch_to_naslib_tuple(arch)
        assert ps.naslib_tuple_to_arch(t) == arch
        seen.add(t)
    assert len(seen) == nb201.NUM_ARCHS


@pytest.mark.parametrize("bad", ["(0, 2, 3)", "(0, 2, 3, 2, 3, 5)", "0,2,3,2,3,1", "(a, 2, 3, 2, 3, 1)"])
def test_malformed_tuples_are_named(bad):
    with pytest.raises(CorruptDataError, match="arch tuple"):
        ps.naslib_tuple_to_arch(bad)


def test_every_correspondence_names_a_published_measure_once():
    names = [c.published for c in ps.CORRESPONDENCES]
    assert len(names) == len(set(names))
    assert ps.published_name("naswot") == "nwot" and ps.published_name("naswot_v1") == "jacov"
    assert ps.published_name("synflow") == "synflow" and ps.published_name("lr1") is None


# ------------------------------------------------------------------------------------ the fake table

def test_fake_table_loads_as_a_tidy_table():
    table = ps.load_published_scores(FAKE)
    assert list(table.columns) == ps.COLUMNS
    assert set(table["dataset"]) == {"cifar10", "cifar100", "imagenet16"}
    assert ps.published_cells(table, "cifar10") == [117, 180, 213, 6111, 8274]
    assert ps.published_cells(table, "ImageNet16-120") == [117, 6111]
    assert table.attrs["source"] == str(FAKE) and table.attrs["release"] is False
    row = table[(table["dataset"] == "cifar10") & (table["index"] == 6111) & (table["proxy"] == "params")].iloc[0]
    assert row["arch"] == str(nb201.index_to_arch(6111))
    assert row["value"] * 1e6 == pytest.approx(NB201.param_count(nb201.index_to_arch(6111)))
    # every cell of a dataset has every measure
    assert table.groupby("dataset").size().to_dict() == {"cifar10": 25, "cifar100": 15, "imagenet16": 10}


def test_statuses_of_sentinel_inf_and_missing_cells():
    table = ps.load_published_scores(FAKE)
    dead = table[(table["dataset"] == "cifar10") & (table["index"] == 8274)].set_index("proxy")
    assert dead.loc["jacov", "status"] == "sentinel" and dead.loc["jacov", "value"] == ps.SENTINEL
    assert dead.loc["nwot", "status"] == "-inf" and dead.loc["nwot", "value"] == -math.inf
    assert dead.loc["synflow", "status"] == "missing" and math.isnan(dead.loc["synflow", "value"])
    assert (table[table["index"] != 8274]["status"] == "ok").all()
    wide = ps.scores_wide(table, "cifar10")
    assert math.isnan(wide.loc[8274, "jacov"]) and wide.loc[117, "nwot"] == 100.0


def _write(tmp_path, data) -> Path:
    path = tmp_path / ps.FILE_NAME
    path.write_text(json.dumps(data))
    return path


def test_missing_file_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    with pytest.raises(DataNotFoundError) as info:
        ps.load_published_scores(data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "naslib-zc" / ps.FILE_NAME) in message and "NASLib" in message


def test_truncated_file_is_corrupt(tmp_path):
    path = tmp_path / ps.FILE_NAME
    path.write_text(FAKE.read_text()[:500])
    with pytest.raises(CorruptDataError, match="not valid JSON"):
        ps.load_published_scores(path)


def test_wrong_params_break_the_mapping_check(tmp_path):
    data = json.loads(FAKE.read_text())
    key = next(iter(data["cifar10"]))
    data["cifar10"][key]["params"]["score"] += 0.028  # one 1x1 conv too many
    with pytest.raises(CorruptDataError, match="arch mapping"):
        ps.load_published_scores(_write(tmp_path, data))


@pytest.mark.parametrize("damage, match", [
    (lambda d: d.update({"cifar11": {}}), "unknown dataset"),
    (lambda d: d["cifar10"].update({"(9, 0, 0, 0, 0, 0)": {"idx": "1"}}), "arch tuple"),
    (lambda d: d["cifar10"].update({"(2,3,4,2,2,4)": d["cifar10"]["(2, 3, 4, 2, 2, 4)"]}), "same NB201 cell"),
    (lambda d: d["cifar10"]["(2, 3, 4, 2, 2, 4)"]["nwot"].update({"score": "high"}), "expected a number"),
    (lambda d: d["cifar10"]["(2, 3, 4, 2, 2, 4)"].update({"nwot": 3.0}), "expected {'score'"),
    (lambda d: d["cifar10"]["(2, 3, 4, 2, 2, 4)"].update({"arch": "(0, 0, 0, 0, 0, 0)"}), "differs from its key"),
])
def test_damaged_content_is_named(tmp_path, damage, match):
    data = json.loads(FAKE.read_text())
    damage(data)
    with pytest.raises(CorruptDataError, match=match):
        ps.load_published_scores(_write(tmp_path, data))


def test_index_file_command_prints_the_cells(capsys):
    assert ps.main(["cells", "--dataset", "cifar100", "--table", str(FAKE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# 3 NB201 indices of the cifar100 cells")
    assert [int(x) for x in lines if not x.startswith("#")] == [117, 180, 6111]
    assert ps.main(["cells", "--table", "/nonexistent/zc.json"]) == 2


def test_committed_index_file_is_725_distinct_valid_cells_ascending():
    lines = [line for line in INDEX_FILE.read_text().splitlines() if not line.startswith("#")]
    cells = [int(x) for x in lines]
    assert len(cells) == 725 and cells == sorted(set(cells)) and 0 <= cells[0] and cells[-1] < nb201.NUM_ARCHS


# ------------------------------------------------------------------------------------ the real table

@pytest.mark.shared_data
def test_real_table_shape_and_checksum(shared_data):
    table = real_table(shared_data)
    assert table.attrs["release"] is True
    assert [len(ps.published_cells(table, d)) for d in ("cifar10", "cifar100", "imagenet16")] == [725, 725, 724]
    assert (table[table["proxy"] == "params"]["status"] == "ok").all()  # and each matched the exact count


@pytest.mark.shared_data
def test_real_edge_order_is_confirmed_by_accuracy(shared_data):
    """#params cannot tell edges apart; the published single-trial accuracy can: under our mapping it agrees
    with NB201's seed-mean validation accuracy, under the naive edge order it does not."""
    table = real_table(shared_data)
    truth = pd.read_csv(shared_data / "nb201" / "nb201.csv", index_col="index")["cifar10valid_valid_v1_1"]
    acc = table[(table["dataset"] == "cifar10") & (table["proxy"] == ps.TARGET)]
    tau = sps.kendalltau(acc["value"], truth.loc[acc["index"]]).statistic
    naive = [nb201.NB201Arch(tuple(ps.NASLIB_OPS[t] for t in ps.arch_to_naslib_tuple(int(i)))).index
             for i in acc["index"]]
    tau_naive = sps.kendalltau(acc["value"], truth.loc[naive]).statistic
    assert tau > 0.9 and tau_naive < 0.7, (tau, tau_naive)


@pytest.mark.shared_data
def test_committed_index_file_is_what_the_command_writes(shared_data):
    assert INDEX_FILE.read_text() == ps.index_file_text(real_table(shared_data), "cifar10")


@pytest.mark.shared_data
def test_real_statuses_are_counted_not_dropped(shared_data):
    table = real_table(shared_data)
    counts = table[table["status"] != "ok"].groupby(["dataset", "status"]).size().to_dict()
    assert counts[("cifar10", "missing")] == 1  # synflow of one cell
    assert counts[("imagenet16", "sentinel")] == 10
    assert np.isneginf(table[table["status"] == "-inf"]["value"]).all()
