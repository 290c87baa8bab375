"""The on-disk result store of one sweep: shard Parquet files + JSON sidecars, a run log, the merge.

Layout of an output directory:

    sweep.json                  plan fingerprint, config definition, plan summary (written once)
    run.log                     JSON lines: run/shard start, done, failed events (append-only)
    run.lock                    held (flock) by the process running the sweep; holds its pid
    shards/shard-00042.json     sidecar: provenance, timings, peak memory, counts by status
    shards/shard-00042.parquet  one row per (arch, proxy, settings hash, dataset, seed)
    merged.parquet, merged.json the checked union of all shards

A shard is committed by the atomic rename of its Parquet file, after its sidecar is in place; a
shard whose Parquet file exists is finished and is never recomputed.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zcbench.benchmarks.sweep.plan import ROW_KEY, Plan, Shard
from zcbench.spaces.errors import CorruptDataError, ZcbenchError

SCHEMA = pa.schema([
    ("space", pa.string()), ("arch", pa.string()), ("arch_str", pa.string()),
    ("proxy", pa.string()), ("proxy_version", pa.int64()), ("setting", pa.string()),
    ("settings_hash", pa.string()), ("settings_json", pa.string()),
    ("dataset", pa.string()), ("seed", pa.int64()),
    ("score", pa.float64()), ("status", pa.string()), ("seconds", pa.float64()),
    ("oom_retries", pa.int64()), ("diagnostics", pa.string()), ("data_source", pa.string()),
    ("shard", pa.int64()), ("package_version", pa.string()), ("git_commit", pa.string()),
    ("torch_version", pa.string()), ("device", pa.string()), ("host", pa.string()),
])
# Columns that legitimately differ between two runs of the same plan (the checkout may move between
# a run and its resumption; the merge summary lists every commit present).
RUN_DEPENDENT = ("seconds", "device", "host", "git_commit")
SWEEP_FILE, LOG_FILE, LOCK_FILE, MERGED, SHARD_DIR = "sweep.json", "run.log", "run.lock", "merged.parquet", "shards"
# A merge of the finished shards of an unfinished sweep; never named like a complete table.
PARTIAL = "partial.parquet"


class SweepStateError(ZcbenchError):
    """An output directory that does not match the plan, or an incomplete/inconsistent result set."""


# ------------------------------------------------------------------------------------ atomic writing

def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, write) -> None:
    """Write through `write(file)` into a temporary sibling, fsync, then rename over `path`."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True, default=str).encode()))


def rows_to_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def atomic_write_table(path: Path, table: pa.Table) -> None:
    atomic_write_bytes(path, lambda f: pq.write_table(table, f))


# ------------------------------------------------------------------------------------------- the store

def status_kind(status: str) -> str:
    """'ok', 'nan', … as is; 'error:ValueError: msg' → 'error:ValueError' (for counts by cause)."""
    return ":".join(status.split(":", 2)[:2]) if status.startswith("error:") else status


