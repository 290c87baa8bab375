"""Running, resuming, inspecting and merging a sweep: the functions behind `zcbench sweep …`.

`run_sweep` plans, takes the directory's run lock, binds the directory to the plan fingerprint and
thread count (under the lock, so two configs cannot both claim it), skips finished intact shards and
hands the rest to an executor; rerunning after an interruption finishes the missing or damaged
shards only. The first full disk (ENOSPC) stops the run with one `DiskFullError`.
"""
from __future__ import annotations

import os
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from zcbench.benchmarks import library
from zcbench.benchmarks.progress import Progress
from zcbench.benchmarks.sweep.config import SweepConfig
from zcbench.benchmarks.sweep.data import check_data_present, load_data
from zcbench.benchmarks.sweep.executors import make_executor
from zcbench.benchmarks.sweep.plan import Plan, make_plan
from zcbench.benchmarks.sweep.store import DiskFullError, SweepStateError, SweepStore, is_disk_full, status_kind
from zcbench.benchmarks.sweep.worker import ShardTask, run_shard, score_with_oom_split
from zcbench.spaces.catalog import get_space

DEFAULT_OUT_ROOT = "sweeps"


def out_dir_for(config: SweepConfig, out: str | os.PathLike | None = None) -> Path:
    """--out, else the config's `out`, else sweeps/<name>."""
    return Path(out or config.out or Path(DEFAULT_OUT_ROOT) / config.name)


def data_notes(config: SweepConfig) -> dict:
    return {ds: {"source": src.describe(), "note": src.note} for ds, src in config.data}


@dataclass
class RunReport:
    plan: Plan
    out_dir: Path
    skipped: int  # shards already finished before this run
    computed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # shard name → exception
    damaged: dict[str, str] = field(default_factory=dict)  # shard name → why its files did not verify (recomputed)

    @property
    def complete(self) -> bool:
        return self.skipped + len(self.computed) == len(self.plan.shards)


