"""The NB101 enumeration by code: a small sub-space against brute force and the official generator's walk
(default run), the full 423,624 cells against the committed checksum and the shared records (slow)."""
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zcbench.spaces import nb101, nb101_enumeration
from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.nb101_enumeration import (
    FULL_CELLS,
    FULL_CHECKSUM,
    compute_cells,
    edge_bit,
    enumerate_cells,
    full_dag_patterns,
    labellings,
    pattern_matrix,
)
from zcbench.spaces.nb101_networks import count_flops, count_parameters

COMMITTED = json.loads((Path(__file__).parent / "data" / "nb101_enumeration.json").read_text())
SMALL = COMMITTED["small"]["max_vertices"]


def brute_force_hashes(max_vertices):
    """Module hashes of every upper-triangular spec with ≤ max_vertices vertices and every labelling,
    through `make_arch` (pruning, then NB101's limits); invalid specs are skipped, as NB101 does."""
    hashes = set()
    for n in range(2, max_vertices + 1):
        edges = [(src, dst) for dst in range(n) for src in range(dst)]
        for bits in itertools.product((0, 1), repeat=len(edges)):
            matrix = [[0] * n for _ in range(n)]
            for (src, dst), bit in zip(edges, bits):
                matrix[src][dst] = bit
            for ops in itertools.product(nb101.OPS, repeat=n - 2):
                try:
                    hashes.add(nb101.make_arch(matrix, ["input", *ops, "output"]).module_hash)
                except nb101.InvalidArchError:
                    pass
    return hashes


