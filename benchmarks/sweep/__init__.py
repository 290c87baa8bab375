"""Resumable, sharded proxy sweeps: `SweepConfig` (TOML) → `make_plan` → shards → executor →
Parquet shards with JSON sidecars → `merge` (coverage-checked results table).

Modules: config (TOML parsing), plan (pure shard plan + fingerprint), data (per-worker images),
worker (scores one shard), executors (serial / process / submitit), store (atomic files, run log,
merge), run (run/resume, status, merge, cost calibration).
"""
from zcbench.benchmarks.sweep.config import ConfigError, SweepConfig, load_config, parse_config
from zcbench.benchmarks.sweep.plan import Plan, Shard, make_plan
from zcbench.benchmarks.sweep.run import calibrate, merge_sweep, out_dir_for, run_sweep, sweep_status
from zcbench.benchmarks.sweep.store import RUN_DEPENDENT, DiskFullError, SweepStateError, SweepStore, read_merged

__all__ = ["RUN_DEPENDENT", "ConfigError", "DiskFullError", "Plan", "Shard", "SweepConfig", "SweepStateError",
           "SweepStore", "calibrate", "load_config", "make_plan", "merge_sweep", "out_dir_for", "parse_config",
           "read_merged", "run_sweep", "sweep_status"]
