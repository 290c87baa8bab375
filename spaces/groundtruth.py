"""NB201 ground truth: which accuracy (`TargetSpec`), the table that holds it (`GroundTruth`), readers.

The normalized table has one row per NB201 index (15,625) with `index`, `arch`, op counts, the
isomorphism class, exact #params per dataset head, and one float column per target, named
`{dataset}_{split}[_hp12][_seed<S>|_max]_{version}` (e.g. `cifar10_test_v1_0`,
`cifar10valid_valid_hp12_v1_0`, `cifar100_test_nats`). Accuracies are in percent, from the last
epoch of the schedule, averaged over the seeds in the file unless a seed or `max` is named.

Readers: `read_nb201_pth` (official NAS-Bench-201 `.pth`), `read_nats_tss` (NATS-Bench `tss`
archive, through `nats_bench`), `read_table` (the normalized CSV/Parquet). Converters for
`zcbench data convert nb201|nats` write the normalized table.
"""
from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from zcbench.spaces import nb201
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import CorruptDataError, UnsafePickleError, ZcbenchError
from zcbench.spaces.integrity import torch_load, verify_checksum, write_checksum

# ---------------------------------------------------------------------------------------------
# What a target is

DATASETS = ("cifar10", "cifar10-valid", "cifar100", "imagenet16")
SPLITS = ("train", "valid", "test", "ori-test")
SCHEDULES = ("200", "12")
VERSIONS = ("v1_0", "v1_1", "nats")

# Dataset names used inside the NB201 / NATS-Bench files.
NB201_DATASET_NAME = {"cifar10": "cifar10", "cifar10-valid": "cifar10-valid", "cifar100": "cifar100",
                      "imagenet16": "ImageNet16-120"}
_DATASET_ALIASES = {"ImageNet16-120": "imagenet16", "imagenet16-120": "imagenet16",
                    "cifar10valid": "cifar10-valid"}
_COLUMN_TAG = {"cifar10": "cifar10", "cifar10-valid": "cifar10valid", "cifar100": "cifar100",
               "imagenet16": "imagenet16"}
_SPLIT_TAG = {"train": "train", "valid": "valid", "test": "test", "ori-test": "oritest"}

# (dataset, split) → NB201 eval-set name. `test` is the set every paper calls "test accuracy"
# (protocols §D.1): ori-test (10k) for the CIFAR-10 models, x-test (the 5k / 3k half) for CIFAR-100
# and ImageNet16-120, whose full held-out set (x-valid + x-test) is `ori-test`. `valid` is x-valid;
# the cifar10 models (trained on all 50k) have none. `train` is the final-epoch training accuracy.
EVAL_SET = {
    ("cifar10", "train"): "train", ("cifar10", "test"): "ori-test",
    ("cifar10-valid", "train"): "train", ("cifar10-valid", "valid"): "x-valid",
    ("cifar10-valid", "test"): "ori-test",
    **{(ds, split): name for ds in ("cifar100", "imagenet16")
       for split, name in (("train", "train"), ("valid", "x-valid"), ("test", "x-test"),
                           ("ori-test", "ori-test"))},
}
_TARGET_OF_EVAL_SET = {(NB201_DATASET_NAME[ds], name): (ds, split) for (ds, split), name in EVAL_SET.items()}
_SPLIT_OF_EVAL_SET = {(ds, name): split for (ds, split), name in EVAL_SET.items() if name != "train"}

VERSION_SOURCE = {"v1_0": "NAS-Bench-201-v1_0-e61699.pth", "v1_1": "NAS-Bench-201-v1_1-096897.pth",
                  "nats": "NATS-Bench tss (NATS-tss-v1_0-3ffb9)"}

_COLUMN_RE = re.compile(r"^(?P<ds>cifar10valid|cifar100|cifar10|imagenet16)"
                        r"_(?P<split>train|valid|test|oritest)(?P<hp>_hp12)?(?:_seed(?P<seed>\d+)|(?P<max>_max))?_(?P<version>v1_0|v1_1|nats)$")


