"""The uncertainty behind every computed verdict: proxy seeds, arch sampling, and the tests' power.

Pure functions on arrays (the ledger wraps them). A paper reports ONE draw of its experiment: one
proxy seed (weights and input batch), usually over the whole space. So a correlation claim is
judged against a *prediction interval for one new draw*, built from our draws:

    half-width² = (t_{k−1} · s_seed · √(1 + 1/k))² + (z · sd_arch)²

* `s_seed`: the standard deviation (ddof=1) of the statistic across our k proxy seeds, all
  evaluated on the same archs; `t_{k−1}` the Student quantile (k ≥ 2; one seed has no seed part and
  the interval says so);
* `sd_arch`: the bootstrap standard deviation over archs of the seed-mean statistic (the same
  resampled archs for every seed), when the archs are a sample of the space the claim is about;
  0 for the whole space.

Search claims (a mean of R runs) are judged against the distribution of simulated R-run means
(`search_band`), with the power of that test against a proxy-free random pick (`band_power`);
mean-of-seeds claims with only a few seeds (pruning searches) by Welch's t-test against the
paper's mean, std and number of runs (`welch_test`), shown with the paper means the test accepts
(our mean ± t · the two-sided standard error: the verdict and the interval cannot disagree).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LEVEL = 0.95


@dataclass(frozen=True)
class SeedInterval:
    """A prediction interval for one new draw of a statistic (one proxy seed, the whole space)."""

    estimate: float  # mean over seeds
    low: float
    high: float
    per_seed: tuple[float, ...]
    seed_sd: float  # NaN with one seed
    arch_sd: float  # 0 when the archs are the whole space
    level: float = LEVEL

    @property
    def seeds(self) -> int:
        return len(self.per_seed)

    def covers(self, value: float, widen: float = 0.0) -> bool:
        return self.low - widen <= value <= self.high + widen

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "interval": [self.low, self.high], "level": self.level,
                "per_seed": list(self.per_seed), "seed_sd": self.seed_sd, "arch_sd": self.arch_sd,
                "seeds": self.seeds}


def seed_interval(per_seed: Sequence[float], arch_sd: float = 0.0, level: float = LEVEL) -> SeedInterval:
    """Combine seed spread and arch-sampling spread into a prediction interval (module docstring)."""
    values = np.asarray(per_seed, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"need at least one finite per-seed value, got {list(values)}")
    k = values.size
    z = sps.norm.ppf(0.5 + level / 2)
    seed_sd = float(values.std(ddof=1)) if k > 1 else math.nan
    seed_half = sps.t.ppf(0.5 + level / 2, k - 1) * seed_sd * math.sqrt(1 + 1 / k) if k > 1 else 0.0
    half = math.hypot(seed_half, z * arch_sd)
    mean = float(values.mean())
    return SeedInterval(mean, mean - half, mean + half, tuple(float(v) for v in values), seed_sd, float(arch_sd),
                        level)


def bootstrap_sd_of_seed_mean(statistic: Callable[[np.ndarray, np.ndarray], float], xs: Sequence[np.ndarray],
                              ys: Sequence[np.ndarray], reps: int = 1000, seed: int = 0) -> float:
    """Bootstrap sd over archs of mean_s statistic(xs[s], ys[s]); every seed's arrays are indexed by the
    same archs, resampled together (the same archs are scored under every seed)."""
    n = len(xs[0])
    if any(len(a) != n for a in (*xs, *ys)):
        raise ValueError("every seed must score the same archs")
    rng = np.random.default_rng(seed)
    draws = np.empty(reps)
    for r in range(reps):
        idx = rng.integers(0, n, n)
        draws[r] = np.mean([statistic(x[idx], y[idx]) for x, y in zip(xs, ys)])
    return float(draws.std(ddof=1))


# ------------------------------------------------------------------------------------ search claims

@dataclass(frozen=True)
class SearchBand:
    """The distribution of simulated R-run means: expectation and central `level` band."""

    expectation: float
    low: float
    high: float
    means: int  # how many simulated R-run means
    runs_per_mean: int
    level: float = LEVEL

    def as_dict(self) -> dict:
        return {"expectation": self.expectation, "band": [self.low, self.high], "level": self.level,
                "simulated_means": self.means, "runs_per_mean": self.runs_per_mean}


def run_means(accuracies: np.ndarray, runs_per_mean: int) -> np.ndarray:
    """Consecutive groups of `runs_per_mean` run accuracies → their means (a trailing remainder is dropped)."""
    acc = np.asarray(accuracies, dtype=np.float64)
    usable = acc.size - acc.size % runs_per_mean
    if usable == 0:
        raise ValueError(f"need at least {runs_per_mean} runs, got {acc.size}")
    return acc[:usable].reshape(-1, runs_per_mean).mean(axis=1)


def central_band(draws: np.ndarray, level: float = LEVEL, method: str = "linear") -> tuple[float, float, float, int]:
    """(mean, low, high, count) of the draws, low–high their central `level` quantile range."""
    draws = np.asarray(draws, dtype=np.float64)
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail], method=method)
    return float(draws.mean()), float(low), float(high), int(draws.size)


def search_band(means: np.ndarray, runs_per_mean: int, level: float = LEVEL) -> SearchBand:
    mean, low, high, count = central_band(means, level)
    return SearchBand(mean, low, high, count, runs_per_mean, level)


@dataclass(frozen=True)
class ReplicationBand:
    """The central `level` band of a statistic over simulated replications of a whole experiment
    (e.g. a count of groups): what one more run of the paper's experiment could show."""

    expectation: float
    low: float
    high: float
    replications: int
    level: float = LEVEL

    def as_dict(self) -> dict:
        return {"expectation": self.expectation, "band": [self.low, self.high], "level": self.level,
                "replications": self.replications}


