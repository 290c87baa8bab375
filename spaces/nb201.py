"""NAS-Bench-201 cell space: arch strings, the official index order, op counts, isomorphism, liveness.

The index order is re-derived here (protocols §1.2): all 5^6 op tuples in product order over the
edges (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), first edge slowest, ops in canonical order, then shuffled
with Python's `random.seed(88)`. NATS-Bench `tss` uses the same indices.
"""
from __future__ import annotations

import difflib
import functools
import itertools
import random
from dataclasses import dataclass

from zcbench.spaces.errors import InvalidArchError, UnknownOperationError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), arch-string order
NUM_ARCHS = len(OPS) ** len(EDGES)
SHUFFLE_SEED = 88
PARAM_OPS = ("nor_conv_3x3", "nor_conv_1x1")


@dataclass(frozen=True)
class NB201Arch:
    """One NB201 cell: the op on each of the 6 edges, in arch-string edge order."""

    ops: tuple[str, ...]

    def __post_init__(self):
        if len(self.ops) != len(EDGES):
            raise InvalidArchError(f"an NB201 cell has {len(EDGES)} edges, got {len(self.ops)} ops: {self.ops}")
        for op in self.ops:
            if op not in OPS:
                raise UnknownOperationError(_unknown_op_message(op, str(self.ops)))

    def __str__(self) -> str:
        nodes, k = [], 0
        for node in range(1, 4):
            parts = []
            for src in range(node):
                parts.append(f"{self.ops[k]}~{src}")
                k += 1
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    @property
    def index(self) -> int:
        """The official NB201 / NATS-Bench tss index."""
        return arch_to_index(self)

    def count(self, op: str) -> int:
        return sum(o == op for o in self.ops)

    @property
    def n_conv3x3(self) -> int:
        return self.count("nor_conv_3x3")

    @property
    def n_conv1x1(self) -> int:
        return self.count("nor_conv_1x1")

    def edge_op(self, to: int, frm: int) -> str:
        return self.ops[EDGES.index((to, frm))]


def _unknown_op_message(op: str, where: str) -> str:
    close = difflib.get_close_matches(op, OPS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown operation {op!r} in {where!r}{hint}; expected one of {', '.join(OPS)}"


def parse_arch(text: str) -> NB201Arch:
    """Parse and validate an arch string such as `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|`."""
    if not isinstance(text, str):
        raise InvalidArchError(f"arch string must be str, got {type(text).__name__}")
    s = text.strip()
    node_texts = s.split("+")
    if len(node_texts) != 3:
        raise InvalidArchError(f"an NB201 arch string has 3 nodes separated by '+', found {len(node_texts)} "
                               f"in {text!r}")
    ops = []
    for node, node_text in enumerate(node_texts, start=1):
        if len(node_text) < 2 or not (node_text.startswith("|") and node_text.endswith("|")):
            raise InvalidArchError(f"node {node} of {text!r} must be written |op~j|...|, got {node_text!r}")
        entries = node_text[1:-1].split("|")
        if len(entries) != node:
            raise InvalidArchError(f"node {node} of {text!r} must have {node} incoming edges, found "
                                   f"{len(entries)} ({node_text!r})")
        for src, entry in enumerate(entries):
            op, sep, ref = entry.partition("~")
            if not sep:
                raise InvalidArchError(f"edge {entry!r} of node {node} in {text!r} lacks '~source'")
            if op not in OPS:
                raise UnknownOperationError(_unknown_op_message(op, text))
            if ref != str(src):
                raise InvalidArchError(f"edge {entry!r} of node {node} in {text!r} must come from node {src} "
                                       f"(edges are listed by source 0..{node - 1}), got {ref!r}")
            ops.append(op)
    return NB201Arch(tuple(ops))


@functools.lru_cache(maxsize=1)
def _index_tables() -> tuple[tuple[tuple[str, ...], ...], dict]:
    archs = list(itertools.product(OPS, repeat=len(EDGES)))
    random.Random(SHUFFLE_SEED).shuffle(archs)
    return tuple(archs), {ops: i for i, ops in enumerate(archs)}


def index_to_arch(index: int) -> NB201Arch:
    """The arch at an official index; raises InvalidArchError outside 0..15624."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise InvalidArchError(f"NB201 index must be an int, got {index!r}")
    if not 0 <= index < NUM_ARCHS:
        raise InvalidArchError(f"NB201 index {index} out of range 0..{NUM_ARCHS - 1}")
    return NB201Arch(_index_tables()[0][index])


def arch_to_index(arch: NB201Arch | str) -> int:
    if isinstance(arch, str):
        arch = parse_arch(arch)
    return _index_tables()[1][arch.ops]


def all_archs() -> list[NB201Arch]:
    """All 15,625 cells in official index order."""
    return [NB201Arch(ops) for ops in _index_tables()[0]]


def resolve_arch(ref: int | str | NB201Arch) -> NB201Arch:
    """Accept an index (int or digit string), an arch string, or an NB201Arch."""
    if isinstance(ref, NB201Arch):
        return ref
    if isinstance(ref, str) and ref.strip().lstrip("-").isdigit():
        return index_to_arch(int(ref))
    if isinstance(ref, str):
        return parse_arch(ref)
    return index_to_arch(ref)


def iso_class(arch: NB201Arch) -> str:
    """Isomorphism-invariant string of a cell (the NATS-Bench `tss` convention).

    Each node is the sorted '+'-sum of its incoming terms: `none` or a zero source gives '#',
    `skip_connect` passes the source expression through, other ops give `(src)@op`.
    Two cells compute the same function up to weight permutation iff their strings are equal.
    """
    exprs = {0: "0"}
    for node in range(1, 4):
        terms = []
        for src in range(node):
            op, src_expr = arch.edge_op(node, src), exprs[src]
            if op == "none" or src_expr == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(src_expr)
            else:
                terms.append(f"({src_expr})@{op}")
        exprs[node] = "+".join(sorted(terms))
    return exprs[3]


@functools.lru_cache(maxsize=1)
def iso_representatives() -> dict[str, int]:
    """Isomorphism class string → its canonical representative (the smallest official index)."""
    reps: dict[str, int] = {}
    for i, arch in enumerate(all_archs()):
        reps.setdefault(iso_class(arch), i)
    return reps


def live_edges(arch: NB201Arch) -> tuple[bool, ...]:
    """Per edge: does it lie on an input→output path that avoids `none` (it can carry signal)?"""
    usable = [op != "none" for op in arch.ops]
    reach_from_in = {0}
    for node in range(1, 4):
        if any(usable[EDGES.index((node, s))] and s in reach_from_in for s in range(node)):
            reach_from_in.add(node)
    reach_out = {3}
    for node in (2, 1, 0):
        if any(usable[EDGES.index((t, node))] and t in reach_out for t in range(node + 1, 4)):
            reach_out.add(node)
    return tuple(usable[k] and frm in reach_from_in and to in reach_out for k, (to, frm) in enumerate(EDGES))


def has_live_path(arch: NB201Arch) -> bool:
    """False for cells whose output is identically zero (every input→output route has a `none`)."""
    return any(live_edges(arch))