class SweepStore:
    """One sweep's output directory."""

    def __init__(self, out_dir: str | os.PathLike):
        self.root = Path(out_dir)
        self.shard_dir = self.root / SHARD_DIR

    def shard_path(self, shard: Shard) -> Path:
        return self.shard_dir / f"{shard.name}.parquet"

    def sidecar_path(self, shard: Shard) -> Path:
        return self.shard_dir / f"{shard.name}.json"

    def bind(self, plan: Plan, data_notes: dict) -> None:
        """Create the directory for `plan`, or check that it already belongs to the same plan."""
        path = self.root / SWEEP_FILE
        if path.exists():
            recorded = self.read_sweep_file()
            if recorded.get("fingerprint") != plan.fingerprint:
                raise SweepStateError(
                    f"{self.root} holds sweep {recorded.get('name')!r} with plan fingerprint "
                    f"{recorded.get('fingerprint')}, but this config plans {plan.fingerprint}; what differs: "
                    f"{_differences(recorded.get('definition', {}), plan.config.definition(), recorded, plan)}. "
                    "Use another --out for the new config (finished shards of the old one are kept).")
            return
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"name": plan.config.name, "fingerprint": plan.fingerprint,
                                 "definition": plan.config.definition(), "plan": plan.summary(),
                                 "proxy_versions": {p.name: p.spec.version for p in plan.proxies},
                                 "notes": plan.config.notes, "data": data_notes, "created": time.time()})

    def read_sweep_file(self) -> dict:
        path = self.root / SWEEP_FILE
        if not path.exists():
            raise SweepStateError(f"{self.root} is not a sweep output directory (no {SWEEP_FILE}); run the sweep first")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CorruptDataError(f"{path}: not valid JSON ({exc})") from None

    def is_done(self, shard: Shard, fingerprint: str) -> bool:
        if not self.shard_path(shard).exists():
            return False
        sidecar = self.read_sidecar(shard)
        return sidecar is not None and sidecar.get("fingerprint") == fingerprint

    def read_sidecar(self, shard: Shard) -> dict | None:
        path = self.sidecar_path(shard)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CorruptDataError(f"{path}: not valid JSON ({exc})") from None

    def commit_shard(self, shard: Shard, rows: list[dict], sidecar: dict) -> None:
        """Sidecar first, then the Parquet rename: the shard counts as done only when both exist."""
        table = rows_to_table(rows)
        atomic_write_json(self.sidecar_path(shard), sidecar)
        atomic_write_table(self.shard_path(shard), table)

    @contextlib.contextmanager
    def running(self):
        """Hold the sweep's run lock: a second `sweep run` on the same directory is refused, not doubled."""
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepStateError(f"{self.root} is being computed by another process (pid "
                                      f"{self.running_pid()}); wait for it or stop it first") from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def running_pid(self) -> int | None:
        """The pid of the process running this sweep now, or None."""
        path = self.root / LOCK_FILE
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None  # nobody holds it
        except BlockingIOError:
            return int(os.pread(fd, 32, 0) or b"0") or None
        finally:
            os.close(fd)

    def log(self, event: str, **fields) -> None:
        """Append one JSON line to the run log (a single O_APPEND write: safe across processes)."""
        line = json.dumps({"time": time.time(), "event": event, "pid": os.getpid(), **fields}) + "\n"
        fd = os.open(self.root / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def read_log(self) -> list[dict]:
        path = self.root / LOG_FILE
        if not path.exists():
            return []
        # A process killed mid-write can leave a truncated last line: skip it.
        events = []
        for line in path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return events

    # -------------------------------------------------------------------------------- merge

    def read_shards(self, plan: Plan, partial: bool = False) -> tuple[pa.Table, list]:
        """The finished shards' rows and the shards read; all shards must be finished unless `partial`."""
        done = [s for s in plan.shards if self.is_done(s, plan.fingerprint)]
        missing = [s.name for s in plan.shards if s not in done]
        if missing and not partial:
            raise SweepStateError(f"{self.root}: {len(missing)} of {len(plan.shards)} shards are not finished "
                                  f"({_preview(missing)}); run `zcbench sweep run` to finish them "
                                  f"(or `merge --partial` for the finished ones)")
        if not done:
            raise SweepStateError(f"{self.root}: no finished shard to merge")
        return pa.concat_tables([pq.read_table(self.shard_path(s), schema=SCHEMA) for s in done]), done

    def merge(self, plan: Plan, partial: bool = False) -> tuple[Path, dict]:
        """Check coverage (each planned row exactly once, nothing else) and write merged.parquet + .json.

        With `partial`, only finished shards are merged and checked, into partial.parquet + .json whose
        summary says how much of the plan they cover.
        """
        table, done = self.read_shards(plan, partial)
        frame = table.to_pandas()
        check_coverage(frame, plan, done)
        summary = summarize(frame, plan)
        summary["shards"] = self._shard_totals(done)
        summary["sweep"] = self.read_sweep_file()
        summary["complete"] = len(done) == len(plan.shards)
        summary["planned_rows"] = sum(1 for _ in plan.row_keys())
        target = self.root / (PARTIAL if partial else MERGED)
        atomic_write_table(target, table)
        atomic_write_json(target.with_suffix(".json"), summary)
        return target, summary

    def _shard_totals(self, shards: list) -> dict:
        sidecars = [self.read_sidecar(s) or {} for s in shards]
        return {"count": len(sidecars),
                "compute_seconds": sum(s.get("seconds", {}).get("wall", 0.0) for s in sidecars),
                "peak_rss_mb_max": max((s.get("peak_rss_mb", 0.0) for s in sidecars), default=0.0),
                "devices": sorted({s.get("device", "unknown") for s in sidecars}),
                "hosts": sorted({s.get("provenance", {}).get("host", "unknown") for s in sidecars})}


def check_coverage(frame: pd.DataFrame, plan: Plan, shards: list | None = None) -> None:
    """Every planned row key (of `shards`, default all) present exactly once and no row outside the plan."""
    keys = plan.row_keys() if shards is None else (k for s in shards for k in plan.row_keys(s))
    planned = pd.MultiIndex.from_tuples(list(keys), names=ROW_KEY)
    got = pd.MultiIndex.from_frame(frame[list(ROW_KEY)])
    problems = []
    if (dupes := got[got.duplicated()]).size:
        problems.append(f"{dupes.size} duplicated rows (e.g. {list(dupes[:3])})")
    if (missing := planned.difference(got)).size:
        problems.append(f"{missing.size} planned rows missing (e.g. {list(missing[:3])})")
    if (extra := got.difference(planned)).size:
        problems.append(f"{extra.size} rows not in the plan (e.g. {list(extra[:3])})")
    if problems:
        raise SweepStateError(f"coverage check failed for sweep {plan.config.name!r}: " + "; ".join(problems))


def summarize(frame: pd.DataFrame, plan: Plan) -> dict:
    """Counts by proxy and status (errors grouped by exception type), the commonest failure messages,
    and the provenance values present in the rows."""
    kinds = frame["status"].map(status_kind)
    failed = frame[frame["status"] != "ok"]
    return {
        "fingerprint": plan.fingerprint, "rows": len(frame), "failed_rows": len(failed),
        "counts_by_status": dict(Counter(kinds)),
        "counts_by_proxy_status": {p: dict(Counter(kinds[frame["proxy"] == p])) for p in frame["proxy"].unique()},
        "failure_reasons": dict(Counter(failed["status"]).most_common(20)),
        "seconds_by_proxy": {p: float(s) for p, s in frame.groupby("proxy")["seconds"].sum().items()},
        "oom_retried_rows": int((frame["oom_retries"] > 0).sum()),
        "provenance": {c: sorted(frame[c].unique().tolist())
                       for c in ("package_version", "git_commit", "torch_version", "device", "proxy_version")},
    }


def _preview(items: list, n: int = 5) -> str:
    return ", ".join(map(str, items[:n])) + (f", … ({len(items) - n} more)" if len(items) > n else "")


def _differences(old: dict, new: dict, recorded: dict, plan: Plan) -> str:
    diffs = [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in sorted(set(old) | set(new))
             if k != "name" and old.get(k) != new.get(k)]
    versions = {p.name: p.spec.version for p in plan.proxies}
    for name, version in recorded.get("proxy_versions", {}).items():
        if name in versions and versions[name] != version:
            diffs.append(f"proxy {name} version {version} → {versions[name]}")
    return "; ".join(diffs) or "proxy settings hashes or the selected architectures (e.g. a changed list file)"