def replication_band(draws: np.ndarray, level: float = LEVEL) -> ReplicationBand:
    """Band ends are observed values (inverted-CDF quantiles), so a band of counts holds counts and
    covers at least `level` of the draws."""
    return ReplicationBand(*central_band(draws, level, method="inverted_cdf"), level)


def band_power(band: SearchBand, alternative_means: np.ndarray, widen: float = 0.0) -> float:
    """Share of an alternative's R-run means that the band test rejects (falls outside the band ± widen)."""
    alt = np.asarray(alternative_means, dtype=np.float64)
    inside = (alt >= band.low - widen) & (alt <= band.high + widen)
    return float(1 - inside.mean())


@dataclass(frozen=True)
class WelchResult:
    """The test, and `low`–`high`: the paper means it would accept, given both sides' spreads and runs."""

    statistic: float
    dof: float
    p_value: float
    rejects: bool
    low: float
    high: float
    level: float = LEVEL

    def as_dict(self) -> dict:
        return {"t": self.statistic, "dof": self.dof, "p_value": self.p_value, "rejects_equal_means": self.rejects,
                "interval": [self.low, self.high], "level": self.level}


def welch_test(ours: Sequence[float], paper_mean: float, paper_std: float, paper_runs: int,
               level: float = LEVEL, paper_ddof: int = 0) -> WelchResult:
    """Welch's t-test of equal means between our runs and the paper's (mean, std, runs) summary.

    Papers print numpy's std (ddof=0); it is converted to the sample std before the test."""
    ours = np.asarray(ours, dtype=np.float64)
    if ours.size < 2 or paper_runs < 2:
        raise ValueError("Welch's test needs at least 2 runs on each side")
    paper_sd = paper_std * math.sqrt(paper_runs / (paper_runs - 1)) if paper_ddof == 0 else paper_std
    result = sps.ttest_ind_from_stats(float(ours.mean()), float(ours.std(ddof=1)), ours.size, paper_mean,
                                      paper_sd, paper_runs, equal_var=False)
    se2 = ours.var(ddof=1) / ours.size + paper_sd ** 2 / paper_runs
    dof = se2 ** 2 / ((ours.var(ddof=1) / ours.size) ** 2 / (ours.size - 1)
                      + (paper_sd ** 2 / paper_runs) ** 2 / (paper_runs - 1)) if se2 > 0 else math.inf
    p = float(result.pvalue) if np.isfinite(result.pvalue) else (0.0 if ours.mean() != paper_mean else 1.0)
    half = sps.t.ppf(0.5 + level / 2, dof) * math.sqrt(se2) if np.isfinite(dof) else 0.0
    mean = float(ours.mean())
    return WelchResult(float(result.statistic), float(dof), p, p < 1 - level, mean - half, mean + half, level)
