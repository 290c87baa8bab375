"""NAS-Bench-Suite-Zero's NB201 zero-cost table (`zc_nasbench201.json`, NASLib, Apache-2.0) as a tidy table.

The file is `{dataset: {arch_tuple: {"idx", "arch", "val_accuracy", <measure>: {"score", "time"}, …}}}`
for `cifar10` (725 cells), `cifar100` (725) and `ImageNet16-120` (724). An arch tuple such as
`(0, 2, 3, 2, 3, 1)` gives the op index of each edge in NASLib's op order (`NASLIB_OPS`) and NASLib's
edge order (1,2), (1,3), (1,4), (2,3), (2,4), (3,4) (nodes counted from 1), so tuple position k is
NB201 arch-string edge `NASLIB_EDGE_OF_STRING_EDGE`: `|e0~0|+|e1~0|e3~1|+|e2~0|e4~1|e5~2|`. `idx` is
NASLib's sample id, not the NB201 index. The loader validates that mapping on every cell: the
published #params (M) must equal the exact count of the mapped cell (`Space.param_count`, the
dataset's head) — a wrong op order breaks it at once. (Published FLOPs follow another counting
convention, 0.04–7 MFLOPs above ours, and are not used as a check.)

`load_published_scores` returns one row per (dataset, cell, measure): dataset (zcbench names:
cifar10, cifar100, imagenet16), NB201 `index`, `arch` string, `naslib_idx`, `proxy` (the
NB-Suite-Zero measure name, `val_accuracy` included: a single training trial, in %), `value` as
published, `seconds` (their timing) and `status`: `ok`, `missing` (no entry for that cell),
`sentinel` (−1e8, which NASLib's ZeroCost predictor writes for a NaN/inf score), `nan`, `inf`, `-inf`.
Only `ok` rows are measurements.

`CORRESPONDENCES` maps their measure names to zcbench proxy names (protocols §G.15). A name may
point at a proxy not registered yet (the zero-cost zoo grows): the mapping is data, and the
concordance report says `not-implemented` for it.

`python -m zcbench.spaces.published_scores cells --dataset cifar10 [--data-dir DIR]` prints the
table's NB201 indices of one dataset, ascending, one per line (the sweep index-file format).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zcbench.spaces import nb201
from zcbench.spaces.catalog import DATASET_CLASSES, NB201
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import CorruptDataError, ZcbenchError

FILE_NAME = "zc_nasbench201.json"
FILE_CANDIDATES = [f"naslib-zc/{FILE_NAME}", FILE_NAME]
# sha256 of the released file (automl/NASLib blob 01f0f4ac at commit 6639fd15).
RELEASE_SHA256 = "5dcbbcd56812a9f62164a376bc7df4082ab3af612082b6d26a845930e6eb8641"
HOW_TO_GET = (f"download {FILE_NAME} of NAS-Bench-Suite-Zero (the zero-cost benchmark files of "
              "https://github.com/automl/NASLib, Apache-2.0) and put it at DATA/naslib-zc/" + FILE_NAME +
              " (DATA = --data-dir or $ZCBENCH_DATA), or pass its path")
WHAT = "NAS-Bench-Suite-Zero NB201 zero-cost table"

NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
# Arch-string edge k (1←0, 2←0, 2←1, 3←0, 3←1, 3←2) is position NASLIB_EDGE_OF_STRING_EDGE[k] of the tuple.
NASLIB_EDGE_OF_STRING_EDGE = (0, 1, 3, 2, 4, 5)
# The file's dataset keys → zcbench dataset names.
DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16"}
TARGET = "val_accuracy"
SENTINEL = -1e8
STATUSES = ("ok", "missing", "sentinel", "nan", "inf", "-inf")
COLUMNS = ["dataset", "index", "arch", "naslib_idx", "proxy", "value", "seconds", "status"]
PARAMS_TOLERANCE = 0.5  # parameters: the file rounds #params to whole parameters (6 decimals of millions)
_TUPLE_RE = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$")


@dataclass(frozen=True)
class Correspondence:
    """One NB-Suite-Zero measure and the zcbench proxies computing the same definition (preferred first).

    `setting` and `overrides` give the zcbench settings closest to NASLib's run of it (batch 32, one
    augmented training batch, BN in train mode, the dataset's head; protocols §G.15); `note` says what
    still differs."""

    published: str
    ours: tuple[str, ...]
    setting: str = "naslib"
    overrides: tuple[tuple[str, object], ...] = ()
    note: str = ""


CORRESPONDENCES = (
    Correspondence("nwot", ("naswot",), "naslib", (("augment", True), ("batch_size", 32)),
                   "NASWOT v2 log|det K| of ReLU-input codes, one forward, nn.ReLU only (protocols §A3)"),
    Correspondence("jacov", ("naswot_v1",), "code",
                   (("batch_size", 32), ("num_classes", "dataset"), ("train_mode", True)),
                   "NASWOT v1 Jacobian covariance −Σ[log(v+k) + 1/(v+k)], k = 1e-5 (protocols §A3, §E.7, §G.9)"),
    Correspondence("synflow", ("synflow",),
                   note="NASLib stores ln(score) (−ln(−score) below 0): a monotone transform, τ unaffected"),
    Correspondence("snip", ("snip",)),
    Correspondence("grasp", ("grasp",)),
    Correspondence("fisher", ("fisher",)),
    Correspondence("grad_norm", ("grad_norm",)),
    Correspondence("l2_norm", ("l2_norm",)),
    Correspondence("plain", ("plain",)),
    Correspondence("epe_nas", ("epe_nas",)),
    Correspondence("params", ("params",), "code",
                   note="#params in millions: equal on every cell (the arch-mapping check)"),
    Correspondence("flops", ("flops",), "code", note="MFLOPs; NASLib's counter adds 0.04–7 MFLOPs to ours"),
)
BY_PUBLISHED = {c.published: c for c in CORRESPONDENCES}
# zcbench proxy → the NB-Suite-Zero measure it is compared with.
PUBLISHED_NAME = {name: c.published for c in CORRESPONDENCES for name in c.ours}


def published_name(proxy: str) -> str | None:
    """The NB-Suite-Zero measure a zcbench proxy corresponds to (None when it has none)."""
    return PUBLISHED_NAME.get(proxy)


def dataset_name(name: str) -> str:
    """A zcbench dataset name from either spelling (`ImageNet16-120` → `imagenet16`)."""
    if name in DATASETS.values():
        return name
    if name in DATASETS:
        return DATASETS[name]
    raise ZcbenchError(f"unknown dataset {name!r}; the table has {', '.join(DATASETS.values())}")


# ---------------------------------------------------------------------------------------------- archs

def naslib_tuple_to_arch(ops: tuple[int, ...] | str) -> nb201.NB201Arch:
    """The NB201 cell of a NASLib op-index tuple (or its string form `(0, 2, 3, 2, 3, 1)`)."""
    if isinstance(ops, str):
        match = _TUPLE_RE.match(ops.strip())
        if not match:
            raise CorruptDataError(f"{ops!r} is not a NASLib NB201 arch tuple of 6 op indices")
        ops = tuple(int(g) for g in match.groups())
    if len(ops) != len(nb201.EDGES) or not all(isinstance(o, int) and 0 <= o < len(NASLIB_OPS) for o in ops):
        raise CorruptDataError(f"{ops!r} is not a NASLib NB201 arch tuple: 6 op indices in 0..{len(NASLIB_OPS) - 1}")
    return nb201.NB201Arch(tuple(NASLIB_OPS[ops[position]] for position in NASLIB_EDGE_OF_STRING_EDGE))


def arch_to_naslib_tuple(arch: nb201.NB201Arch | int | str) -> tuple[int, ...]:
    """The inverse of `naslib_tuple_to_arch`."""
    arch = nb201.resolve_arch(arch)
    ops = [0] * len(nb201.EDGES)
    for string_edge, position in enumerate(NASLIB_EDGE_OF_STRING_EDGE):
        ops[position] = NASLIB_OPS.index(arch.ops[string_edge])
    return tuple(ops)


# ---------------------------------------------------------------------------------------------- reading

def locate(path=None, data_dir=None) -> Path:
    """An explicit path (as given, else under the data roots), or the table's usual place under the roots."""
    if path is None:
        return find_data_file(FILE_CANDIDATES, WHAT, HOW_TO_GET, data_dir)
    path = Path(path)
    candidates = [str(path)] if path.is_absolute() else [str(path.absolute()), str(path)]
    return find_data_file(candidates, WHAT, HOW_TO_GET, data_dir)


