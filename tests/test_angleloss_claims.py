"""R19's AngleLoss pruning entries read stored `search prune --criterion angleloss[_params]` runs (the
angleloss_prune folder), never κ/R runs, and are tested against the paper's runs (Welch)."""
from __future__ import annotations

import json

import pytest
from test_reproduce import write_fake_data_dir

from zcbench.benchmarks import library, pruning
from zcbench.proxies.registry import settings_hash
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.claims import all_claims
from zcbench.reports.ledger.run import evaluate
from zcbench.spaces import nb201


def write_runs(results, criterion: str, cells: list[int], settings=None):
    settings = settings or pruning.angleloss_settings(pruning.CODE, criterion)
    folder = results / "searches" / "angleloss_prune"
    for seed, arch in enumerate(cells, start=1):
        path = folder / pruning.run_name("cifar10", "code", settings, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "dataset": "cifar10", "setting": "code", "criterion": criterion, "seed": seed,
            "settings_hash": settings_hash(settings), "arch": arch, "arch_str": str(nb201.index_to_arch(arch)),
            "seconds": 1.0, "images": "fake test images", "nonfinite_ntk_changes": 0, "git_commit": "abc",
            "torch_version": "t", "package_version": "p", "host": "h", "failed_candidates": 0, "rounds": []}))
    records = {str(p.relative_to(folder)): 1 for p in sorted(folder.rglob("seed-*.json"))}
    library.write_manifest(folder, "searches", what="fake angleloss searches", tables=records)


@pytest.fixture
def inputs(tmp_path):
    truth = write_fake_data_dir(tmp_path / "data")
    (tmp_path / "data" / "images" / "cifar10-test-jpg").mkdir(parents=True)  # images present either way
    best = truth.sort_values("cifar10_test_v1_1").index[-5:].tolist()
    write_runs(tmp_path / "results", "angleloss", best)
    other = pruning.angleloss_settings(pruning.CODE, "angleloss_params", train_iterations=7)
    write_runs(tmp_path / "results", "angleloss_params", [0], other)  # other settings: must not be read
    return ins.load_inputs(tmp_path / "data", tmp_path / "results", quick=True), truth, best


def claim(cid):
    return next(c for c in all_claims() if c.id == cid)


def test_angleloss_entry_reads_its_own_runs(inputs):
    loaded, truth, best = inputs
    entry, _, _ = evaluate(claim("R19/angleloss/cifar10"), loaded)
    assert entry["seeds"] == [1, 2, 3, 4, 5] and entry["verdict"] in ("reproduced", "deviates")
    assert entry["our_value"]["mean"] == pytest.approx(truth.loc[best, "cifar10_test_v1_1"].mean())
    assert entry["spec"]["settings_hash"] == settings_hash(pruning.angleloss_settings(pruning.CODE, "angleloss"))


def test_runs_with_other_training_settings_are_not_mixed_in(inputs):
    loaded, _, _ = inputs
    entry, _, _ = evaluate(claim("R19/angleloss_params/cifar10"), loaded)
    assert entry["verdict"] == "needs-results" and "--criterion angleloss_params" in entry["enable"]
    assert "angleloss_prune" in entry["enable"]
