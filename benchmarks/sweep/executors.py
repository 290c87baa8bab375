"""Executors: one interface, three ways to run shard tasks. No scheduling of our own.

`executor.map(fn, tasks)` yields `(task, outcome)` as tasks finish, where outcome is fn's return
value or the exception the task raised (a failed shard does not stop the others). An executor
that loses a worker (killed, out of host memory) raises `WorkerLost`: finished shards are on disk,
and rerunning the sweep resumes.

* `serial`   — in this process, in order (tests, debugging, pdb).
* `process`  — a local `ProcessPoolExecutor` (spawn): one worker per GPU when the device is CUDA,
               otherwise N CPU workers, each with an explicit torch thread count. Workers die
               with the sweep process (`worker.die_with_parent`); the pool's resource tracker
               then exits too, as its last writer is gone.
* `submitit` — job arrays through the submitit package: `slurm` on a cluster, `local` (subprocesses)
               or `debug` (in-process) for tests.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from zcbench.benchmarks.sweep import worker
from zcbench.spaces.errors import ZcbenchError

# submitit's own default time limit for local jobs is 2 minutes; a shard can take much longer.
DEFAULT_TIMEOUT_MIN = 24 * 60


class WorkerLost(ZcbenchError):
    """A worker process died without reporting (e.g. SIGKILL, host OOM killer)."""


@contextlib.contextmanager
def sigint_ignored():
    """SIGINT ignored while processes are started in this block (they inherit it); a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class SerialExecutor:
    name = "serial"

    def map(self, fn: Callable, tasks: Iterable) -> Iterator[tuple[Any, Any]]:
        for task in tasks:
            try:
                yield task, fn(task)
            except Exception as exc:  # noqa: BLE001 — one failed shard is reported, the rest still run
                yield task, exc


class ProcessExecutor:
    """A local process pool; `devices` (one per worker, e.g. ['cuda:0', 'cuda:1']) pins workers to GPUs."""

    name = "process"

    def __init__(self, workers: int, threads: int | None, devices: list[str] | None = None,
                 start_method: str = "spawn"):
        if devices and start_method == "fork":
            raise ZcbenchError("CUDA workers cannot be forked: use start_method 'spawn' or 'forkserver'")
        self.workers = len(devices) if devices else workers
        self.threads, self.devices, self.start_method = threads, devices, start_method

    def map(self, fn, tasks):
        ctx = multiprocessing.get_context(self.start_method)
        queue = ctx.Queue()
        for device in self.devices or []:
            queue.put(device)
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=worker.init_worker,
                                   initargs=(queue if self.devices else None, self.threads, os.getpid()))
        try:
            with sigint_ignored():  # workers start ignoring Ctrl-C: the parent reports it, not each worker
                futures = {pool.submit(fn, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except BrokenProcessPool as exc:
                    raise WorkerLost(f"a worker process died ({exc}); finished shards are kept, rerun the sweep "
                                     "to compute the rest") from exc
                except Exception as exc:  # noqa: BLE001 — the shard's outcome, reported
                    yield futures[future], exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class SubmititExecutor:
    """Job arrays via submitit: one array job per shard task, `workers` of them at a time on Slurm."""

    name = "submitit"

    def __init__(self, folder: str | Path, cluster: str = "slurm", parameters: dict | None = None,
                 workers: int = 1, threads: int | None = None, poll_seconds: float = 10.0):
        self.folder, self.cluster, self.poll_seconds = Path(folder), cluster, poll_seconds
        self.parameters = {"timeout_min": DEFAULT_TIMEOUT_MIN, "cpus_per_task": threads or 1,
                           "slurm_array_parallelism": workers, **(parameters or {})}

    def map(self, fn, tasks):
        import submitit  # optional dependency (extra 'cluster')

        tasks = list(tasks)
        if not tasks:
            return
        executor = submitit.AutoExecutor(folder=self.folder / "%j", cluster=self.cluster)
        executor.update_parameters(**self.parameters)
        jobs = executor.map_array(fn, tasks)
        by_job = dict(zip((job.job_id for job in jobs), tasks))
        # debug jobs run inside result(); the others are polled until they finish.
        finished = jobs if self.cluster == "debug" else submitit.helpers.as_completed(
            jobs, poll_frequency=self.poll_seconds)
        for job in finished:
            try:
                yield by_job[job.job_id], job.result()
            except Exception as exc:  # noqa: BLE001 — submitit re-raises the job's exception
                yield by_job[job.job_id], exc


def make_executor(name: str, *, workers: int, threads: int | None, device: str, out_dir: Path,
                  start_method: str = "spawn", submitit_options: dict | None = None):
    """The executor for `name`; on a CUDA device the process pool gets one worker per visible GPU."""
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        devices = None
        if device.startswith("cuda"):
            import torch

            count = torch.cuda.device_count()
            if count == 0:
                raise ZcbenchError(f"device {device!r} requested but no CUDA device is visible")
            devices = [f"cuda:{i}" for i in range(min(count, workers))]
        return ProcessExecutor(workers, threads, devices, start_method)
    if name == "submitit":
        options = dict(submitit_options or {})
        cluster = options.pop("cluster", "slurm")
        poll = options.pop("poll_seconds", 1.0 if cluster == "local" else 10.0)
        if device.startswith("cuda"):
            options.setdefault("gpus_per_node", 1)
        return SubmititExecutor(out_dir / "submitit", cluster, options, workers, threads, poll)
    raise ZcbenchError(f"unknown executor {name!r}; choose serial, process or submitit")
