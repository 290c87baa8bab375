"""scripts/gpu_run.sh on a CPU (its CUDA paths without a GPU): the device-switched copies plan exactly like the
configs, a tiny lane runs, merges and is summarised, the budget stops a lane cleanly and a rerun resumes it; and
the per-row peak CUDA memory that benchmarks/sweep/worker.py records (faked CUDA counters)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import torch

from zcbench.benchmarks.sweep import config as sweep_config
from zcbench.benchmarks.sweep import merge_sweep, run_sweep, worker

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SCRIPT = REPO / "scripts" / "gpu_run.sh"
ZCBENCH = REPO / ".venv" / "bin" / "zcbench"
GPU_LANE_CONFIGS = ("nb201_ntk_code_revisit_search_cells", "nb201_ntk_code_sample100",
                    "nb201_ntk_code_seeds_sample30", "nb201_shorttrain_revisit_search_cells",
                    "nb201_shorttrain_sample200", "nb201_ntk_revisit_search_cells", "nb201_ntk_supernet_sample1000",
                    "nb201_ntk_supernet_seeds_sample200", "nb201_mgm_code_float32_sample1000", "nb201_mgm_cifar10",
                    "nb201_zoo_cifar10", "nb201_zoo_sample1000", "nb201_zoo_seeds_sample1000")
SLOW_LANE = """name = "slow_lane"
space = "nb201"
datasets = ["cifar10"]
seeds = [0]
device = "cpu"
archs_per_shard = 2
plugins = ["sweep_plugin"]
[archs]
select = "sample"
n = 20
seed = 1
[data]
source = "synthetic"
n = 16
size = 8
[[proxies]]
name = "sweeptest_tiny"
overrides = { delay = 1.0 }
"""


def run_script(tmp_path, *args, lanes: str | None = None, config_dir: Path | None = None, timeout: int = 300):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "ZCBENCH": str(ZCBENCH),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    if lanes is not None:
        env["GPU_RUN_LANES"] = lanes
    if config_dir is not None:
        env["GPU_RUN_CONFIG_DIR"] = str(config_dir)
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_script_lanes_are_existing_configs():
    text = SCRIPT.read_text()
    for name in GPU_LANE_CONFIGS:
        assert name in text and (REPO / "configs" / f"{name}.toml").is_file(), name
        assert 'device = "cpu"' in (REPO / "configs" / f"{name}.toml").read_text()  # the script switches it


def test_bad_options_are_refused(tmp_path):
    done = run_script(tmp_path, "--budget", "soon")
    assert done.returncode == 2 and "--budget" in done.stderr
    assert run_script(tmp_path, "--frobnicate").returncode == 2


def test_cuda_copies_plan_exactly_like_the_configs(tmp_path):
    """Dry run for the CUDA device on a CPU: the copies (device switched, index file beside them) have the
    configs' plan fingerprints, so GPU shards and CPU runs of the same config resume each other."""
    done = run_script(tmp_path, "--dry-run", lanes="nb201_ntk_code_revisit_search_cells;nb201_mgm_cifar10")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("dry-run")]
    assert len(lines) == 2 and all("--executor serial" in line for line in lines)
    copy = (tmp_path / "out" / "configs" / "nb201_ntk_code_revisit_search_cells.toml").read_text()
    assert 'device = "cuda"' in copy and 'device = "cpu"' not in copy
    assert (tmp_path / "out" / "configs" / "nb201_revisit_search_cells.txt").is_file()
    assert not (tmp_path / "out" / "sweeps" / "nb201_mgm_cifar10").exists()  # nothing computed


@pytest.mark.slow
def test_every_lane_config_dry_runs(tmp_path):
    done = run_script(tmp_path, "--dry-run", timeout=900)
    assert done.returncode == 0, done.stderr
    assert sum(line.startswith("dry-run") for line in done.stdout.splitlines()) == len(GPU_LANE_CONFIGS)


