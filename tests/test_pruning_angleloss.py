"""AngleLoss pruning (benchmarks.pruning, criteria `angleloss` / `angleloss_params`; protocols §B3): the rank
rules, the settings (κ/R hashes untouched), a tiny real search, that the choice follows angle and loss,
per-candidate failures, resume, and the CLI. Tiny: C=2, N=1 supernet, 8 px synthetic images, 2 × 2 training
images, 2 iterations, one torch thread."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from zcbench.benchmarks import pruning
from zcbench.benchmarks.pruning import (
    CODE,
    PAPER,
    AngleLossPruningSettings,
    PruningSettings,
    angleloss_scores,
    angleloss_settings,
    prune_search,
    run_record,
    run_searches,
    stable_ranks,
)
from zcbench.cli import main
from zcbench.proxies.registry import settings_hash
from zcbench.spaces.errors import SettingsError
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import OPS

TINY = dict(channels=2, train_iterations=2, train_classes=2, train_images_per_class=2)
# The rank-sum κ/R `code` search's hash before this criterion existed: stored runs are found by it.
CODE_HASH = "2310a1b8122d"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks on a shared 2-core machine: more threads only add spin-waiting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_data():
    return synthetic_imageset(48, 8, 10, seed=0)


def tiny(criterion: str = "angleloss", **changes) -> AngleLossPruningSettings:
    return angleloss_settings(CODE, criterion, **{**TINY, **changes})


def measured(rounds) -> list:
    """The rounds without the wall-clock fields (everything else must repeat exactly)."""
    return [[{k: v for k, v in r.items() if k != "train_seconds"} for r in rnd] for rnd in rounds]


# ------------------------------------------------------------------------------------------ rank rules

def test_stable_ranks_are_ordinal_with_ties_in_insertion_order():
    assert stable_ranks({"a": 0.5, "b": 0.1, "c": 0.5, "d": -1.0}) == {"d": 0, "b": 1, "a": 2, "c": 3}


def test_angleloss_scores_prune_the_best_trained_supernet_first():
    # removing (0,1) leaves the best supernet (largest cosine, lowest loss): it is pruned first
    angle = {(0, 1): 0.9, (0, 2): 0.5, (1, 1): 0.7, (1, 3): 0.7}
    loss = {(0, 1): 0.1, (0, 2): 0.3, (1, 1): 0.2, (1, 3): 0.9}
    score, order, ranks = angleloss_scores(angle, loss)
    # r_angle: (0,2)=0 (1,1)=1 (1,3)=2 (tie with (1,1): insertion order) (0,1)=3; r_loss (−loss): (1,3)=0 (0,2)=1
    # (1,1)=2 (0,1)=3 → sums 6, 1, 3, 2
    assert {c: r["angleloss"] for c, r in ranks.items()} == {(0, 1): 6, (0, 2): 1, (1, 1): 3, (1, 3): 2}
    assert score == {(0, 1): -6.0, (0, 2): -1.0, (1, 1): -3.0, (1, 3): -2.0}
    assert order == [(0, 1), (1, 1), (1, 3), (0, 2)]


def test_angleloss_params_re_ranks_the_sum_then_adds_the_params_rank():
    angle = {(0, 1): 0.9, (0, 2): 0.5, (1, 1): 0.7}
    loss = {(0, 1): 0.1, (0, 2): 0.3, (1, 1): 0.2}
    params = {(0, 1): 10.0, (0, 2): 30.0, (1, 1): 20.0}
    score, order, ranks = angleloss_scores(angle, loss, params)
    # AngleLoss sums 4, 0, 2 → re-ranked 2, 0, 1; params ranks 0, 2, 1 → 2, 2, 2: a tie, kept in insertion order
    assert {c: r["angleloss_params"] for c, r in ranks.items()} == {(0, 1): 2, (0, 2): 2, (1, 1): 2}
    assert order == [(0, 1), (0, 2), (1, 1)]
    assert angleloss_scores(angle, loss)[1] == [(0, 1), (1, 1), (0, 2)]  # without #Param the order differs


def test_unmeasured_candidates_rank_after_every_measured_one():
    angle = {(0, 1): math.nan, (0, 2): 0.5, (0, 3): 0.9}
    loss = {(0, 1): 0.0, (0, 2): math.inf, (0, 3): 0.4}
    score, order, ranks = angleloss_scores(angle, loss)
    assert order == [(0, 3), (0, 1), (0, 2)] and score[(0, 1)] == score[(0, 2)] == math.inf
    assert set(ranks) == {(0, 3)}


# -------------------------------------------------------------------------------------------- settings

def test_kappa_searches_keep_their_settings_hash():
    assert settings_hash(CODE) == CODE_HASH
    assert [f for f in AngleLossPruningSettings.__dataclass_fields__ if f not in PruningSettings.__dataclass_fields__]


def test_training_criteria_need_the_training_settings():
    with pytest.raises(SettingsError, match="angleloss_settings"):
        PruningSettings(criterion="angleloss")
    with pytest.raises(SettingsError, match="rank_sum"):
        AngleLossPruningSettings(criterion="rank_sum")
    with pytest.raises(SettingsError, match="train_iterations"):
        angleloss_settings(CODE, train_iterations=0)
    settings = angleloss_settings(PAPER, "angleloss_params")
    assert settings.criterion == "angleloss_params" and settings.repeats == 1 and settings.train_iterations == 100
    assert settings.ntk_batch == PAPER.ntk_batch  # the preset's other fields are kept (recorded, unused)
    assert settings_hash(angleloss_settings(CODE)) != settings_hash(angleloss_settings(CODE, train_iterations=50))


# ------------------------------------------------------------------------------------- a real tiny search

def test_tiny_angleloss_search_is_deterministic_single_path_and_recorded(tiny_data):
    torch.manual_seed(7)
    run = prune_search(tiny_data, settings=tiny(), seed=3)
    after = torch.rand(2)
    torch.manual_seed(7)
    assert torch.equal(torch.rand(2), after)  # the search forks the global torch RNG
    assert len(run.arch.ops) == 6 and "none" not in run.arch.ops
    assert [len(r) for r in run.rounds] == [24, 18, 12] and run.failed_candidates == 0
    for rnd in run.rounds:
        pruned = [r for r in rnd if r["pruned"]]
        assert len(pruned) == 6 and len({r["edge"] for r in pruned}) == 6  # one op per edge and round
        for r in rnd:
            assert r["status"] == "ok" and len(r["angle"]) == len(r["loss"]) == 1
            assert -1.0 <= r["angle"][0] <= 1.0 and r["loss"][0] > 0 and r["score"] == -r["angleloss"]
    again = prune_search(tiny_data, settings=tiny(), seed=3)
    assert again.arch == run.arch and measured(again.rounds) == measured(run.rounds)
    record = run_record(run, "tiny synthetic")
    assert record["criterion"] == "angleloss" and record["failed_candidates"] == 0
    assert record["settings"]["train_iterations"] == 2 and "synthetic" in record["train_images"]
    json.dumps(record)


def test_paired_candidates_share_the_origin_weights_and_augmentation(tiny_data, monkeypatch):
    """Every candidate of a round starts from the same weights and sees the same augmentation seeds."""
    seen = []

    def spy(network, data, settings, rng, device):
        seen.append((network.classifier.weight.detach().clone(), rng.integers(1 << 30)))
        return [1.0] * settings.iterations, 0.5

    monkeypatch.setattr(pruning, "train_network", spy)
    prune_search(tiny_data, settings=tiny(), seed=1)
    first_round = seen[:24]
    assert all(torch.equal(w, first_round[0][0]) and a == first_round[0][1] for w, a in first_round)
    assert not torch.equal(seen[24][0], first_round[0][0])  # the next round draws a new origin


# ---------------------------------------------------------------------- the choice follows angle and loss

def fake_training(kind: str, benefit: dict[str, float]):
    """A stand-in for the short training whose outcome is a known function of the supernet's ops: the more
    `benefit` the ops still on carry, the better the run — a larger cosine (the classifier is turned by less,
    measured by the real cosine code) for kind 'angle', a lower loss for kind 'loss'; the other is constant."""

    def train(network, data, settings, rng, device):
        mask = network.op_mask
        badness = 100.0 - sum(benefit[op] * float(mask[:, OPS.index(op)].sum()) for op in benefit)
        if kind == "angle":
            with torch.no_grad():
                w = network.classifier.weight
                turn = torch.ones_like(w) - w * (w * torch.ones_like(w)).sum() / (w * w).sum()
                w.add_(turn * badness / 10)
        return [2.0, 1.0 if kind == "angle" else badness], 0.5

    return train


@pytest.mark.parametrize("kind", ["angle", "loss"])
def test_search_follows_the_measured_angle_and_loss(monkeypatch, tiny_data, kind):
    convs_win = {"avg_pool_3x3": 1.0, "skip_connect": 2.0, "nor_conv_1x1": 3.0, "nor_conv_3x3": 4.0}
    monkeypatch.setattr(pruning, "train_network", fake_training(kind, convs_win))
    assert prune_search(tiny_data, settings=tiny(), seed=0).arch.ops == ("nor_conv_3x3",) * 6
    pools_win = {"avg_pool_3x3": 4.0, "skip_connect": 2.0, "nor_conv_1x1": 3.0, "nor_conv_3x3": 1.0}
    monkeypatch.setattr(pruning, "train_network", fake_training(kind, pools_win))
    assert prune_search(tiny_data, settings=tiny(), seed=0).arch.ops == ("avg_pool_3x3",) * 6


def test_angleloss_params_uses_the_parameter_count(monkeypatch, tiny_data):
    """With angle and loss the same for every candidate, AngleLoss+#Param keeps the largest ops: conv3x3."""
    monkeypatch.setattr(pruning, "train_network", lambda network, data, settings, rng, device: ([1.0, 1.0], 0.5))
    run = prune_search(tiny_data, settings=tiny("angleloss_params"), seed=0)
    assert run.arch.ops == ("nor_conv_3x3",) * 6
    assert all("params_rank" in r for rnd in run.rounds for r in rnd)


