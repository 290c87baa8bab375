"""NAS-Bench-101 cell space: cell specs, validation, pruning, the module hash, and `NB101Space`.

A cell is a DAG of at most 7 vertices (input, ≤ 5 interior ops, output) and at most 9 edges, given as
an upper-triangular adjacency matrix plus one label per vertex. As in NB101 (`model_spec.py`), a spec
is first pruned (vertices not on an input→output path are removed) and only then checked against the
limits and hashed. The module hash is NB101's isomorphism-invariant md5 fingerprint (protocols §D.2),
which is also the key of every official record, so `arch_id(arch)` is that hash.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import math
import numbers
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zcbench.spaces.catalog import Space
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import DataNotFoundError, InvalidArchError, UnknownOperationError, ZcbenchError

if TYPE_CHECKING:
    import pandas as pd

# Interior op labels in NB101's canonical order: the hash labels them 0, 1, 2 (input −1, output −2).
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT, OUTPUT = "input", "output"
MAX_VERTICES = 7
MAX_EDGES = 9
INPUT_LABEL, OUTPUT_LABEL = -1, -2
_HASH_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class NB101Arch:
    """A pruned, validated NB101 cell. Build one with `make_arch` (or `NB101Space.arch`)."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def bits(self) -> str:
        """The adjacency matrix as a row-major '0'/'1' string (the official record format)."""
        return "".join(str(bit) for row in self.matrix for bit in row)

    @property
    def labels(self) -> list[int]:
        return [INPUT_LABEL] + [OPS.index(op) for op in self.ops[1:-1]] + [OUTPUT_LABEL]

    @functools.cached_property
    def module_hash(self) -> str:
        return module_hash(self.matrix, self.labels)

    def count(self, op: str) -> int:
        return sum(o == op for o in self.ops)

    def __str__(self) -> str:
        return f"{self.bits}:{','.join(self.ops)}"


def module_hash(matrix, labels) -> str:
    """NB101's graph-isomorphism-invariant md5 of an adjacency matrix and integer vertex labels.

    Each vertex starts from md5 of its (out-degree, in-degree, label) tuple; then, V times, every vertex
    hash becomes md5(sorted in-neighbour hashes | sorted out-neighbour hashes | own hash); the module
    hash is md5 of the sorted list of vertex hashes. The strings hashed are Python's `str()` of the
    tuple and of the list, exactly as the official `graph_util.hash_module` builds them.
    """
    n = len(matrix)
    preds = [[src for src in range(n) if matrix[src][dst]] for dst in range(n)]
    succs = [[dst for dst in range(n) if matrix[src][dst]] for src in range(n)]
    hashes = [_md5(str((len(succs[v]), len(preds[v]), int(labels[v])))) for v in range(n)]
    for _ in range(n):
        get = hashes.__getitem__
        hashes = [_md5(f"{''.join(sorted(map(get, ins)))}|{''.join(sorted(map(get, outs)))}|{own}")
                  for ins, outs, own in zip(preds, succs, hashes)]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def bits_to_matrix(bits: str) -> list[list[int]]:
    """A row-major '0'/'1' string of length V² as a V×V list of ints."""
    if not isinstance(bits, str):
        raise InvalidArchError(f"adjacency bits must be a str of '0'/'1', got {type(bits).__name__} {bits!r} "
                               "(read CSV columns as strings: leading zeros matter)")
    size = math.isqrt(len(bits))
    if size * size != len(bits) or size == 0:
        raise InvalidArchError(f"adjacency string of length {len(bits)} is not a V×V matrix (V² characters); "
                               "leading zeros lost when the column was read as a number?")
    if set(bits) - {"0", "1"}:
        raise InvalidArchError(f"adjacency string may contain only '0' and '1', got {bits!r}")
    return [[int(b) for b in bits[r * size:(r + 1) * size]] for r in range(size)]


def _as_matrix(matrix) -> list[list[int]]:
    if isinstance(matrix, str):
        return bits_to_matrix(matrix)
    rows = [list(row) for row in (matrix.tolist() if hasattr(matrix, "tolist") else matrix)]
    size = len(rows)
    if any(len(row) != size for row in rows):
        raise InvalidArchError(f"adjacency matrix must be square, got row lengths {[len(r) for r in rows]}")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value not in (0, 1):  # also accepts bools
                raise InvalidArchError(f"adjacency entry [{r}][{c}] must be 0 or 1, got {value!r}")
    return [[int(v) for v in row] for row in rows]


