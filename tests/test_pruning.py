"""TE-NAS pruning search (benchmarks.pruning): ranking rules, the pruning loop, stored runs, the CLI."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from zcbench.benchmarks import pruning
from zcbench.benchmarks.pruning import (
    CODE,
    PAPER,
    choose_pruned,
    dense_ranks,
    prune_scores,
    prune_search,
    round_significant,
    run_name,
    run_searches,
)
from zcbench.cli import main
from zcbench.proxies.linear_regions import RegionCount
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import OPS
from zcbench.spaces.nb201_networks import supernet_mask

TINY = dict(ntk_batch=4, lr_batches=1, lr_batch_size=40, repeats=1)


@pytest.fixture(scope="module")
def tiny_data():
    return synthetic_imageset(48, 8, 10, seed=0)


def test_round_significant_matches_integer_rounding():
    """Reference: a 5-digit mantissa rounded to 3 digits in integer arithmetic (half-way cases excluded,
    where binary floats make any rounding rule ambiguous), for |values| ≥ 1e-3 where the 1e-8 guard
    cannot move a digit (below, see the next test)."""
    rng = np.random.default_rng(0)
    mantissas = rng.integers(10_000, 100_000, size=400)
    mantissas = mantissas[~np.isin(mantissas % 100, [49, 50, 51])]
    exponents = rng.integers(-2, 4, size=len(mantissas))
    signs = rng.choice([-1, 1], size=len(mantissas))
    for m, e, sign in zip(mantissas, exponents, signs):
        value = sign * int(m) * 10.0 ** (int(e) - 5)
        expected = sign * round(int(m) / 100) * 10.0 ** (int(e) - 3)
        assert round_significant(value, 3) == pytest.approx(expected, rel=1e-9)
    assert round_significant(0.0, 3) == 0.0 and math.isnan(round_significant(math.nan, 3))


def test_round_significant_keeps_the_authors_1e8_guard_on_tiny_values():
    # |x| + 1e-8 is what gets rounded: 3.4349e-6 becomes 3.4449e-6 → 3.44e-6, not 3.43e-6
    assert round_significant(-3.4349e-6, 3) == pytest.approx(-3.44e-6, rel=1e-12)


def test_dense_ranks_share_only_exactly_equal_values():
    # 0.1231 and 0.1234 sort as equal keys (0.123) but are different values → different ranks, in
    # insertion order; the two exact 0.5s share a rank; the NaN goes last.
    values = {"a": 0.1234, "b": 0.5, "c": 0.1231, "d": 0.5, "e": math.nan, "f": -0.2}
    assert dense_ranks(values, descending=True, digits=3) == {"b": 0, "d": 0, "a": 1, "c": 2, "f": 3, "e": 4}
    assert dense_ranks(values, descending=False, digits=3) == {"f": 0, "a": 1, "c": 2, "b": 3, "d": 3, "e": 4}


def test_rank_sum_prunes_lowest_sum_with_ties_in_kappa_order():
    ntk = {(0, 1): 0.3, (0, 2): 0.1, (1, 1): 0.2, (1, 3): 0.0}
    lr = {(0, 1): 0.5, (0, 2): 0.0, (1, 1): 0.1, (1, 3): 0.2}
    # κ ranks (descending): (0,1)=0 (1,1)=1 (0,2)=2 (1,3)=3; R ranks (ascending): (0,2)=0 (1,1)=1 (1,3)=2 (0,1)=3
    score, order = prune_scores(ntk, lr, "rank_sum", 3)
    assert score == {(0, 1): 3, (1, 1): 2, (0, 2): 2, (1, 3): 5}
    assert order == [(1, 1), (0, 2), (0, 1), (1, 3)]  # the 2-2 tie keeps the κ order
    assert prune_scores(ntk, lr, "ntk", 3)[1] == [(0, 1), (1, 1), (0, 2), (1, 3)]
    assert prune_scores(ntk, lr, "lr", 3)[1] == [(0, 2), (1, 1), (1, 3), (0, 1)]
    assert prune_scores(ntk, lr, "min_rank", 3)[0] == {(0, 1): 0, (1, 1): 1, (0, 2): 0, (1, 3): 2}
    assert prune_scores(ntk, lr, "max_rank", 3)[0] == {(0, 1): 3, (1, 1): 1, (0, 2): 2, (1, 3): 3}
    assert prune_scores(ntk, lr, "value_sum", 3)[0] == pytest.approx({(0, 1): 0.2, (1, 1): -0.1, (0, 2): -0.1,
                                                                       (1, 3): 0.2})


def test_choose_pruned_takes_first_per_edge_and_keeps_one_op():
    mask = supernet_mask()
    mask[2, 1:4] = False  # edge 2 has a single op left: never pruned
    order = [(1, 4), (0, 3), (1, 1), (2, 4), (0, 1)]
    assert choose_pruned(order, mask, 1) == [(1, 4), (0, 3)]
    assert choose_pruned(order, mask, 2) == [(1, 4), (0, 3), (1, 1), (0, 1)]


def test_search_follows_a_known_importance(monkeypatch, tiny_data):
    """With κ = a fixed function of the active ops (conv3x3 lowers κ the most) and a constant R, the
    rank-sum search must keep conv3x3 on every edge: an end-to-end check of the pruning loop that does
    not depend on real κ values."""
    benefit = {"avg_pool_3x3": 1.0, "skip_connect": 2.0, "nor_conv_1x1": 3.0, "nor_conv_3x3": 4.0}

    def fake_kappa(self, network, images):  # removing op o raises κ by benefit[o]
        mask = network.op_mask
        return 100.0 - sum(benefit[op] * float(mask[:, OPS.index(op)].sum()) for op in benefit), "ok"

    monkeypatch.setattr(pruning.SearchContext, "kappa", fake_kappa)
    monkeypatch.setattr(pruning, "count_linear_regions", lambda *a, **k: RegionCount(7, 40, 3))
    run = prune_search(tiny_data, settings=dataclasses.replace(CODE, **TINY), seed=0)
    assert run.arch.ops == ("nor_conv_3x3",) * 6
    assert [len(r) for r in run.rounds] == [24, 18, 12]


def test_tiny_search_is_single_path_deterministic_and_recorded(tiny_data):
    settings = dataclasses.replace(CODE, **TINY)
    torch.manual_seed(123)
    run = prune_search(tiny_data, settings=settings, seed=5)
    after_search = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after_search)  # the search forks the global torch RNG
    assert "none" not in run.arch.ops
    assert [len(r) for r in run.rounds] == [24, 18, 12]
    for rnd in run.rounds:
        pruned = [r for r in rnd if r["pruned"]]
        assert len(pruned) == 6 and len({r["edge"] for r in pruned}) == 6  # one op per edge per round
        assert [r["order"] for r in rnd] == list(range(len(rnd)))
    first = run.rounds[0][0]
    assert first["ntk_change"][0] == round((first["kappa_origin"][0] - first["kappa_pruned"][0])
                                           / first["kappa_origin"][0], 3)
    again = prune_search(tiny_data, settings=settings, seed=5)
    assert again.arch == run.arch and again.rounds == run.rounds


def test_paper_preset_reinitialises_and_uses_float64(tiny_data):
    run = prune_search(tiny_data, setting="paper", settings=dataclasses.replace(PAPER, **TINY), seed=2)
    assert run.settings.eig_dtype == "float64" and run.settings.reinit_per_repeat
    assert "none" not in run.arch.ops


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="criterion"):
        dataclasses.replace(CODE, criterion="best")
    with pytest.raises(ValueError, match="ntk_init"):
        dataclasses.replace(CODE, ntk_init="orthogonal")


def test_run_searches_resumes_and_separates_settings(tmp_path, tiny_data):
    settings = dataclasses.replace(CODE, **TINY)
    first = list(run_searches(tiny_data, tmp_path, seeds=[1], dataset="cifar10", setting="code",
                              settings=settings, images="tiny"))
    assert [computed for _, _, computed in first] == [True]
    again = list(run_searches(tiny_data, tmp_path, seeds=[1], dataset="cifar10", setting="code",
                              settings=settings, images="tiny"))
    assert [computed for _, _, computed in again] == [False] and again[0][1] == json.loads(first[0][0].read_text())
    assert run_name("cifar10", "code", settings, 1) != run_name("cifar10", "code", dataclasses.replace(
        settings, criterion="ntk"), 1) != run_name("cifar10", "code", dataclasses.replace(settings, ntk_batch=5), 1)
    record = first[0][1]
    for key in ("settings_hash", "git_commit", "torch_version", "package_version", "arch", "rounds", "images"):
        assert key in record


def test_cli_search_prune_writes_and_skips(tmp_path, capsys):
    args = ["search", "prune", "--images", "synthetic", "--seed", "1", "--out", str(tmp_path), "--quiet",
            "--set", "ntk_batch=2", "--set", "lr_batch_size=20", "--set", "lr_batches=1", "--set", "repeats=1"]
    assert main(args) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["computed"] and line["seed"] == 1 and "none" not in line["arch_str"]
    assert main(args) == 0
    assert not json.loads(capsys.readouterr().out.strip())["computed"]
    assert main(["search", "prune", "--images", "synthetic", "--set", "bogus=1", "--out", str(tmp_path)]) == 2
    assert "PruningSettings has no settings field(s) ['bogus']" in capsys.readouterr().err
    assert main(["search", "prune", "--setting", "paper", "--criterion", "ntk", "--show-settings"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["settings"]["ntk_batch"] == 32 and shown["settings"]["criterion"] == "ntk"
