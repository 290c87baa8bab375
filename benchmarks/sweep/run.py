"""Running, resuming, inspecting and merging a sweep: the functions behind `zcbench sweep …`.

`run_sweep` plans, binds the output directory to the plan fingerprint, skips finished shards and
hands the rest to an executor; rerunning after an interruption finishes the missing shards only.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from zcbench.benchmarks.sweep.config import SweepConfig
from zcbench.benchmarks.sweep.data import load_data
from zcbench.benchmarks.sweep.executors import make_executor
from zcbench.benchmarks.sweep.plan import Plan, make_plan
from zcbench.benchmarks.sweep.store import SweepStore, status_kind
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

    @property
    def complete(self) -> bool:
        return self.skipped + len(self.computed) == len(self.plan.shards)


class Progress:
    """One stderr line with shards done, rows and ETA, redrawn in place; silent unless a terminal."""

    def __init__(self, total: int, done_before: int, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.total, self.done, self.new, self.start = total, done_before, 0, time.monotonic()

    def update(self, failed: bool = False) -> None:
        self.done += 1
        self.new += 1
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.new * (self.total - self.done)
        mark = " (a shard failed)" if failed else ""
        self.stream.write(f"\r[sweep] {self.done}/{self.total} shards ({100 * self.done / self.total:.1f}%) "
                          f"elapsed {format_seconds(elapsed)} ETA {format_seconds(eta)}{mark}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.new:
            self.stream.write("\n")


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
    store.bind(plan, data_notes(config))
    with store.running():
        return _run_unfinished(plan, store, executor, workers, threads, data_dir, progress_stream)


def _run_unfinished(plan: Plan, store: SweepStore, executor, workers, threads, data_dir, progress_stream):
    config = plan.config
    todo = [s for s in plan.shards if not store.is_done(s, plan.fingerprint)]
    name = executor or config.execution.executor
    workers = workers or config.execution.workers
    threads = threads or config.execution.threads or default_threads(workers)
    report = RunReport(plan, store.root, skipped=len(plan.shards) - len(todo))
    store.log("run-start", executor=name, workers=workers, threads=threads, todo=len(todo), skipped=report.skipped)
    proxy_keys = tuple((p.name, p.spec.version, p.settings_hash) for p in plan.proxies)
    tasks = [ShardTask(config, shard, plan.fingerprint, proxy_keys, str(store.root),
                       None if data_dir is None else str(data_dir), threads) for shard in todo]
    runner = make_executor(name, workers=workers, threads=threads, device=config.device, out_dir=store.root,
                           start_method=config.execution.start_method,
                           submitit_options=dict(config.execution.submitit))
    progress = Progress(len(plan.shards), report.skipped, progress_stream)
    main_threads = torch.get_num_threads()  # serial/debug executors run shards in this process
    try:
        for task, outcome in runner.map(run_shard, tasks):
            if isinstance(outcome, BaseException):
                report.failed[task.shard.name] = f"{type(outcome).__name__}: {outcome}"
                store.log("shard-failed", shard=task.shard.index, error=report.failed[task.shard.name])
            else:
                report.computed.append(task.shard.name)
            progress.update(failed=isinstance(outcome, BaseException))
    finally:
        progress.close()
        torch.set_num_threads(main_threads)
        store.log("run-end", computed=len(report.computed), failed=len(report.failed))
    return report


def sweep_status(config: SweepConfig, *, out=None, data_dir=None) -> dict:
    """Progress of a sweep from its output directory: shards and rows done, failures, speed, ETA."""
    plan = make_plan(config, data_dir)
    store = SweepStore(out_dir_for(config, out))
    sidecars = {s.name: store.read_sidecar(s) for s in plan.shards if store.is_done(s, plan.fingerprint)}
    recorded = store.read_sweep_file() if (store.root / "sweep.json").exists() else None
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
        "matches_out_dir": recorded is None or recorded.get("fingerprint") == plan.fingerprint,
        "shards_done": len(sidecars), "shards": len(plan.shards),
        "rows_done": sum(sc["rows"] for sc in sidecars.values()),
        "rows": plan.n_rows, "counts_by_status": dict(counts),
        "failed_rows": sum(n for kind, n in counts.items() if kind != "ok"),
        "compute_seconds": wall, "seconds_per_arch": per_arch,
        "eta_seconds": per_arch * remaining_archs / workers if per_arch is not None else None,
        "running": running_pid is not None, "running_pid": running_pid, "workers": workers,
        "merged": (store.root / "merged.parquet").exists(),
    }


def merge_sweep(config: SweepConfig, *, out=None, data_dir=None, partial: bool = False) -> tuple[Path, dict]:
    """Check coverage of the finished sweep and write `merged.parquet` + `merged.json` (with `partial`:
    the finished shards of an unfinished sweep → `partial.parquet` + `partial.json`)."""
    plan = make_plan(config, data_dir)
    return SweepStore(out_dir_for(config, out)).merge(plan, partial)


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