def _status(value) -> str:
    if value is None:
        return "missing"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "sentinel" if value == SENTINEL else "ok"


def _number(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CorruptDataError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def _cell_rows(dataset: str, key: str, cell, where: str) -> list[dict]:
    where = f"{where}[{dataset!r}][{key!r}]"
    if not isinstance(cell, dict):
        raise CorruptDataError(f"{where}: expected an object, got {type(cell).__name__}")
    arch = naslib_tuple_to_arch(key)
    if "arch" in cell and str(cell["arch"]).replace(" ", "") != key.replace(" ", ""):
        raise CorruptDataError(f"{where}: its 'arch' field {cell['arch']!r} differs from its key")
    base = {"dataset": DATASETS[dataset], "index": arch.index, "arch": str(arch),
            "naslib_idx": int(cell["idx"]) if str(cell.get("idx", "")).isdigit() else -1}
    accuracy = _number(cell.get(TARGET), f"{where}.{TARGET}")
    rows = [{**base, "proxy": TARGET, "value": math.nan if accuracy is None else accuracy, "seconds": math.nan,
             "status": _status(accuracy)}]
    for name, entry in cell.items():
        if name in ("idx", "arch", TARGET):
            continue
        if not isinstance(entry, dict) or "score" not in entry:
            raise CorruptDataError(f"{where}.{name}: expected {{'score': …, 'time': …}}, got {entry!r:.80}")
        value = _number(entry["score"], f"{where}.{name}.score")
        seconds = _number(entry.get("time"), f"{where}.{name}.time")
        rows.append({**base, "proxy": name, "value": math.nan if value is None else value,
                     "seconds": math.nan if seconds is None else seconds, "status": _status(value)})
    return rows


def _with_missing(table: pd.DataFrame) -> pd.DataFrame:
    """Add a `missing` row for every (dataset, cell, measure) the file leaves out, so every cell of a
    dataset has every measure and nothing drops silently."""
    cells = table[["dataset", "index", "arch", "naslib_idx"]].drop_duplicates()
    full = cells.merge(pd.DataFrame({"proxy": table["proxy"].unique()}), how="cross")
    merged = full.merge(table, on=["dataset", "index", "arch", "naslib_idx", "proxy"], how="left")
    merged["status"] = merged["status"].fillna("missing")
    return merged


def _check_mapping(table: pd.DataFrame, where: str) -> None:
    """Every cell's published #params equals the exact count of the cell we map it to (else the arch
    mapping, or the file, is wrong)."""
    params = table[(table["proxy"] == "params") & (table["status"] == "ok")]
    for row in params.itertuples(index=False):
        expected = NB201.param_count(nb201.index_to_arch(int(row.index)), DATASET_CLASSES[row.dataset])
        if abs(row.value * 1e6 - expected) > PARAMS_TOLERANCE:
            raise CorruptDataError(
                f"{where}: {row.dataset} cell {row.arch} (NB201 index {row.index}) publishes {row.value} M params, "
                f"but that cell has {expected / 1e6:.6f} M: the arch mapping or the file is wrong")


def parse_published_scores(data, where: str = "<table>") -> pd.DataFrame:
    """The tidy table (module docstring) from the file's parsed JSON."""
    if not isinstance(data, dict) or not data:
        raise CorruptDataError(f"{where}: expected an object of datasets {sorted(DATASETS)}, got "
                               f"{type(data).__name__}")
    if unknown := sorted(set(data) - set(DATASETS)):
        raise CorruptDataError(f"{where}: unknown dataset key(s) {unknown}; expected {sorted(DATASETS)}")
    rows = []
    for dataset, cells in data.items():
        if not isinstance(cells, dict) or not cells:
            raise CorruptDataError(f"{where}[{dataset!r}]: expected a non-empty object of cells")
        seen: dict[int, str] = {}
        for key, cell in cells.items():
            cell_rows = _cell_rows(dataset, key, cell, where)
            index = cell_rows[0]["index"]
            if index in seen:
                raise CorruptDataError(f"{where}[{dataset!r}]: cells {seen[index]!r} and {key!r} are the same NB201 "
                                       f"cell (index {index})")
            seen[index] = key
            rows.extend(cell_rows)
    table = _with_missing(pd.DataFrame(rows))[COLUMNS]
    _check_mapping(table, where)
    table = table.sort_values(["dataset", "proxy", "index"], kind="stable").reset_index(drop=True)
    return table.astype({"index": "int64", "naslib_idx": "int64", "value": "float64", "seconds": "float64"})


def load_published_scores(path=None, data_dir=None) -> pd.DataFrame:
    """Read and validate NB-Suite-Zero's NB201 table: `path`, else DATA/naslib-zc/zc_nasbench201.json.

    `attrs` of the result: `source` (the file read), `sha256`, `release` (True when it is the released file)."""
    path = locate(path, data_dir)
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise CorruptDataError(f"{path}: not a JSON text file ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise CorruptDataError(f"{path}: not valid JSON (truncated or damaged?): {exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}") from None
    table = parse_published_scores(data, str(path))
    digest = hashlib.sha256(raw).hexdigest()
    table.attrs.update(source=str(path), sha256=digest, release=digest == RELEASE_SHA256)
    return table


def published_cells(table: pd.DataFrame, dataset: str = "cifar10") -> list[int]:
    """The NB201 indices of a dataset's cells in the table, ascending."""
    dataset = dataset_name(dataset)
    return sorted(int(i) for i in table.loc[table["dataset"] == dataset, "index"].unique())


def scores_wide(table: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One dataset as index × measure, `ok` values only (the others NaN)."""
    part = table[(table["dataset"] == dataset_name(dataset))]
    return part.assign(value=part["value"].where(part["status"] == "ok")).pivot(
        index="index", columns="proxy", values="value")


def index_file_text(table: pd.DataFrame, dataset: str = "cifar10") -> str:
    """The sweep index file of a dataset's cells: a comment header naming the source, then one index a line."""
    cells = published_cells(table, dataset)
    sha = table.attrs.get("sha256", "unknown")
    header = (f"# {len(cells)} NB201 indices of the {dataset_name(dataset)} cells of NAS-Bench-Suite-Zero "
              f"{FILE_NAME} (sha256 {sha[:8]}…{sha[-7:]}), ascending.\n"
              f"# Written by: python -m zcbench.spaces.published_scores cells --dataset {dataset_name(dataset)}\n")
    return header + "".join(f"{i}\n" for i in cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zcbench.spaces.published_scores",
                                     description="Print the NB201 indices of one dataset's cells of the table.")
    parser.add_argument("what", choices=["cells"])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--table", default=None, help=f"path of {FILE_NAME} (default: under --data-dir)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(index_file_text(load_published_scores(args.table, args.data_dir), args.dataset))
    except ZcbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