def _as_ops(ops) -> list[str]:
    if isinstance(ops, str):
        ops = ops.split(",")
    ops = [str(op).strip() for op in ops]
    return ops


def _check_labels(ops: list[str]) -> None:
    if len(ops) < 2 or ops[0] != INPUT or ops[-1] != OUTPUT:
        raise InvalidArchError(f"a cell's ops must start with {INPUT!r} and end with {OUTPUT!r}, got {ops}")
    for position, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            close = difflib.get_close_matches(op, OPS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownOperationError(f"unknown operation {op!r} at vertex {position} of {ops}{hint}; "
                                        f"expected one of {', '.join(OPS)}")


def prune(matrix: list[list[int]], ops: list[str]) -> tuple[list[list[int]], list[str]]:
    """Drop every vertex that is not on an input→output path (NB101 `ModelSpec._prune`).

    Raises InvalidArchError when the input does not reach the output.
    """
    n = len(matrix)
    from_input, to_output = _reachable(matrix, 0, forward=True), _reachable(matrix, n - 1, forward=False)
    keep = [v for v in range(n) if v in from_input and v in to_output]
    if len(keep) < 2:
        raise InvalidArchError(f"the input vertex does not reach the output vertex in {matrix}")
    return [[matrix[r][c] for c in keep] for r in keep], [ops[v] for v in keep]


def _reachable(matrix, start: int, forward: bool) -> set[int]:
    n, seen, frontier = len(matrix), {start}, [start]
    while frontier:
        v = frontier.pop()
        neighbours = (w for w in range(n) if (matrix[v][w] if forward else matrix[w][v]))
        for w in neighbours:
            if w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def make_arch(matrix, ops) -> NB101Arch:
    """Validate and prune a cell spec.

    `matrix`: V×V nested list / array of 0/1, or its row-major bit string; `ops`: V labels (a list or a
    comma-separated string). Checks squareness, 0/1 entries, strict upper-triangularity and labels, prunes,
    then checks NB101's limits (≤ 7 vertices, ≤ 9 edges) on the pruned cell, as the NB101 API does.
    """
    rows, labels = _as_matrix(matrix), _as_ops(ops)
    if len(rows) != len(labels):
        raise InvalidArchError(f"{len(rows)}×{len(rows)} adjacency matrix but {len(labels)} ops: {labels}")
    for r, row in enumerate(rows):
        if any(row[: r + 1]):
            raise InvalidArchError(f"adjacency matrix must be strictly upper-triangular (a DAG in vertex order); "
                                   f"row {r} is {row}")
    _check_labels(labels)
    rows, labels = prune(rows, labels)
    edges = sum(map(sum, rows))
    if len(labels) > MAX_VERTICES:
        raise InvalidArchError(f"NB101 cells have at most {MAX_VERTICES} vertices, this one has {len(labels)} "
                               "after pruning")
    if edges > MAX_EDGES:
        raise InvalidArchError(f"NB101 cells have at most {MAX_EDGES} edges, this one has {edges} after pruning")
    return NB101Arch(tuple(tuple(row) for row in rows), tuple(labels))


def parse_arch(text: str) -> NB101Arch:
    """Parse the `str(arch)` form `BITS:op,op,...`."""
    bits, sep, ops = text.strip().partition(":")
    if not sep:
        raise InvalidArchError(f"expected an NB101 cell as 'BITS:input,...,output' or a 32-hex module hash, "
                               f"got {text!r}")
    return make_arch(bits, ops)


def random_arch(rng) -> NB101Arch:
    """A random 7-vertex cell like most of NB101's: every interior vertex gets a random predecessor and
    successor (so nothing is pruned), random extra edges fill up to a random total of ≤ 9, interior ops
    are uniform. `rng` is a numpy Generator (for synthetic data and tests)."""
    n = MAX_VERTICES
    while True:
        edges = {(int(rng.integers(v)), v) for v in range(1, n - 1)}
        edges |= {(v, int(rng.integers(v + 1, n))) for v in range(1, n - 1)}
        if len(edges) > MAX_EDGES:
            continue
        target = int(rng.integers(len(edges), MAX_EDGES + 1))
        free = [(src, dst) for dst in range(n) for src in range(dst) if (src, dst) not in edges]
        edges |= {free[k] for k in rng.choice(len(free), size=target - len(edges), replace=False)}
        ops = [INPUT, *(OPS[i] for i in rng.integers(len(OPS), size=n - 2)), OUTPUT]
        return make_arch([[int((src, dst) in edges) for dst in range(n)] for src in range(n)], ops)


# ------------------------------------------------------------------ the Space

TABLE_CANDIDATES = ("nb101/nb101_only108.parquet", "nb101_only108.parquet", "nb101/nb101.parquet")
HOW_TO_GET_TABLE = ("download nasbench_only108.tfrecord (https://storage.googleapis.com/nasbench/"
                    "nasbench_only108.tfrecord) and run `zcbench data convert nb101 nasbench_only108.tfrecord "
                    "--out $ZCBENCH_DATA/nb101/nb101_only108.parquet`, or call "
                    "get_space('nb101').attach_table(PATH) with a converted table or a JSON records file")


class CellTable:
    """The cells of a run table, in file order: NASWOT's integer NB101 index (protocols §D.2)."""

    what = "the attached NB101 table"

    def __init__(self, table: pd.DataFrame):
        cells = table.drop_duplicates("module_hash")
        self._hashes = list(cells["module_hash"])
        self._specs = list(zip(cells["adjacency"], cells["operations"]))
        self._positions = {digest: at for at, digest in enumerate(self._hashes)}

    def __len__(self) -> int:
        return len(self._hashes)

    def position(self, digest: str) -> int | None:
        return self._positions.get(digest)

    def spec(self, position: int) -> tuple[str, str]:
        return self._specs[position]


class NB101Space(Space):
    """The NB101 space. Cells are referenced by spec, module hash or position.

    Positions and `archs()` follow the cell index: an attached table (or the converted official table
    found in the data directory) in file order, else the code enumeration of all 423,624 cells sorted by
    module hash (`nb101_enumeration`; about a CPU minute, once per process).
    `build` makes the official network (stem 128, 3 stacks × 3 cells) unless told otherwise; the
    NASWOT/Revisit proxy networks use `channels=PROXY_STEM_CHANNELS, num_classes=1` (protocols §E.10).
    """

    name = "nb101"
    description = "NAS-Bench-101 cell space (423,624 cells: ≤7 vertices, ≤9 edges, 3 ops)"
    official_size = 423_624  # unique module hashes in the official dataset (= the enumeration's count)
    STEM_CHANNELS = 128
    PROXY_STEM_CHANNELS = 16
    MODULES_PER_STACK = 3

    def __init__(self):
        self._cells: CellTable | None = None

    # ---- the cell index
    def attach_table(self, source) -> NB101Space:
        """Index the cells of a run table (a DataFrame, or a .parquet/.csv/.json/.tfrecord path) by module hash."""
        from zcbench.spaces.nb101_records import load_table

        self._cells = CellTable(load_table(source) if isinstance(source, (str, os.PathLike)) else source)
        return self

    @staticmethod
    def _enumeration():
        from zcbench.spaces.nb101_enumeration import enumerate_cells

        return enumerate_cells()

    def _index(self):
        """The attached table, else the converted table in the data directory, else the enumeration."""
        if self._cells is None:
            try:
                self.attach_table(find_data_file(list(TABLE_CANDIDATES), "the NB101 table (module hash → cell)",
                                                 HOW_TO_GET_TABLE))
            except DataNotFoundError:
                return self._enumeration()
        return self._cells

    def __len__(self) -> int:
        """Cells of the index: positions and samples address exactly these."""
        return len(self._index())

    def arch(self, ref) -> NB101Arch:
        """An NB101Arch from: an NB101Arch; a module hash or a position of the index (see the class); an
        (adjacency, ops) pair; a dict with adjacency/operations (or NB101's module_* keys); 'BITS:ops'."""
        if isinstance(ref, NB101Arch):
            return ref
        if isinstance(ref, str) and _HASH_PATTERN.match(ref.strip().lower()):
            return self._by_hash(ref.strip().lower())
        if isinstance(ref, str):
            return parse_arch(ref)
        if isinstance(ref, numbers.Integral) and not isinstance(ref, bool):
            return self._by_position(int(ref))
        if isinstance(ref, dict):
            matrix = ref.get("module_adjacency", ref.get("adjacency"))
            ops = ref.get("module_operations", ref.get("operations"))
            if matrix is None or ops is None:
                raise InvalidArchError(f"a cell dict needs adjacency and operations, got keys {sorted(ref)}")
            return make_arch(matrix, ops)
        if isinstance(ref, (tuple, list)) and len(ref) == 2:
            return make_arch(*ref)
        raise InvalidArchError(f"cannot read an NB101 cell from {type(ref).__name__} {ref!r}")

    def _by_hash(self, digest: str) -> NB101Arch:
        index = self._index()
        position = index.position(digest)
        if position is None:
            raise InvalidArchError(f"module hash {digest} is not in {index.what} ({len(index)} cells)")
        return make_arch(*index.spec(position))

    def _by_position(self, position: int) -> NB101Arch:
        index = self._index()
        if not 0 <= position < len(index):
            raise InvalidArchError(f"NB101 position {position} out of range 0..{len(index) - 1} of {index.what}")
        return make_arch(*index.spec(position))

    def arch_id(self, arch) -> str:
        return self.arch(arch).module_hash

    def archs(self) -> Iterator[NB101Arch]:
        """The cells of the index in position order (every NB101 cell without a partial table)."""
        index = self._index()
        return (make_arch(*index.spec(position)) for position in range(len(index)))

    def build(self, arch, channels=None, cells=None, num_classes=10):
        """The NB101 network (NASWOT init); `channels` = stem width (default 128), `cells` = cells per stack."""
        from zcbench.spaces.nb101_networks import build_network

        return build_network(self.arch(arch), stem_channels=channels or self.STEM_CHANNELS,
                             modules_per_stack=cells or self.MODULES_PER_STACK, num_classes=num_classes)

    def build_thin(self, arch, num_classes=10):
        """The LR1 network: an assumption (no source defines one), see `nb101_networks.NB101ThinNetwork`."""
        from zcbench.spaces.nb101_networks import build_thin_network

        return build_thin_network(self.arch(arch), num_classes=num_classes)

    def flops(self, arch, input_size=32, num_classes=10) -> float:
        """MFLOPs of the stem-128 network, counted without building it (equal to `spaces.flops.count_flops`
        on the built network, tested)."""
        from zcbench.spaces.nb101_networks import count_flops

        return count_flops(self.arch(arch), stem_channels=self.STEM_CHANNELS, num_classes=num_classes,
                           input_size=input_size)

    def param_count(self, arch, num_classes=10) -> int:
        """Trainable parameters of the stem-128 network: equals the records' `trainable_parameters`."""
        from zcbench.spaces.nb101_networks import count_parameters

        return count_parameters(self.arch(arch), stem_channels=self.STEM_CHANNELS, num_classes=num_classes)


def export_table(cells_csv=None, every_cell: bool = False) -> pd.DataFrame:
    """`zcbench space export nb101`: every enumerated cell (`--all`, sorted by module hash; see
    `nb101_enumeration.NB101Enumeration.table`) or the cells of a CSV (`--cells`, see `cells_table`)."""
    if every_cell == (cells_csv is not None):
        raise ZcbenchError("nb101 export needs exactly one of --all (every cell of the enumerated space) or "
                           "--cells CELLS.csv (`adjacency` 49-bit strings and `operations` comma-separated labels)")
    if every_cell:
        from zcbench.spaces.nb101_enumeration import enumerate_cells

        return enumerate_cells().table()
    return cells_table(cells_csv)


def cells_table(cells_csv) -> pd.DataFrame:
    """The cells of a CSV (`adjacency` bits, `operations` labels) with `module_hash`, `params` (stem 128,
    10 classes) and `flops` (MFLOPs of one 3×32×32 forward)."""
    import pandas as pd

    table = pd.read_csv(cells_csv, dtype={"adjacency": str})
    missing = {"adjacency", "operations"} - set(table.columns)
    if missing:
        raise ZcbenchError(f"{cells_csv}: missing column(s) {sorted(missing)}; found {list(table.columns)}")
    space = NB101Space()
    hashes, params, flops = [], [], []
    for row, (bits, ops) in enumerate(zip(table["adjacency"], table["operations"])):
        try:
            arch = make_arch(bits, ops)
        except InvalidArchError as exc:
            raise InvalidArchError(f"{cells_csv}, data row {row + 1}: {exc}") from None
        hashes.append(arch.module_hash)
        params.append(space.param_count(arch))
        flops.append(space.flops(arch))
    return table.assign(module_hash=hashes, params=params, flops=flops)


NB101 = NB101Space()  # the catalog's lazy 'nb101' entry
