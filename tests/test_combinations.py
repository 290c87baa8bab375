"""Rank combinations on hand-made score sets with ties, non-ok rows and nested re-ranking."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from zcbench.proxies.combinations import (
    Combination,
    Component,
    argbest,
    combination_names,
    combine,
    get_combination,
    select,
    stable_ranks,
)
from zcbench.spaces.errors import ZcbenchError


def ordinal(values) -> np.ndarray:
    """Independent reference: scipy's 'ordinal' ranks (ties in order of appearance), 0-based."""
    return rankdata(values, method="ordinal").astype(np.int64) - 1


def test_stable_ranks_break_ties_in_row_order():
    values = [3.0, 1.0, 3.0, 2.0, 1.0]
    assert stable_ranks(values).tolist() == [3, 0, 4, 2, 1]
    assert np.array_equal(stable_ranks(values), ordinal(values))


def test_angleloss_equals_the_authors_argsort_argsort_sum_without_ties():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"angle": rng.random(40), "loss": rng.random(40)})
    authors = (np.argsort(np.argsort(table.angle.to_numpy())) + np.argsort(np.argsort(-table.loss.to_numpy())))
    assert np.array_equal(combine(table, "angleloss").to_numpy(), authors)
    assert select(table, "angleloss") == int(np.argmax(authors))


def test_angleloss_ties_follow_row_order_and_argmax_takes_the_first_best():
    table = pd.DataFrame({"angle": [0.5, 0.5, 0.2, 0.9], "loss": [1.0, 1.0, 2.0, 3.0]})
    # angle ranks [1, 2, 0, 3]; −loss ranks [2, 3, 1, 0] → sums [3, 5, 1, 3]
    assert combine(table, "angleloss").tolist() == [3, 5, 1, 3]
    assert select(table, "angleloss") == 1  # the later of two identical rows ranks higher
    assert argbest(pd.Series([3, 5, 5, 1])) == 1  # equal sums: first index


def test_angleloss_params_is_two_level_not_a_flat_three_way_sum():
    table = pd.DataFrame({"angle": [0.1, 0.2, 0.3, 0.4], "loss": [1.0, 2.0, 4.0, 3.0],
                          "params": [4.0, 1.0, 2.0, 3.0]})
    ra, rl, rp = ordinal(table.angle), ordinal(-table.loss), ordinal(table.params)
    two_level = ordinal(ra + rl) + rp
    assert combine(table, "angleloss+params").tolist() == two_level.tolist() == [4, 2, 1, 5]
    assert select(table, "angleloss+params") == 3
    flat = ra + rl + rp
    assert int(np.argmax(flat)) == 0  # a flat sum would pick a different arch


def test_param_ties_are_ranked_in_row_order():
    table = pd.DataFrame({"naswot": [5.0, 5.0, 1.0], "params": [0.37, 0.37, 1.53]})
    # naswot ranks [1, 2, 0]; params ranks [0, 1, 2] → [1, 3, 2]
    assert combine(table, "lr2+params").tolist() == [1, 3, 2]


def test_tenas_rank_sum_is_lower_is_better_with_kappa_ascending_lr_descending():
    table = pd.DataFrame({"ntk": [10.0, 5.0, 5.0, 1.0], "lr1": [100.0, 200.0, 200.0, 50.0]})
    # κ ascending [3, 1, 2, 0]; LR descending [2, 0, 1, 3] → [5, 1, 3, 3]
    assert combine(table, "tenas").tolist() == [5, 1, 3, 3]
    assert not get_combination("tenas").higher_is_better
    assert select(table, "tenas") == 1


def test_ntk_params_ranks_low_kappa_high():
    table = pd.DataFrame({"ntk": [1.0, 10.0, 100.0], "params": [1.0, 2.0, 3.0]})
    assert combine(table, "ntk+params").tolist() == [2, 2, 2]
    assert select(table, "ntk+params") == 0


def test_angleloss_lr2_reranks_angleloss_then_adds_lr2():
    table = pd.DataFrame({"angle": [0.1, 0.2, 0.3], "loss": [3.0, 2.0, 1.0], "naswot": [3.0, 1.0, 2.0]})
    # AngleLoss sums [0, 2, 4] → re-ranked [0, 1, 2]; LR2 ranks [2, 0, 1]
    assert combine(table, "angleloss+lr2").tolist() == [2, 1, 3]


