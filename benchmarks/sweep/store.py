"""The on-disk result store of one sweep: shard Parquet files + JSON sidecars, a run log, the merge.

Layout of an output directory:

    sweep.json                  plan fingerprint, config definition, plan summary (written once)
    run.log                     JSON lines: run/shard start, done, failed events (append-only)
    run.lock                    held (flock) by the process running the sweep; holds its pid and name
    shards/shard-00042.json     sidecar: provenance, timings, peak memory, counts by status, sha256
    shards/shard-00042.parquet  one row per (arch, proxy, settings hash, dataset, seed)
    merged.parquet, merged.json the checked union of all shards; merged.json records its sha256

A shard is committed by the atomic rename of its Parquet file, after its sidecar (which records the
file's sha256) is in place. A shard counts as finished only when its file matches that checksum and
parses; a damaged, truncated or foreign shard is reported by name and recomputed. Shards and merged
tables written before checksums existed ("legacy") are checked by schema and row count, and
`stamp_checksums` (`python -m zcbench.benchmarks.sweep.migrate DIR`) records their checksums.
"""
from __future__ import annotations

import contextlib
import errno
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
from zcbench.spaces.catalog import get_space
from zcbench.spaces.errors import CorruptDataError, ZcbenchError
from zcbench.spaces.integrity import sha256_bytes

SCHEMA = pa.schema([
    ("space", pa.string()), ("arch", pa.string()), ("arch_str", pa.string()),
    ("proxy", pa.string()), ("proxy_version", pa.int64()), ("setting", pa.string()),
    ("settings_hash", pa.string()), ("settings_json", pa.string()),
    ("dataset", pa.string()), ("seed", pa.int64()),
    ("score", pa.float64()), ("status", pa.string()), ("seconds", pa.float64()),
    ("oom_retries", pa.int64()), ("diagnostics", pa.string()), ("data_source", pa.string()),
    ("shard", pa.int64()), ("package_version", pa.string()), ("git_commit", pa.string()),
    ("torch_version", pa.string()), ("device", pa.string()), ("host", pa.string()),
    ("threads", pa.int64()), ("dead_cell", pa.bool_()),
])
# Columns that shards written before they existed lack; filled on read: the torch thread count from
# the shard's sidecar, the dead-cell flag from the arch (a pure function of it).
ADDED_COLUMNS = ("threads", "dead_cell")
# Columns that legitimately differ between two runs of the same plan (the checkout may move between
# a run and its resumption; the merge summary lists every commit present).
RUN_DEPENDENT = ("seconds", "device", "host", "git_commit")
SWEEP_FILE, LOG_FILE, LOCK_FILE, MERGED, SHARD_DIR = "sweep.json", "run.log", "run.lock", "merged.parquet", "shards"
# A merge of the finished shards of an unfinished sweep; never named like a complete table.
PARTIAL = "partial.parquet"
NOT_STARTED = "not started"  # shard_problem() of a shard without a Parquet file


class SweepStateError(ZcbenchError):
    """An output directory that does not match the plan, or an incomplete/inconsistent result set."""


class DiskFullError(SweepStateError):
    """The disk filled up (ENOSPC): the run stops at once; finished shards are kept."""


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


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


