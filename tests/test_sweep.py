"""Sweeps: config checks, the deterministic plan, executors agreeing, resume, coverage, failures, OOM."""
from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from zcbench.benchmarks.provenance import UNKNOWN, git_commit, package_version
from zcbench.benchmarks.sweep import (
    RUN_DEPENDENT,
    ConfigError,
    SweepStateError,
    SweepStore,
    load_config,
    make_plan,
    merge_sweep,
    parse_config,
    run_sweep,
    sweep_status,
)
from zcbench.benchmarks.sweep.store import atomic_write_bytes
from zcbench.benchmarks.sweep.worker import score_with_oom_split
from zcbench.cli import main
from zcbench.proxies.registry import REGISTRY

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
PLUGIN = "sweep_plugin"  # test-only proxies; not a test_* module, so collection does not register them


def tiny_definition(**changes) -> dict:
    """12 sampled NB201 cells, 3 shards of 4 (last one of 4), three proxies, two seeds, 8 px images."""
    base = {
        "name": "tiny", "space": "nb201", "datasets": ["cifar10"], "seeds": [0, 1], "archs_per_shard": 4,
        "plugins": [PLUGIN],
        "archs": {"select": "sample", "n": 12, "seed": 3},
        "data": {"source": "synthetic", "n": 32, "size": 8},
        "proxies": [{"name": "params"}, {"name": "sweeptest_tiny"}, {"name": "sweeptest_flaky"}],
        "execution": {"threads": 1, "start_method": "fork"},
    }
    base.update(changes)
    return base


def tiny_config(tmp_path, **changes):
    return parse_config(tiny_definition(**changes), "tiny.toml", tmp_path)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(RUN_DEPENDENT)).reset_index(drop=True)


def merged_frame(config, out) -> pd.DataFrame:
    path, _ = merge_sweep(config, out=out)
    return pq.read_table(path).to_pandas()


