"""The shard plan: a pure function of the config (and the files it names).

`make_plan(config)` resolves the architecture selection to arch ids, resolves each proxy entry to
its registered version and settings hash, and cuts the arch list into shards of `archs_per_shard`
consecutive archs. A shard holds every (arch, proxy, dataset, seed) row of its archs. The plan
fingerprint hashes everything that decides the rows' values, so an output directory written under
another plan is never silently mixed with this one.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zcbench.benchmarks.sweep.config import ConfigError, ProxyEntry, SweepConfig
from zcbench.proxies.registry import ProxySpec, get_proxy, settings_dict, settings_hash
from zcbench.spaces.catalog import Space, get_space
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import ZcbenchError

# Rough single-thread CPU seconds per row of each cost class (full-size networks); replaced by
# measured values with `plan --calibrate N`.
NOMINAL_SECONDS = {"parameter-free": 1e-4, "forward": 0.5, "backward": 1.5, "per-sample-backward": 10.0,
                   "short-train": 60.0}
ROW_KEY = ("arch", "proxy", "settings_hash", "dataset", "seed")


@dataclass(frozen=True)
class PlannedProxy:
    """A proxy entry resolved against the registry."""

    entry: ProxyEntry
    spec: ProxySpec
    settings: Any

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def settings_hash(self) -> str:
        return settings_hash(self.settings)

    @cached_property
    def settings_json(self) -> str:
        return json.dumps(settings_dict(self.settings), sort_keys=True, default=str)

    @property
    def needs_images(self) -> bool:
        return bool({"images", "labels"} & set(self.spec.needs))


@dataclass(frozen=True)
class Shard:
    index: int
    arch_ids: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"shard-{self.index:05d}"


@dataclass(frozen=True)
class Plan:
    config: SweepConfig
    arch_ids: tuple[str, ...]
    proxies: tuple[PlannedProxy, ...]
    shards: tuple[Shard, ...]
    fingerprint: str

    @property
    def rows_per_arch(self) -> int:
        return len(self.proxies) * len(self.config.datasets) * len(self.config.seeds)

    @property
    def n_rows(self) -> int:
        return len(self.arch_ids) * self.rows_per_arch

    def row_keys(self, shard: Shard | None = None) -> Iterator[tuple]:
        """Every planned row key (arch, proxy, settings_hash, dataset, seed), in table order."""
        for arch in (shard.arch_ids if shard is not None else self.arch_ids):
            for dataset in self.config.datasets:
                for seed in self.config.seeds:
                    for p in self.proxies:
                        yield (arch, p.name, p.settings_hash, dataset, seed)

    def cost_by_class(self, seconds_per_row: dict[str, float] | None = None) -> dict[str, dict]:
        """Rows and estimated single-worker seconds per cost class; `seconds_per_row` maps proxy
        names to measured seconds (otherwise NOMINAL_SECONDS of the class is used)."""
        out: dict[str, dict] = {}
        per_proxy_rows = len(self.arch_ids) * len(self.config.datasets) * len(self.config.seeds)
        for p in self.proxies:
            measured = (seconds_per_row or {}).get(p.name)
            each = measured if measured is not None else NOMINAL_SECONDS[p.spec.cost_class]
            c = out.setdefault(p.spec.cost_class, {"proxies": [], "rows": 0, "seconds": 0.0, "measured": True})
            c["proxies"].append(p.name)
            c["rows"] += per_proxy_rows
            c["seconds"] += per_proxy_rows * each
            c["measured"] &= measured is not None
        return out

    def summary(self) -> dict:
        c = self.config
        return {"name": c.name, "fingerprint": self.fingerprint, "space": c.space, "archs": len(self.arch_ids),
                "proxies": [p.entry.describe() + f" v{p.spec.version} #{p.settings_hash}" for p in self.proxies],
                "datasets": list(c.datasets), "seeds": list(c.seeds), "rows": self.n_rows,
                "shards": len(self.shards), "archs_per_shard": c.archs_per_shard, "device": c.device}


def load_plugins(config: SweepConfig) -> None:
    """Import the config's plugin modules (their import registers extra proxies)."""
    for module in config.plugins:
        try:
            import_module(module)
        except ImportError as exc:
            raise ConfigError(f"plugin module {module!r} of sweep {config.name!r} cannot be imported: {exc}") from exc


def _find_file(config: SweepConfig, name: str, what: str, data_dir) -> Path:
    local = Path(config.base_dir) / name
    candidates = [str(local)] if Path(name).is_absolute() or local.exists() else [name]
    return find_data_file(candidates, what, "give a path relative to the config file or to --data-dir", data_dir)


def _read_refs(path: Path) -> list:
    """References from a JSON list, a CSV of NB101 cells (`adjacency` 49-bit strings and `operations`
    labels, the `zcbench space export nb101 --cells` format), or a text file with one per line (# comments).
    Errors name the file and the position, never its content (the path may name any readable file)."""
    try:
        return _parse_refs(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"{path}: not an architecture list ({type(exc).__name__})") from None


