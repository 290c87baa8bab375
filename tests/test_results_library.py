"""The results library: the committed results/ is fully indexed (every file listed by a manifest, INDEX.md
current, tables matching their checksums, no machine paths, each config planning what its entry holds);
a merge writes its folder's manifest; readers refuse a table that changed and list strays."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA_MISSING

from zcbench.benchmarks import library
from zcbench.benchmarks.pruning import write_search_manifest
from zcbench.benchmarks.sweep import SweepStateError, load_config, make_plan, merge_sweep, parse_config, run_sweep
from zcbench.reports.pruning import load_pruning_runs
from zcbench.reports.results import index_markdown, load_results
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError

pytestmark = pytest.mark.usefixtures("single_thread_torch")

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"


def test_committed_results_have_no_library_problems():
    """Every file listed in a manifest, every listed file present and matching its checksum, no absolute path
    in any file (Parquet string columns included)."""
    assert library.problems(RESULTS) == []


def test_committed_index_is_up_to_date():
    assert (RESULTS / library.INDEX).read_text() == index_markdown(RESULTS), "run `zcbench results index`"


@pytest.mark.parametrize("entry", [e for kind in ("sweeps", "samples") for e in library.entries(RESULTS, kind)],
                         ids=lambda e: e.name)
def test_each_committed_table_is_planned_by_its_config(entry, request):
    config = load_config(REPO / entry.manifest["config"])
    try:
        plan = make_plan(config, request.config.getoption("--data-dir") or os.environ.get("ZCBENCH_DATA"))
    except DataNotFoundError as missing:  # e.g. the same-#Param group file of a groups sweep
        pytest.skip(f"{DATA_MISSING}: {missing}")
    assert plan.fingerprint == entry.manifest["fingerprint"]
    assert plan.n_rows == entry.manifest["planned_rows"]
    assert {(s["proxy"], s["settings_hash"]) for s in entry.manifest["settings"]} == \
        {(p.name, p.settings_hash) for p in plan.proxies}


def tiny_config(tmp_path):
    return parse_config({
        "name": "tiny", "space": "nb201", "datasets": ["cifar10"], "seeds": [0], "archs_per_shard": 2,
        "archs": {"select": "sample", "n": 4, "seed": 0}, "data": {"source": "synthetic", "n": 16, "size": 8},
        "proxies": [{"name": "params"}, {"name": "params", "overrides": {"unit": "count"}}],
        "execution": {"threads": 1}}, "tiny.toml", tmp_path)


@pytest.fixture
def merged_library(tmp_path):
    """A results library holding one merged tiny sweep (shards still on disk)."""
    config, out = tiny_config(tmp_path), tmp_path / "results" / "sweeps" / "tiny"
    run_sweep(config, out=out, executor="serial")
    merge_sweep(config, out=out, config_path="tiny.toml")
    return config, out


def test_merge_writes_the_manifest_readers_go_through(merged_library):
    config, out = merged_library
    entry = library.read_manifest(out)
    manifest = entry.manifest
    assert (manifest["kind"], manifest["name"], manifest["complete"], manifest["rows"]) == ("sweeps", "tiny", True, 8)
    assert manifest["tables"]["merged.parquet"]["rows"] == 8 and manifest["seeds"] == [0]
    assert [s["overrides"] for s in manifest["settings"]] in ([{}, {"unit": "count"}], [{"unit": "count"}, {}])
    assert {"merged.json", "sweep.json", "run.log"} <= set(manifest["files"])
    assert set(load_results(out.parents[1])["sweep"]) == {"tiny"}


def test_shards_are_strays_until_removed_and_a_merged_sweep_is_not_rerun(merged_library):
    config, out = merged_library
    root = out.parents[1]
    assert any("shards/shard-00000.parquet: listed in no manifest" in p for p in library.problems(root))
    shutil.rmtree(out / "shards")  # run.lock stays: git-ignored, not a stray
    assert library.problems(root) == []
    with pytest.raises(SweepStateError, match="already holds the merged table"):
        run_sweep(config, out=out, executor="serial")


def test_a_changed_table_is_refused_and_a_stray_file_listed(merged_library):
    _, out = merged_library
    (out.parent / "stray").mkdir()  # a folder without a manifest: its files are strays
    (out.parent / "stray" / "x.csv").write_text("a\n1\n")
    assert any("x.csv: listed in no manifest" in p for p in library.problems(out.parents[1]))
    frame = pd.read_parquet(out / "merged.parquet")
    frame.assign(score=frame["score"] + 1).to_parquet(out / "merged.parquet")
    with pytest.raises(CorruptDataError, match="sha256"):
        load_results(out.parents[1])


def test_an_absolute_path_in_a_parquet_string_column_is_reported(merged_library):
    _, out = merged_library
    frame = pd.read_parquet(out / "merged.parquet")
    frame.assign(data_source="folder:/home/someone/images").to_parquet(out / "merged.parquet")
    library.write_manifest(out, "sweeps", what="tiny", tables={"merged.parquet": len(frame)})
    assert any("absolute path" in p and "/home/" in p for p in library.problems(out.parents[1]))


def test_search_manifest_lists_records_not_an_unfinished_search_state(tmp_path):
    folder = tmp_path / "searches" / "tenas_prune"
    record = {"dataset": "cifar10", "setting": "code", "criterion": "rank_sum", "settings_hash": "h", "seed": 1,
              "arch": 5, "arch_str": "a", "seconds": 1.0, "images": "images/x", "nonfinite_ntk_changes": 0,
              "git_commit": "c", "torch_version": "t", "package_version": "p", "host": "h"}
    (folder / "cifar10" / "code-rank_sum-h").mkdir(parents=True)
    (folder / "cifar10" / "code-rank_sum-h" / "seed-1.json").write_text(json.dumps(record))
    (folder / "cifar10" / "code-rank_sum-h" / "seed-2.rounds.json").write_text("{}")
    manifest = write_search_manifest(folder)
    assert list(manifest["tables"]) == ["cifar10/code-rank_sum-h/seed-1.json"]
    assert manifest["seeds"] == [1] and manifest["inputs"] == {"cifar10": {"source": "images/x"}}
    assert load_pruning_runs(tmp_path)["arch"].tolist() == [5]


def test_results_index_command_writes_and_checks(merged_library, capsys):
    from zcbench.cli import main

    _, out = merged_library
    root = out.parents[1]
    shutil.rmtree(out / "shards")
    assert main(["results", "index", "--check", "--results", str(root)]) == 2  # no INDEX.md yet
    assert "out of date" in capsys.readouterr().err
    assert main(["results", "index", "--results", str(root)]) == 0
    assert main(["results", "index", "--check", "--results", str(root)]) == 0
    assert "`tiny`" in (root / library.INDEX).read_text()