@pytest.fixture
def plugin_on_path(monkeypatch):
    """Child processes that do not inherit sys.path (submitit, CLI subprocesses) find the plugin module."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))


# ------------------------------------------------------------------------------------------ config


@pytest.mark.parametrize("change, message", [
    ({"seedz": [0]}, "unknown key(s) ['seedz']"),
    ({"archs": {"select": "some"}}, "'some' is not one of all, sample"),
    ({"archs": {"select": "sample"}}, "missing required key 'n'"),
    ({"archs": {"select": "indices", "refs": [1], "file": "x.txt"}}, "exactly one of 'refs'"),
    ({"seeds": [0, 0]}, "duplicate values"),
    ({"archs_per_shard": 0}, "must be ≥ 1"),
    ({"datasets": ["cifar11"]}, "unknown dataset 'cifar11'"),
    ({"proxies": []}, "at least one [[proxies]]"),
    ({"data": {"source": "synthetic", "sizee": 8}}, "unknown key(s) ['sizee']"),
    ({"data": {"source": "synthetic", "n": 16777215}}, "need 48.0 GiB (at most 4 GiB"),
    ({"execution": {"executor": "slurm"}}, "'slurm' is not one of serial, process, submitit"),
])
def test_config_errors_name_the_offending_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        tiny_config(tmp_path, **change)
    assert message in str(err.value)


@pytest.mark.parametrize("proxies, message", [
    ([{"name": "paramz"}], "Did you mean 'params'"),
    ([{"name": "params", "setting": "best"}], "has no setting 'best'"),
    ([{"name": "params", "overrides": {"width": 3}}], "no settings field(s) ['width']"),
    ([{"name": "params"}, {"name": "params", "setting": "paper"}], "same proxy and settings as proxies[0]"),
])
def test_plan_rejects_unknown_proxies_settings_and_duplicates(tmp_path, proxies, message):
    with pytest.raises(ConfigError) as err:
        make_plan(tiny_config(tmp_path, proxies=proxies))
    assert message in str(err.value)


def test_image_proxies_without_a_data_source_are_rejected(tmp_path):
    definition = tiny_definition()
    del definition["data"]
    with pytest.raises(ConfigError, match=r"need images but no \[data\] source"):
        make_plan(parse_config(definition, "tiny.toml", tmp_path))


def test_bad_architecture_reference_names_file_and_position(tmp_path):
    (tmp_path / "archs.txt").write_text("5\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|conv~2|\n")
    config = tiny_config(tmp_path, archs={"select": "indices", "file": "archs.txt"})
    with pytest.raises(ConfigError, match=r"archs.txt: entry 1 is not a nb201 architecture \(UnknownOperationError\)"):
        make_plan(config)  # the file's content is not echoed (it may name any readable file)
    (tmp_path / "archs.txt").write_text("5\n# same cell again\n5\n")
    with pytest.raises(ConfigError, match="entries 0 and 1"):
        make_plan(config)


# -------------------------------------------------------------------------------------------- plan


def test_plan_is_a_pure_function_of_the_config(tmp_path):
    a, b = make_plan(tiny_config(tmp_path)), make_plan(tiny_config(tmp_path))
    assert a.arch_ids == b.arch_ids and a.shards == b.shards and a.fingerprint == b.fingerprint
    assert [len(s.arch_ids) for s in a.shards] == [4, 4, 4]
    assert [x for s in a.shards for x in s.arch_ids] == list(a.arch_ids)
    assert len(set(a.arch_ids)) == 12 and a.n_rows == 12 * 3 * 2 == len(list(a.row_keys()))
    # the "how" does not change the plan; the "what" does
    how = make_plan(tiny_config(tmp_path, name="renamed", notes="why", execution={"executor": "process", "workers": 2},
                                data={"source": "synthetic", "n": 32, "size": 8, "note": "random pixels"}))
    assert how.fingerprint == a.fingerprint
    for change in ({"seeds": [0, 2]}, {"archs": {"select": "sample", "n": 12, "seed": 4}},
                   {"data": {"source": "synthetic", "n": 32, "size": 16}},
                   {"proxies": [{"name": "params", "overrides": {"unit": "count"}}, {"name": "sweeptest_tiny"},
                                {"name": "sweeptest_flaky"}]}):
        assert make_plan(tiny_config(tmp_path, **change)).fingerprint != a.fingerprint, change


def test_param_group_selection_reads_the_revisit_groups(shared_data, tmp_path):
    config = tiny_config(tmp_path, archs={"select": "param_group", "file": "revisit_params_split.json",
                                          "group": [0, 4]}, proxies=[{"name": "params"}])
    plan = make_plan(config, data_dir=shared_data)
    groups = json.loads((shared_data / "revisit_params_split.json").read_text())
    assert list(plan.arch_ids) == [str(i) for i in groups[0] + groups[4]]
    assert len(plan.arch_ids) == 1602 + 180


def test_cost_estimate_counts_rows_per_cost_class(tmp_path):
    plan = make_plan(tiny_config(tmp_path))
    cost = plan.cost_by_class({"sweeptest_tiny": 0.5})
    assert cost["parameter-free"]["rows"] == 24 and not cost["parameter-free"]["measured"]
    assert cost["forward"]["rows"] == 48 and cost["forward"]["proxies"] == ["sweeptest_tiny", "sweeptest_flaky"]
    assert not cost["forward"]["measured"]  # flaky was not measured: nominal for it


# ---------------------------------------------------------------------------------- run and merge


def test_serial_process_and_submitit_produce_identical_tables(tmp_path):
    config = tiny_config(tmp_path, execution={"threads": 1, "start_method": "fork", "workers": 2,
                                              "submitit": {"cluster": "debug"}})
    frames = {}
    for executor in ("serial", "process", "submitit"):
        report = run_sweep(config, out=tmp_path / executor, executor=executor)
        assert report.complete and not report.failed, report.failed
        frames[executor] = merged_frame(config, tmp_path / executor)
    assert len(frames["serial"]) == 72
    pd.testing.assert_frame_equal(comparable(frames["serial"]), comparable(frames["process"]))
    pd.testing.assert_frame_equal(comparable(frames["serial"]), comparable(frames["submitit"]))
    # the process pool really ran elsewhere: shard sidecars carry the worker pids
    pids = {SweepStore(tmp_path / "process").read_sidecar(s)["pid"] for s in make_plan(config).shards}
    assert os.getpid() not in pids


# Tiny settings of real proxies (names as registered by the proxy engineers).
REAL_TINY = {"lr1": {"batches": 1, "batch_size": 64, "repeats": 1},
             "naswot": {"batch_size": 8, "channels": 4, "cells": 1}}


def test_real_proxies_agree_between_serial_and_process_executors(tmp_path):
    from zcbench.proxies.registry import REGISTRY

    present = [name for name in REAL_TINY if name in REGISTRY]
    assert present, f"none of {list(REAL_TINY)} is registered"
    config = tiny_config(tmp_path, archs={"select": "indices", "refs": [0, 1, 2, 6111, 9930]}, seeds=[0],
                         archs_per_shard=2, proxies=[{"name": n, "overrides": REAL_TINY[n]} for n in present],
                         execution={"threads": 1, "start_method": "fork", "workers": 2})
    for executor in ("serial", "process"):
        assert not run_sweep(config, out=tmp_path / executor, executor=executor).failed
    serial = merged_frame(config, tmp_path / "serial")
    assert (serial.status == "ok").mean() > 0.5, serial[["arch", "proxy", "status"]]
    pd.testing.assert_frame_equal(comparable(serial), comparable(merged_frame(config, tmp_path / "process")))


@pytest.mark.slow
def test_submitit_local_executor_matches_serial(tmp_path, plugin_on_path):
    config = tiny_config(tmp_path, execution={"threads": 1, "workers": 3,
                                              "submitit": {"cluster": "local", "timeout_min": 10}})
    run_sweep(config, out=tmp_path / "serial", executor="serial")
    report = run_sweep(config, out=tmp_path / "local", executor="submitit")
    assert report.complete and not report.failed, report.failed
    pd.testing.assert_frame_equal(comparable(merged_frame(config, tmp_path / "serial")),
                                  comparable(merged_frame(config, tmp_path / "local")))


def test_rows_carry_keys_settings_and_provenance(tmp_path):
    config = tiny_config(tmp_path)
    run_sweep(config, out=tmp_path / "out")
    frame = merged_frame(config, tmp_path / "out")
    plan = make_plan(config)
    assert list(zip(frame.arch, frame.proxy, frame.settings_hash, frame.dataset, frame.seed)) == list(plan.row_keys())
    row = frame[(frame.proxy == "params")].iloc[0]
    assert row.space == "nb201" and row.proxy_version == 1 and row.setting == "code"
    assert json.loads(row.settings_json) == {"num_classes": None, "unit": "millions"}
    assert row.package_version == package_version() and row.git_commit == git_commit()
    assert row.torch_version.startswith("2.") and row.device.startswith("cpu")
    assert row.device.endswith(f"{torch.backends.cpu.get_cpu_capability()} kernels)")  # docs/reliability.md
    assert row.data_source == "synthetic(n=32, size=8, seed=0)"
    from zcbench.spaces.catalog import get_space

    space = get_space("nb201")
    assert row.arch_str == str(space.arch(row.arch))
    assert row.score == pytest.approx(space.param_count(space.arch(row.arch)) / 1e6)
    sidecar = SweepStore(tmp_path / "out").read_sidecar(plan.shards[0])
    assert sidecar["threads"] == 1 and sidecar["peak_rss_mb"] > 0 and sidecar["rows"] == 24
    assert sidecar["provenance"]["git_commit"] == git_commit()


def test_failures_are_recorded_per_row_and_counted_in_the_merge(tmp_path):
    config = tiny_config(tmp_path, archs={"select": "indices", "refs": list(range(20, 36))})
    report = run_sweep(config, out=tmp_path / "out")
    assert report.complete and not report.failed
    _, summary = merge_sweep(config, out=tmp_path / "out")
    errors = [i for i in range(20, 36) if i % 5 == 0]  # 20, 25, 30, 35
    nans = [i for i in range(20, 36) if i % 7 == 0 and i % 5 != 0]  # 21, 28
    assert summary["counts_by_proxy_status"]["sweeptest_flaky"] == {
        "ok": 2 * (16 - len(errors) - len(nans)), "error:ValueError": 2 * len(errors), "nan": 2 * len(nans)}
    assert summary["failed_rows"] == 2 * (len(errors) + len(nans))
    assert summary["failure_reasons"]["error:ValueError: planted failure for arch 25"] == 2
    assert json.loads((tmp_path / "out" / "merged.json").read_text())["counts_by_status"]["nan"] == 4


def test_rerun_skips_finished_shards_and_recomputes_only_missing_ones(tmp_path):
    config, out = tiny_config(tmp_path), tmp_path / "out"
    first = run_sweep(config, out=out)
    store, plan = SweepStore(out), make_plan(config)
    stamps = {s.name: os.stat(store.shard_path(s)) for s in plan.shards}
    again = run_sweep(config, out=out)
    assert again.skipped == 3 and again.computed == []
    store.shard_path(plan.shards[1]).unlink()
    third = run_sweep(config, out=out)
    assert third.computed == ["shard-00001"] and third.skipped == 2
    for s in (plan.shards[0], plan.shards[2]):
        st = os.stat(store.shard_path(s))
        assert (st.st_ino, st.st_mtime_ns) == (stamps[s.name].st_ino, stamps[s.name].st_mtime_ns)
    assert len(first.computed) == 3
    status = sweep_status(config, out=out)
    assert status["shards_done"] == 3 and status["rows_done"] == 72 and not status["running"]


def test_output_directory_of_another_plan_is_refused(tmp_path):
    run_sweep(tiny_config(tmp_path), out=tmp_path / "out")
    with pytest.raises(SweepStateError, match=r"seeds: \[0, 1\] → \[0, 5\].*another --out"):
        run_sweep(tiny_config(tmp_path, seeds=[0, 5]), out=tmp_path / "out")


def test_second_concurrent_run_is_refused_and_status_shows_the_runner(tmp_path):
    config, out = tiny_config(tmp_path), tmp_path / "out"
    run_sweep(config, out=out)
    store = SweepStore(out)
    assert store.running_pid() is None
    with store.running("other", "0123"):
        assert sweep_status(config, out=out)["running_pid"] == os.getpid()
        holder = f"being computed by sweep 'other' \\(pid {os.getpid()}, plan 0123\\); this is sweep 'tiny'"
        with pytest.raises(SweepStateError, match=holder):
            run_sweep(config, out=out)
    assert not sweep_status(config, out=out)["running"]


def test_merge_checks_coverage(tmp_path):
    config, out = tiny_config(tmp_path), tmp_path / "out"
    run_sweep(config, out=out)
    store, plan = SweepStore(out), make_plan(config)
    path = store.shard_path(plan.shards[2])
    table = pq.read_table(path)
    pq.write_table(pa_concat(table, table.slice(0, 2)), path)  # edited behind the store's back
    with pytest.raises(SweepStateError, match="shard-00002 is damaged: .*content differs from the sha256"):
        merge_sweep(config, out=out)
    rewrite_shard(store, plan.shards[2], pa_concat(table, table.slice(0, 2)))
    with pytest.raises(SweepStateError, match="2 duplicated rows"):
        merge_sweep(config, out=out)
    rewrite_shard(store, plan.shards[2], table.slice(0, 20))
    with pytest.raises(SweepStateError, match="4 planned rows missing"):
        merge_sweep(config, out=out)
    path.unlink()
    with pytest.raises(SweepStateError, match="1 of 3 shards are not finished"):
        merge_sweep(config, out=out)


def test_partial_merge_covers_only_finished_shards_and_says_so(tmp_path):
    config, out = tiny_config(tmp_path), tmp_path / "out"
    run_sweep(config, out=out)
    full = merged_frame(config, out)
    store, plan = SweepStore(out), make_plan(config)
    (out / "merged.parquet").unlink()
    store.shard_path(plan.shards[1]).unlink()
    path, summary = merge_sweep(config, out=out, partial=True)
    assert path.name == "partial.parquet" and not (out / "merged.parquet").exists()
    assert summary["complete"] is False and summary["planned_rows"] == 72 and summary["rows"] == 48
    partial = pq.read_table(path).to_pandas()
    kept = full[~full["arch"].isin(plan.shards[1].arch_ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(comparable(partial), comparable(kept))
    first = pq.read_table(store.shard_path(plan.shards[0]))
    rewrite_shard(store, plan.shards[0], pa_concat(first, first.slice(0, 1)))
    with pytest.raises(SweepStateError, match="1 duplicated rows"):
        merge_sweep(config, out=out, partial=True)


def rewrite_shard(store, shard, table):
    """Replace a shard's rows as a faulty writer would, with a matching checksum and row count: only
    the coverage check can catch it."""
    store.commit_shard(shard, table.to_pylist(), {**store.read_sidecar(shard), "rows": table.num_rows})


def pa_concat(*tables):
    import pyarrow as pa

    return pa.concat_tables(tables)


def test_out_of_memory_splits_the_batch_where_the_proxy_allows_it(tmp_path):
    config = tiny_config(tmp_path, archs={"select": "indices", "refs": [7, 8]},
                         proxies=[{"name": "sweeptest_oom"}, {"name": "sweeptest_oom", "overrides": {"fits": 0}}])
    run_sweep(config, out=tmp_path / "out")
    frame = merged_frame(config, tmp_path / "out")
    split = frame[frame.settings_json.str.contains('"fits": 4')]
    assert (split.status == "ok").all() and (split.oom_retries == 2).all()  # 16 → 8 → 4
    assert list(split.score) == [7 * 16, 7 * 16, 8 * 16, 8 * 16]
    assert json.loads(json.loads(split.diagnostics.iloc[0])["oom_split_settings"])["micro_batch"] == 4
    hopeless = frame[frame.settings_json.str.contains('"fits": 0')]
    assert hopeless.status.str.startswith("error:OutOfMemoryError").all() and (hopeless.oom_retries == 4).all()
    assert "smallest batch" in json.loads(hopeless.diagnostics.iloc[0])["oom"]
    _, summary = merge_sweep(config, out=tmp_path / "out")
    assert summary["oom_retried_rows"] == 8


def test_out_of_memory_without_a_split_hook_is_recorded_once(tmp_path):
    plan = make_plan(tiny_config(tmp_path, proxies=[{"name": "sweeptest_oom"}]))
    proxy = dataclasses.replace(plan.proxies[0], settings=NoSplit())
    from zcbench.spaces.catalog import get_space

    result, retries, notes = score_with_oom_split(proxy, 3, space=get_space("nb201"), data=None,
                                                  dataset="cifar10", seed=0, device="cpu")
    assert result.status.startswith("error:OutOfMemoryError") and retries == 0
    assert notes == {"oom": "out of memory; the proxy offers no smaller batch"}


@dataclasses.dataclass(frozen=True)
class NoSplit:
    batch: int = 16
    micro_batch: int = 16
    fits: int = 4


# ------------------------------------------------------------------------------ kill and resume


def test_killed_worker_then_rerun_equals_an_uninterrupted_run(tmp_path, plugin_on_path):
    """SIGKILL the process-pool worker at a random point, rerun, compare with a clean run."""
    rng = random.Random()
    seed = rng.randrange(10_000)
    rng = random.Random(seed)
    definition = tiny_definition(archs={"select": "sample", "n": 12, "seed": 1}, archs_per_shard=2,
                                 proxies=[{"name": "params"}, {"name": "sweeptest_tiny",
                                                               "overrides": {"delay": 0.05}}],
                                 execution={"threads": 1, "executor": "process", "workers": 1})
    config_path = tmp_path / "kill.toml"
    config_path.write_text(to_toml(definition))
    config, out = load_config(config_path), tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "zcbench.cli", "sweep", "run", str(config_path), "--out", str(out)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store, plan = SweepStore(out), make_plan(config)
    kill_after = rng.randint(1, 3)  # finished shards (of 6, 0.2 s each) before the kill
    worker_pid = wait_for(lambda: worker_after(store, kill_after), proc)
    time.sleep(rng.uniform(0, 0.15))  # somewhere inside a later shard
    os.kill(worker_pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "worker process died" in stderr, (seed, stderr)
    assert not list(store.shard_dir.glob(".*tmp*")), "a killed write left a temporary file behind"
    finished = {s.name: os.stat(store.shard_path(s)) for s in plan.shards if store.shard_path(s).exists()}
    assert kill_after <= len(finished) < len(plan.shards), (seed, len(finished))
    killed_at = time.time()

    report = run_sweep(config, out=out, executor="serial")
    assert report.skipped == len(finished) and len(report.computed) == len(plan.shards) - len(finished)
    for name, st in finished.items():  # finished shards were not rewritten …
        now = os.stat(store.shard_dir / f"{name}.parquet")
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), (seed, name)
    restarted = {e["shard"] for e in store.read_log() if e["event"] == "shard-start" and e["time"] > killed_at}
    assert not restarted & {int(n.split("-")[1]) for n in finished}, seed  # … nor recomputed
    clean = tmp_path / "clean"
    run_sweep(config, out=clean, executor="serial")
    pd.testing.assert_frame_equal(comparable(merged_frame(config, out)), comparable(merged_frame(config, clean)))


def worker_after(store: SweepStore, n_done: int) -> int | None:
    """The pid of the worker once it has finished `n_done` shards (from the run log)."""
    events = store.read_log()
    done = [e for e in events if e["event"] == "shard-done"]
    return done[-1]["pid"] if len(done) >= n_done else None


def wait_for(probe, proc, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"sweep exited early: {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("timed out waiting for the sweep")


def to_toml(data: dict, prefix: str = "") -> str:
    """A tiny TOML writer for the test configs (scalars, lists, tables, arrays of tables)."""
    def value(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    lines, tables = [], []
    for key, v in data.items():
        if isinstance(v, dict):
            tables.append(f"\n[{prefix}{key}]\n" + to_toml(v, f"{prefix}{key}."))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            tables += [f"\n[[{prefix}{key}]]\n" + "".join(f"{k} = {value(x)}\n" for k, x in item.items()) for item in v]
        else:
            lines.append(f"{key} = {value(v)}\n")
    return "".join(lines) + "".join(tables)


# ------------------------------------------------------------------------------- CLI, progress, I/O


def test_cli_validate_plan_run_status_merge(tmp_path, capsys, plugin_on_path):
    config_path = tmp_path / "tiny.toml"
    config_path.write_text(to_toml(tiny_definition()))
    out = str(tmp_path / "out")
    assert main(["sweep", "validate", str(config_path)]) == 0
    assert "12 archs × 3 proxies × 1 datasets × 2 seeds = 72 rows in 3 shards" in capsys.readouterr().out
    assert main(["sweep", "plan", str(config_path), "--calibrate", "1"]) == 0
    text = capsys.readouterr().out
    assert "parameter-free" in text and "(measured)" in text
    assert main(["sweep", "run", str(config_path), "--out", out]) == 0
    assert "0 shards already finished, 3 computed now, 0 failed" in capsys.readouterr().out
    assert main(["sweep", "status", str(config_path), "--out", out, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shards_done"] == 3
    assert main(["sweep", "merge", str(config_path), "--out", out]) == 0
    assert "merged 72 of 72 planned rows" in capsys.readouterr().out
    assert main(["sweep", "merge", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_example_configs_validate(tmp_path, shared_data):
    for path in sorted((REPO / "configs").glob("*.toml")):
        plan = make_plan(load_config(path), data_dir=shared_data)  # a renamed proxy fails here
        assert plan.n_rows > 0, path


def test_failed_atomic_write_leaves_neither_file_nor_temporary(tmp_path):
    target = tmp_path / "x.parquet"

    def explode(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_bytes(target, explode)
    assert list(tmp_path.iterdir()) == []


def test_provenance_says_unknown_outside_a_checkout(tmp_path):
    assert git_commit(tmp_path) == UNKNOWN
    assert package_version("no-such-distribution-zcbench") == UNKNOWN
    commit = git_commit()
    assert commit == UNKNOWN or (len(commit) == 40 and int(commit, 16) >= 0)


def test_plugin_proxies_are_deterministic_and_fail_as_planted(tiny_images):
    import_module(PLUGIN)
    tiny = REGISTRY.get("sweeptest_tiny")
    a, b = (tiny.score(3, data=tiny_images, seed=1) for _ in range(2))
    assert a.ok and a.value == b.value
    assert tiny.score(3, data=tiny_images, seed=2).value != a.value
    flaky = REGISTRY.get("sweeptest_flaky")
    assert flaky.score(10).status == "error:ValueError: planted failure for arch 10"
    assert flaky.score(14).status == "nan"
    assert REGISTRY.get("sweeptest_oom").score(3).status.startswith("error:OutOfMemoryError")


def test_complete_merge_removes_the_earlier_partial_table(tmp_path):
    """A resumed sweep merged in full supersedes its partial merge: the folder holds one table, not two
    overlapping ones a reader could both pick up."""
    config, out = tiny_config(tmp_path), tmp_path / "out"
    run_sweep(config, out=out)
    store, plan = SweepStore(out), make_plan(config)
    kept = store.shard_path(plan.shards[1]).read_bytes(), store.sidecar_path(plan.shards[1]).read_bytes()
    store.shard_path(plan.shards[1]).unlink()
    merge_sweep(config, out=out, partial=True)
    assert (out / "partial.parquet").exists() and (out / "partial.json").exists()
    store.shard_path(plan.shards[1]).write_bytes(kept[0])
    store.sidecar_path(plan.shards[1]).write_bytes(kept[1])
    path, summary = merge_sweep(config, out=out)
    assert path.name == "merged.parquet" and summary["complete"]
    assert not (out / "partial.parquet").exists() and not (out / "partial.json").exists()