def _parse_refs(path: Path) -> list:
    if path.suffix == ".csv":
        cells = pd.read_csv(path, dtype={"adjacency": str})
        if not {"adjacency", "operations"} <= set(cells.columns):
            raise ConfigError(f"{path}: a CSV of cells needs `adjacency` and `operations` columns; found "
                              f"{len(cells.columns)} other column(s)")
        return cells[["adjacency", "operations"]].to_dict("records")
    text = path.read_text()
    if path.suffix == ".json":
        refs = json.loads(text)
        if not isinstance(refs, list):
            raise ConfigError(f"{path}: expected a JSON list of architecture references, got {type(refs).__name__}")
        return refs
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _resolve_refs(space: Space, refs: list, where: str, echo: bool = True) -> list[str]:
    """Arch ids of the references; `echo=False` (refs read from a file) keeps their text out of errors."""
    if not refs:
        raise ConfigError(f"{where}: selects no architectures (the list is empty)")
    ids, seen = [], {}
    for pos, ref in enumerate(refs):
        shown = f" ({ref!r})" if echo else ""
        try:
            arch_id = space.arch_id(space.arch(ref))
        except ZcbenchError as exc:
            detail = f": {exc}" if echo else f" ({type(exc).__name__})"
            raise ConfigError(f"{where}: entry {pos}{shown} is not a {space.name} architecture{detail}") from None
        if arch_id in seen:
            raise ConfigError(f"{where}: entries {seen[arch_id]} and {pos}{shown} are the same architecture "
                              f"{arch_id}")
        seen[arch_id] = pos
        ids.append(arch_id)
    return ids


def explicit_archs(config: SweepConfig, data_dir=None) -> dict:
    """arch id → arch of an `indices`/`hashes` selection, read from the config's refs as the planner reads
    them, so a worker needs no id index (NB101 module hashes resolve only with a table attached)."""
    sel = config.archs
    if sel.select not in ("indices", "hashes"):
        return {}
    space = get_space(config.space)
    refs = list(sel.refs) if sel.refs is not None else _read_refs(
        _find_file(config, sel.file, f"architecture list {sel.file!r}", data_dir))
    archs = [space.arch(ref) for ref in refs]
    return {space.arch_id(arch): arch for arch in archs}


def select_archs(config: SweepConfig, data_dir=None) -> tuple[str, ...]:
    """The arch ids the config selects, in plan order."""
    space, sel = get_space(config.space), config.archs
    where = f"sweep {config.name!r} [archs]"
    if sel.select == "all":
        return tuple(space.arch_id(a) for a in space.archs())
    if sel.select == "sample":
        if sel.n > len(space):
            raise ConfigError(f"{where}: cannot sample n={sel.n} distinct archs from {len(space)}")
        picks = np.sort(np.random.default_rng(sel.seed).choice(len(space), size=sel.n, replace=False))
        return tuple(space.arch_id(space.arch(int(i))) for i in picks)
    if sel.select in ("indices", "hashes"):
        if sel.refs is not None:
            return tuple(_resolve_refs(space, list(sel.refs), f"{where}.refs"))
        path = _find_file(config, sel.file, f"architecture list {sel.file!r}", data_dir)
        return tuple(_resolve_refs(space, _read_refs(path), str(path), echo=False))
    path = _find_file(config, sel.file, f"same-#Param group file {sel.file!r}", data_dir)
    try:
        groups = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON list of lists ({type(exc).__name__})") from None
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise ConfigError(f"{path}: expected a JSON list of lists of architecture indices")
    refs = []
    for g in sel.groups:
        if not 0 <= g < len(groups):
            raise ConfigError(f"{where}.group: {g} out of range; {path} has groups 0..{len(groups) - 1}")
        refs.extend(groups[g])
    return tuple(_resolve_refs(space, refs, f"{path} groups {list(sel.groups)}", echo=False))


def resolve_proxies(config: SweepConfig) -> tuple[PlannedProxy, ...]:
    load_plugins(config)
    planned, seen = [], {}
    for i, entry in enumerate(config.proxies):
        where = f"sweep {config.name!r} proxies[{i}] ({entry.name})"
        try:
            spec = get_proxy(entry.name)
            settings = spec.settings(entry.setting, **dict(entry.overrides))
        except ZcbenchError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if config.space not in spec.spaces:
            raise ConfigError(f"{where}: proxy does not support space {config.space!r} (supports {spec.spaces})")
        p = PlannedProxy(entry, spec, settings)
        if (p.name, p.settings_hash) in seen:
            raise ConfigError(f"{where}: same proxy and settings as proxies[{seen[p.name, p.settings_hash]}]")
        seen[p.name, p.settings_hash] = i
        planned.append(p)
    return tuple(planned)


def _check_data(config: SweepConfig, proxies: tuple[PlannedProxy, ...]) -> None:
    needing = [p.name for p in proxies if p.needs_images]
    missing = [ds for ds in config.datasets if config.data_for(ds) is None]
    if needing and missing:
        raise ConfigError(f"sweep {config.name!r}: proxies {needing} need images but no [data] source is "
                          f"given for dataset(s) {missing}")


def fingerprint(config: SweepConfig, arch_ids, proxies) -> str:
    definition = config.definition()
    definition.pop("name")  # a label: renaming a sweep keeps its results
    blob = json.dumps({"definition": definition,
                       "archs": hashlib.sha256("\n".join(arch_ids).encode()).hexdigest(),
                       "proxies": [(p.name, p.spec.version, p.settings_hash) for p in proxies]},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_plan(config: SweepConfig, data_dir=None) -> Plan:
    """Resolve archs and proxies and cut the shards; deterministic for a given config and registry."""
    get_space(config.space)
    proxies = resolve_proxies(config)
    _check_data(config, proxies)
    arch_ids = select_archs(config, data_dir)
    size = config.archs_per_shard
    shards = tuple(Shard(k, arch_ids[start:start + size]) for k, start in enumerate(range(0, len(arch_ids), size)))
    return Plan(config, arch_ids, proxies, shards, fingerprint(config, arch_ids, proxies))
