"""The declarative sweep config: a TOML file parsed into frozen dataclasses, checked key by key.

A config says *what* to compute (space, architectures, proxies with settings, datasets, seeds,
images, shard size) and, in `[execution]`, a default *how* (executor, workers, threads) that the
CLI may override. Only the *what* enters the plan fingerprint, so a sweep can be resumed with
another executor or on another machine. Example (all keys: configs/*.toml):

    name = "demo"
    space = "nb201"
    datasets = ["cifar10"]
    seeds = [0]
    archs_per_shard = 4
    [archs]
    select = "sample"        # all | sample | indices | param_group | hashes
    n = 16
    [data]
    source = "synthetic"     # synthetic | folder | dataset  (or one [data.<dataset>] table each)
    [[proxies]]
    name = "params"
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from zcbench.spaces.catalog import DATASET_CLASSES, DATASET_INPUT_SIZE
from zcbench.spaces.errors import ZcbenchError

SELECTIONS = ("all", "sample", "indices", "param_group", "hashes")
DATA_SOURCES = ("synthetic", "folder", "dataset")
MAX_SYNTHETIC_BYTES = 4 * 2 ** 30  # synthetic images are held in memory as uint8
EXECUTORS = ("serial", "process", "submitit")
START_METHODS = ("spawn", "forkserver", "fork")
SUBMITIT_CLUSTERS = ("slurm", "local", "debug")
# [execution].submitit keys passed on to submitit: resources and placement only. Keys that put text
# into the job script (slurm_setup, slurm_additional_parameters, slurm_srun_args …) are refused.
SUBMITIT_OPTIONS = ("cluster", "poll_seconds", "timeout_min", "name", "nodes", "tasks_per_node", "cpus_per_task",
                    "gpus_per_node", "mem_gb", "slurm_partition", "slurm_account", "slurm_qos", "slurm_constraint",
                    "slurm_exclude", "slurm_array_parallelism", "slurm_gres", "slurm_mem_per_cpu", "slurm_exclusive")
# A sweep name is one path component (it names sweeps/<name>).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ConfigError(ZcbenchError):
    """A sweep config that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class ProxyEntry:
    """One proxy column of the sweep: a registered name, a settings preset and field overrides."""

    name: str
    setting: str = "code"
    overrides: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.overrides)
        return f"{self.name}[{self.setting}{'; ' + extra if extra else ''}]"


@dataclass(frozen=True)
class ArchSelection:
    """Which architectures: all, a seeded sample of n, an explicit list/file of references (NB201
    indices or arch strings; NB101 hashes or `BITS:ops` specs, one per line, or a CSV with `adjacency`
    and `operations` columns), or groups of a same-#Param JSON file (list of lists)."""

    select: str = "all"
    n: int | None = None
    seed: int = 0
    refs: tuple | None = None
    file: str | None = None
    groups: tuple[int, ...] | None = None


@dataclass(frozen=True)
class DataSource:
    """Images for one dataset. `note` is free text copied into every sidecar (e.g. which split the
    files really are)."""

    source: str
    path: str | None = None  # folder: ImageFolder-layout directory (relative: cwd, then --data-dir / $ZCBENCH_DATA)
    max_per_class: int | None = None  # folder: keep the first k images of each class
    split: str | None = None  # dataset: split to load; folder: what split the files are (recorded)
    n: int = 256  # synthetic: number of images
    size: int | None = None  # synthetic: image side (default: the dataset's input size)
    seed: int = 0  # synthetic: generator seed
    note: str = ""

    def describe(self) -> str:
        if self.source == "synthetic":
            return f"synthetic(n={self.n}, size={self.size}, seed={self.seed})"
        if self.source == "folder":
            limit = f", first {self.max_per_class}/class" if self.max_per_class else ""
            return f"folder:{self.path}[{self.split or 'unspecified split'}{limit}]"
        return f"dataset:{self.split}"