def test_a_tiny_lane_runs_merges_and_is_summarised(tmp_path):
    done = run_script(tmp_path, "--device", "cpu", "--budget", "120", "--threads", "1", lanes="demo_tiny")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert (out / "sweeps" / "demo_tiny" / "merged.parquet").is_file()
    assert (out / "sweeps" / "demo_tiny" / "manifest.json").is_file()
    summary = json.loads((out / "gpu_run_summary.json").read_text())
    sweep = summary["sweeps"]["demo_tiny"]
    assert sweep["complete"] and sweep["rows"] == sweep["planned_rows"] == 24
    for proxy in sweep["proxies"].values():
        assert proxy["ms_per_arch"]["median"] >= 0 and proxy["cuda_peak_mb"] is None  # a CPU run has no CUDA peak


def test_the_budget_stops_a_lane_and_a_rerun_resumes_it(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "slow_lane.toml").write_text(SLOW_LANE)  # 10 shards of ≈ 2 s after a few seconds of start-up
    first = run_script(tmp_path, "--device", "cpu", "--budget", "14", "--threads", "1", lanes="slow_lane",
                       config_dir=configs)
    assert first.returncode == 0, first.stderr
    sweep = tmp_path / "out" / "sweeps" / "slow_lane"
    lanes_log = (tmp_path / "out" / "logs" / "lanes.log").read_text()
    assert "sweep run exit 124" in lanes_log  # stopped by the budget (timeout's exit status)
    partial = sweep / "partial.json"
    if partial.exists():  # at least one shard finished before the budget: a partial table with its manifest
        assert not json.loads(partial.read_text())["complete"]
    second = run_script(tmp_path, "--device", "cpu", "--budget", "200", "--threads", "1", lanes="slow_lane",
                        config_dir=configs)
    assert second.returncode == 0, second.stderr
    summary = json.loads((tmp_path / "out" / "gpu_run_summary.json").read_text())["sweeps"]["slow_lane"]
    assert summary["complete"] and summary["rows"] == 20
    assert "already finished" in (tmp_path / "out" / "logs" / "slow_lane.log").read_text()


# ----------------------------------------------------------------------- peak CUDA memory per row (worker)

def test_cuda_peak_helpers_read_torch_counters(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: calls.append(("reset", device)))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: 3 * 2**20)
    worker.reset_cuda_peak("cuda:0")
    assert calls == [("reset", "cuda:0")] and worker.cuda_peak_mb("cuda:0") == 3.0
    worker.reset_cuda_peak("cpu")
    assert calls == [("reset", "cuda:0")] and worker.cuda_peak_mb("cpu") is None


def test_rows_carry_their_peak_cuda_memory(monkeypatch, tmp_path):
    """The shard loop resets the counter before each row and stores the row's peak in its diagnostics; the
    sidecar keeps the largest. Faked counters stand in for a GPU; the rows still run on the CPU."""
    peaks = iter(range(1, 1000))
    monkeypatch.setattr(worker, "reset_cuda_peak", lambda device: None)
    monkeypatch.setattr(worker, "cuda_peak_mb", lambda device: float(next(peaks)))
    config = sweep_config.parse_config({
        "name": "peaks", "space": "nb201", "datasets": ["cifar10"], "seeds": [0], "archs_per_shard": 3,
        "archs": {"select": "sample", "n": 3, "seed": 0}, "proxies": [{"name": "params"}],
        "execution": {"threads": 1}}, "peaks.toml", tmp_path)
    run_sweep(config, out=tmp_path / "sweep", executor="serial")
    path, _ = merge_sweep(config, out=tmp_path / "sweep")
    rows = pd.read_parquet(path)
    assert sorted(json.loads(d)["cuda_peak_mb"] for d in rows["diagnostics"]) == [1.0, 2.0, 3.0]
    sidecar = json.loads(next((tmp_path / "sweep" / "shards").glob("*.json")).read_text())
    assert sidecar["cuda_peak_mb"] == 3.0
