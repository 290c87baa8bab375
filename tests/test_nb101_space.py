"""NB101 cell space: validation, pruning, the module hash, references and the space export."""
import json

import numpy as np
import pandas as pd
import pytest

from zcbench.cli import main as zcbench
from zcbench.spaces import nb101
from zcbench.spaces.catalog import get_space, list_spaces
from zcbench.spaces.errors import InvalidArchError, UnknownOperationError

C3, C1, MP = nb101.OPS


@pytest.fixture(scope="module")
def records30(shared_data):
    return json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())


def relabel_topologically(arch, rng):
    """The same cell with its interior vertices renumbered in another topological order."""
    n = arch.num_vertices
    order, placed = [0], {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1) if v not in placed
                 and all(src in placed for src in range(n) if arch.matrix[src][v])]
        pick = ready[rng.integers(len(ready))]
        order.append(pick)
        placed.add(pick)
    order.append(n - 1)
    matrix = [[arch.matrix[a][b] for b in order] for a in order]
    return matrix, [arch.ops[v] for v in order]


def test_hash_of_every_official_record_equals_its_module_hash(records30):
    for record in records30:
        arch = nb101.make_arch(record["module_adjacency"], record["module_operations"])
        assert arch.module_hash == record["module_hash"]


def test_hash_is_invariant_to_vertex_numbering_and_sensitive_to_ops(records30):
    rng = np.random.default_rng(0)
    archs = [nb101.make_arch(r["module_adjacency"], r["module_operations"]) for r in records30]
    archs += [nb101.random_arch(rng) for _ in range(30)]
    renumbered = 0
    for arch in archs:
        for _ in range(3):
            matrix, ops = relabel_topologically(arch, rng)
            renumbered += matrix != [list(row) for row in arch.matrix]
            assert nb101.make_arch(matrix, ops).module_hash == arch.module_hash
    assert renumbered > 20  # the check above really saw different numberings
    cell = nb101.make_arch([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C1, "output"])
    swapped = nb101.make_arch(cell.matrix, ["input", C3, C3, "output"])
    assert cell.module_hash != swapped.module_hash


def test_hash_of_hand_checked_chain_cell():
    """input → conv3x3 → output: vertex tuples (1, 0, -1), (1, 1, 0), (0, 1, -2), then 3 rounds."""
    import hashlib

    def md5(text):
        return hashlib.md5(text.encode()).hexdigest()

    h = [md5("(1, 0, -1)"), md5("(1, 1, 0)"), md5("(0, 1, -2)")]
    for _ in range(3):
        h = [md5("|" + h[1] + "|" + h[0]), md5(h[0] + "|" + h[2] + "|" + h[1]), md5(h[1] + "||" + h[2])]
    expected = md5(str(sorted(h)))
    assert nb101.make_arch("010001000", "input,conv3x3-bn-relu,output").module_hash == expected


def test_pruning_drops_vertices_off_every_input_output_path():
    # vertex 2 is never reached from the input; vertex 3 never reaches the output
    matrix = [[0, 1, 0, 1, 0],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0],
              [0, 0, 0, 0, 0]]
    arch = nb101.make_arch(matrix, ["input", C3, MP, C1, "output"])
    assert arch.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
    assert arch.ops == ("input", C3, "output")
    assert arch.module_hash == nb101.make_arch("010001000", "input,conv3x3-bn-relu,output").module_hash


def test_limits_are_checked_after_pruning():
    # 10 edges before pruning, 3 after: valid, as in the NB101 API
    matrix = np.triu(np.ones((7, 7), dtype=int), 1)
    matrix[0, :] = 0
    matrix[0, 1] = 1
    matrix[1, :] = 0
    matrix[1, 6] = 1
    matrix[0, 6] = 1
    assert matrix.sum() > nb101.MAX_EDGES
    arch = nb101.make_arch(matrix, ["input", C3, C3, C3, C3, C3, "output"])
    assert arch.num_edges == 3 and arch.num_vertices == 3


@pytest.mark.parametrize("matrix,ops,message", [
    ([[0, 1], [0, 0], [0, 0]], ["input", "output"], "square"),
    ([[0, 2], [0, 0]], ["input", "output"], "0 or 1"),
    ([[0, 1], [1, 0]], ["input", "output"], "upper-triangular"),
    ([[0, 1], [0, 0]], ["input"], "ops"),
    ([[0, 1], [0, 0]], ["output", "input"], "start with 'input'"),
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"], "does not reach"),
    (np.triu(np.ones((7, 7), dtype=int), 1), ["input"] + [C3] * 5 + ["output"], "at most 9 edges"),
    (np.eye(8, k=1, dtype=int), ["input"] + [C3] * 6 + ["output"], "at most 7 vertices"),
    ("0" * 48, "input,output", "leading zeros"),
    ("0102", "input,output", "only '0' and '1'"),
])
def test_invalid_cells_are_rejected_with_the_reason(matrix, ops, message):
    with pytest.raises(InvalidArchError, match=message):
        nb101.make_arch(matrix, ops)


def test_unknown_operation_names_the_vertex_and_suggests():
    with pytest.raises(UnknownOperationError, match=r"'conv3x3-bn-rel' at vertex 1.*did you mean 'conv3x3-bn-relu'"):
        nb101.make_arch("010001000", "input,conv3x3-bn-rel,output")


def test_string_forms_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(20):
        arch = nb101.random_arch(rng)
        assert nb101.make_arch(arch.bits, ",".join(arch.ops)) == arch
        assert nb101.parse_arch(str(arch)) == arch
        assert arch.num_vertices <= nb101.MAX_VERTICES and arch.num_edges <= nb101.MAX_EDGES