def official_walk(max_vertices):
    """`nasbench/scripts/generate_graphs.py`: hash → the first (matrix, labelling) met, walking vertices,
    then bit patterns, then labellings in ascending order, over full DAGs with ≤ 9 edges."""
    first = {}
    for n in range(2, max_vertices + 1):
        for bits in range(2 ** (n * (n - 1) // 2)):
            matrix = np.array([[src < dst and (bits >> edge_bit(src, dst)) % 2 == 1 for dst in range(n)]
                               for src in range(n)], dtype=int)
            full = not (matrix[:-1] == 0).all(axis=1).any() and not (matrix[:, 1:] == 0).all(axis=0).any()
            if not full or matrix.sum() > nb101.MAX_EDGES:
                continue
            for labelling in itertools.product(range(3), repeat=n - 2):
                digest = nb101.module_hash(matrix.tolist(), [-1, *labelling, -2])
                first.setdefault(digest, (matrix.tolist(), ["input", *(nb101.OPS[o] for o in labelling), "output"]))
    return first


@pytest.fixture(scope="module")
def small():
    return enumerate_cells(SMALL)


def test_small_enumeration_equals_brute_force_and_the_committed_checksum(small):
    hashes = [h.decode() for h in small.hashes]
    assert hashes == sorted(brute_force_hashes(SMALL))
    assert len(small) == COMMITTED["small"]["cells"]
    assert small.checksum() == COMMITTED["small"]["sha256"]
    assert {str(n): int(c) for n, c in zip(*np.unique(small.num_vertices, return_counts=True))} == \
        {n: c for n, c in COMMITTED["cells_by_vertices"].items() if int(n) <= SMALL}


def test_each_cell_is_stored_as_the_spec_the_official_generator_keeps(small):
    walk = official_walk(SMALL)
    assert len(walk) == len(small)
    for position in range(len(small)):
        digest = small.hashes[position].decode()
        assert small.spec(position) == walk[digest], digest
        assert nb101.make_arch(*small.spec(position)).module_hash == digest
        assert small.position(digest) == position
    assert small.position("f" * 32) is None


def test_full_dag_patterns_are_the_cells_pruning_leaves_unchanged():
    for n in (3, 4, 5):
        full = set(full_dag_patterns(n).tolist())
        for pattern in range(2 ** (n * (n - 1) // 2)):
            matrix = pattern_matrix(pattern, n)
            try:
                unchanged = nb101.make_arch(matrix, ["input"] + [nb101.OPS[0]] * (n - 2) + ["output"]).matrix == \
                    tuple(map(tuple, matrix))
            except nb101.InvalidArchError:
                unchanged = False
            assert (pattern in full) == unchanged, (n, pattern)


def test_table_columns_and_costs_equal_the_network_counts(small):
    table = small.table()
    assert list(table.columns) == ["module_hash", "adjacency", "operations", "num_vertices", "num_edges", "params",
                                   "flops"]
    for row in table.sample(60, random_state=0).itertuples():
        arch = nb101.make_arch(row.adjacency, row.operations)
        assert (arch.module_hash, arch.num_vertices, arch.num_edges) == (row.module_hash, row.num_vertices,
                                                                         row.num_edges)
        assert count_parameters(arch) == row.params
        assert count_flops(arch) == pytest.approx(row.flops, rel=1e-12)
    assert labellings(5).tolist()[:4] == [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0]]  # product order


def test_summary_counts_cells_ops_and_params(small):
    summary = nb101_enumeration.summarize(small.table())
    assert summary["cells"] == len(small) and sum(summary["cells_by_vertices"].values()) == len(small)
    assert summary["cells_by_vertices"][2] == 1 and summary["cells_by_edges"][1] == 1  # input → output alone
    ops = summary["interior_ops"]
    assert len(set(ops.values())) == 1  # labels are exchangeable: every op appears equally often
    assert sum(ops.values()) == int((small.num_vertices.astype(int) - 2).sum())
    quantiles = summary["params_m_quantiles"]
    assert quantiles[0.0] <= quantiles[0.5] <= quantiles[1.0]


@pytest.mark.parametrize("limits", [(1, 9), (8, 9), (7, 0), (7, 10)])
def test_limits_outside_nb101_are_rejected(limits):
    with pytest.raises(ZcbenchError, match="enumeration limits"):
        enumerate_cells(*limits)


def test_the_cache_is_used_only_with_the_expected_checksum(small, tmp_path, monkeypatch):
    monkeypatch.setenv("ZCBENCH_CACHE", str(tmp_path))
    path = nb101_enumeration.cache_path()
    assert path.parent == tmp_path
    nb101_enumeration.store(small, path)
    loaded = nb101_enumeration.load(path, small.checksum())
    assert loaded.checksum() == small.checksum() and loaded.spec(7) == small.spec(7)
    assert nb101_enumeration.load(path, FULL_CHECKSUM) is None  # another enumeration: recomputed, not reused
    path.write_bytes(b"not an npz")
    assert nb101_enumeration.load(path, small.checksum()) is None


# ------------------------------------------------------------------ the full space (slow tier)

@pytest.fixture(scope="module")
def full():
    return compute_cells()  # not the cache: the checksum must come from this code


@pytest.mark.slow
def test_full_enumeration_count_and_checksum(full):
    assert len(full) == FULL_CELLS == nb101.NB101Space.official_size
    assert full.checksum() == FULL_CHECKSUM
    assert {str(n): int(c) for n, c in zip(*np.unique(full.num_vertices, return_counts=True))} == \
        COMMITTED["cells_by_vertices"]


@pytest.mark.slow
def test_every_shared_record_is_found_with_its_official_spec_and_params(full, shared_data):
    records = json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())
    params = full.costs()[0]
    for record in records:
        position = full.position(record["module_hash"])
        assert position is not None
        matrix, ops = full.spec(position)
        assert (matrix, ops) == (record["module_adjacency"], record["module_operations"])
        assert params[position] == record["trainable_parameters"]


@pytest.mark.slow
def test_every_cell_of_the_shared_sample_is_found(full, shared_data):
    sample = pd.read_csv(shared_data / "nb101" / "nb101_sample500.csv", dtype={"adjacency": str})
    digests = {nb101.make_arch(b, o).module_hash for b, o in zip(sample["adjacency"], sample["operations"])}
    assert [d for d in digests if full.position(d) is None] == []
