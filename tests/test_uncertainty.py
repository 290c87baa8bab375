"""reports.uncertainty and the vectorised search simulator against independent references: a
synthetic population with known seed noise (interval coverage), scipy's Welch test, and
`random_search`'s one-run-at-a-time picks."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from zcbench.proxies.combinations import get_combination
from zcbench.reports import stats, uncertainty
from zcbench.reports.search import (
    Score,
    draw_sample,
    pick_positions,
    protocol_positions,
    random_search,
    simulated_positions,
)


def population(rng, size=3000):
    """Latent quality z, accuracy = z + noise, a covariate w the proxy leans on with a seed-dependent weight."""
    z = rng.normal(size=size)
    return z, z + rng.normal(0, 0.8, size), rng.normal(size=size)


def proxy_draw(rng, z, w):
    """One proxy seed: a shared, seed-dependent lean on w (like LR1's shared weights) plus per-arch noise."""
    return z + rng.normal(0, 0.6) * w + rng.normal(0, 0.7, size=z.size)


def test_seed_interval_covers_a_new_whole_space_draw_at_the_nominal_rate():
    """k=3 seeds on a sample of 300 archs: the interval must contain a fresh seed's whole-population τ
    in about 95 % of trials (the population, seeds and samples are all redrawn per trial)."""
    rng = np.random.default_rng(2024)
    trials, hits = 120, 0
    for _ in range(trials):
        z, acc, w = population(rng)
        draws = [proxy_draw(rng, z, w) for _ in range(3)]
        sample = rng.choice(z.size, 300, replace=False)
        xs, ys = [d[sample] for d in draws], [acc[sample]] * 3
        per_seed = [stats.kendall(x, y) for x, y in zip(xs, ys)]
        arch_sd = uncertainty.bootstrap_sd_of_seed_mean(stats.kendall, xs, ys, reps=60, seed=int(rng.integers(1e9)))
        interval = uncertainty.seed_interval(per_seed, arch_sd)
        hits += interval.covers(stats.kendall(proxy_draw(rng, z, w), acc))
    assert 0.88 <= hits / trials <= 0.995, hits / trials


def test_seed_interval_without_seed_spread_is_the_arch_part_alone():
    one = uncertainty.seed_interval([0.4], arch_sd=0.01)
    assert one.seeds == 1 and np.isnan(one.seed_sd)
    assert one.high - one.low == pytest.approx(2 * sps.norm.ppf(0.975) * 0.01)
    many = uncertainty.seed_interval([0.40, 0.46, 0.42, 0.44, 0.41])
    half = sps.t.ppf(0.975, 4) * np.std([0.40, 0.46, 0.42, 0.44, 0.41], ddof=1) * np.sqrt(1.2)
    assert many.high - many.estimate == pytest.approx(half)
    with pytest.raises(ValueError):
        uncertainty.seed_interval([])


def test_welch_test_equals_scipy_on_raw_samples():
    rng = np.random.default_rng(0)
    ours, theirs = rng.normal(92.7, 0.2, 3), rng.normal(93.2, 0.3, 5)
    result = uncertainty.welch_test(ours, theirs.mean(), theirs.std(ddof=0), 5)
    reference = sps.ttest_ind(ours, theirs, equal_var=False)
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.rejects == (reference.pvalue < 0.05)
    for edge in (result.low, result.high):  # the accepted paper means end where the test starts to reject
        at_edge = uncertainty.welch_test(ours, edge, theirs.std(ddof=0), 5)
        assert at_edge.p_value == pytest.approx(0.05, abs=1e-9)
    assert (result.low <= theirs.mean() <= result.high) == (not result.rejects)


def test_band_and_power():
    means = np.linspace(90, 94, 1001)
    band = uncertainty.search_band(means, 5)
    assert band.low == pytest.approx(90.1) and band.high == pytest.approx(93.9)
    assert uncertainty.band_power(band, np.array([89.0, 91.0, 95.0, 92.0])) == 0.5
    assert uncertainty.run_means(np.arange(12.0), 5).tolist() == [2.0, 7.0]


def test_replication_band_of_counts_holds_observed_counts_and_covers_the_level():
    counts = np.random.default_rng(1).binomial(8, 0.7, 5000)
    band = uncertainty.replication_band(counts)
    assert band.low in set(counts) and band.high in set(counts)
    assert np.mean((counts >= band.low) & (counts <= band.high)) >= 0.95
    assert [band.low, band.high] == [sps.binom.ppf(0.025, 8, 0.7), sps.binom.ppf(0.975, 8, 0.7)]
    assert band.as_dict()["band"] == [band.low, band.high] and band.replications == 5000


@pytest.fixture(scope="module")
def score_table():
    rng = np.random.default_rng(3)
    n = 400
    table = pd.DataFrame({"accuracy": rng.normal(90, 2, n), "params": rng.integers(0, 6, n).astype(float),
                          "lr1": rng.normal(size=n), "naswot": np.round(rng.normal(size=n), 1),
                          "ntk": rng.lognormal(size=n)}, index=np.arange(1000, 1000 + n))
    table.loc[table.index[::37], "naswot"] = np.nan  # failed rows
    table.loc[table.index[5], "lr1"] = np.inf
    return table


@pytest.mark.parametrize("rule", [Score("lr1"), Score("naswot"), Score("ntk", higher_is_better=False),
                                  Score("params"), "lr1+params", "lr2+params", "ntk+params"])
def test_vectorised_picks_equal_random_search(score_table, rule):
    rule = get_combination(rule) if isinstance(rule, str) else rule
    candidates = list(score_table.index)
    seeds = range(1, 41)
    reference = random_search(score_table, "accuracy", rule, candidates, 50, seeds)
    positions = protocol_positions(len(candidates), 50, seeds)
    columns = {c: score_table[c].to_numpy(np.float64) for c in score_table.columns}
    picks = pick_positions(columns, rule, positions)
    assert np.asarray(candidates)[picks].tolist() == reference["arch"].tolist()


def test_protocol_positions_are_the_papers_draws():
    positions = protocol_positions(300, 10, [1, 2])
    assert positions[1].tolist() == draw_sample(list(range(300)), 10, 2).tolist()
    sims = simulated_positions(300, 10, 50, seed=0)
    assert sims.shape == (50, 10) and all(len(set(row)) == 10 for row in sims)