def _choice_error(kind: str, value, choices) -> ZcbenchError:
    return ZcbenchError(f"unknown {kind} {value!r}; expected one of {', '.join(map(str, choices))}")


@dataclass(frozen=True)
class TargetSpec:
    """Which ground-truth accuracy: dataset, split, schedule, seed aggregation, benchmark file version.

    `split` names (mapping to NB201 eval sets in `EVAL_SET`): `test` = ori-test for cifar10 /
    cifar10-valid models, x-test for cifar100 / imagenet16; `valid` = x-valid; `ori-test` = the
    full 10k / 6k held-out set of cifar100 / imagenet16; `train`. The NB201 names `x-valid`,
    `x-test` and (for the CIFAR-10 models) `ori-test` are accepted and normalised.
    `hp` is the schedule: '200' epochs or '12'. `aggregation`: 'mean' over the seeds in the file,
    'max' over them, or an int seed (e.g. 777). `version`: 'v1_0', 'v1_1' (NB201 .pth) or 'nats'.
    """

    dataset: str
    split: str
    version: str
    hp: str = "200"
    aggregation: str | int = "mean"
    space: str = "nb201"

    def __post_init__(self):
        if self.space != "nb201":
            raise ZcbenchError(f"ground truth is only defined for space 'nb201', got {self.space!r}")
        dataset = _DATASET_ALIASES.get(self.dataset, self.dataset)
        if dataset not in DATASETS:
            raise _choice_error("dataset", self.dataset, DATASETS)
        split = _SPLIT_OF_EVAL_SET.get((dataset, self.split), self.split)
        if split not in SPLITS + ("x-valid", "x-test"):
            raise _choice_error("split", self.split, SPLITS)
        if (dataset, split) not in EVAL_SET:
            hint = " (the cifar10 models are trained on all 50k; use dataset 'cifar10-valid')" \
                if dataset == "cifar10" and split == "valid" else ""
            raise ZcbenchError(f"dataset {dataset!r} has no split {self.split!r}{hint}; it has "
                               f"{', '.join(s for d, s in EVAL_SET if d == dataset)}")
        hp = str(self.hp)
        if hp not in SCHEDULES:
            raise _choice_error("schedule hp", self.hp, SCHEDULES)
        if self.version not in VERSIONS:
            raise _choice_error("benchmark version", self.version, VERSIONS)
        object.__setattr__(self, "dataset", dataset)
        object.__setattr__(self, "split", split)
        object.__setattr__(self, "hp", hp)
        object.__setattr__(self, "aggregation", _parse_aggregation(self.aggregation))

    @classmethod
    def paper_test(cls, dataset: str, version: str) -> TargetSpec:
        """The four papers' "test accuracy" (protocols §D.1): C10 = cifar10/ori-test, C100 and IN16 =
        x-test; 200-epoch schedule; mean over seeds."""
        return cls(dataset, "test", version)

    @classmethod
    def paper_valid(cls, dataset: str, version: str) -> TargetSpec:
        """Validation accuracy as the NB201 API's `valid`: x-valid (of the cifar10-valid models for C10)."""
        return cls("cifar10-valid" if dataset == "cifar10" else dataset, "valid", version)

    @classmethod
    def from_column(cls, column: str) -> TargetSpec:
        """Parse a normalized-table column name back into its TargetSpec."""
        m = _COLUMN_RE.match(column)
        if not m:
            raise ZcbenchError(f"{column!r} is not a target column name "
                               "(expected {dataset}_{split}[_hp12][_seed<S>|_max]_{v1_0|v1_1|nats})")
        dataset = {tag: ds for ds, tag in _COLUMN_TAG.items()}[m["ds"]]
        split = {tag: s for s, tag in _SPLIT_TAG.items()}[m["split"]]
        aggregation = int(m["seed"]) if m["seed"] else ("max" if m["max"] else "mean")
        return cls(dataset, split, m["version"], "12" if m["hp"] else "200", aggregation)

    @property
    def eval_set(self) -> str:
        """The NB201 eval-set name inside the benchmark files."""
        return EVAL_SET[(self.dataset, self.split)]

    @property
    def column(self) -> str:
        hp = "_hp12" if self.hp == "12" else ""
        agg = {"mean": "", "max": "_max"}.get(self.aggregation, f"_seed{self.aggregation}")
        return f"{_COLUMN_TAG[self.dataset]}_{_SPLIT_TAG[self.split]}{hp}{agg}_{self.version}"

    def describe(self) -> str:
        """One line naming every choice; printed above every table that uses this target."""
        agg = {"mean": "mean over seeds", "max": "max over seeds"}.get(self.aggregation,
                                                                        f"seed {self.aggregation}")
        return (f"{self.space} {self.dataset} {self.split} accuracy "
                f"(NB201 '{NB201_DATASET_NAME[self.dataset]}' / '{self.eval_set}'), "
                f"{self.hp}-epoch schedule, {agg}, {VERSION_SOURCE[self.version]} [column {self.column}]")


