"""Sweep results as report inputs: merged Parquet tables → one score per arch, with provenance.

A results directory is a results library (benchmarks.library): `sweeps/<name>/` and `samples/<name>/`
folders whose `manifest.json` lists their tables (`merged.parquet`, or `partial.parquet` for a partial
merge: one row per arch, proxy, settings hash, dataset, seed) with checksums. `load_results` reads every
listed table, checked against its checksum; `write_index` writes `INDEX.md`, the library's table of
contents, from the manifests. `proxy_scores` turns the rows
of one proxy on one dataset into a Series per NB201 index: the mean over seeds of the rows whose
status is `ok`, `inf` or `-inf` (±inf are orderable extremes: a search never picks them, a
correlation excludes and counts them); an arch with only other statuses (`nan`, `singular`,
`error:…`) is excluded and counted as failed.
When several settings exist for a proxy, the registry's `code` preset wins, then `paper`, then the
settings hash with the most archs — a preset covering under a quarter of the largest settings' archs
does not win — and the choice is recorded in the provenance.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.benchmarks import library
from zcbench.spaces.errors import CorruptDataError

REQUIRED_COLUMNS = ("space", "arch", "proxy", "setting", "settings_hash", "dataset", "seed", "status")
VALUE_COLUMNS = ("value", "score")  # the sweep store calls the proxy value `score`
PROVENANCE_COLUMNS = ("proxy_version", "package_version", "git_commit", "torch_version", "device", "data_source")
SYNTHETIC_PREFIX = "synthetic"
INFINITE_STATUS = {"inf": np.inf, "-inf": -np.inf}
PRESET_MIN_SHARE = 0.25  # of the largest settings' arch count


TABLE_KINDS = ("sweeps", "samples")  # library kinds whose tables are in the sweep schema and feed paper claims
# Sweep-schema tables scored in another suite's settings (e.g. NASLib's batch 32) for a concordance check:
# read only by the concordance section, so a paper claim never picks up a foreign setting.
CONCORDANCE_KIND = "concordance"
# Sweep-schema tables of a method study (e.g. MGM under zcbench's and the authors' sample streams): read only
# by that study's section, for the same reason.
STUDY_KIND = "studies"


def library_tables(results_dir, kinds) -> list[tuple[library.Entry, Path]]:
    """(entry, table) for every table listed by the manifests of the given kinds, each checked against its
    sha256 (CorruptDataError on a mismatch), sorted by kind and name."""
    return [(entry, path) for kind in kinds for entry in library.entries(results_dir, kind) for path in entry.tables()]


def concordance_tables(results_dir) -> list[Path]:
    """The checked tables of the `concordance/*` entries (see CONCORDANCE_KIND)."""
    return [path for _, path in library_tables(results_dir, (CONCORDANCE_KIND,))]


def study_table(results_dir, name: str) -> Path | None:
    """The checked table of the `studies/<name>` entry, or None when it is not in the library."""
    return next((path for entry, path in library_tables(results_dir, (STUDY_KIND,)) if entry.name == name), None)


def unmerged_sweeps(results_dir) -> list[str]:
    """Sweep folders with shards but no manifest (not merged yet): their rows are not read until merged."""
    root = Path(results_dir)
    return sorted(d.name for kind in (*TABLE_KINDS, CONCORDANCE_KIND, STUDY_KIND) for d in root.glob(f"{kind}/*")
                  if (d / "shards").is_dir() and not (d / library.MANIFEST).is_file())


def load_results(results_dir) -> pd.DataFrame:
    """All library tables under a directory, with `value`, `sweep` (the entry's name), `arch_select`
    (how its sweep chose archs: all, sample, indices, hashes, param_group; `unknown` without a sweep.json)
    and `partial` (the entry is a partial merge of an unfinished sweep).

    A partial table covers fewer archs than planned; coverage is counted downstream, so claims computed
    from it are reported as indicative, never as reproduced."""
    frames = [read_table(path).assign(arch_select=arch_selection(entry.folder),
                                      partial=entry.manifest.get("complete") is False)
              for entry, path in library_tables(results_dir, TABLE_KINDS)]
    if not frames:
        return pd.DataFrame(columns=[*REQUIRED_COLUMNS, "value", "sweep", "arch_select", "partial"])
    return pd.concat(frames, ignore_index=True)


def arch_selection(folder) -> str:
    """The `[archs] select` of the sweep that wrote a library folder (its sweep.json), else `unknown`."""
    try:
        return str(json.loads((Path(folder) / "sweep.json").read_text())["definition"]["archs"]["select"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


INDEX_COLUMNS = ("kind", "name", "what", "rows", "seeds", "claims", "files")


def index_markdown(results_dir) -> str:
    """INDEX.md: one row per library entry (from its manifest), tables first among its files."""
    lines = ["# Results library", "",
             f"Generated from the `{library.MANIFEST}` of every `<kind>/<name>/` folder by `zcbench results index` "
             "(docs/results.md); do not edit by hand.", "",
             "| " + " | ".join(INDEX_COLUMNS) + " |", "|" + "---|" * len(INDEX_COLUMNS)]
    for entry in library.entries(results_dir):
        m = entry.manifest
        rows = f"{m.get('rows', 0):,}" + ("" if m.get("complete", True) else f" of {m['planned_rows']:,} planned")
        files = [*m["tables"], *m["files"]]
        cells = (m["kind"], f"`{m['name']}`", m["what"], rows, ", ".join(map(str, m.get("seeds", []))),
                 ", ".join(m["claims"]) or "—", "<br>".join(f"`{f}`" for f in [library.MANIFEST, *files]))
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_index(results_dir) -> Path:
    """Write `results_dir/INDEX.md` (index_markdown) and return its path."""
    path = Path(results_dir) / library.INDEX
    path.write_text(index_markdown(results_dir))
    return path


def read_table(path) -> pd.DataFrame:
    """One table in the sweep schema, with `value` (the proxy value) and `sweep` (its library entry's name)."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise CorruptDataError(f"{path}: cannot read as Parquet: {type(exc).__name__}: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    value = next((c for c in VALUE_COLUMNS if c in frame.columns), None)
    if missing or value is None:
        need = missing + ([] if value else ["value (or score)"])
        raise CorruptDataError(f"{path}: missing column(s) {', '.join(need)}; has {', '.join(frame.columns)}")
    frame = frame.rename(columns={value: "value"})
    frame["arch"] = frame["arch"].astype(str)
    frame["sweep"] = path.parent.name  # the library entry's name
    return frame


@dataclass
class ProxyScores:
    """One proxy's score per arch on one dataset (mean over seeds of usable rows) and where it came from."""

    proxy: str
    dataset: str
    values: pd.Series  # index: NB201 index (int)
    archs: pd.Index  # every arch with a row for these settings, usable or failed
    failed: int  # archs with rows but no usable (ok / ±inf) value
    statuses: dict  # status → row count, all rows of the chosen settings
    provenance: dict = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        """True when any row was computed on synthetic images (not a benchmark result)."""
        return any(str(s).startswith(SYNTHETIC_PREFIX) for s in self.provenance.get("data_source", []))


def _preferred_hashes(proxy: str) -> list[str]:
    """Settings hashes of the registry's presets, `code` first (empty for an unregistered proxy)."""
    from zcbench.proxies.registry import REGISTRY, settings_hash

    if proxy not in REGISTRY:
        return []
    spec = REGISTRY.get(proxy)
    return [settings_hash(spec.presets[p]) for p in ("code", "paper") if p in spec.presets]


def available(results: pd.DataFrame, space: str = "nb201") -> pd.DataFrame:
    """Which (proxy, dataset, setting, settings_hash) exist, with arch counts and synthetic flags."""
    rows = results[results["space"] == space]
    if rows.empty:
        return pd.DataFrame(columns=["proxy", "dataset", "setting", "settings_hash", "archs", "sweeps"])
    return (rows.groupby(["proxy", "dataset", "setting", "settings_hash"])
            .agg(archs=("arch", "nunique"), sweeps=("sweep", lambda s: ",".join(sorted(set(s)))))
            .reset_index())


def proxy_scores(results: pd.DataFrame, proxy: str, dataset: str, space: str = "nb201",
                 setting: str | None = None) -> ProxyScores | None:
    """Scores of `proxy` on `dataset`, or None when the results hold no row for them."""
    rows = results[(results["space"] == space) & (results["proxy"] == proxy) & (results["dataset"] == dataset)]
    if setting is not None:
        rows = rows[rows["setting"] == setting]
    if rows.empty:
        return None
    hashes = rows.groupby("settings_hash")["arch"].nunique().sort_values(ascending=False, kind="stable")
    # a preset wins only when it is not a stub beside a far larger result (e.g. κ `code` on 9 cells
    # next to `supernet` on 200)
    preferred = [h for h in _preferred_hashes(proxy) if h in hashes.index and
                 hashes[h] >= PRESET_MIN_SHARE * hashes.max()]
    chosen = preferred[0] if preferred else hashes.index[0]
    rows = rows[rows["settings_hash"] == chosen]
    usable = rows[rows["status"].isin(["ok", *INFINITE_STATUS])]
    value = usable["status"].map(INFINITE_STATUS).fillna(usable["value"]).astype(np.float64)
    values = value.groupby(usable["arch"].astype(np.int64)).mean().sort_index()
    archs = pd.Index(np.sort(rows["arch"].astype(np.int64).unique()))
    provenance = {
        "setting": str(rows["setting"].iloc[0]), "settings_hash": chosen,
        "other_settings_hashes": [h for h in hashes.index if h != chosen],
        "seeds": sorted(int(s) for s in rows["seed"].unique()),
        "sweeps": sorted(set(rows["sweep"])),
        **{c: sorted(rows[c].dropna().astype(str).unique().tolist()) for c in PROVENANCE_COLUMNS if c in rows.columns},
    }
    if "settings_json" in rows.columns:
        provenance["settings"] = json.loads(rows["settings_json"].iloc[0])
    statuses = {str(k): int(v) for k, v in rows["status"].value_counts().items()}
    return ProxyScores(proxy, dataset, values.rename(proxy), archs, len(archs) - len(values), statuses, provenance)
