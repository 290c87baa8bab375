"""TE-NAS analyses: op composition of top-fraction selections and the κ/R rank sum."""
import numpy as np
import pandas as pd
import pytest

from zcbench.reports import tenas
from zcbench.spaces import nb201


def test_op_composition_counts_every_edge_of_the_selected_archs():
    zero = nb201.arch_to_index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    mixed = nb201.arch_to_index("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|")
    share = tenas.op_composition([zero, mixed])
    assert share["none"] == pytest.approx(8 / 12) and share["nor_conv_3x3"] == pytest.approx(2 / 12)
    assert share.sum() == pytest.approx(1.0)
    assert tenas.op_composition(range(nb201.NUM_ARCHS)).tolist() == pytest.approx([0.2] * 5)


def test_top_fraction_respects_direction_and_ignores_failed_scores():
    scores = pd.Series([5.0, np.nan, 1.0, 3.0, np.inf, 2.0, 4.0, 0.5, 6.0, 7.0, 8.0], index=range(100, 111))
    assert tenas.top_fraction(scores, 0.2).tolist() == [110, 109]
    assert tenas.top_fraction(scores, 0.2, higher_is_better=False).tolist() == [107, 102]


def scored_space(seed=0):
    """κ low and R high for conv-rich archs, with κ rewarding skip and R rewarding 1x1 (TE-NAS Fig. 4)."""
    rng = np.random.default_rng(seed)
    archs = nb201.all_archs()
    idx = pd.Index(range(0, nb201.NUM_ARCHS, 5))
    n3 = np.array([archs[i].n_conv3x3 for i in idx])
    n1 = np.array([archs[i].n_conv1x1 for i in idx])
    skip = np.array([archs[i].count("skip_connect") for i in idx])
    kappa = pd.Series(np.exp(3 - 0.5 * n3 - 0.4 * skip + rng.normal(0, 0.3, len(idx))), index=idx)
    lr = pd.Series(100 + 10 * n3 + 8 * n1 + rng.normal(0, 3, len(idx)), index=idx)
    return kappa, lr


def test_composition_checks_detect_the_tenas_pattern_and_its_absence():
    kappa, lr = scored_space()
    checks = tenas.composition_checks(tenas.composition_table(kappa, lr))
    assert all(checks.values()), checks
    swapped = tenas.composition_checks(tenas.composition_table(1 / lr, 1 / kappa))
    assert not swapped["R favours conv1x1 more than κ"]


def test_composition_margins_are_share_differences_and_the_smallest_decides():
    kappa, lr = scored_space()
    table = tenas.composition_table(kappa, lr)
    margins = tenas.composition_margins(table)
    top_k, top_r = tenas.top_fraction(kappa, higher_is_better=False), tenas.top_fraction(lr)
    one_by_one = [tenas.op_composition(top_r)["nor_conv_1x1"] - tenas.op_composition(top_k)["nor_conv_1x1"]]
    assert margins["R favours conv1x1 more than κ"] == pytest.approx(one_by_one[0])
    assert {k: m > 0 for k, m in margins.items()} == tenas.composition_checks(table)
    columns = np.column_stack([kappa.to_numpy(), lr.to_numpy()])
    assert tenas.composition_margin(columns, kappa.index.to_numpy()) == pytest.approx(min(margins.values()))
    twice = np.concatenate([np.arange(len(kappa))] * 2)  # every arch drawn twice: the same shares
    assert tenas.composition_margin(columns[twice], kappa.index.to_numpy()[twice]) == pytest.approx(
        min(margins.values()), abs=0.02)


def test_rank_sum_is_low_for_archs_good_on_both_and_skips_nonfinite():
    kappa = pd.Series([1.0, 5.0, 3.0, np.inf], index=[7, 8, 9, 10])
    lr = pd.Series([30.0, 10.0, 20.0, 40.0], index=[7, 8, 9, 10])
    out = tenas.rank_sum(kappa, lr)
    # stable 0-based ranks: κ ascending 0, 2, 1; R descending 0, 2, 1
    assert out.index.tolist() == [7, 8, 9] and out.tolist() == [0.0, 4.0, 2.0]