def _parse_aggregation(value) -> str | int:
    if value in ("mean", "max"):
        return value
    text = str(value)
    digits = text.removeprefix("seed")
    if not isinstance(value, bool) and digits.isdigit():
        return int(digits)
    raise ZcbenchError(f"unknown seed aggregation {value!r}; expected 'mean', 'max' or a seed (int)")


# ---------------------------------------------------------------------------------------------
# The table

META_COLUMNS = ("index", "arch", "n_conv3x3", "n_conv1x1", "iso_class",
                "params_cifar10", "params_cifar100", "params_imagenet16")
_INT_META = ("index", "n_conv3x3", "n_conv1x1", "params_cifar10", "params_cifar100", "params_imagenet16")


class BestArch(NamedTuple):
    index: int
    arch: str
    value: float


class GroundTruth:
    """One row per NB201 index (the normalized table); `values(spec)` gives one target as a Series."""

    def __init__(self, table: pd.DataFrame, sources: Iterable[str] = (), notes: Iterable[str] = ()):
        self.sources = tuple(sources)
        self.table = validate_table(table, ", ".join(self.sources) or "ground-truth table")
        self.notes = tuple(notes)  # what a reader left out or found unusual, for summaries

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (f"GroundTruth({len(self)} archs, {len(self.target_columns)} targets, "
                f"sources={list(self.sources)})")

    @property
    def target_columns(self) -> list[str]:
        return [c for c in self.table.columns if _COLUMN_RE.match(c)]

    def targets(self) -> list[TargetSpec]:
        return [TargetSpec.from_column(c) for c in self.target_columns]

    def values(self, spec: TargetSpec) -> pd.Series:
        """Accuracy (%) per arch index; NaN where the file has no result for an arch."""
        if spec.column not in self.table.columns:
            raise ZcbenchError(f"the ground truth has no column {spec.column!r} ({spec.describe()}); "
                               f"it has: {', '.join(self.target_columns) or '(no target columns)'}; "
                               f"sources: {', '.join(self.sources) or 'unknown'}")
        return self.table[spec.column].rename(spec.column)

    def best(self, spec: TargetSpec) -> BestArch:
        """The arch with the highest value of the target (NaN ignored)."""
        values = self.values(spec)
        if values.isna().all():
            raise ZcbenchError(f"column {spec.column!r} holds no values")
        index = int(values.idxmax())
        return BestArch(index, self.arch(index), float(values[index]))

    def arch(self, index: int) -> str:
        return self.table.at[index, "arch"]

    def join(self, other: GroundTruth) -> GroundTruth:
        """Combine the target columns of two tables (e.g. converted v1_0 and v1_1 files)."""
        shared = [c for c in other.target_columns if c in self.table.columns]
        for c in shared:
            if not np.allclose(self.table[c], other.table[c], equal_nan=True):
                raise ZcbenchError(f"both tables hold column {c!r} with different values; "
                                   f"sources {self.sources} and {other.sources}")
        extra = [c for c in other.table.columns if c not in self.table.columns]
        return GroundTruth(self.table.join(other.table[extra]), self.sources + other.sources,
                           self.notes + other.notes)

    def save(self, path) -> Path:
        return write_table(self.table, path)