def table_bytes(table: pa.Table) -> bytes:
    """The Parquet file of a table, in memory (so its checksum is known before it is written)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def verified_table(data: bytes, sha256: str | None, rows: int | None, where: str) -> pa.Table:
    """Parse a Parquet file's bytes after checking them against the recorded sha256 (legacy files
    without one: parsed, and their row count checked); CorruptDataError says what is wrong."""
    if sha256 is not None and sha256_bytes(data) != sha256:
        raise CorruptDataError(f"{where}: content differs from the sha256 recorded when it was written "
                               f"({len(data)} bytes now; damaged, truncated or edited)")
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError … for damaged files
        raise CorruptDataError(f"{where}: unreadable Parquet ({type(exc).__name__}: {exc})") from None
    if rows is not None and table.num_rows != rows:
        raise CorruptDataError(f"{where}: {table.num_rows} rows, but {rows} were recorded when it was written")
    return table


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

    def bind(self, plan: Plan, data_notes: dict, threads: int | None, default_threads: int) -> int:
        """Create the directory for `plan`, or check that it already belongs to the same plan; call
        under `running()`. Returns the torch thread count bound to the directory: `threads` (asked for)
        or else the recorded one, or `default_threads` for a new sweep; asking for another count than
        the recorded one is refused, since NTK, MGM and NASWOT values depend on it."""
        path = self.root / SWEEP_FILE
        if path.exists():
            recorded = self.read_sweep_file()
            if recorded.get("fingerprint") != plan.fingerprint:
                raise SweepStateError(
                    f"{self.root} holds sweep {recorded.get('name')!r} with plan fingerprint "
                    f"{recorded.get('fingerprint')}, but this config {plan.config.name!r} plans "
                    f"{plan.fingerprint}; what differs: "
                    f"{_differences(recorded.get('definition', {}), plan.config.definition(), recorded, plan)}. "
                    "Use another --out for the new config (finished shards of the old one are kept).")
            bound = recorded.get("threads") or self._threads_of_shards(plan)
            if threads and bound and threads != bound:
                raise SweepStateError(
                    f"{self.root}: sweep {plan.config.name!r} was computed with {bound} torch thread(s) per "
                    f"worker; this run asks for {threads} (--threads or [execution].threads). Scores differ "
                    f"between thread counts: resume with --threads {bound}, or use another --out")
            return threads or bound or default_threads
        threads = threads or default_threads
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"name": plan.config.name, "fingerprint": plan.fingerprint,
                                 "definition": plan.config.definition(), "plan": plan.summary(),
                                 "proxy_versions": {p.name: p.spec.version for p in plan.proxies},
                                 "threads": threads, "notes": plan.config.notes, "data": data_notes,
                                 "created": time.time()})
        return threads

    def _threads_of_shards(self, plan: Plan) -> int | None:
        """The thread count the finished shards' sidecars record (sweeps bound before threads were)."""
        counts = {sc.get("threads") for s in plan.shards if self.shard_path(s).exists()
                  and (sc := self._sidecar_or_none(s)) is not None}
        counts.discard(None)
        if len(counts) > 1:
            raise SweepStateError(f"{self.root}: finished shards were computed with different torch thread "
                                  f"counts {sorted(counts)}; their scores may differ: merge them as they are or "
                                  "start over in another --out")
        return counts.pop() if counts else None

    def check_belongs(self, plan: Plan) -> None:
        """Refuse a directory written under another plan (`merge` / `status` of a foreign folder)."""
        recorded = self.read_sweep_file()
        if recorded.get("fingerprint") != plan.fingerprint:
            raise SweepStateError(
                f"{self.root} holds sweep {recorded.get('name')!r} (plan fingerprint {recorded.get('fingerprint')}), "
                f"not the results of config {plan.config.name!r} (plan {plan.fingerprint}); point --out at this "
                f"config's own folder, or merge with the config of {recorded.get('name')!r}")

    def read_sweep_file(self) -> dict:
        path = self.root / SWEEP_FILE
        if not path.exists():
            raise SweepStateError(f"{self.root} is not a sweep output directory (no {SWEEP_FILE}); run the sweep first")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CorruptDataError(f"{path}: not valid JSON ({exc})") from None

    def load_shard(self, shard: Shard, plan: Plan) -> pa.Table:
        """The verified rows of a finished shard, in SCHEMA (legacy shards get the ADDED_COLUMNS);
        CorruptDataError says why the shard cannot count as finished."""
        path = self.shard_path(shard)
        sidecar = self.read_sidecar(shard)
        if sidecar is None:
            raise CorruptDataError(f"{path}: its sidecar {shard.name}.json (written first) is missing")
        if sidecar.get("fingerprint") != plan.fingerprint:
            raise CorruptDataError(f"{path}: written under plan {sidecar.get('fingerprint')}, not {plan.fingerprint}")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CorruptDataError(f"{path}: cannot be read ({exc})") from None
        table = verified_table(data, sidecar.get("sha256"), sidecar.get("rows"), str(path))
        return _conform(table, sidecar, plan, str(path))

    def shard_problem(self, shard: Shard, plan: Plan) -> str | None:
        """None for a finished, intact shard; NOT_STARTED; else why it does not count (recomputed)."""
        if not self.shard_path(shard).exists():
            return NOT_STARTED
        try:
            self.load_shard(shard, plan)
        except CorruptDataError as exc:
            return str(exc)
        return None

    def is_done(self, shard: Shard, plan: Plan) -> bool:
        """Finished and intact (checksum, schema, row count): never recomputed."""
        return self.shard_problem(shard, plan) is None

    def shard_states(self, plan: Plan) -> tuple[list[Shard], dict[str, str]]:
        """(finished intact shards, {shard name: problem} of the damaged ones) of the plan."""
        done, damaged = [], {}
        for s in plan.shards:
            problem = self.shard_problem(s, plan)
            if problem is None:
                done.append(s)
            elif problem != NOT_STARTED:
                damaged[s.name] = problem
        return done, damaged

    def _sidecar_or_none(self, shard: Shard) -> dict | None:
        try:
            return self.read_sidecar(shard)
        except CorruptDataError:
            return None

    def read_sidecar(self, shard: Shard) -> dict | None:
        path = self.sidecar_path(shard)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CorruptDataError(f"{path}: not valid JSON ({exc})") from None

    def commit_shard(self, shard: Shard, rows: list[dict], sidecar: dict) -> None:
        """Sidecar (with the file's sha256) first, then the Parquet rename: the shard counts as done
        only when both exist and agree."""
        data = table_bytes(rows_to_table(rows))
        atomic_write_json(self.sidecar_path(shard), {**sidecar, "sha256": sha256_bytes(data)})
        atomic_write_bytes(self.shard_path(shard), lambda f: f.write(data))

    @contextlib.contextmanager
    def running(self, name: str = "", fingerprint: str = ""):
        """Hold the sweep's run lock (creating the directory): a second `sweep run` on the same
        directory is refused, naming the sweep that holds it; the directory is claimed (`bind`) only
        inside, so two configs started together cannot both claim it."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(fd)
                raise SweepStateError(
                    f"{self.root} is being computed by sweep {holder.get('sweep', '(unknown)')!r} (pid "
                    f"{holder.get('pid')}, plan {holder.get('fingerprint', '?')}); this is sweep {name!r} "
                    f"(plan {fingerprint}): wait for it or stop it first, or use another --out") from None
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "sweep": name, "fingerprint": fingerprint}).encode())
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
            return _lock_holder(fd).get("pid")
        finally:
            os.close(fd)

    def clean_stale_tmp(self) -> list[Path]:
        """Remove the temporary files (`.NAME.tmp-PID`) left by killed writes. Call under `running()`:
        while this process holds the lock no other run writes here (workers die with their parent),
        so every temporary is stale. Returns the removed paths."""
        removed = [*self.root.glob(".*.tmp-*"), *self.shard_dir.glob(".*.tmp-*")]
        for tmp in removed:
            tmp.unlink(missing_ok=True)
        return removed

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
        """The finished shards' verified rows and the shards read; all shards must be finished unless
        `partial` (a damaged shard is named and never merged)."""
        tables, done, damaged = [], [], {}
        for s in plan.shards:
            if not self.shard_path(s).exists():
                continue
            try:
                tables.append(self.load_shard(s, plan))
                done.append(s)
            except CorruptDataError as exc:
                damaged[s.name] = str(exc)
        missing = [s.name for s in plan.shards if s not in done]
        why = "".join(f"; {name} is damaged: {problem}" for name, problem in list(damaged.items())[:3])
        if missing and not partial:
            raise SweepStateError(f"{self.root}: {len(missing)} of {len(plan.shards)} shards are not finished "
                                  f"({_preview(missing)}){why}; run `zcbench sweep run` to (re)compute them "
                                  f"(or `merge --partial` for the finished ones)")
        if not done:
            raise SweepStateError(f"{self.root}: no finished shard to merge{why}")
        return pa.concat_tables(tables), done

    def merge(self, plan: Plan, partial: bool = False) -> tuple[Path, dict]:
        """Check coverage (each planned row exactly once, nothing else) and write merged.parquet + .json.

        With `partial`, only finished shards are merged and checked, into partial.parquet + .json whose
        summary says how much of the plan they cover.
        """
        self.check_belongs(plan)
        table, done = self.read_shards(plan, partial)
        frame = table.to_pandas()
        check_coverage(frame, plan, done)
        summary = summarize(frame, plan)
        summary["shards"] = self._shard_totals(done)
        summary["sweep"] = self.read_sweep_file()
        summary["complete"] = len(done) == len(plan.shards)
        summary["planned_rows"] = sum(1 for _ in plan.row_keys())
        target = self.root / (PARTIAL if partial else MERGED)
        data = table_bytes(table)
        summary["sha256"] = sha256_bytes(data)
        atomic_write_bytes(target, lambda f: f.write(data))
        atomic_write_json(target.with_suffix(".json"), summary)  # the manifest, last: it vouches for the table
        if not partial:  # a complete table supersedes an earlier partial merge: readers must not see both
            for stale in (self.root / PARTIAL, (self.root / PARTIAL).with_suffix(".json")):
                stale.unlink(missing_ok=True)
        return target, summary

    def stamp_checksums(self) -> dict[str, list[str]]:
        """Migration for directories written before checksums: record the sha256 of every shard
        and merged/partial table that lacks one, after checking it as a legacy file (parses, row
        count as recorded). Returns {'stamped': […], 'had': […], 'damaged': ['name: why', …]}."""
        out: dict[str, list[str]] = {"stamped": [], "had": [], "damaged": []}
        manifests = [(p, p.with_suffix(".parquet")) for p in sorted(self.shard_dir.glob("shard-*.json"))]
        manifests += [(self.root / t.replace(".parquet", ".json"), self.root / t) for t in (MERGED, PARTIAL)]
        for manifest, table in manifests:
            if not (manifest.is_file() and table.is_file()):
                continue
            try:
                recorded = json.loads(manifest.read_text())
                if "sha256" in recorded:
                    verified_table(table.read_bytes(), recorded["sha256"], recorded.get("rows"), str(table))
                    out["had"].append(table.name)
                    continue
                data = table.read_bytes()
                verified_table(data, None, recorded.get("rows"), str(table))
            except (CorruptDataError, json.JSONDecodeError) as exc:
                out["damaged"].append(f"{table.name}: {exc}")
                continue
            atomic_write_json(manifest, {**recorded, "sha256": sha256_bytes(data), "sha256_stamped": time.time()})
            out["stamped"].append(table.name)
        return out

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
    """Counts by proxy and status (errors grouped by exception type), dead-cell rows by proxy and
    status, the commonest failure messages, and the provenance values present in the rows."""
    kinds = frame["status"].map(status_kind)
    failed = frame[frame["status"] != "ok"]
    dead = frame["dead_cell"].astype(bool)
    return {
        "fingerprint": plan.fingerprint, "rows": len(frame), "failed_rows": len(failed),
        "counts_by_status": dict(Counter(kinds)),
        "counts_by_proxy_status": {p: dict(Counter(kinds[frame["proxy"] == p])) for p in frame["proxy"].unique()},
        "dead_cell_rows": int(dead.sum()),
        "dead_cell_by_proxy_status": {p: dict(Counter(kinds[dead & (frame["proxy"] == p)]))
                                      for p in frame.loc[dead, "proxy"].unique()},
        "failure_reasons": dict(Counter(failed["status"]).most_common(20)),
        "seconds_by_proxy": {p: float(s) for p, s in frame.groupby("proxy")["seconds"].sum().items()},
        "oom_retried_rows": int((frame["oom_retries"] > 0).sum()),
        "provenance": {c: sorted(frame[c].unique().tolist())
                       for c in ("package_version", "git_commit", "torch_version", "device", "proxy_version",
                                 "threads")},
    }


def read_merged(path) -> pa.Table:
    """A merged (or partial) sweep table, verified against the sha256 in its manifest (`merged.json`
    beside it); tables merged before checksums existed are checked by row count. CorruptDataError
    names the file when it does not match."""
    path = Path(path)
    manifest = path.with_suffix(".json")
    try:
        recorded = json.loads(manifest.read_text())
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise CorruptDataError(f"{path}: cannot verify the table: {exc.filename} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptDataError(f"{manifest}: not valid JSON ({exc})") from None
    if not isinstance(recorded, dict):
        raise CorruptDataError(f"{manifest}: expected a JSON object")
    return verified_table(data, recorded.get("sha256"), recorded.get("rows"), str(path))


def _conform(table: pa.Table, sidecar: dict, plan: Plan, where: str) -> pa.Table:
    """A shard's table in SCHEMA; a legacy shard (without ADDED_COLUMNS) gets them filled."""
    names = set(table.schema.names)
    if names == set(SCHEMA.names) - set(ADDED_COLUMNS):
        space = get_space(plan.config.space)
        live = {a: space.has_live_path(a) for a in set(table.column("arch_str").to_pylist())}
        table = table.append_column("threads", pa.array([sidecar.get("threads")] * table.num_rows, pa.int64()))
        table = table.append_column("dead_cell", pa.array([not live[a] for a in table.column("arch_str").to_pylist()]))
    elif names != set(SCHEMA.names):
        raise CorruptDataError(f"{where}: columns {sorted(names ^ set(SCHEMA.names))} differ from a shard's")
    try:
        return table.select(SCHEMA.names).cast(SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise CorruptDataError(f"{where}: column types differ from a shard's ({exc})") from None


def _lock_holder(fd: int, patience_s: float = 2.0) -> dict:
    """What the run lock records: {'pid', 'sweep', 'fingerprint'} (older runs wrote the pid only).
    The holder writes its record just after taking the lock, so an empty or half-written record is
    read again for up to `patience_s` before giving up on it."""
    deadline = time.monotonic() + patience_s
    while True:
        text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        try:
            holder = json.loads(text) if text else None
        except json.JSONDecodeError:
            holder = None
        if isinstance(holder, int):
            return {"pid": holder}
        if isinstance(holder, dict):
            return holder
        if time.monotonic() >= deadline:
            return {}
        time.sleep(0.01)


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
