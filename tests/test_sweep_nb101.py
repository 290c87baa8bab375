"""Sweeps over NB101 cells: `hashes` selections (a list, a text file of cell specs, a CSV of cells) run end
to end, also in spawned workers that have no NB101 table to look module hashes up in; `all` and seeded
`sample` selections read a converted table from the data directory."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from zcbench.benchmarks.sweep import parse_config, run_sweep
from zcbench.benchmarks.sweep.config import ConfigError


def record_specs(shared_data, n=3):
    """`BITS:ops` refs and trainable_parameters of the first n official records."""
    records = json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())[:n]
    refs, params = [], []
    for r in records:
        matrix, ops = r["module_adjacency"], r["module_operations"]
        bits = matrix if isinstance(matrix, str) else "".join(str(b) for row in matrix for b in row)
        refs.append(f"{bits}:{ops if isinstance(ops, str) else ','.join(ops)}")
        params.append(r["trainable_parameters"])
    return refs, params


def nb101_config(tmp_path, archs, start_method="fork"):
    return parse_config({
        "name": "nb101-tiny", "space": "nb101", "datasets": ["cifar10"], "seeds": [0], "archs_per_shard": 2,
        "archs": archs, "data": {"source": "synthetic", "n": 16, "size": 8},
        "proxies": [{"name": "params"},
                    {"name": "naswot", "setting": "nb101", "overrides": {"channels": 4, "cells": 1, "batch_size": 8}}],
        "execution": {"threads": 1, "start_method": start_method}}, "nb101.toml", tmp_path)


def read_rows(out) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(f) for f in sorted(out.rglob("*.parquet")))


def test_hashes_list_in_spawned_workers_without_nb101_table(tmp_path, shared_data):
    refs, params = record_specs(shared_data)
    report = run_sweep(nb101_config(tmp_path, {"select": "hashes", "refs": refs}, "spawn"),
                       out=tmp_path / "out", executor="process", workers=1)
    assert not report.failed
    rows = read_rows(tmp_path / "out")
    assert set(rows.status) == {"ok"} and len(rows) == 2 * len(refs)
    by_spec = rows[rows.proxy == "params"].set_index("arch_str").score
    assert [round(by_spec[ref] * 1e6) for ref in refs] == params  # stem-128 count = records


def test_hashes_file_selection_serial(tmp_path, shared_data):
    refs, _ = record_specs(shared_data, n=2)
    (tmp_path / "cells.txt").write_text("# NB101 cells\n" + "\n".join(refs) + "\n")
    report = run_sweep(nb101_config(tmp_path, {"select": "hashes", "file": "cells.txt"}),
                       out=tmp_path / "out", executor="serial")
    assert not report.failed
    rows = read_rows(tmp_path / "out")
    assert sorted(set(rows.arch_str)) == sorted(refs)
    assert rows[rows.proxy == "naswot"].score.notna().all()


@pytest.fixture
def nb101_table_in_data_dir(tmp_path, monkeypatch):
    """A converted NB101 table (8 synthetic cells, 3 runs each) where the space looks for one, found via $ZCBENCH_DATA;
    the space's table index is restored afterwards."""
    from zcbench.spaces import nb101_records
    from zcbench.spaces.catalog import get_space

    tfrecord = tmp_path / "cells.tfrecord"
    nb101_records.write_tfrecord(tfrecord, map(nb101_records.encode_record, nb101_records.synthetic_records(24)))
    (tmp_path / "data" / "nb101").mkdir(parents=True)
    nb101_records.convert_tfrecord(tfrecord, tmp_path / "data" / "nb101" / "nb101_only108.parquet")
    monkeypatch.setenv("ZCBENCH_DATA", str(tmp_path / "data"))
    space = get_space("nb101")
    monkeypatch.setattr(space, "_cells", None)
    return nb101_records.load_table(tmp_path / "data" / "nb101" / "nb101_only108.parquet")


@pytest.mark.parametrize("archs,expected", [({"select": "all"}, 8), ({"select": "sample", "n": 5, "seed": 1}, 5)])
def test_all_and_sample_selections_read_the_nb101_table_in_the_data_dir(tmp_path, nb101_table_in_data_dir, archs,
                                                                        expected):
    """Bug: before a table was attached, len(NB101 space) was the official 423,624, so a seeded sample drew
    positions the attached table does not have."""
    report = run_sweep(nb101_config(tmp_path, archs), out=tmp_path / "out", executor="process", workers=1)
    assert not report.failed
    rows = read_rows(tmp_path / "out")
    table = nb101_table_in_data_dir.drop_duplicates("module_hash").set_index("module_hash")
    assert rows.arch.nunique() == expected and set(rows.arch) <= set(table.index)
    params = rows[rows.proxy == "params"].set_index("arch").score
    assert [round(params[h] * 1e6) for h in params.index] == [table.trainable_parameters[h] for h in params.index]


def cells_csv(path, archs):
    pd.DataFrame({"adjacency": [a.bits for a in archs], "operations": [",".join(a.ops) for a in archs]}).to_csv(
        path, index=False)


def test_cells_csv_selection_scores_each_listed_cell(tmp_path):
    from zcbench.spaces.nb101 import random_arch

    archs = [random_arch(np.random.default_rng(seed)) for seed in range(3)]
    cells_csv(tmp_path / "cells.csv", archs)
    report = run_sweep(nb101_config(tmp_path, {"select": "hashes", "file": "cells.csv"}), out=tmp_path / "out",
                       executor="serial")
    assert not report.failed
    rows = read_rows(tmp_path / "out")
    assert sorted(set(rows.arch)) == sorted(a.module_hash for a in archs)


@pytest.mark.parametrize("columns,message", [({"adjacency": ["0" * 49]}, "needs `adjacency` and `operations`"),
                                             (None, "are the same architecture")])
def test_bad_cells_csv_is_a_config_error(tmp_path, columns, message):
    from zcbench.spaces.nb101 import random_arch

    if columns is None:
        arch = random_arch(np.random.default_rng(0))
        cells_csv(tmp_path / "cells.csv", [arch, arch])
    else:
        pd.DataFrame(columns).to_csv(tmp_path / "cells.csv", index=False)
    with pytest.raises(ConfigError, match=message):
        run_sweep(nb101_config(tmp_path, {"select": "hashes", "file": "cells.csv"}), out=tmp_path / "out",
                  executor="serial")