def validate_table(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a normalized table (columns, 15,625 unique indices, arch strings, dtypes); indexed by `index`."""
    has = ", ".join(map(str, table.columns))
    missing = [c for c in ("index", "arch") if c not in table.columns]
    if missing:
        raise CorruptDataError(f"{where}: missing column(s) {', '.join(missing)}; has {has}")
    targets = [c for c in table.columns if _COLUMN_RE.match(str(c))]
    if not targets:
        raise CorruptDataError(f"{where}: no target column (like cifar10_test_v1_0); has {has}")
    if table["index"].isna().any() or table["arch"].isna().any():
        row = int(np.flatnonzero(table["index"].isna() | table["arch"].isna())[0])
        raise CorruptDataError(f"{where}: empty index or arch in data row {row + 1}")
    table = table.copy()
    for col in [c for c in _INT_META if c in table.columns]:
        table[col] = _as_numeric(table[col], col, where, integer=True)
    for col in targets:
        table[col] = _as_numeric(table[col], col, where, integer=False)
    duplicated = table["index"][table["index"].duplicated()]
    if len(duplicated):
        raise CorruptDataError(f"{where}: duplicate index {int(duplicated.iloc[0])} "
                               f"({len(duplicated)} duplicated rows)")
    low, high = table["index"].min(), table["index"].max()
    if len(table) != nb201.NUM_ARCHS or low != 0 or high != nb201.NUM_ARCHS - 1:
        raise CorruptDataError(f"{where}: {len(table)} rows with indices {low}..{high}, expected the "
                               f"{nb201.NUM_ARCHS} NB201 indices 0..{nb201.NUM_ARCHS - 1} (truncated?)")
    table = table.set_index("index", drop=False).sort_index()
    table.index.name = None
    expected = pd.Series(_arch_strings(), index=table.index)
    wrong = table["arch"].astype(str) != expected
    if wrong.any():
        i = int(wrong.idxmax())
        raise CorruptDataError(f"{where}: index {i} has arch {table.at[i, 'arch']!r}, but the NB201 index "
                               f"order gives {expected[i]!r} ({int(wrong.sum())} rows disagree)")
    _check_rows(table, targets, where)
    return table


def _check_rows(table: pd.DataFrame, targets: list, where: str) -> None:
    """Row-level invariants that catch a flipped value: op counts, isomorphism class and #params
    (73,306 + 243,040·n3 + 28,000·n1 for 10 classes, +65 per extra class) as the arch string gives
    them, and accuracies within 0..100 %."""
    truth = _metadata_table()
    for col in [c for c in META_COLUMNS[2:] if c in table.columns]:
        wrong = table[col].to_numpy() != truth[col].to_numpy()
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise CorruptDataError(f"{where}: column {col!r} of index {i} holds {table[col].iloc[i]!r}, but its arch "
                                   f"gives {truth[col].iloc[i]!r} ({int(wrong.sum())} rows disagree; damaged file?)")
    for col in targets:
        values = table[col].to_numpy()
        outside = ~np.isnan(values) & ((values < 0) | (values > 100))
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise CorruptDataError(f"{where}: accuracy column {col!r} of index {i} holds {values[i]!r}, outside "
                                   f"0..100 % ({int(outside.sum())} rows; damaged file?)")


def _as_numeric(column: pd.Series, name: str, where: str, integer: bool) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CorruptDataError(f"{where}: column {name!r} row {i + 1} holds {column.iloc[i]!r}, "
                               "expected a number")
    if integer:
        if values.isna().any() or (values != values.round()).any():
            raise CorruptDataError(f"{where}: column {name!r} must hold whole numbers with no gaps")
        return values.astype(np.int64)
    return values.astype(np.float64)


def write_table(table: pd.DataFrame, path) -> Path:
    """Write a table as CSV or Parquet, chosen by the extension, with its `<path>.sha256` checksum."""
    path = Path(path)
    kind = _table_kind(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    write_checksum(path)
    return path


def _table_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ZcbenchError(f"{path}: unknown table format {suffix!r}; use .csv or .parquet")


# ---------------------------------------------------------------------------------------------
# Reading the normalized table

TABLE_CANDIDATES = ["nb201/nb201.parquet", "nb201/nb201.csv", "nb201.parquet", "nb201.csv"]
PTH_FILES = ["NAS-Bench-201-v1_1-096897.pth", "NAS-Bench-201-v1_0-e61699.pth"]
NATS_FILES = ["NATS-tss-v1_0-3ffb9-simple", "NATS-tss-v1_0-3ffb9.pickle.pbz2"]
HOW_TO_GET_PTH = ("download NAS-Bench-201-v1_0-e61699.pth (TE-NAS / NASWOT default) or "
                  "NAS-Bench-201-v1_1-096897.pth (Revisit default) from the Google Drive links in "
                  "https://github.com/D-X-Y/NAS-Bench-201, put it in the data directory (--data-dir or "
                  "$ZCBENCH_DATA), and convert it once with "
                  "`zcbench data convert nb201 FILE.pth --out DATA/nb201/nb201.parquet`")
HOW_TO_GET_NATS = ("download NATS-tss-v1_0-3ffb9-simple.tar (unpack it) or NATS-tss-v1_0-3ffb9.pickle.pbz2 "
                   "from the NATS-Bench release (https://github.com/D-X-Y/NATS-Bench), put it in the data "
                   "directory, then `zcbench data convert nats PATH --out DATA/nb201/nats.parquet`")
HOW_TO_GET_TABLE = ("the normalized NB201 table nb201/nb201.csv (or .parquet) comes with the reference data; "
                    "or " + HOW_TO_GET_PTH)


def _locate(path, what: str, how_to_get: str, data_dir=None) -> Path:
    """An explicit path as given (relative to the working directory), else under the data roots."""
    path = Path(path)
    candidates = [str(path)] if path.is_absolute() else [str(path.absolute()), str(path)]
    return find_data_file(candidates, what, how_to_get, data_dir)


def read_table(path, data_dir=None) -> GroundTruth:
    """Read and validate the normalized table (CSV or Parquet by extension); checked against its
    `.sha256` checksum when it has one (tables the suite writes), else by the row invariants only."""
    path = _locate(path, "normalized NB201 table", HOW_TO_GET_TABLE, data_dir)
    kind = _table_kind(path)
    verify_checksum(path)
    try:
        if kind == "csv":
            table = pd.read_csv(path)
        else:
            table = pd.read_parquet(path)
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        raise CorruptDataError(f"{path}: cannot read as {kind}: {type(exc).__name__}: {exc}") from exc
    if kind == "csv":
        _check_csv_last_line(path, len(table.columns))
    return GroundTruth(table, [str(path)])


def _check_csv_last_line(path: Path, n_columns: int) -> None:
    """A CSV cut mid-row parses with NaNs in the last row; catch it by counting that row's fields."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        lines = [line for line in f.read().decode("utf-8", errors="replace").splitlines() if line.strip()]
    if lines:
        fields = next(csv.reader([lines[-1]]))
        if len(fields) != n_columns:
            raise CorruptDataError(f"{path}: the last line has {len(fields)} of {n_columns} fields "
                                   "(truncated file?)")


def load_ground_truth(path=None, data_dir=None) -> GroundTruth:
    """The NB201 ground truth: `path` if given, else the first of the normalized table and the
    official files (NB201 .pth, NATS-Bench archive) found under --data-dir / $ZCBENCH_DATA."""
    if path is None:
        path = find_data_file(TABLE_CANDIDATES + PTH_FILES + NATS_FILES, "NB201 ground truth",
                              HOW_TO_GET_TABLE + "; or " + HOW_TO_GET_NATS, data_dir)
    name = Path(path).name
    if name.endswith(".pth"):
        return read_nb201_pth(path, data_dir=data_dir)
    if name.startswith("NATS-tss"):
        return read_nats_tss(path, data_dir=data_dir)
    return read_table(path, data_dir)


# ---------------------------------------------------------------------------------------------
# Official files → target columns

@functools.lru_cache(maxsize=1)
def _arch_strings() -> tuple[str, ...]:
    return tuple(str(a) for a in nb201.all_archs())


@functools.lru_cache(maxsize=1)
def _metadata_table() -> pd.DataFrame:
    """META_COLUMNS for every index (arch, op counts, isomorphism class, exact #params); read-only."""
    from zcbench.spaces.catalog import DATASET_CLASSES, get_space

    space = get_space("nb201")
    archs = nb201.all_archs()
    table = pd.DataFrame({"index": np.arange(len(archs)), "arch": [str(a) for a in archs],
                          "n_conv3x3": [a.n_conv3x3 for a in archs],
                          "n_conv1x1": [a.n_conv1x1 for a in archs],
                          "iso_class": [nb201.iso_class(a) for a in archs]})
    for ds, classes in DATASET_CLASSES.items():
        table[f"params_{ds}"] = [space.param_count(a, classes) for a in archs]
    return table


@dataclass
class _Extraction:
    """Target columns gathered from ArchResults states, with what was not usable."""

    version: str
    per_seed: bool
    rows: dict = field(default_factory=dict)  # index → {column: value}
    ignored: set = field(default_factory=set)  # (dataset, eval set) pairs without a TargetSpec
    odd_epochs: set = field(default_factory=set)  # (hp, epochs) where a run's length differs from hp

    def add(self, index: int, state: dict, hp: str, where: str) -> None:
        """Final-epoch accuracies of one ArchResults state (one arch, one schedule)."""
        try:
            self._add(index, state, hp, where)
        except (KeyError, TypeError, AttributeError) as exc:
            raise CorruptDataError(f"{where} (hp {hp}): malformed ArchResults state: "
                                   f"{type(exc).__name__}: {exc}") from exc

    def _add(self, index: int, state: dict, hp: str, where: str) -> None:
        row = self.rows.setdefault(index, {})
        for dataset, seeds in state["dataset_seed"].items():
            per_set: dict[str, list[tuple[int, float]]] = {}
            for seed in seeds:
                result = state["all_results"][(dataset, seed)]
                here = f"{where} dataset {dataset!r} seed {seed}"
                # The last epoch of the run, as the APIs' get_metrics(iepoch=None) takes it.
                last = int(result["epochs"]) - 1
                if last + 1 != int(hp):
                    self.odd_epochs.add((hp, last + 1))
                train = _final(result["train_acc1es"], last, here, "train")
                per_set.setdefault("train", []).append((seed, train))
                for name in result["eval_names"]:
                    per_set.setdefault(name, []).append(
                        (seed, _final(result["eval_acc1es"], f"{name}@{last}", here, name)))
            for name, values in per_set.items():
                if (dataset, name) not in _TARGET_OF_EVAL_SET:
                    self.ignored.add((dataset, name))
                    continue
                ds, split = _TARGET_OF_EVAL_SET[(dataset, name)]
                accs = [acc for _, acc in values]
                row[TargetSpec(ds, split, self.version, hp).column] = float(np.mean(accs))
                if self.per_seed:
                    row[TargetSpec(ds, split, self.version, hp, "max").column] = float(np.max(accs))
                    for seed, acc in values:
                        row[TargetSpec(ds, split, self.version, hp, seed).column] = acc

    def ground_truth(self, source: str) -> GroundTruth:
        targets = pd.DataFrame.from_dict(self.rows, orient="index")
        targets = targets.reindex(index=range(nb201.NUM_ARCHS),
                                  columns=sorted(targets.columns, key=_column_order))
        table = pd.concat([_metadata_table().copy(), targets.reset_index(drop=True)], axis=1)
        notes = [f"ignored eval sets without a target name: {sorted(self.ignored)}"] if self.ignored else []
        notes += [f"hp={hp} runs with {epochs} epochs (last epoch used)"
                  for hp, epochs in sorted(self.odd_epochs)]
        return GroundTruth(table, [source], notes)


def _final(values: dict, key, where: str, name: str) -> float:
    try:
        return float(values[key])
    except (KeyError, TypeError) as exc:
        raise CorruptDataError(f"{where}: no final-epoch value {key!r} for {name!r}") from exc


def _column_order(column: str):
    spec = TargetSpec.from_column(column)
    agg = {"mean": (0, 0), "max": (1, 0)}.get(spec.aggregation, (2, spec.aggregation))
    return (VERSIONS.index(spec.version), SCHEDULES.index(spec.hp), DATASETS.index(spec.dataset),
            SPLITS.index(spec.split), agg)


def _check_meta_archs(meta_archs, where: str) -> None:
    if len(meta_archs) != nb201.NUM_ARCHS:
        raise CorruptDataError(f"{where}: {len(meta_archs)} architectures in meta_archs, "
                               f"expected {nb201.NUM_ARCHS}")
    for i, (got, expected) in enumerate(zip(meta_archs, _arch_strings())):
        if got != expected:
            raise CorruptDataError(f"{where}: meta_archs[{i}] = {got!r}, but the NB201 index order "
                                   f"gives {expected!r}")


def pth_version(path) -> str:
    """'v1_0' or 'v1_1' from the official file name."""
    name = Path(path).name
    for version in ("v1_0", "v1_1"):
        if f"-{version}-" in name:
            return version
    raise ZcbenchError(f"cannot tell the NB201 file version from the name {name!r} (expected "
                       f"{' or '.join(PTH_FILES)}); pass version='v1_0' or 'v1_1'")


def read_nb201_pth(path, version: str | None = None, per_seed: bool = False, data_dir=None) -> GroundTruth:
    """Read an official NAS-Bench-201 `.pth` into the normalized table.

    Columns: every (dataset, eval set) in the file → `{...}_{version}` (200-epoch 'full' results)
    and `{...}_hp12_{version}` (12-epoch 'less' results), the mean over the file's seeds of the
    last-epoch top-1 accuracy; with `per_seed`, also `_seed<S>` and `_max` columns. v1_0 has 12-epoch
    results for cifar10-valid only. The plain dict documented in protocols §D.1 is walked directly:
    the `nas_201_api` class deep-copies the whole multi-GB dict on construction (tests check this
    reader against it on small files). Loaded with torch's weights-only unpickler (`--trust-pickle`
    lifts it): a file naming any other type is refused unrun.
    """
    path = _locate(path, "NAS-Bench-201 benchmark file", HOW_TO_GET_PTH, data_dir)
    version = version or pth_version(path)
    if version not in ("v1_0", "v1_1"):
        raise _choice_error("NB201 .pth version", version, ("v1_0", "v1_1"))
    try:
        data = torch_load(path, "NAS-Bench-201 file")
    except UnsafePickleError:
        raise
    except Exception as exc:  # torch.load raises RuntimeError/EOFError/UnpicklingError… for damaged files
        raise CorruptDataError(f"{path}: cannot load the NAS-Bench-201 file (truncated or damaged?): "
                               f"{type(exc).__name__}: {exc}") from exc
    return _from_nb201_dict(data, version, per_seed, str(path))


def _from_nb201_dict(data, version: str, per_seed: bool, where: str) -> GroundTruth:
    if not isinstance(data, dict):
        raise CorruptDataError(f"{where}: expected a dict, got {type(data).__name__}")
    missing = [k for k in ("meta_archs", "arch2infos", "evaluated_indexes") if k not in data]
    if missing:
        raise CorruptDataError(f"{where}: missing key(s) {', '.join(missing)}; "
                               f"has {', '.join(map(str, data))}")
    _check_meta_archs(data["meta_archs"], where)
    extraction = _Extraction(version, per_seed)
    for index, infos in sorted(data["arch2infos"].items()):
        here = f"{where}: arch {index}"
        for hp, key in (("200", "full"), ("12", "less")):
            if key not in infos:
                raise CorruptDataError(f"{here}: no {key!r} results")
            state = infos[key]
            if state["arch_str"] != data["meta_archs"][index]:
                raise CorruptDataError(f"{here}: arch_str {state['arch_str']!r} differs from meta_archs")
            extraction.add(int(index), state, hp, here)
    return extraction.ground_truth(where)


def read_nats_tss(path, fast_mode: bool | None = None, per_seed: bool = False, data_dir=None) -> GroundTruth:
    """Read a NATS-Bench `tss` archive through `nats_bench` into `_nats` columns (hp 200 and 12).

    `path` is the `NATS-tss-v1_0-3ffb9-simple` directory (fast mode, one file per arch) or the
    single `NATS-tss-v1_0-3ffb9.pickle.pbz2`; `fast_mode` defaults to "path is a directory".
    Archs without a file in the directory or without a schedule get NaN (the converter counts them).
    """
    try:
        import nats_bench
    except ImportError as exc:
        raise ZcbenchError("reading NATS-Bench needs the nats_bench package: "
                           "pip install 'zcbench[benchdata]'") from exc
    path = _locate(path, "NATS-Bench tss archive", HOW_TO_GET_NATS, data_dir)
    fast_mode = path.is_dir() if fast_mode is None else fast_mode
    try:
        api = nats_bench.create(str(path), "tss", fast_mode=fast_mode, verbose=False)
    except Exception as exc:  # bz2/pickle/ValueError for a damaged or wrong archive
        raise CorruptDataError(f"{path}: cannot open as a NATS-Bench tss archive: "
                               f"{type(exc).__name__}: {exc}") from exc
    _check_meta_archs(api.meta_archs, str(path))
    extraction = _Extraction("nats", per_seed)
    for index in range(len(api)):
        for hp in ("200", "12"):
            results = _nats_arch_results(api, index, hp, path)
            if results is not None:
                extraction.add(index, results.state_dict(), hp, f"{path}: arch {index}")
    return extraction.ground_truth(str(path))


def _nats_arch_results(api, index: int, hp: str, path: Path):
    """The API's ArchResults for one arch and schedule; None when the archive has none."""
    try:
        return api.query_meta_info_by_index(index, hp=hp)
    except (AssertionError, ValueError):  # nats_bench's way of saying "no file / no such hp for this arch"
        return None
    except Exception as exc:
        raise CorruptDataError(f"{path}: cannot read the results of arch {index} (hp {hp}): "
                               f"{type(exc).__name__}: {exc}") from exc


def _convert(read: Callable[[], GroundTruth], out) -> str:
    gt = read()
    written = gt.save(out)
    empty = int(gt.table[gt.target_columns].isna().all(axis=1).sum())
    notes = "".join(f"; {note}" for note in gt.notes)
    return (f"wrote {written}: {len(gt)} archs, {len(gt.target_columns)} target columns "
            f"({', '.join(gt.target_columns)}) from {', '.join(gt.sources)}; "
            f"{empty} archs without results{notes}")


def convert_nb201_pth(input_path, out, version: str | None = None, per_seed: bool = False) -> str:
    """`zcbench data convert nb201`: official .pth → normalized table; returns a one-line summary."""
    return _convert(lambda: read_nb201_pth(input_path, version, per_seed), out)


def convert_nats_tss(input_path, out, fast_mode: bool | None = None, per_seed: bool = False) -> str:
    """`zcbench data convert nats`: NATS-Bench tss archive → normalized table; returns a one-line summary."""
    return _convert(lambda: read_nats_tss(input_path, fast_mode, per_seed), out)
