"""Scoring one shard inside a worker: rows with provenance, OOM batch splitting, explicit threads.

`run_shard(task)` is the only function an executor calls; it is a module-level function of
picklable arguments so that process pools and submitit can ship it. Failures of one (arch, proxy)
become a row status (ProxySpec.score records exceptions as 'error:Type: message'); only problems
that concern the whole shard (data missing, code differing from the planner's) raise.
"""
from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from zcbench.benchmarks.progress import track
from zcbench.benchmarks.provenance import device_name, run_provenance
from zcbench.benchmarks.sweep.config import SweepConfig
from zcbench.benchmarks.sweep.data import load_data
from zcbench.benchmarks.sweep.plan import PlannedProxy, Shard, explicit_archs, resolve_proxies
from zcbench.benchmarks.sweep.store import SweepStateError, SweepStore, status_kind
from zcbench.proxies.registry import ProxyResult, error_status, settings_dict
from zcbench.spaces.catalog import get_space

# A proxy allows "split the batch and retry" after an out-of-memory error by giving its settings
# dataclass a method of this name: `split_for_oom(self) -> settings | None`, returning settings that
# compute the same quantity in smaller pieces (None when it cannot split further).
OOM_SPLIT_HOOK = "split_for_oom"
# Set by a process-pool initializer: the device this worker owns (one worker per GPU).
_WORKER_DEVICE: str | None = None


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to compute and commit one shard."""

    config: SweepConfig
    shard: Shard
    fingerprint: str
    proxy_keys: tuple[tuple[str, int, str], ...]  # (name, version, settings hash) as planned
    out_dir: str
    data_dir: str | None = None
    threads: int | None = None


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Make this worker exit when the sweep process `parent_pid` dies (even by SIGKILL): on Linux the
    kernel sends SIGKILL (prctl PR_SET_PDEATHSIG), elsewhere a daemon thread polls the parent pid."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the watch was set
        os._exit(1)


def _watch_parent(parent_pid: int, poll_seconds: float = 0.5) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os._exit(1)


def init_worker(devices, threads: int | None, parent_pid: int) -> None:
    """Process-pool initializer: die with the parent `parent_pid`, take this worker's device from the
    `devices` queue (one worker per GPU; None on CPU), set torch's thread count explicitly, and end at
    once, without a traceback, on Ctrl-C (the parent reports the interrupt; the unfinished shard is
    recomputed on resume)."""
    global _WORKER_DEVICE
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, lambda signum, frame: os._exit(128 + signum))
    if devices is not None:
        _WORKER_DEVICE = devices.get_nowait()
    if threads:
        torch.set_num_threads(threads)


def is_out_of_memory(status: str) -> bool:
    return status.startswith("error:OutOfMemoryError") or "out of memory" in status.lower()


def score_with_oom_split(planned: PlannedProxy, arch, *, space, data, dataset: str, seed: int,
                         device: str) -> tuple[ProxyResult, int, dict]:
    """Score once; after an out-of-memory error, retry with the proxy's split settings while it offers
    them. Returns (result, number of retries, notes for the row's diagnostics)."""
    settings, retries, notes = planned.settings, 0, {}
    while True:
        try:
            result = planned.spec.score(arch, space=space, data=data, settings=settings, seed=seed,
                                        device=device, dataset=dataset)
        except Exception as exc:  # noqa: BLE001 — e.g. raised before the proxy runs: still one row
            result = ProxyResult(float("nan"), error_status(exc))
        if not is_out_of_memory(result.status):
            break
        split = getattr(settings, OOM_SPLIT_HOOK, None)
        smaller = split() if split is not None else None
        if smaller is None:
            notes["oom"] = "out of memory; the proxy offers no smaller batch" if split is None else \
                "out of memory at the smallest batch the proxy offers"
            break
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        retries, settings = retries + 1, smaller
    if retries:
        notes["oom_split_settings"] = json.dumps(settings_dict(settings), sort_keys=True, default=str)
    return result, retries, notes


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def reset_cuda_peak(device: str) -> None:
    """Start a peak-memory window on a CUDA device (a no-op on any other device)."""
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def cuda_peak_mb(device: str) -> float | None:
    """Peak memory torch allocated on a CUDA device since the last reset, in MiB; None on other devices."""
    if torch.device(device).type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def run_shard(task: ShardTask) -> dict:
    """Compute every row of one shard and commit it (sidecar, then Parquet rename); returns the sidecar."""
    if task.threads:
        torch.set_num_threads(task.threads)
    threads = torch.get_num_threads()  # recorded in every row: NTK/MGM/NASWOT values depend on it
    config, shard = task.config, task.shard
    store = SweepStore(task.out_dir)
    store.log("shard-start", shard=shard.index)
    started = time.time()
    proxies = resolve_proxies(config)
    got = tuple((p.name, p.spec.version, p.settings_hash) for p in proxies)
    if got != task.proxy_keys:
        raise SweepStateError(f"this worker's proxies {got} differ from the planned {task.proxy_keys}: "
                              "the worker runs other code than the planner (check the checkout)")
    device = _WORKER_DEVICE or config.device
    shard_peak_mb = None  # CUDA only: the largest per-row peak (each row's own peak is in its diagnostics)
    space = get_space(config.space)
    provenance = run_provenance()
    where = device_name(device)

    load_start = time.perf_counter()
    needs_images = any(p.needs_images for p in proxies)
    data = {ds: load_data(ds, config.data_for(ds), task.data_dir) if needs_images else None
            for ds in config.datasets}
    load_seconds = time.perf_counter() - load_start

    rows = []
    listed = explicit_archs(config, task.data_dir)
    # Per-arch bar on a terminal, under the per-shard one, for shards run in the main process (serial
    # executor); worker processes would garble the terminal, and piped output keeps one line per shard.
    in_main_process = multiprocessing.parent_process() is None
    for arch_id in track(shard.arch_ids, shard.name, unit="archs", enabled=in_main_process, piped_lines=False):
        arch = listed.get(arch_id) or space.arch(arch_id)
        for dataset in config.datasets:
            source = config.data_for(dataset)
            for seed in config.seeds:
                for p in proxies:
                    reset_cuda_peak(device)
                    result, retries, notes = score_with_oom_split(
                        p, arch, space=space, data=data[dataset] if p.needs_images else None,
                        dataset=dataset, seed=seed, device=device)
                    if (peak := cuda_peak_mb(device)) is not None:
                        notes["cuda_peak_mb"] = round(peak, 2)
                        shard_peak_mb = max(peak, shard_peak_mb or 0.0)
                    rows.append({
                        "space": space.name, "arch": arch_id, "arch_str": str(arch), "proxy": p.name,
                        "proxy_version": p.spec.version, "setting": p.entry.setting,
                        "settings_hash": p.settings_hash, "settings_json": p.settings_json,
                        "dataset": dataset, "seed": seed, "score": float(result.value), "status": result.status,
                        "seconds": result.seconds, "oom_retries": retries,
                        "diagnostics": json.dumps({**result.diagnostics, **notes}, sort_keys=True,
                                                  default=_jsonable),
                        "data_source": source.describe() if source else "none", "shard": shard.index,
                        "package_version": provenance["package_version"], "git_commit": provenance["git_commit"],
                        "torch_version": provenance["torch_version"], "device": where, "host": provenance["host"],
                        "threads": threads, "dead_cell": result.dead_cell})
    statuses = [r["status"] for r in rows]
    sidecar = {
        "sweep": config.name, "shard": shard.index, "name": shard.name, "fingerprint": task.fingerprint,
        "archs": len(shard.arch_ids), "first_arch": shard.arch_ids[0], "last_arch": shard.arch_ids[-1],
        "rows": len(rows), "counts_by_status": dict(Counter(map(status_kind, statuses))),
        "dead_cell_rows": sum(r["dead_cell"] for r in rows),
        "failure_reasons": dict(Counter(s for s in statuses if s != "ok").most_common(10)),
        "seconds": {"wall": time.time() - started, "data_load": load_seconds,
                    "by_proxy": {f"{p.name}#{p.settings_hash}": sum(r["seconds"] for r in rows
                                                                    if r["settings_hash"] == p.settings_hash)
                                 for p in proxies}},
        "peak_rss_mb": _peak_rss_mb(),
        "cuda_peak_mb": shard_peak_mb,
        "device": where, "threads": threads, "pid": os.getpid(),
        "started": started, "finished": time.time(), "provenance": provenance,
        "data": {ds: {"source": src.describe(), "note": src.note,
                      "images": len(data[ds]) if data[ds] is not None else None}
                 for ds, src in config.data},
    }
    store.commit_shard(shard, rows, sidecar)
    store.log("shard-done", shard=shard.index, rows=len(rows), seconds=sidecar["seconds"]["wall"])
    return sidecar