def test_space_is_registered_in_the_catalog():
    space = get_space("nb101")
    assert isinstance(space, nb101.NB101Space)
    assert "nb101" in [s.name for s in list_spaces()]


def test_arch_accepts_hash_position_spec_dict_and_string(shared_data, records30):
    space = nb101.NB101Space().attach_table(shared_data / "nb101" / "nb101_records30.json")
    assert len(space) == 30
    first = records30[0]
    by_spec = space.arch((first["module_adjacency"], first["module_operations"]))
    assert space.arch(first["module_hash"]) == by_spec
    assert space.arch(first["module_hash"].upper()) == by_spec
    assert space.arch(0) == by_spec
    assert space.arch(np.int64(0)) == by_spec
    assert space.arch(first) == by_spec
    assert space.arch(str(by_spec)) == by_spec
    assert space.arch_id(by_spec) == first["module_hash"]
    assert [space.arch_id(a) for a in space.archs()] == [r["module_hash"] for r in records30]
    with pytest.raises(InvalidArchError, match="not in the attached NB101 table"):
        space.arch("0" * 32)
    with pytest.raises(InvalidArchError, match="out of range"):
        space.arch(30)
    with pytest.raises(InvalidArchError, match="cannot read"):
        space.arch(1.5)


@pytest.fixture
def small_enumeration(monkeypatch):
    """The ≤ 4-vertex enumeration (91 cells) in place of the full one (a CPU minute)."""
    from zcbench.spaces import nb101_enumeration

    small = nb101_enumeration.enumerate_cells(4)
    monkeypatch.setattr(nb101_enumeration, "enumerate_cells", lambda: small)
    return small


def test_without_a_table_the_index_is_the_enumeration_sorted_by_hash(tmp_path, monkeypatch, small_enumeration):
    """Bug: len() was the official size before a table was attached, while no position could be resolved."""
    monkeypatch.setenv("ZCBENCH_DATA", str(tmp_path))
    space = nb101.NB101Space()
    assert len(space) == len(small_enumeration) == 91
    hashes = [space.arch_id(space.arch(position)) for position in range(len(space))]
    assert hashes == sorted(hashes) == [a.module_hash for a in space.archs()]
    assert space.arch(hashes[5]) == space.arch(5)
    with pytest.raises(InvalidArchError, match=r"not in the enumerated NB101 space \(≤ 4 vertices"):
        space.arch("0" * 32)
    with pytest.raises(InvalidArchError, match="out of range 0..90 of the enumerated"):
        space.arch(91)


def test_an_attached_table_replaces_the_enumeration_as_index(shared_data, small_enumeration):
    space = nb101.NB101Space()
    assert len(space) == 91
    space.attach_table(shared_data / "nb101" / "nb101_records30.json")
    assert len(space) == 30


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_space_export_all_writes_every_enumerated_cell(tmp_path, small_enumeration, suffix):
    out = tmp_path / f"cells{suffix}"
    assert zcbench(["space", "export", "nb101", "--all", "--out", str(out)]) == 0
    table = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype={"adjacency": str})
    assert list(table["module_hash"]) == [h.decode() for h in small_enumeration.hashes]
    assert set(table.columns) >= {"adjacency", "operations", "num_vertices", "num_edges", "params", "flops"}
    first = table.iloc[0]
    assert nb101.make_arch(first["adjacency"], first["operations"]).module_hash == first["module_hash"]


def test_space_export_adds_hash_params_and_flops(shared_data, tmp_path):
    sample = pd.read_csv(shared_data / "nb101" / "nb101_sample500.csv", dtype={"adjacency": str})
    cells = sample.iloc[[5]][["adjacency", "operations"]]
    cells_csv, out = tmp_path / "cells.csv", tmp_path / "out.csv"
    cells.to_csv(cells_csv, index=False)
    assert zcbench(["space", "export", "nb101", "--cells", str(cells_csv), "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"adjacency": str})
    assert list(table["adjacency"]) == list(cells["adjacency"])  # leading zeros survive
    expected = sample.set_index("adjacency").loc[cells["adjacency"]]
    assert list(table["params"]) == [round(p * 1e6) for p in expected["params_m"]]
    for row in table.itertuples():
        assert row.module_hash == nb101.make_arch(row.adjacency, row.operations).module_hash
    # NASLib's FLOPs also count BN, ReLU and pooling (see test_nb101_networks); conv+linear are the bulk
    assert ((expected["flops_m"].to_numpy() - table["flops"].to_numpy()) > 0).all()


@pytest.mark.parametrize("choice", [[], ["--all", "--cells", "cells.csv"]])
def test_space_export_needs_all_or_cells(tmp_path, capsys, choice):
    assert zcbench(["space", "export", "nb101", *choice, "--out", str(tmp_path / "x.csv")]) == 2
    assert "exactly one of --all" in capsys.readouterr().err


def test_params_proxy_scores_nb101_cells_once_the_space_is_enabled(shared_data, records30):
    """The proxy registry is not ours to edit: enable 'nb101' on a copy of the `params` spec."""
    import dataclasses

    from zcbench.proxies.registry import get_proxy

    params = dataclasses.replace(get_proxy("params"), spaces=("nb201", "nb101"))
    space = nb101.NB101Space().attach_table(shared_data / "nb101" / "nb101_records30.json")
    for record in records30[:3]:
        by_hash = params.score(record["module_hash"], space=space)
        by_spec = params.score((record["module_adjacency"], record["module_operations"]), space="nb101")
        assert by_hash.status == by_spec.status == "ok"
        assert by_hash.value == by_spec.value == record["trainable_parameters"] / 1e6