@dataclass(frozen=True)
class Execution:
    """How to run (not part of the fingerprint): executor, workers, torch threads per worker, the
    process pool's start method ('fork' starts faster, CPU only), submitit parameters (`cluster` plus
    AutoExecutor parameters such as timeout_min, slurm_partition)."""

    executor: str = "serial"
    workers: int = 1
    threads: int | None = None
    start_method: str = "spawn"
    submitit: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class SweepConfig:
    name: str
    space: str
    archs: ArchSelection
    proxies: tuple[ProxyEntry, ...]
    datasets: tuple[str, ...] = ("cifar10",)
    seeds: tuple[int, ...] = (0,)
    device: str = "cpu"
    archs_per_shard: int = 50
    data: tuple[tuple[str, DataSource], ...] = ()
    out: str | None = None
    plugins: tuple[str, ...] = ()
    notes: str = ""
    execution: Execution = field(default_factory=Execution)
    base_dir: str = "."  # directory of the config file: relative arch files are looked up there first

    def data_for(self, dataset: str) -> DataSource | None:
        return dict(self.data).get(dataset)

    def definition(self) -> dict:
        """The *what* of the sweep as plain JSON data (input of the plan fingerprint; notes are not)."""
        return {
            "name": self.name, "space": self.space, "datasets": list(self.datasets), "seeds": list(self.seeds),
            "archs_per_shard": self.archs_per_shard, "plugins": list(self.plugins),
            "archs": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self.archs).items()},
            "proxies": [{"name": p.name, "setting": p.setting, "overrides": dict(p.overrides)} for p in self.proxies],
            "data": {ds: {k: v for k, v in vars(src).items() if k != "note"} for ds, src in self.data},
        }


# --------------------------------------------------------------------------------------------- parsing

