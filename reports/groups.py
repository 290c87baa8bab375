"""Architecture sets a table is computed over: all archs, isomorphism representatives, same-#Param groups.

Same-#Param groups (protocols §A5): NB201 #Param depends only on (n3, n1) = the number of 3×3 and
1×1 convolutions, so the general groups are the 28 (n3, n1) classes, built here from the op counts.
Revisit's 8 groups are read from the authors' `params_split` file (path given by the caller); they
equal 8 of those classes except that 18 degenerate archs are missing from each of (1,2) and (2,1).
`compare_with_classes` shows that difference instead of hiding it.
"""
from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zcbench.spaces import nb201
from zcbench.spaces.catalog import get_space
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import CorruptDataError

REVISIT_GROUPS_FILES = ["revisit_params_split.json", "params_split.txt"]
REVISIT_GROUPS_HOW_TO_GET = ("copy `params_split.txt` from github.com/taoyang1122/Revisit_TrainingFree_NAS "
                             "(a JSON list of 8 lists of NB201 indices) into the data directory as "
                             "revisit_params_split.json")


@dataclass(frozen=True)
class ArchSet:
    """A named set of NB201 indices (order kept: random search samples from it in this order)."""

    name: str
    indices: tuple[int, ...]
    description: str

    def __len__(self) -> int:
        return len(self.indices)

    def describe(self) -> str:
        return f"{self.name} ({len(self):,} archs; {self.description})"


def all_archs() -> ArchSet:
    return ArchSet("all", tuple(range(nb201.NUM_ARCHS)), "every NB201 cell")


def iso_representatives() -> ArchSet:
    reps = sorted(nb201.iso_representatives().values())
    return ArchSet("iso-representatives", tuple(reps),
                   "smallest index of each isomorphism class (NATS-Bench tss convention)")


def op_count_table() -> pd.DataFrame:
    """index, n3, n1, params_cifar10 for every NB201 cell, from the op counts (no data file)."""
    return _op_count_table().copy()


@functools.lru_cache(maxsize=1)
def _op_count_table() -> pd.DataFrame:
    space = get_space("nb201")
    rows = [(i, a.n_conv3x3, a.n_conv1x1, space.param_count(a, 10)) for i, a in enumerate(nb201.all_archs())]
    return pd.DataFrame(rows, columns=["index", "n3", "n1", "params_cifar10"])


def _group_label(params: int) -> str:
    return f"{params / 1e6:.2f}M"


def param_classes() -> list[ArchSet]:
    """The 28 general same-#Param classes, ordered by #Param; indices ascending within a class."""
    table = op_count_table()
    sets = []
    for (n3, n1, params), part in table.groupby(["n3", "n1", "params_cifar10"]):
        sets.append((params, ArchSet(f"({n3},{n1})", tuple(part["index"].tolist()),
                                     f"all cells with n3={n3} 3×3 and n1={n1} 1×1 convs, "
                                     f"{params:,} params (C10)")))
    return [s for _, s in sorted(sets, key=lambda item: item[0])]


def revisit_groups_path(data_dir=None) -> Path:
    return find_data_file(REVISIT_GROUPS_FILES, "Revisit same-#Param groups (params_split)",
                          REVISIT_GROUPS_HOW_TO_GET, data_dir)


def load_revisit_groups(path) -> list[ArchSet]:
    """The authors' groups, in file order, named by their #Param (C10, 10^6, 2 decimals)."""
    path = Path(path)
    try:
        groups = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CorruptDataError(f"{path}: not a readable JSON list of index lists ({exc})") from exc
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise CorruptDataError(f"{path}: expected a JSON list of lists of NB201 indices, got {type(groups).__name__}")
    params = op_count_table()["params_cifar10"].to_numpy()
    seen: dict[int, int] = {}
    sets = []
    for g, members in enumerate(groups):
        for pos, idx in enumerate(members):
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < nb201.NUM_ARCHS:
                raise CorruptDataError(f"{path}: group {g} entry {pos} is {idx!r}, expected an NB201 index "
                                       f"0..{nb201.NUM_ARCHS - 1}")
            if idx in seen:
                raise CorruptDataError(f"{path}: index {idx} appears in group {seen[idx]} and group {g}")
            seen[idx] = g
        counts = sorted({int(params[i]) for i in members})
        if len(counts) != 1:
            raise CorruptDataError(f"{path}: group {g} mixes #Param values {counts[:5]}; expected one value")
        sets.append(ArchSet(_group_label(counts[0]), tuple(members), f"Revisit same-#Param group {g} "
                                                                     f"({counts[0]:,} params, from {path.name})"))
    return sets


def live_route_kind(arch: nb201.NB201Arch) -> str:
    """What a cell can compute, from the ops on its live edges: 'output≡0', or the sorted live ops."""
    live = [op for op, is_live in zip(arch.ops, nb201.live_edges(arch)) if is_live]
    return "output≡0" if not live else "live: " + "+".join(sorted(live))


def compare_with_classes(groups: list[ArchSet]) -> pd.DataFrame:
    """One row per given group: its (n3, n1) class, both sizes, and which archs are missing or extra.

    `missing_kinds` counts the missing archs by `live_route_kind`, which shows they are the
    degenerate cells (no conv on a live route).
    """
    table = op_count_table().set_index("index")
    archs = nb201.all_archs()
    classes = {s.name: s for s in param_classes()}
    rows = []
    for group in groups:
        counts = table.loc[list(group.indices), ["n3", "n1"]].drop_duplicates()
        n3, n1 = (int(v) for v in counts.iloc[0])
        full = classes[f"({n3},{n1})"]
        missing = sorted(set(full.indices) - set(group.indices))
        extra = sorted(set(group.indices) - set(full.indices))
        kinds = Counter(live_route_kind(archs[i]) for i in missing)
        rows.append({"group": group.name, "n3": n3, "n1": n1,
                     "params_cifar10": int(table.loc[group.indices[0], "params_cifar10"]),
                     "group_size": len(group), "class_size": len(full), "missing": len(missing),
                     "extra": len(extra), "missing_indices": missing,
                     "missing_kinds": dict(sorted(kinds.items()))})
    return pd.DataFrame(rows)
