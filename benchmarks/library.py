"""The results library: `results/<kind>/<name>/` folders, each described by its `manifest.json`.

Kinds: `sweeps` (the merged table of a `zcbench sweep`), `samples` (a table in the same schema over a
sample of a space, e.g. imported from a retired script), `searches` (one JSON record per search run),
`concordance` (sweep-schema tables scored in another suite's settings, compared with its published
scores) and `studies` (sweep-schema tables of a method study, e.g. MGM under two sample streams). Tables
of the last two are read only by their own report section, never by a paper's claims.
A manifest says what the folder holds and where it came from:

    schema        manifest format version (MANIFEST_SCHEMA)
    kind, name    the folder's place: results/<kind>/<name>/
    what          one line: space, archs, proxies, datasets, seeds (generated from the rows)
    config        the config that (re)computes it, relative to the repository (null for searches)
    fingerprint   the sweep plan fingerprint (sweeps, samples)
    complete      every planned row present; rows / planned_rows count them
    space, archs, datasets, seeds, settings (proxy, setting, settings_hash, rows, overrides of the preset)
    git_commits   every commit that produced a row
    inputs        data read, named relative to the data directory, with a content hash (sha256)
    tables        table file → {sha256, rows}: what readers load (checked against the sha256 first)
    files         the folder's other files (summaries, logs), listed so that nothing in it is unaccounted
    claims        ledger claim ids reading it (kept from the previous manifest when one is rewritten)
    imported_from (imports only) the script, its commit, the original files' sha256, how it was imported

`problems(results_dir)` lists whatever breaks these rules (a file no manifest lists, a listed file that
is missing, a checksum mismatch, an absolute path in a result file); the default test run requires none.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError, ZcbenchError
from zcbench.spaces.integrity import sha256_file

KINDS = ("sweeps", "searches", "samples", "concordance", "studies")
MANIFEST, INDEX = "manifest.json", "INDEX.md"
MANIFEST_SCHEMA = 1
REQUIRED_KEYS = ("schema", "kind", "name", "what", "tables", "files", "claims")
# Machine-specific path prefixes that must not appear in a committed result (inputs are named relative
# to the data directory instead).
ABSOLUTE_PATH = re.compile(r"/work/|/home/|/tmp/|/root/|C:\\")
TEXT_SUFFIXES = (".json", ".md", ".csv", ".log", ".txt", ".toml")
# Git-ignored working files of a run (.gitignore: results/*/*/run.lock, nohup.log): never listed, never strays.
IGNORED_NAMES = ("run.lock", "nohup.log")
# A sweep's shards: never listed; strays once the merged table is written (then delete them).
SHARD_DIR = "shards"


@dataclass(frozen=True)
class Entry:
    """One library folder and its manifest."""

    folder: Path
    manifest: dict

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def name(self) -> str:
        return self.manifest["name"]

    def tables(self) -> list[Path]:
        """The table files, each checked against its recorded sha256 (CorruptDataError on a mismatch)."""
        paths = []
        for name, info in sorted(self.manifest["tables"].items()):
            path = self.folder / name
            if not path.is_file():
                raise CorruptDataError(f"{self.folder / MANIFEST} lists table {name}, which does not exist")
            if (actual := sha256_file(path)) != info["sha256"]:
                raise CorruptDataError(f"{path}: sha256 {actual[:16]}… differs from {info['sha256'][:16]}… recorded "
                                       f"in {MANIFEST}: the table was damaged or edited after it was written")
            paths.append(path)
        return paths


def read_manifest(folder) -> Entry:
    """The entry of `folder` (CorruptDataError when its manifest is unreadable or incomplete)."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CorruptDataError(f"{path}: unreadable manifest ({type(exc).__name__}: {exc})") from exc
    if missing := [k for k in REQUIRED_KEYS if k not in manifest]:
        raise CorruptDataError(f"{path}: manifest lacks {', '.join(missing)}")
    return Entry(Path(folder), manifest)