def format_seconds(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def default_threads(workers: int) -> int:
    """Torch threads per worker when the config gives none: the cores shared evenly among the workers."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_sweep(config: SweepConfig, *, out=None, executor: str | None = None, workers: int | None = None,
              threads: int | None = None, data_dir=None, progress_stream=None) -> RunReport:
    """Compute every unfinished shard of the config's plan; finished shards are never recomputed."""
    plan = make_plan(config, data_dir)
    store = SweepStore(out_dir_for(config, out))
    _refuse_if_merged(store, plan)
    if any(p.needs_images for p in plan.proxies):
        for dataset in config.datasets:
            check_data_present(dataset, config.data_for(dataset), None if data_dir is None else str(data_dir))
    with store.running(config.name, plan.fingerprint):
        try:
            threads = store.bind(plan, data_notes(config), threads or config.execution.threads,
                                 default_threads(workers or config.execution.workers))
            store.clean_stale_tmp()
            return _run_unfinished(plan, store, executor, workers, threads, data_dir, progress_stream)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFullError(f"{store.root}: disk full ({exc}); finished shards are kept: free space and "
                                    "rerun to compute the rest") from None
            raise


def _run_unfinished(plan: Plan, store: SweepStore, executor, workers, threads: int, data_dir, progress_stream):
    config = plan.config
    done, damaged = store.shard_states(plan)
    todo = [s for s in plan.shards if s not in done]
    name = executor or config.execution.executor
    workers = workers or config.execution.workers
    report = RunReport(plan, store.root, skipped=len(done), damaged=damaged)
    for shard_name, problem in damaged.items():
        store.log("shard-damaged", shard=shard_name, problem=problem)
    store.log("run-start", executor=name, workers=workers, threads=threads, todo=len(todo), skipped=report.skipped)
    proxy_keys = tuple((p.name, p.spec.version, p.settings_hash) for p in plan.proxies)
    tasks = [ShardTask(config, shard, plan.fingerprint, proxy_keys, str(store.root),
                       None if data_dir is None else str(data_dir), threads) for shard in todo]
    runner = make_executor(name, workers=workers, threads=threads, device=config.device, out_dir=store.root,
                           start_method=config.execution.start_method,
                           submitit_options=dict(config.execution.submitit))
    progress = Progress(len(plan.shards), f"sweep {config.name}", unit="shards", done=report.skipped,
                        stream=progress_stream)
    main_threads = torch.get_num_threads()  # serial/debug executors run shards in this process
    try:
        for task, outcome in runner.map(run_shard, tasks):
            if is_disk_full(outcome):  # every later shard would fail the same way: stop now
                store.log("shard-failed", shard=task.shard.index, error=f"disk full: {outcome}")
                raise DiskFullError(f"{store.root}: disk full while writing {task.shard.name} ({outcome}); "
                                    f"{report.skipped + len(report.computed)} finished shards are kept: free "
                                    "space and rerun to compute the rest")
            if isinstance(outcome, BaseException):
                report.failed[task.shard.name] = f"{type(outcome).__name__}: {outcome}"
                store.log("shard-failed", shard=task.shard.index, error=report.failed[task.shard.name])
            else:
                report.computed.append(task.shard.name)
            progress.update(f"{task.shard.name} failed" if isinstance(outcome, BaseException) else task.shard.name)
    finally:
        progress.close()
        torch.set_num_threads(main_threads)
        store.log("run-end", computed=len(report.computed), failed=len(report.failed))
    return report


def sweep_status(config: SweepConfig, *, out=None, data_dir=None) -> dict:
    """Progress of a sweep from its output directory: shards and rows done, failures, speed, ETA."""
    plan = make_plan(config, data_dir)
    store = SweepStore(out_dir_for(config, out))
    recorded = store.read_sweep_file() if (store.root / "sweep.json").exists() else None
    matches = recorded is None or recorded.get("fingerprint") == plan.fingerprint
    done, damaged = store.shard_states(plan) if matches else ([], {})  # a foreign folder: none of ours
    sidecars = {s.name: store.read_sidecar(s) for s in done}
    counts: Counter = Counter()
    for sc in sidecars.values():
        counts.update(sc["counts_by_status"])
    wall = sum(sc["seconds"]["wall"] for sc in sidecars.values())
    archs_done = sum(sc["archs"] for sc in sidecars.values())
    per_arch = wall / archs_done if archs_done else None
    running_pid = store.running_pid()
    starts = [e for e in store.read_log() if e["event"] == "run-start"]
    workers = starts[-1]["workers"] if running_pid and starts else config.execution.workers
    remaining_archs = len(plan.arch_ids) - archs_done
    return {
        "name": config.name, "out": str(store.root), "fingerprint": plan.fingerprint,
        "matches_out_dir": matches,
        "shards_done": len(sidecars), "shards": len(plan.shards), "damaged_shards": damaged,
        "threads": (recorded or {}).get("threads") or next((sc.get("threads") for sc in sidecars.values()), None),
        "rows_done": sum(sc["rows"] for sc in sidecars.values()),
        "rows": plan.n_rows, "counts_by_status": dict(counts),
        "failed_rows": sum(n for kind, n in counts.items() if kind != "ok"),
        "compute_seconds": wall, "seconds_per_arch": per_arch,
        "eta_seconds": per_arch * remaining_archs / workers if per_arch is not None else None,
        "running": running_pid is not None, "running_pid": running_pid, "workers": workers,
        "merged": (store.root / "merged.parquet").exists(),
    }


def merge_sweep(config: SweepConfig, *, out=None, data_dir=None, partial: bool = False,
                config_path=None) -> tuple[Path, dict]:
    """Check coverage of the finished sweep and write `merged.parquet` + `merged.json` (with `partial`:
    the finished shards of an unfinished sweep → `partial.parquet` + `partial.json`), then the folder's
    results-library `manifest.json` (benchmarks.library; `config_path` is recorded in it)."""
    plan = make_plan(config, data_dir)
    store = SweepStore(out_dir_for(config, out))
    _refuse_if_merged(store, plan)
    path, summary = store.merge(plan, partial)
    library.write_sweep_manifest(store.root, path, summary, config_path, library.sweep_inputs(config, data_dir))
    return path, summary


def _refuse_if_merged(store: SweepStore, plan: Plan) -> None:
    """A complete merged table of this plan whose shards were deleted (the results library keeps merged
    tables only): running or merging again would start from nothing, so say so instead."""
    entry = library.read_manifest(store.root) if (store.root / library.MANIFEST).is_file() else None
    if (entry and entry.manifest.get("complete") and entry.manifest.get("fingerprint") == plan.fingerprint
            and not any(store.shard_path(s).exists() for s in plan.shards)):
        raise SweepStateError(f"{store.root} already holds the merged table of this plan ({entry.manifest['rows']} "
                              f"rows, {library.MANIFEST}); its shards were removed after the merge, so there is "
                              "nothing to run or merge. To recompute it, pass another --out.")


def calibrate(plan: Plan, n_archs: int, data_dir=None, threads: int | None = None) -> dict[str, float]:
    """Median measured seconds per row of each proxy over the plan's first `n_archs` archs (first
    dataset and seed), for cost estimates; runs in this process on the config's device with the
    torch threads a worker would get."""
    config = plan.config
    space = get_space(config.space)
    dataset, seed = config.datasets[0], config.seeds[0]
    source = config.data_for(dataset)
    data = load_data(dataset, source, None if data_dir is None else str(data_dir)) if source else None
    main_threads = torch.get_num_threads()
    torch.set_num_threads(threads or config.execution.threads or default_threads(config.execution.workers))
    seconds: dict[str, float] = {}
    try:
        for p in plan.proxies:
            times = []
            for arch_id in plan.arch_ids[:n_archs]:
                result, _, _ = score_with_oom_split(p, space.arch(arch_id), space=space,
                                                    data=data if p.needs_images else None, dataset=dataset,
                                                    seed=seed, device=config.device)
                times.append(result.seconds)
                if status_kind(result.status).startswith("error"):
                    print(f"calibrate: {p.name} on arch {arch_id}: {result.status}", file=sys.stderr)
            seconds[p.name] = statistics.median(times)
    finally:
        torch.set_num_threads(main_threads)
    return seconds