# ------------------------------------------------------------------------------------------- failures

def test_failed_candidates_are_recorded_counted_and_never_pruned_first(monkeypatch, tiny_data):
    real = pruning.train_network

    def flaky(network, data, settings, rng, device):
        mask = network.op_mask
        if not mask[0, OPS.index("skip_connect")]:  # the candidate without skip on edge 0
            raise RuntimeError("CUDA out of memory (simulated)")
        if not mask[1, OPS.index("avg_pool_3x3")]:  # the candidate without avg-pool on edge 1
            return [1.0, float("nan")], 0.5
        return real(network, data, settings, rng, device)

    monkeypatch.setattr(pruning, "train_network", flaky)
    run = prune_search(tiny_data, settings=tiny(), seed=2)
    first = {(r["edge"], r["op"]): r for r in run.rounds[0]}
    assert len(run.rounds[0]) == 24  # nothing dropped
    failed = first[("0->1", "skip_connect")]
    assert failed["status"] == "error:RuntimeError" and "simulated" in failed["error"] and not failed["pruned"]
    assert failed["score"] == math.inf and math.isnan(failed["angle_mean"])
    nonfinite = first[("0->2", "avg_pool_3x3")]
    assert nonfinite["status"] == "nonfinite" and not nonfinite["pruned"]
    assert run.failed_candidates >= 2
    assert run.rounds[0][-2:] == [r for r in run.rounds[0] if r["status"] != "ok"]  # ranked last
    assert len(run.arch.ops) == 6
    assert run_record(run, "tiny")["failed_candidates"] == run.failed_candidates