def entries(results_dir, kind: str | None = None) -> list[Entry]:
    """Every `<kind>/<name>/manifest.json` under results_dir (one kind, or all), sorted by kind and name."""
    root = Path(results_dir)
    return [read_manifest(path.parent) for k in (KINDS if kind is None else (kind,))
            for path in sorted(root.glob(f"{k}/*/{MANIFEST}"))]


def entry(results_dir, kind: str, name: str) -> Entry | None:
    folder = Path(results_dir) / kind / name
    return read_manifest(folder) if (folder / MANIFEST).is_file() else None


def kind_of(folder) -> str:
    """The library kind of an output folder: its parent's name when that is a kind, else `sweeps`."""
    parent = Path(folder).resolve().parent.name
    return parent if parent in KINDS else "sweeps"


# ------------------------------------------------------------------------------------------ writing

def table_summary(frame: pd.DataFrame) -> dict:
    """Manifest fields from a table in the sweep schema: space, archs, datasets, seeds, settings (each
    with its rows and the fields that differ from its preset), commits."""
    groups = frame.groupby(["proxy", "setting", "settings_hash"], sort=True)
    settings = [{"proxy": proxy, "setting": setting, "settings_hash": digest, "rows": len(rows),
                 "overrides": _overrides(proxy, setting, json.loads(rows["settings_json"].iloc[0]))}
                for (proxy, setting, digest), rows in groups]
    return {"space": ",".join(sorted(frame["space"].unique())), "archs": int(frame["arch"].nunique()),
            "datasets": sorted(frame["dataset"].unique().tolist()),
            "seeds": sorted(int(s) for s in frame["seed"].unique()), "settings": settings,
            "git_commits": sorted(frame["git_commit"].unique().tolist())}


def _overrides(proxy: str, setting: str, fields: dict) -> dict:
    """The settings fields that differ from the registered preset `setting` of `proxy`."""
    from zcbench.proxies.registry import get_proxy, settings_dict  # imports torch: only when a table is written

    preset = json.loads(json.dumps(settings_dict(get_proxy(proxy).settings(setting)), default=str))
    return {k: v for k, v in fields.items() if preset.get(k) != v}


def describe_table(summary: dict, complete: bool = True) -> str:
    """The `what` line of a table: space, archs, proxies with settings, datasets, seeds."""
    proxies = ", ".join(f"{s['proxy']}[{s['setting']}" + "".join(f"; {k}={v!r}" for k, v in s["overrides"].items())
                        + "]" for s in summary["settings"])
    seeds = ",".join(map(str, summary["seeds"]))
    return (f"{summary['space']}: {summary['archs']:,} archs × {proxies} on {', '.join(summary['datasets'])}, "
            f"seed{'s' if len(summary['seeds']) > 1 else ''} {seeds}" + ("" if complete else " (partial)"))


def write_manifest(folder, kind: str, *, what: str, tables: dict[str, int], **fields) -> dict:
    """Write `folder/manifest.json`: `tables` (file name → rows) with their sha256, every other file of
    the folder (but shards and IGNORED_NAMES) under `files`, `fields` as given; an existing manifest's claims are kept
    unless `claims` is given."""
    folder = Path(folder)
    if kind not in KINDS:
        raise ZcbenchError(f"unknown results kind {kind!r}; kinds: {', '.join(KINDS)}")
    previous = read_manifest(folder).manifest if (folder / MANIFEST).is_file() else {}
    claims = fields.pop("claims", previous.get("claims", []))
    relative = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    others = sorted(str(p) for p in relative
                    if p.parts[0] != SHARD_DIR and p.name not in (MANIFEST, *IGNORED_NAMES) and str(p) not in tables)
    manifest = {"schema": MANIFEST_SCHEMA, "kind": kind, "name": folder.name, "what": what, **fields,
                "tables": {name: {"sha256": sha256_file(folder / name), "rows": int(rows)}
                           for name, rows in sorted(tables.items())},
                "files": others, "claims": claims}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest


def write_sweep_manifest(folder, table, summary: dict, config_path=None, inputs: dict | None = None) -> dict:
    """The manifest of a merged sweep folder, from the table just written and the merge summary."""
    folder, table = Path(folder), Path(table)
    frame = pd.read_parquet(table)
    info = table_summary(frame)
    return write_manifest(folder, kind_of(folder), what=describe_table(info, summary["complete"]),
                          tables={table.name: len(frame)}, config=config_path and repo_relative(config_path),
                          fingerprint=summary["fingerprint"], complete=summary["complete"], rows=len(frame),
                          planned_rows=summary["planned_rows"], **info, inputs=inputs or {})


def sweep_inputs(config, data_dir=None) -> dict:
    """Each dataset's data source as the config names it (relative to the data directory) and, for an
    image folder found there, the tree sha256 of its files."""
    inputs = {}
    for dataset, source in config.data:
        inputs[dataset] = {"source": source.describe()}
        if source.source == "folder":
            try:
                folder = find_data_file([source.path], "image folder", "", data_dir)
            except DataNotFoundError:
                continue  # merged without the data at hand: the source is named, the hash left out
            inputs[dataset]["sha256"] = tree_sha256(folder)
    return inputs


def repo_relative(path) -> str:
    """`path` relative to the repository root when it lies inside it, else as given."""
    from zcbench.benchmarks.provenance import SOURCE_ROOT

    resolved = Path(path).resolve()
    return str(resolved.relative_to(SOURCE_ROOT)) if resolved.is_relative_to(SOURCE_ROOT) else str(path)


def tree_sha256(root) -> str:
    """sha256 over the sorted relative paths and contents of every file under `root` (an image folder)."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------ checking

def problems(results_dir) -> list[str]:
    """What breaks the library's rules under results_dir; empty when every file is accounted for."""
    root = Path(results_dir)
    found = []
    listed = {root / INDEX}
    for e in _readable_entries(root, found):
        expected_folder = root / e.manifest["kind"] / e.manifest["name"]
        if e.folder != expected_folder:
            found.append(f"{e.folder / MANIFEST}: says kind {e.kind!r}, name {e.name!r} but lies in {e.folder}")
        try:
            e.tables()
        except CorruptDataError as exc:
            found.append(str(exc))
        names = [*e.manifest["tables"], *e.manifest["files"]]
        found += [f"{e.folder / MANIFEST} lists {n}, which does not exist" for n in names
                  if not (e.folder / n).is_file()]
        listed |= {e.folder / MANIFEST, *(e.folder / n for n in names)}
        if e.manifest.get("complete") is False:  # a partial merge keeps its shards so the sweep can resume
            listed |= {p for p in (e.folder / "shards").rglob("*") if p.is_file()}
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in IGNORED_NAMES)
    found += [f"{p}: listed in no manifest (a stray file, unmerged shards, or a manifest to regenerate)"
              for p in files if p not in listed]
    found += [f"{p}: absolute path {hit!r} (name inputs relative to the data directory)"
              for p in files for hit in _absolute_paths(p)[:1]]
    return found


def _readable_entries(root: Path, found: list) -> list[Entry]:
    out = []
    for path in sorted(root.glob(f"*/*/{MANIFEST}")):
        try:
            out.append(read_manifest(path.parent))
        except CorruptDataError as exc:
            found.append(str(exc))
    return out


def _absolute_paths(path: Path) -> list[str]:
    """Machine-specific paths in a text file, or in the string columns of a Parquet table."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        texts = [frame[c].dropna().astype(str).drop_duplicates() for c in frame.columns
                 if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
        text = "\n".join("\n".join(t) for t in texts)
    elif path.suffix in TEXT_SUFFIXES:
        text = path.read_text(errors="replace")
    else:
        return []
    return [text[max(0, m.start() - 20):m.end() + 30] for m in ABSOLUTE_PATH.finditer(text)]
