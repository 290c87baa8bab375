"""Results that cannot be silently corrupted (issue 14), on tiny sweeps: SIGKILL of the process group
at seeded random points and of the parent alone, two configs racing for one folder, single-bit flips
in shards and merged tables, a full disk, stale temporaries, thread counts, dead cells, legacy
folders, and the config checks. Every scenario ends with zero rows lost, duplicated or changed."""
from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_sweep import REPO, comparable, tiny_definition, to_toml

from zcbench.benchmarks.sweep import (
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
from zcbench.benchmarks.sweep import store as store_module
from zcbench.benchmarks.sweep.migrate import migrate
from zcbench.benchmarks.sweep.store import read_merged
from zcbench.cli import main
from zcbench.proxies.registry import REGISTRY
from zcbench.spaces.errors import CorruptDataError

TESTS = Path(__file__).resolve().parent
DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # no input→output path


def small(name="rel", **changes) -> dict:
    """12 NB201 cells in 6 shards of 2, #Param and a 30 ms plugin proxy, one seed, synthetic images."""
    base = tiny_definition(name=name, seeds=[0], archs={"select": "sample", "n": 12, "seed": 5}, archs_per_shard=2,
                           proxies=[{"name": "params"}, {"name": "sweeptest_tiny", "overrides": {"delay": 0.03}}])
    base.update(changes)
    return base


def config_file(tmp_path, definition, name="c.toml") -> Path:
    path = tmp_path / name
    path.write_text(to_toml(definition))
    return path


def frame(path) -> pd.DataFrame:
    return comparable(read_merged(path).to_pandas())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of `small()`: (config, merged frame)."""
    tmp = tmp_path_factory.mktemp("reference")
    config = parse_config(small(), "ref.toml", tmp)
    run_sweep(config, out=tmp / "out")
    path, _ = merge_sweep(config, out=tmp / "out")
    return config, frame(path)


@pytest.fixture
def child_env(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))


def start_sweep(config_path, out, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zcbench.cli", "sweep", "run", str(config_path), "--out", str(out)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen)


def wait_until(probe, proc, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        if proc.poll() is not None:
            return None  # finished before the probe fired
        time.sleep(0.01)
    raise AssertionError("timed out waiting for the sweep")


def resume_and_compare(config, out, reference_frame) -> None:
    report = run_sweep(config, out=out, executor="serial")
    assert report.complete and not report.failed
    assert not [*Path(out).glob(".*.tmp-*"), *(Path(out) / "shards").glob(".*.tmp-*")], "stale temporaries left"
    path, summary = merge_sweep(config, out=out)
    assert summary["rows"] == len(reference_frame)
    pd.testing.assert_frame_equal(frame(path), reference_frame)


# ------------------------------------------------------------------------------------------ SIGKILL

@pytest.mark.parametrize("trial", range(5))
def test_sigkill_of_the_process_group_at_a_random_point_loses_nothing(tmp_path, child_env, reference, trial):
    rng = random.Random(1400 + trial)
    execution = ({"threads": 1, "executor": "process", "workers": 2, "start_method": "fork"} if trial % 2
                 else {"threads": 1})
    path = config_file(tmp_path, small(execution=execution))
    out = tmp_path / "out"
    proc = start_sweep(path, out, start_new_session=True)
    store = SweepStore(out)
    started = wait_until(lambda: True if any(e["event"] == "shard-start" for e in store.read_log()) else None, proc)
    if started:
        time.sleep(rng.uniform(0.0, 0.6))
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15  # forked workers hold the run lock until the kernel has ended them
    while store.running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    resume_and_compare(load_config(path), out, reference[1])


def children_of(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_sigkill_of_the_parent_alone_takes_workers_and_resource_tracker_down(tmp_path, child_env, reference):
    path = config_file(tmp_path, small(execution={"threads": 1, "executor": "process", "workers": 2,
                                                  "start_method": "spawn"}))
    out = tmp_path / "out"
    proc = start_sweep(path, out)
    store = SweepStore(out)

    def two_workers_busy():
        pids = {e["pid"] for e in store.read_log() if e["event"] == "shard-start"}
        return pids if len(pids) >= 2 else None

    workers = wait_until(two_workers_busy, proc)
    assert workers, "the sweep finished before both workers started"
    children = set(children_of(proc.pid))
    assert workers <= children and len(children) >= 3  # two workers and the resource tracker
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in children if alive(p)], "orphaned workers or resource tracker still running"
    resume_and_compare(load_config(path), out, reference[1])


# ------------------------------------------------------------------------------------------ racing configs

def test_two_configs_racing_for_a_fresh_folder_never_mix(tmp_path):
    configs = {n: parse_config(small(name=n, archs={"select": "sample", "n": 4, "seed": s}, archs_per_shard=1,
                                     proxies=[{"name": "params"}]), f"{n}.toml", tmp_path)
               for n, s in (("race_a", 1), ("race_b", 2))}
    mixed = 0
    for trial in range(20):
        rng, out = random.Random(trial), tmp_path / f"out{trial}"
        barrier, errors = threading.Barrier(2), {}

        def go(name, delay, barrier=barrier, out=out, errors=errors):
            barrier.wait()
            time.sleep(delay)
            try:
                run_sweep(configs[name], out=out)
            except SweepStateError as exc:
                errors[name] = str(exc)

        threads = [threading.Thread(target=go, args=(n, rng.uniform(0, 0.01))) for n in configs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winner = json.loads((out / "sweep.json").read_text())["name"]
        (loser,) = set(configs) - {winner}
        assert set(errors) == {loser}, (trial, errors)
        assert winner in errors[loser] and loser in errors[loser], errors[loser]  # both names
        fingerprints = {json.loads(p.read_text())["fingerprint"] for p in (out / "shards").glob("*.json")}
        plan = make_plan(configs[winner])
        mixed += fingerprints != {plan.fingerprint}
        _, summary = merge_sweep(configs[winner], out=out)
        assert summary["complete"] and summary["rows"] == plan.n_rows
        with pytest.raises(SweepStateError, match=f"holds sweep '{winner}'.*not the results of config '{loser}'"):
            merge_sweep(configs[loser], out=out)
    assert mixed == 0


# ------------------------------------------------------------------------------------------ bit flips

def flip(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


def test_100_bit_flips_in_a_merged_table_are_each_a_named_error(tmp_path, reference):
    config = reference[0]
    out = tmp_path / "out"
    run_sweep(config, out=out)
    table, _ = merge_sweep(config, out=out)
    original, manifest = table.read_bytes(), (out / "merged.json").read_bytes()
    rng, named, changed_accepted = random.Random(14), 0, 0
    for _ in range(100):
        table.write_bytes(flip(original, rng))
        try:
            accepted = read_merged(table).to_pandas()
        except CorruptDataError:
            named += 1
            continue
        changed_accepted += not accepted.equals(reference[1])
    assert (named, changed_accepted) == (100, 0)
    # Flips in the manifest: a named error, or metadata only (the table it vouches for is unchanged).
    table.write_bytes(original)
    manifest_path, harmless = out / "merged.json", 0
    for _ in range(50):
        manifest_path.write_bytes(flip(manifest, rng))
        try:
            harmless += frame(table).equals(reference[1])
        except CorruptDataError:
            named += 1
    assert named + harmless == 150


def test_bit_flips_and_truncation_in_shards_are_named_and_recomputed(tmp_path, reference):
    config = reference[0]
    out = tmp_path / "out"
    run_sweep(config, out=out)
    store, plan, rng = SweepStore(out), make_plan(config), random.Random(41)
    for trial in range(21):
        shard = rng.choice(plan.shards)
        path = store.shard_path(shard)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if trial == 20 else flip(data, rng))
        assert list(sweep_status(config, out=out)["damaged_shards"]) == [shard.name]
        with pytest.raises(SweepStateError, match=f"{shard.name} is damaged"):
            merge_sweep(config, out=out)
        report = run_sweep(config, out=out)
        assert list(report.damaged) == [shard.name] and report.computed == [shard.name]
    path, _ = merge_sweep(config, out=out)
    pd.testing.assert_frame_equal(frame(path), reference[1])


def test_truncated_shard_through_the_cli_is_one_named_message(tmp_path, capsys, reference):
    path = config_file(tmp_path, small())
    out = tmp_path / "out"
    run_sweep(load_config(path), out=out)
    shard = SweepStore(out).shard_path(make_plan(load_config(path)).shards[3])
    shard.write_bytes(shard.read_bytes()[:100])
    assert main(["sweep", "merge", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "shard-00003 is damaged" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------ full disk, temporaries

def test_first_full_disk_stops_the_run_with_one_message(tmp_path, capsys, monkeypatch, reference):
    path = config_file(tmp_path, small())
    out, calls = tmp_path / "out", []
    real = store_module.atomic_write_bytes

    def filling(target, write):
        calls.append(target)
        if len(calls) >= 6:  # sweep.json, 2 shards × (sidecar, table), then the third sidecar
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real(target, write)

    monkeypatch.setattr(store_module, "atomic_write_bytes", filling)
    assert main(["sweep", "run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("disk full") == 1 and "Traceback" not in err
    events = [e["event"] for e in SweepStore(out).read_log()]
    assert events.count("shard-failed") == 1 and events.count("shard-start") == 3  # nothing after the failure
    monkeypatch.setattr(store_module, "atomic_write_bytes", real)
    resume_and_compare(load_config(path), out, reference[1])


def test_stale_temporaries_are_removed_on_start(tmp_path):
    config, out = parse_config(small(), "c.toml", tmp_path), tmp_path / "out"
    run_sweep(config, out=out)
    stale = [out / "shards" / ".shard-00000.parquet.tmp-123", out / ".sweep.json.tmp-456"]
    for path in stale:
        path.write_bytes(b"half")
    run_sweep(config, out=out)
    assert not any(path.exists() for path in stale)


# ------------------------------------------------------------------------------------------ threads, dead cells

def test_thread_count_is_bound_to_the_folder_and_recorded_in_every_row(tmp_path):
    definition = small(execution={"start_method": "fork"})
    config, out = parse_config(definition, "c.toml", tmp_path), tmp_path / "out"
    run_sweep(config, out=out, threads=1)
    assert json.loads((out / "sweep.json").read_text())["threads"] == 1
    with pytest.raises(SweepStateError, match="computed with 1 torch thread.*asks for 2.*--threads 1"):
        run_sweep(config, out=out, threads=2)
    with pytest.raises(SweepStateError, match="asks for 2"):
        run_sweep(parse_config({**definition, "execution": {"threads": 2}}, "c.toml", tmp_path), out=out)
    assert run_sweep(config, out=out, executor="process", workers=2).skipped == 6  # default: the recorded count
    path, summary = merge_sweep(config, out=out)
    assert set(pq.read_table(path).column("threads").to_pylist()) == {1} and summary["provenance"]["threads"] == [1]


def test_dead_cells_are_flagged_with_the_authors_value_kept_and_counted(tmp_path):
    config = parse_config(small(archs={"select": "indices", "refs": [DEAD, 1, 2]}), "c.toml", tmp_path)
    out = tmp_path / "out"
    run_sweep(config, out=out)
    path, summary = merge_sweep(config, out=out)
    rows = read_merged(path).to_pandas()
    dead = rows["arch_str"] == DEAD
    assert rows["dead_cell"].tolist() == dead.tolist()
    assert all(json.loads(d).get("dead_cell") is True for d in rows.loc[dead, "diagnostics"])
    assert summary["dead_cell_rows"] == 2 and summary["dead_cell_by_proxy_status"] == {"params": {"ok": 1},
                                                                                       "sweeptest_tiny": {"ok": 1}}
    result = REGISTRY.get("params").score(DEAD)
    authors = rows.loc[dead & (rows["proxy"] == "params"), "score"].item()
    assert result.ok and result.dead_cell and result.value == authors


# ------------------------------------------------------------------------------------------ legacy folders

def test_folders_written_before_checksums_stay_readable_and_can_be_stamped(tmp_path, reference):
    config, out = reference[0], tmp_path / "out"
    run_sweep(config, out=out)
    merge_sweep(config, out=out)
    store, plan = SweepStore(out), make_plan(config)
    for manifest in [*store.shard_dir.glob("*.json"), out / "merged.json", out / "sweep.json"]:  # as the old code wrote
        recorded = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({k: v for k, v in recorded.items() if k not in ("sha256", "threads")
                                        or manifest.parent == store.shard_dir and k == "threads"}))
    for s in plan.shards:
        pq.write_table(pq.read_table(store.shard_path(s)).drop_columns(["threads", "dead_cell"]), store.shard_path(s))
    assert sweep_status(config, out=out)["shards_done"] == len(plan.shards)
    assert read_merged(out / "merged.parquet").num_rows == len(reference[1])
    with pytest.raises(SweepStateError, match="computed with 1 torch thread"):  # pinned by the sidecars
        run_sweep(config, out=out, threads=2)
    result = migrate(out)
    assert len(result["stamped"]) == len(plan.shards) + 1 and not result["damaged"]
    assert migrate(out)["stamped"] == []
    path, _ = merge_sweep(config, out=out)  # legacy shards get threads and dead_cell filled
    pd.testing.assert_frame_equal(frame(path), reference[1])


def test_fingerprint_of_an_existing_config_is_unchanged():
    """The committed full-space sweep (results/sweeps/nb201_cifar10_cpu) stays resumable and mergeable."""
    assert make_plan(load_config(REPO / "configs" / "nb201_full_cifar10.toml")).fingerprint == "678906b2b5d5278b"


# ------------------------------------------------------------------------------------------ config checks

@pytest.mark.parametrize("change, message", [
    ({"out": "../elsewhere"}, "leaves the working folder"),
    ({"out": "a/../../b"}, "leaves the working folder"),
    ({"name": "../x"}, "must be one path component"),
    ({"execution": {"executor": "submitit", "submitit": {"slurm_setup": ["rm -rf ~"]}}}, "'slurm_setup'] not allowed"),
    ({"execution": {"executor": "submitit", "submitit": {"slurm_partition": "gpu\n#SBATCH --x"}}}, "one-line string"),
])
def test_config_confines_paths_and_submitit_options(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(small(**change), "c.toml", tmp_path)


def test_absolute_out_is_taken_as_meant(tmp_path):
    assert parse_config(small(out=str(tmp_path / "x")), "c.toml", tmp_path).out == str(tmp_path / "x")


@pytest.mark.parametrize("name, text", [("list.txt", "TOPSECRET line\n"), ("list.json", "TOPSECRET"),
                                        ("list.csv", "TOPSECRET,x\n1,2\n")])
def test_architecture_list_errors_do_not_echo_the_file(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    config = parse_config(small(archs={"select": "indices", "file": name}), "c.toml", tmp_path)
    with pytest.raises(ConfigError) as info:
        make_plan(config)
    assert name in str(info.value) and "TOPSECRET" not in str(info.value)


# ------------------------------------------------------------------------------------------ errors across processes

def test_every_named_error_survives_the_trip_from_a_worker_process():
    """A shard's exception is pickled back to the parent; one that cannot be rebuilt breaks the pool and
    reads as a dead worker instead of the named error."""
    import pickle

    from zcbench.spaces import errors
    named = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ZcbenchError)]
    for cls in named:
        original = (errors.DataNotFoundError("the images", ["/a", "/b"], "download them")
                    if cls is errors.DataNotFoundError else cls("what went wrong"))
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is cls and str(copy) == str(original)


@pytest.mark.parametrize("source", ["folder", "dataset"])
def test_missing_images_are_one_named_error_before_any_shard_runs(tmp_path, capsys, monkeypatch, source):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    data = ({"source": "folder", "path": str(tmp_path / "no-such-folder"), "split": "test"} if source == "folder"
            else {"source": "dataset", "split": "train"})
    path = config_file(tmp_path, small(data=data, execution={"threads": 1, "executor": "process", "workers": 2,
                                                             "start_method": "fork"}))
    empty = tmp_path / "empty-data-dir"
    empty.mkdir()
    assert main(["sweep", "run", str(path), "--out", str(tmp_path / "out"), "--data-dir", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("not found. Looked in") == 1 and ("no-such-folder" if source == "folder" else "cifar") in err
    assert "worker process died" not in err and "Traceback" not in err
    assert not (tmp_path / "out" / "shards").exists() or not any((tmp_path / "out" / "shards").iterdir())