# ------------------------------------------------------------------------------------- resume and CLI

def test_interrupted_angleloss_search_resumes_to_the_same_result(monkeypatch, tmp_path, tiny_data):
    settings = tiny()
    whole = prune_search(tiny_data, settings=settings, seed=4)
    real, calls = pruning.prune_round, []

    def stop_in_round_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pruning, "prune_round", stop_in_round_two)
    with pytest.raises(KeyboardInterrupt):
        list(run_searches(tiny_data, tmp_path, seeds=[4], dataset="cifar10", setting="code", settings=settings,
                          images="tiny"))
    monkeypatch.setattr(pruning, "prune_round", real)
    (path, record, computed), = run_searches(tiny_data, tmp_path, seeds=[4], dataset="cifar10", setting="code",
                                             settings=settings, images="tiny")
    assert computed and record["arch"] == whole.arch.index
    assert measured(json.loads(json.dumps(whole.rounds))) == measured(record["rounds"])


def test_cli_exposes_the_criterion(capsys, tmp_path):
    assert main(["search", "prune", "--help"]) == 0
    assert "angleloss" in capsys.readouterr().out
    assert main(["search", "prune", "--criterion", "angleloss", "--set", "train_iterations=5",
                 "--show-settings"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["settings"]["criterion"] == "angleloss" and shown["settings"]["train_iterations"] == 5
    assert shown["settings_hash"] == settings_hash(angleloss_settings(CODE, train_iterations=5))
    assert main(["search", "prune", "--set", "criterion=angleloss_params", "--show-settings"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["criterion"] == "angleloss_params"
    assert main(["search", "prune", "--set", "train_iterations=5", "--show-settings"]) == 2  # κ search: no such field
    assert "train_iterations" in capsys.readouterr().err
    assert main(["search", "prune", "--criterion", "angleloss", "--set", "train_lr=-1", "--show-settings"]) == 2


def test_cli_runs_a_tiny_angleloss_search(capsys, tmp_path):
    args = ["search", "prune", "--criterion", "angleloss", "--images", "synthetic", "--seed", "0", "--quiet",
            "--out", str(tmp_path), "--set", "channels=1", "--set", "train_iterations=1", "--set", "train_classes=2",
            "--set", "train_images_per_class=1"]
    assert main(args) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["criterion"] == "angleloss" and line["computed"]
    record = json.loads(open(line["file"]).read())
    assert [len(r) for r in record["rounds"]] == [24, 18, 12] and record["failed_candidates"] == 0
    assert np.isfinite([r["angle_mean"] for rnd in record["rounds"] for r in rnd]).all()