def test_non_ok_rows_rank_last_in_their_component_only():
    table = pd.DataFrame({"angle": [0.0, 0.5, 0.2, 0.7], "angle_status": ["trivial", "ok", "ok", "ok"],
                          "loss": [100.0, 1.0, 2.0, 3.0], "loss_status": ["trivial", "ok", "ok", "ok"]})
    # angle: trivial row takes rank 0, ok rows [0.5, 0.2, 0.7] → 1 + [1, 0, 2]; same for −loss
    assert combine(table, "angleloss").tolist() == [0, 2 + 3, 1 + 2, 3 + 1]


def test_non_ok_row_keeps_its_rank_in_other_components():
    table = pd.DataFrame({"angle": [np.nan, 0.5, 0.2], "loss": [0.1, 1.0, 2.0]})  # NaN = not ok
    # angle: row 0 worst (0), ok rows [0.5, 0.2] → [2, 1]; −loss ranks [2, 1, 0]
    assert combine(table, "angleloss").tolist() == [2, 3, 1]


def test_non_ok_rows_take_the_highest_ranks_when_lower_is_better():
    table = pd.DataFrame({"ntk": [np.inf, 2.0, 1.0], "ntk_status": ["inf", "ok", "ok"], "lr1": [9.0, 1.0, 2.0]})
    # κ: ok rows [2, 1] → [1, 0], the inf row last → 2; LR descending [0, 2, 1]
    assert combine(table, "tenas").tolist() == [2, 3, 1]
    assert select(table, "tenas") == 2


def test_exclude_policy_gives_nan_and_ranks_the_remaining_set():
    table = pd.DataFrame({"angle": [0.9, 0.5, 0.2, 0.7], "angle_status": ["trivial", "ok", "ok", "ok"],
                          "loss": [1.0, 1.0, 2.0, 3.0]})
    result = combine(table, "angleloss", non_ok="exclude")
    assert np.isnan(result[0])
    expected = ordinal([0.5, 0.2, 0.7]) + ordinal([-1.0, -2.0, -3.0])
    assert result[1:].tolist() == expected.tolist()
    assert select(table, "angleloss", non_ok="exclude") == 1


def test_infinite_values_without_status_are_ranked_as_values():
    table = pd.DataFrame({"naswot": [-np.inf, 1.0, 2.0], "params": [1.0, 1.0, 1.0]})
    assert combine(table, "lr2+params").tolist() == [0, 2, 4]


def test_result_keeps_the_table_index_and_is_named_after_the_combination():
    table = pd.DataFrame({"angle": [0.1, 0.2], "loss": [2.0, 1.0]}, index=[6111, 42])
    result = combine(table, "angleloss")
    assert list(result.index) == [6111, 42] and result.name == "angleloss"
    assert select(table, "angleloss") == 42


def test_custom_combination_objects_can_be_combined_directly():
    mine = Combination("mine", (Component("a", -1), Component("b", +1)), True, "rank(−a) + rank(b)")
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]})
    assert combine(table, mine).tolist() == [1, 1]
    assert mine.columns() == ["a", "b"]
    assert get_combination("angleloss+params").columns() == ["angle", "loss", "params"]


def test_errors_name_the_problem():
    with pytest.raises(ZcbenchError, match="no column 'loss'"):
        combine(pd.DataFrame({"angle": [1.0]}), "angleloss")
    with pytest.raises(ZcbenchError, match="Did you mean 'angleloss'"):
        get_combination("angle_loss")
    with pytest.raises(ZcbenchError, match="non_ok"):
        combine(pd.DataFrame({"angle": [1.0], "loss": [1.0]}), "angleloss", non_ok="drop")
    with pytest.raises(ZcbenchError, match="no non-NaN"):
        argbest([np.nan, np.nan])
    with pytest.raises(ValueError, match="sign"):
        Component("angle", 2)


def test_argbest_lower_is_better_and_ignores_nan():
    assert argbest([np.nan, 3.0, 1.0, 1.0], higher_is_better=False) == 2
    assert argbest([np.nan, 3.0, 3.0]) == 1


def test_registered_combinations():
    assert set(combination_names()) >= {"tenas", "angleloss", "angleloss+params", "lr1+params", "lr2+params",
                                        "ntk+params", "angleloss+lr2"}
    assert get_combination("lr1+params").assumption and not get_combination("angleloss+params").assumption
