"""Every NB101 cell, enumerated by code without the dataset file (423,624 module hashes).

The official generator (`nasbench/scripts/generate_graphs.py`) walks, for V = 2…7 vertices, every
upper-triangular adjacency bit pattern in ascending order, keeps the *full* DAGs (every vertex but the
output has a successor, every vertex but the input a predecessor) with ≤ 9 edges, hashes every labelling
of the interior vertices, and keeps the first spec of each new module hash. Full DAGs are exactly the
specs that pruning leaves unchanged, so they are the pruned cells. Instead of hashing all 35M
(pattern, labelling) pairs, this module
1. maps every full-DAG pattern to the smallest pattern of its isomorphism class (over the permutations
   of the interior vertices that keep the matrix upper-triangular) in one vectorised pass, which also
   gives each class representative its automorphisms;
2. keeps, per representative, the labellings that are the smallest, in the official product order, of
   their orbit under those automorphisms: one per distinct labelled cell, and the spec the official walk
   keeps for it (its first one);
3. hashes each cell once and checks the hashes are distinct, so the count is the number of hashes.
Order: cells sorted by module hash — positions do not depend on any dataset file. The full enumeration
(about a CPU minute, mostly md5) is cached in `$ZCBENCH_CACHE` (default `~/.cache/zcbench`) and reused
only when its checksum equals the committed `FULL_CHECKSUM`.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.nb101 import (
    INPUT,
    INPUT_LABEL,
    MAX_EDGES,
    MAX_VERTICES,
    OPS,
    OUTPUT,
    OUTPUT_LABEL,
    NB101Arch,
    module_hash,
)

_CHUNK = 7  # bits per lookup table when permuting patterns (tables of 2**7 entries)
_NOT_UPPER = 1 << 40  # weight of an edge a permutation turns downward: such an image is never the smallest
COST_COLUMNS = ("params", "flops")
FULL_CELLS = 423_624  # = the official dataset's number of module hashes
FULL_CHECKSUM = "53e1438d11675d9eb3899166c29ca07fe0c4b81af9d99d5aec3ecd31bd5bca7f"  # NB101Enumeration.checksum()
_ARRAYS = ("hashes", "num_vertices", "patterns", "labelling")


def edge_bit(src: int, dst: int) -> int:
    """Bit of edge src→dst (src < dst) in the official pattern (`graph_util.gen_is_edge_fn`)."""
    return src + dst * (dst - 1) // 2


def _edges(num_vertices: int) -> list[tuple[int, int]]:
    """The upper-triangular edges in bit order."""
    return [(src, dst) for dst in range(num_vertices) for src in range(dst)]


def pattern_matrix(pattern: int, num_vertices: int) -> list[list[int]]:
    return [[int(src < dst and (pattern >> edge_bit(src, dst)) & 1) for dst in range(num_vertices)]
            for src in range(num_vertices)]


def full_dag_patterns(num_vertices: int, max_edges: int = MAX_EDGES) -> np.ndarray:
    """Ascending official bit patterns of the V-vertex full DAGs with at most `max_edges` edges."""
    patterns = np.arange(2 ** (num_vertices * (num_vertices - 1) // 2), dtype=np.int64)
    patterns = patterns[np.bitwise_count(patterns) <= max_edges]
    last = num_vertices - 1
    for v in range(num_vertices):
        if v < last:  # has a successor
            patterns = patterns[patterns & sum(1 << edge_bit(v, w) for w in range(v + 1, num_vertices)) != 0]
        if v > 0:  # has a predecessor
            patterns = patterns[patterns & sum(1 << edge_bit(u, v) for u in range(v)) != 0]
    return patterns


def interior_permutations(num_vertices: int) -> list[tuple[int, ...]]:
    """Vertex maps old → new that fix the input (0) and the output (V−1)."""
    last = num_vertices - 1
    return [(0, *perm, last) for perm in itertools.permutations(range(1, last))]


def _image_tables(perm: tuple[int, ...], edges: list[tuple[int, int]]) -> list[np.ndarray]:
    """Per 7-bit chunk of a pattern, the pattern of its edges renumbered by `perm` (+ _NOT_UPPER per edge
    that would point backwards)."""
    weights = np.array([1 << edge_bit(perm[s], perm[d]) if perm[s] < perm[d] else _NOT_UPPER for s, d in edges],
                       dtype=np.int64)
    tables = []
    for start in range(0, len(edges), _CHUNK):
        chunk = weights[start:start + _CHUNK]
        bits = (np.arange(1 << len(chunk))[:, None] >> np.arange(len(chunk))) & 1
        tables.append(bits @ chunk)
    return tables


def _images(patterns: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
    image = np.zeros_like(patterns)
    for k, table in enumerate(tables):
        image += table[(patterns >> (_CHUNK * k)) & ((1 << _CHUNK) - 1)]
    return image


def structures(num_vertices: int, max_edges: int = MAX_EDGES) -> tuple[np.ndarray, np.ndarray]:
    """The isomorphism classes of V-vertex full DAGs: (smallest pattern of each class, ascending;
    boolean matrix class × `interior_permutations(V)` that marks each class's automorphisms)."""
    patterns = full_dag_patterns(num_vertices, max_edges)
    tables = [_image_tables(perm, _edges(num_vertices)) for perm in interior_permutations(num_vertices)]
    smallest = patterns.copy()
    for table in tables:
        np.minimum(smallest, _images(patterns, table), out=smallest)
    representatives = patterns[smallest == patterns]
    automorphisms = np.stack([_images(representatives, table) == representatives for table in tables], axis=1)
    return representatives, automorphisms


def labellings(num_vertices: int) -> np.ndarray:
    """Every interior labelling (op indices) in the official `itertools.product` order."""
    combos = list(itertools.product(range(len(OPS)), repeat=num_vertices - 2))
    return np.array(combos, dtype=np.int8).reshape(len(combos), num_vertices - 2)


def _orbit_minima(num_vertices: int, automorphisms: np.ndarray) -> list[np.ndarray]:
    """Per class, the labelling indices that are the smallest of their orbit under its automorphisms."""
    labels = labellings(num_vertices)
    place = len(OPS) ** np.arange(num_vertices - 3, -1, -1)  # vertex 1 is the most significant digit
    index = labels.astype(np.int64) @ place
    relabelled = np.stack([labels[:, np.array(perm[1:-1], dtype=int) - 1].astype(np.int64) @ place
                           for perm in interior_permutations(num_vertices)])
    return [np.flatnonzero((index <= relabelled[fixed]).all(axis=0)) for fixed in automorphisms]


@dataclass(frozen=True)
class NB101Enumeration:
    """The enumerated cells, sorted by module hash: position i is cell i of that order.

    Each cell is stored as (vertices, official bit pattern, labelling index in product order), the spec
    the official generator keeps for its hash; `spec(i)` expands it.
    """

    max_vertices: int
    max_edges: int
    hashes: np.ndarray        # 'S32' ascii module hashes, ascending
    num_vertices: np.ndarray  # int8
    patterns: np.ndarray      # int32
    labelling: np.ndarray     # int16: index of the interior ops in `labellings(V)`

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def what(self) -> str:
        """How error messages name this index."""
        return f"the enumerated NB101 space (≤ {self.max_vertices} vertices, ≤ {self.max_edges} edges)"

    def position(self, digest: str) -> int | None:
        """Position of a module hash, None when it is not a cell of this enumeration."""
        key = digest.encode("ascii")
        at = int(np.searchsorted(self.hashes, key))
        return at if at < len(self.hashes) and self.hashes[at] == key else None

    def ops(self, position: int) -> list[str]:
        n, index = int(self.num_vertices[position]), int(self.labelling[position])
        digits = [(index // len(OPS) ** k) % len(OPS) for k in range(n - 3, -1, -1)]
        return [INPUT, *(OPS[d] for d in digits), OUTPUT]

    def spec(self, position: int) -> tuple[list[list[int]], list[str]]:
        """(adjacency matrix, ops) of the cell at `position`."""
        return pattern_matrix(int(self.patterns[position]), int(self.num_vertices[position])), self.ops(position)

    def checksum(self) -> str:
        """sha256 of the module hashes in order, one per line: equal checksums, equal enumerations."""
        return hashlib.sha256(b"".join(h + b"\n" for h in self.hashes)).hexdigest()

    def table(self):
        """One row per cell: module_hash, adjacency (V² bits, row-major, as in the records), operations,
        num_vertices, num_edges, params and flops (MFLOPs) of the stem-128 network."""
        import pandas as pd

        adjacency = np.empty(len(self), dtype=object)
        operations = np.empty(len(self), dtype=object)
        for n in np.unique(self.num_vertices):  # strings per structure and per labelling, not per cell
            rows = np.flatnonzero(self.num_vertices == n)
            groups, which = np.unique(self.patterns[rows], return_inverse=True)
            bits = ["".join(str(b) for row in pattern_matrix(int(p), int(n)) for b in row) for p in groups]
            adjacency[rows] = np.array(bits, dtype=object)[which]
            labels = [",".join([INPUT, *(OPS[o] for o in lab), OUTPUT]) for lab in labellings(int(n)).tolist()]
            operations[rows] = np.array(labels, dtype=object)[self.labelling[rows]]
        table = pd.DataFrame({
            "module_hash": self.hashes.astype(str),
            "adjacency": adjacency,
            "operations": operations,
            "num_vertices": self.num_vertices.astype(np.int64),
            "num_edges": np.bitwise_count(self.patterns).astype(np.int64)})
        return table.assign(**dict(zip(COST_COLUMNS, self.costs())))

    def costs(self) -> tuple[np.ndarray, np.ndarray]:
        """(params, MFLOPs) of every cell's stem-128 network (10 classes, 32×32 input).

        Both are sums over the convs, and which convs a vertex adds depends only on its op once the matrix
        (hence every channel count) is fixed: cost = cost(all interior ops maxpool) + Σ_v Δ(v, op_v).
        So the networks are counted for each structure's 1 + 2(V−2) op patterns, not for each cell.
        """
        params, flops = np.zeros(len(self), dtype=np.int64), np.zeros(len(self))
        for n in np.unique(self.num_vertices):
            rows = np.flatnonzero(self.num_vertices == n)
            groups, which = np.unique(self.patterns[rows], return_inverse=True)
            base, delta = zip(*(_cost_terms(int(p), int(n)) for p in groups))
            digits = labellings(int(n))[self.labelling[rows]].astype(np.int64)
            for out, column in ((params, 0), (flops, 1)):
                terms = np.stack([d[column] for d in delta])[which]  # cells × interior vertices × ops
                out[rows] = np.array([b[column] for b in base])[which] + np.take_along_axis(
                    terms, digits[:, :, None], axis=2)[:, :, 0].sum(axis=1)
        return params, flops


def summarize(table) -> dict:
    """The enumeration's composition for reports: cells by vertex and edge count, interior ops over all
    cells, #Param (M) quantiles and distinct counts; `table` is `NB101Enumeration.table()` or its export."""
    interior = table["operations"].str.split(",").explode()
    params = table["params"] / 1e6
    return {"cells": len(table),
            "cells_by_vertices": table["num_vertices"].value_counts().sort_index().to_dict(),
            "cells_by_edges": table["num_edges"].value_counts().sort_index().to_dict(),
            "interior_ops": {op: int((interior == op).sum()) for op in OPS},
            "params_m_quantiles": params.quantile([0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]).round(4).to_dict(),
            "distinct_params": int(table["params"].nunique())}


# Fixed #Param bins (log10 of the count, 10^5 … 10^8 in steps of 0.05): histograms of sub-spaces add up.
PARAMS_LOG10_EDGES = tuple(round(5 + 0.05 * k, 2) for k in range(61))


def summarize_by_vertices(table) -> dict:
    """Per vertex count V (string keys, JSON-ready): cells, cells by edge count, interior ops, the #Param
    histogram over `PARAMS_LOG10_EDGES` and its min / median / max. Each V's entry depends only on the
    V-vertex cells, so a small enumeration checks the same entries of the full one."""
    out = {}
    for n, part in table.groupby("num_vertices", sort=True):
        interior = part["operations"].str.split(",").explode()
        counts, _ = np.histogram(np.log10(part["params"].to_numpy(np.float64)), bins=PARAMS_LOG10_EDGES)
        out[str(int(n))] = {"cells": len(part),
                            "cells_by_edges": {str(int(k)): int(v) for k, v in
                                               part["num_edges"].value_counts().sort_index().items()},
                            "interior_ops": {op: int((interior == op).sum()) for op in OPS},
                            "params_log10_counts": counts.astype(int).tolist(),
                            "params_min": int(part["params"].min()), "params_max": int(part["params"].max()),
                            "params_median": float(part["params"].median())}
    return out


def _cost_terms(pattern: int, num_vertices: int) -> tuple[tuple[int, float], tuple[np.ndarray, np.ndarray]]:
    """(params, flops) with every interior op maxpool, and their change per (interior vertex, op)."""
    from zcbench.spaces.nb101_networks import count_flops, count_parameters

    matrix = tuple(map(tuple, pattern_matrix(pattern, num_vertices)))
    pool = OPS.index("maxpool3x3")

    def cost(ops):
        arch = NB101Arch(matrix, (INPUT, *(OPS[o] for o in ops), OUTPUT))
        return count_parameters(arch), count_flops(arch)

    interior = num_vertices - 2
    base = cost([pool] * interior)
    delta = np.zeros((2, interior, len(OPS)))
    for v, op in itertools.product(range(interior), range(len(OPS))):
        if op != pool:
            ops = [pool] * interior
            ops[v] = op
            delta[:, v, op] = np.subtract(cost(ops), base)
    return base, (delta[0].astype(np.int64), delta[1])


class EnumerationError(ZcbenchError):
    """The enumeration found two distinct cells with one module hash (the official generator aborts too)."""


def cache_path() -> Path:
    """Where the full enumeration is cached: `$ZCBENCH_CACHE`, else `$XDG_CACHE_HOME/zcbench`, else ~/.cache."""
    if os.environ.get("ZCBENCH_CACHE"):
        return Path(os.environ["ZCBENCH_CACHE"]) / "nb101_enumeration.npz"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zcbench" / "nb101_enumeration.npz"


def store(enumeration: NB101Enumeration, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")  # concurrent writers never mix
    np.savez(partial, limits=[enumeration.max_vertices, enumeration.max_edges],
             **{name: getattr(enumeration, name) for name in _ARRAYS})
    partial.replace(path)


def load(path: Path, checksum: str) -> NB101Enumeration | None:
    """A stored enumeration whose checksum is `checksum`; None when absent, unreadable or different."""
    try:
        with np.load(path) as stored:
            enumeration = NB101Enumeration(*map(int, stored["limits"]), *(stored[name] for name in _ARRAYS))
    except (OSError, KeyError, ValueError):
        return None
    return enumeration if enumeration.checksum() == checksum else None


@functools.lru_cache(maxsize=4)
def enumerate_cells(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> NB101Enumeration:
    """`compute_cells`, once per process; the full space also through the verified on-disk cache."""
    if (max_vertices, max_edges) != (MAX_VERTICES, MAX_EDGES):
        return compute_cells(max_vertices, max_edges)
    path = cache_path()
    enumeration = load(path, FULL_CHECKSUM)
    if enumeration is None:
        enumeration = compute_cells()
        try:
            store(enumeration, path)
        except OSError:
            pass  # a read-only home only costs the next process another enumeration
    return enumeration


def compute_cells(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> NB101Enumeration:
    """Every distinct pruned NB101 cell with ≤ max_vertices vertices and ≤ max_edges edges, sorted by hash."""
    if not 2 <= max_vertices <= MAX_VERTICES or not 1 <= max_edges <= MAX_EDGES:
        raise ZcbenchError(f"NB101 enumeration limits must be 2 ≤ max_vertices ≤ {MAX_VERTICES} and "
                           f"1 ≤ max_edges ≤ {MAX_EDGES}, got {max_vertices} and {max_edges}")
    digests, vertices, patterns, picks = [], [], [], []
    for n in range(2, max_vertices + 1):
        representatives, automorphisms = structures(n, max_edges)
        labels = labellings(n)
        for pattern, kept in zip(representatives.tolist(), _orbit_minima(n, automorphisms)):
            matrix = pattern_matrix(pattern, n)
            digests.extend(module_hash(matrix, [INPUT_LABEL, *labels[k].tolist(), OUTPUT_LABEL]) for k in kept)
            vertices.append(np.full(len(kept), n, dtype=np.int8))
            patterns.append(np.full(len(kept), pattern, dtype=np.int32))
            picks.append(kept.astype(np.int16))
    hashes = np.array(digests, dtype="S32")
    order = np.argsort(hashes, kind="stable")
    hashes = hashes[order]
    clash = np.flatnonzero(hashes[1:] == hashes[:-1])
    if len(clash):
        raise EnumerationError(f"{len(clash)} module hash(es) shared by non-isomorphic cells, e.g. "
                               f"{hashes[clash[0]].decode()}")
    return NB101Enumeration(max_vertices, max_edges, hashes, np.concatenate(vertices)[order],
                            np.concatenate(patterns)[order], np.concatenate(picks)[order])
