"""Agreement tables: every measure equals its reference on the same rows; arch sets restrict rows."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from zcbench.reports import correlations, stats
from zcbench.reports.groups import ArchSet


def scored(n=300, seed=0):
    rng = np.random.default_rng(seed)
    params = pd.Series(rng.integers(0, 5, n).astype(float))
    truth = pd.Series(params + rng.normal(0, 1, n))
    score = pd.Series(truth + rng.normal(0, 1, n))
    score[[3, 17]] = [np.nan, -np.inf]
    return score, truth, params


def test_agreement_measures_equal_their_references_on_finite_rows():
    score, truth, params = scored()
    row = correlations.agreement(score, truth, params)
    keep = np.isfinite(score)
    s, t, p = score[keep].to_numpy(), truth[keep].to_numpy(), params[keep].to_numpy()
    assert row["archs"] == 298 and row["excluded"] == 2
    assert row["kendall"] == pytest.approx(sps.kendalltau(s, t).statistic)
    assert row["spearman"] == pytest.approx(sps.spearmanr(s, t).statistic)
    assert row["pearson"] == pytest.approx(sps.pearsonr(s, t).statistic)
    k = round(0.1 * 298)
    top_s = set(np.argsort(-s, kind="stable")[:k])
    top_t = set(np.argsort(-t, kind="stable")[:k])
    assert row["precision@10%"] == len(top_s & top_t) / k
    best10 = np.argsort(-s, kind="stable")[:10]
    assert row["best_rank@10"] == min(1 + int((t > t[i]).sum()) for i in best10)
    assert row["kendall_partial_params"] == pytest.approx(stats.partial_correlation(s, t, p, "kendall"))
    # controlling for the shared driver (params) lowers the agreement
    assert row["kendall_partial_params"] < row["kendall"]


def test_partial_correlation_of_a_function_of_the_control_is_nan_not_a_warning():
    z = np.arange(20.0)
    assert np.isnan(stats.partial_correlation(2 * z, np.sin(z), z, "kendall"))


def test_correlation_table_restricts_to_the_arch_set_and_counts_upstream_failures():
    score, truth, params = scored()
    subset = ArchSet("half", tuple(range(0, 300, 2)), "even rows")
    table = correlations.correlation_table("k", "t", {"proxy": score}, truth, params, "target text", subset,
                                           {"proxy": 5})
    row = table.frame.iloc[0]
    assert row["archs"] == 150 and row["excluded"] == 5
    even = score.index[score.index % 2 == 0]
    assert row["kendall"] == pytest.approx(round(sps.kendalltau(score[even], truth[even]).statistic, 4))
    assert table.arch_set.startswith("half (150 archs") and table.target == "target text" and table.excluded == 5
