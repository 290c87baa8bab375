"""The cells of Revisit's random-search runs (reports.search_cells) and the config files that list cells."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import tomllib

from zcbench.reports.search import REVISIT_SEEDS, draw_sample, protocol_positions
from zcbench.reports.search_cells import index_file_text, main, revisit_search_cells

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_cells_are_the_union_of_the_five_protocol_draws():
    cells = revisit_search_cells()
    draws = [random.Random(seed).sample(range(15625), 100) for seed in REVISIT_SEEDS]  # Revisit's own call
    assert len(cells) == len(set(cells)) == len(set().union(*map(set, draws)))
    assert set(cells) == set().union(*map(set, draws))
    assert cells[:100] == draws[0]  # first drawn first: run 1 in its sample order
    positions = protocol_positions(15625, 100, REVISIT_SEEDS)  # what the ledger's exact runs draw
    assert set(positions.ravel().tolist()) == set(cells)
    assert revisit_search_cells(n=5, seeds=[1]) == draw_sample(list(range(15625)), 5, 1).tolist()


def test_committed_index_file_matches_the_generator(tmp_path):
    committed = (CONFIGS / "nb201_revisit_search_cells.txt").read_text()
    assert committed == index_file_text()
    assert main([str(tmp_path / "cells.txt")]) == 0
    assert (tmp_path / "cells.txt").read_text() == committed


def _sample(n: int, seed: int) -> np.ndarray:
    """The cells of a config's `select = "sample"` (benchmarks/sweep/plan.py)."""
    return np.sort(np.random.default_rng(seed).choice(15625, size=n, replace=False))


def test_seed_subsample_configs_list_the_documented_subsamples():
    for name, parent, k in (("nb201_ntk_supernet_seeds_sample200", "nb201_ntk_supernet_sample1000", 200),
                            ("nb201_ntk_code_seeds_sample30", "nb201_ntk_code_sample100", 30)):
        config = tomllib.loads((CONFIGS / f"{name}.toml").read_text())
        source = tomllib.loads((CONFIGS / f"{parent}.toml").read_text())["archs"]
        cells = _sample(source["n"], source["seed"])
        expected = sorted(int(x) for x in np.random.default_rng(1).choice(cells, size=k, replace=False))
        assert config["archs"]["refs"] == expected, name
        assert config["seeds"] == [1, 2] and tomllib.loads((CONFIGS / f"{parent}.toml").read_text())["seeds"] == [0]