class _Table:
    """A TOML table being consumed: typed getters that name the file and key on error, and a final
    check that no unknown key is left over (typos must not be ignored)."""

    def __init__(self, data: dict, where: str):
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table, got {type(data).__name__} {data!r}")
        self.data, self.where, self.used = data, where, set()

    def get(self, key: str, types, default=None, required: bool = False):
        self.used.add(key)
        if key not in self.data:
            if required:
                raise ConfigError(f"{self.where}: missing required key {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
            names = "/".join(t.__name__ for t in _tuple(types))
            raise ConfigError(f"{self.where}.{key}: expected {names}, got {type(value).__name__} {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.get(key, str, default, required=default is None)
        if value not in choices:
            raise ConfigError(f"{self.where}.{key}: {value!r} is not one of {', '.join(choices)}")
        return value

    def positive(self, key: str, default=None, required: bool = False) -> int | None:
        value = self.get(key, int, default, required)
        if value is not None and value < 1:
            raise ConfigError(f"{self.where}.{key}: must be ≥ 1, got {value}")
        return value

    def int_list(self, key: str, default: tuple) -> tuple[int, ...]:
        values = self.get(key, list, list(default))
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ConfigError(f"{self.where}.{key}: expected a non-empty list of integers, got {values!r}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{self.where}.{key}: duplicate values in {values!r}")
        return tuple(values)

    def table(self, key: str) -> _Table:
        return _Table(self.get(key, dict, {}), f"{self.where}.{key}")

    def finish(self) -> None:
        if unknown := sorted(set(self.data) - self.used):
            raise ConfigError(f"{self.where}: unknown key(s) {unknown}; known keys: {sorted(self.used)}")


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _frozen(value):
    """TOML lists → tuples, so overrides match the tuple-typed fields of frozen settings dataclasses."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _parse_archs(t: _Table) -> ArchSelection:
    select = t.choice("select", SELECTIONS, "all")
    if select == "all":
        sel = ArchSelection("all")
    elif select == "sample":
        sel = ArchSelection("sample", n=t.positive("n", required=True), seed=t.get("seed", int, 0))
    elif select in ("indices", "hashes"):
        refs = t.get("refs", list)
        file = t.get("file", str)
        if (refs is None) == (file is None):
            raise ConfigError(f"{t.where}: select = {select!r} needs exactly one of 'refs' (a list) or 'file'")
        sel = ArchSelection(select, refs=tuple(refs) if refs is not None else None, file=file)
    else:  # param_group
        groups = t.get("group", (int, list), required=True)
        groups = (groups,) if isinstance(groups, int) else tuple(groups)
        sel = ArchSelection("param_group", file=t.get("file", str, required=True), groups=groups)
    t.finish()
    return sel


def _parse_data_source(t: _Table, dataset: str | None) -> DataSource:
    source = t.choice("source", DATA_SOURCES)
    default_size = DATASET_INPUT_SIZE.get(dataset, 32) if dataset else 32
    src = DataSource(
        source=source,
        path=t.get("path", str, required=source == "folder"),
        split=t.get("split", str, "train" if source == "dataset" else None),
        max_per_class=t.positive("max_per_class"), n=t.positive("n", 256),
        size=t.positive("size", default_size if source == "synthetic" else None),
        seed=t.get("seed", int, 0), note=t.get("note", str, ""))
    synthetic_bytes = src.n * src.size ** 2 * 3 if source == "synthetic" else 0
    if synthetic_bytes > MAX_SYNTHETIC_BYTES:
        raise ConfigError(f"{t.where}: {src.n:,} synthetic {src.size}×{src.size} images need "
                          f"{synthetic_bytes / 2 ** 30:.1f} GiB (at most {MAX_SYNTHETIC_BYTES // 2 ** 30} GiB; "
                          "lower n or size)")
    t.finish()
    return src


def _parse_data(t: _Table, datasets: tuple[str, ...]) -> tuple[tuple[str, DataSource], ...]:
    if not t.data:
        return ()
    if "source" in t.data:  # one source for every dataset
        shared = t.data
        return tuple((ds, _parse_data_source(_Table(dict(shared), t.where), ds)) for ds in datasets)
    out = []
    for ds in t.data:
        if ds not in datasets:
            raise ConfigError(f"{t.where}.{ds}: not one of the sweep's datasets {list(datasets)}")
        out.append((ds, _parse_data_source(t.table(ds), ds)))
    t.finish()
    return tuple(out)


def _parse_proxies(entries, where: str) -> tuple[ProxyEntry, ...]:
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: at least one [[proxies]] entry is required")
    out = []
    for i, raw in enumerate(entries):
        t = _Table(raw, f"{where}[{i}]")
        overrides = t.get("overrides", dict, {})
        out.append(ProxyEntry(t.get("name", str, required=True), t.get("setting", str, "code"),
                              tuple(sorted((k, _frozen(v)) for k, v in overrides.items()))))
        t.finish()
    return tuple(out)


def _parse_execution(t: _Table) -> Execution:
    sub = t.get("submitit", dict, {})
    if unknown := sorted(set(sub) - set(SUBMITIT_OPTIONS)):
        raise ConfigError(f"{t.where}.submitit: key(s) {unknown} not allowed; allowed: {', '.join(SUBMITIT_OPTIONS)}")
    for key, value in sub.items():
        if not isinstance(value, (str, int, float)) or (isinstance(value, str) and not value.isprintable()):
            raise ConfigError(f"{t.where}.submitit.{key}: expected a number or a one-line string")
    if "cluster" in sub and sub["cluster"] not in SUBMITIT_CLUSTERS:
        raise ConfigError(f"{t.where}.submitit.cluster: {sub['cluster']!r} is not one of "
                          f"{', '.join(SUBMITIT_CLUSTERS)}")
    ex = Execution(t.choice("executor", EXECUTORS, "serial"), t.positive("workers", 1), t.positive("threads"),
                   t.choice("start_method", START_METHODS, "spawn"), tuple(sorted(sub.items())))
    t.finish()
    return ex


def _check_name(name: str, where: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"{where}.name: {name!r} must be one path component of letters, digits, '.', '_', '-'")
    return name


def _check_out(out: str | None, where: str) -> str | None:
    """A relative `out` stays inside the working folder (no `..` escape); an absolute one is taken as meant."""
    if out is not None and not os.path.isabs(out) and os.path.normpath(out).split(os.sep)[0] == "..":
        raise ConfigError(f"{where}.out: {out!r} leaves the working folder; give a path inside it, or an "
                          "absolute path if that is what you mean")
    return out


def parse_config(data: dict, where: str = "<config>", base_dir: str | Path = ".") -> SweepConfig:
    """Build a SweepConfig from parsed TOML data; raises ConfigError naming the offending key."""
    t = _Table(data, where)
    datasets = tuple(t.get("datasets", list, ["cifar10"]))
    for ds in datasets:
        if ds not in DATASET_CLASSES:
            raise ConfigError(f"{where}.datasets: unknown dataset {ds!r}; known: {', '.join(DATASET_CLASSES)}")
    if not datasets or len(set(datasets)) != len(datasets):
        raise ConfigError(f"{where}.datasets: expected a non-empty list without duplicates, got {list(datasets)}")
    config = SweepConfig(
        name=_check_name(t.get("name", str, required=True), where),
        space=t.get("space", str, "nb201"),
        archs=_parse_archs(t.table("archs")),
        proxies=_parse_proxies(t.get("proxies", list, required=True), f"{where}.proxies"),
        datasets=datasets,
        seeds=t.int_list("seeds", (0,)),
        device=t.get("device", str, "cpu"),
        archs_per_shard=t.positive("archs_per_shard", 50),
        data=_parse_data(t.table("data"), datasets),
        out=_check_out(t.get("out", str), where),
        plugins=tuple(t.get("plugins", list, [])),
        notes=t.get("notes", str, ""),
        execution=_parse_execution(t.table("execution")),
        base_dir=str(base_dir),
    )
    t.finish()
    return config


def load_config(path: str | Path) -> SweepConfig:
    """Read and check a TOML sweep config (Python 3.11 tomllib)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"sweep config {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path), path.resolve().parent)
