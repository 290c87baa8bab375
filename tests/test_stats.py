"""zcbench.reports.stats against independent references: scipy and brute-force definitions, with ties."""
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from zcbench.reports import stats


def tied_pair(seed, n=60, levels=7):
    """Correlated integer-valued data with many ties in both variables (like #Param's 28 values)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, size=n).astype(float)
    y = np.round(x + rng.normal(0, 2.0, size=n))
    return x, y


def brute_kendall_tau_b(x, y):
    concordant = discordant = tied_x_only = tied_y_only = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            tied_x_only += 1
        elif dy == 0:
            tied_y_only += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    with np.errstate(invalid="ignore"):  # NaN when one side is constant, as scipy
        return (concordant - discordant) / np.sqrt((concordant + discordant + tied_x_only)
                                                   * (concordant + discordant + tied_y_only))


@pytest.mark.parametrize("seed", range(5))
def test_kendall_is_tau_b_with_ties(seed):
    x, y = tied_pair(seed)
    assert stats.kendall(x, y) == pytest.approx(brute_kendall_tau_b(x, y), abs=1e-12)
    # tau-a would differ under ties: make sure the data really has them
    assert len(np.unique(x)) < len(x) and len(np.unique(y)) < len(y)


@pytest.mark.parametrize("seed", range(5))
def test_spearman_and_pearson_match_scipy_with_ties(seed):
    x, y = tied_pair(seed)
    assert stats.spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert stats.pearson(x, y) == pytest.approx(sps.pearsonr(x, y).statistic, abs=1e-12)


def test_correlations_refuse_nonfinite_values_instead_of_dropping_them():
    with pytest.raises(ValueError, match="non-finite"):
        stats.kendall([1.0, 2.0, np.nan], [1.0, 2.0, 3.0])
    x, y, dropped = stats.paired_finite([1.0, np.inf, 3.0, 4.0], [1.0, 2.0, np.nan, 4.0])
    assert dropped == 2 and x.tolist() == [1.0, 4.0] and y.tolist() == [1.0, 4.0]


def test_aligned_finite_pairs_by_label_then_drops_nonfinite_pairs():
    x = pd.Series([1.0, 2.0, np.nan, 4.0], index=[10, 11, 12, 13])
    y = pd.Series([40.0, 20.0, 30.0, 99.0], index=[13, 11, 12, 14])  # other order, one label each side alone
    xs, ys, dropped = stats.aligned_finite(x, y)
    assert sorted(zip(xs.tolist(), ys.tolist())) == [(2.0, 20.0), (4.0, 40.0)] and dropped == 1


def brute_top_k(values, k, higher=True):
    order = sorted(range(len(values)), key=lambda i: ((-values[i] if higher else values[i]), i))
    return order[:k]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 5, 13])
def test_top_k_agreement_matches_brute_force_definitions(seed, k):
    score, truth = tied_pair(seed, n=40)
    mine, best = brute_top_k(score, k), brute_top_k(truth, k)
    assert stats.precision_at_k(score, truth, k) == len(set(mine) & set(best)) / k
    ranks = [1 + sum(t > truth[i] for t in truth) for i in range(len(truth))]
    assert stats.best_rank_at_k(score, truth, k) == min(ranks[i] for i in mine)
    if k > 2:
        sub = best
        expected = brute_kendall_tau_b(score[sub], truth[sub])
        got = stats.kendall_top_k(score, truth, k, by="truth")
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_top_k_ties_keep_row_order_and_lower_is_better_flips():
    assert stats.top_k([1, 3, 3, 2, 3], 2).tolist() == [1, 2]
    assert stats.top_k([1, 3, 3, 1, 3], 2, higher_is_better=False).tolist() == [0, 3]


def test_partial_pearson_equals_correlation_of_regression_residuals():
    rng = np.random.default_rng(3)
    z = rng.normal(size=200)
    x, y = z + rng.normal(size=200), 0.5 * z + rng.normal(size=200)
    design = np.column_stack([np.ones_like(z), z])
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert stats.partial_correlation(x, y, z, "pearson") == pytest.approx(sps.pearsonr(rx, ry).statistic, abs=1e-10)
    # x and y are related only through z: the partial correlation is near zero, the raw one is not
    assert abs(stats.partial_correlation(x, y, z, "kendall")) < 0.1 < stats.kendall(x, y)


def test_grouped_correlation_keeps_degenerate_groups_as_nan():
    x = [1, 2, 3, 4, 1, 1, 1, 5, 6]
    y = [1, 2, 4, 3, 9, 8, 7, 1, 2]
    g = ["a", "a", "a", "a", "b", "b", "b", "c", "c"]
    table = stats.grouped_correlation(x, y, g, "kendall", min_size=3)
    assert table.group.tolist() == ["a", "b", "c"] and table.n.tolist() == [4, 3, 2]
    assert table.value[0] == pytest.approx(sps.kendalltau([1, 2, 3, 4], [1, 2, 4, 3]).statistic)
    assert np.isnan(table.value[1]) and np.isnan(table.value[2])
    assert stats.weighted_mean(table.value, table.n) == pytest.approx(table.value[0])


def binomial_slack(p, reps):
    return 3 * np.sqrt(p * (1 - p) / reps)


def test_bootstrap_interval_covers_the_true_mean_at_the_nominal_rate():
    rng = np.random.default_rng(11)
    level, reps = 0.9, 300
    hits = 0
    for r in range(reps):
        sample = rng.normal(5.0, 2.0, size=40)
        ci = stats.bootstrap_ci(np.mean, sample, reps=300, level=level, seed=r)
        hits += ci.low <= 5.0 <= ci.high
    # percentile intervals run slightly narrow at n=40: allow 0.02 of bias plus binomial noise
    assert abs(hits / reps - level) <= binomial_slack(level, reps) + 0.02


def test_bootstrap_interval_covers_the_true_kendall_tau():
    rng = np.random.default_rng(12)
    rho, level, reps = 0.6, 0.9, 80
    true_tau = 2 / np.pi * np.arcsin(rho)  # Kendall's tau of a bivariate normal
    cov = [[1, rho], [rho, 1]]
    hits = 0
    for r in range(reps):
        x, y = rng.multivariate_normal([0, 0], cov, size=60).T
        ci = stats.bootstrap_ci(stats.kendall, x, y, reps=100, level=level, seed=r)
        hits += ci.low <= true_tau <= ci.high
    assert abs(hits / reps - level) <= binomial_slack(level, reps) + 0.03


def test_bootstrap_is_seeded():
    x, y = tied_pair(0)
    a = stats.bootstrap_ci(stats.spearman, x, y, reps=50, seed=4)
    b = stats.bootstrap_ci(stats.spearman, x, y, reps=50, seed=4)
    assert a == b and a.low < a.estimate < a.high
