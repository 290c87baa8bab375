"""Rank statistics used by every report: correlations, top-K agreement, bootstrap intervals.

All functions take plain arrays and return numbers; they refuse non-finite input (a failed proxy
row must be excluded, and counted, by the caller — see `paired_finite`). Conventions:
* Kendall is τ-b (ties in either variable, e.g. #Param's 28 distinct values), computed by scipy.
* Spearman is the Pearson correlation of average ranks (ties share the mean rank).
* Top-K sets break ties by position: among equal values the earlier row wins (stable order).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps


def _finite(*arrays) -> tuple[np.ndarray, ...]:
    """Validate 1-D, equal-length, finite arrays of at least 2 rows; return them as float64."""
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in arrays)
    shapes = [a.shape for a in arrays]
    if any(a.ndim != 1 for a in arrays) or len(set(shapes)) != 1:
        raise ValueError(f"need 1-D arrays of equal length, got shapes {shapes}")
    if len(arrays[0]) < 2:
        raise ValueError(f"a correlation needs at least 2 rows, got {len(arrays[0])}")
    for i, a in enumerate(arrays):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"argument {i} has {int(np.sum(~np.isfinite(a)))} non-finite values; exclude "
                             f"failed rows first (reports.stats.paired_finite)")
    return arrays


def paired_finite(x, y) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop pairs where either value is NaN/±inf; returns (x, y, number dropped)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], int(np.sum(~keep))


def aligned_finite(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """`paired_finite` on the index labels both series have (an inner join): (x, y, pairs dropped)."""
    joined = pd.concat([x.rename("x"), y.rename("y")], axis=1, join="inner")
    return paired_finite(joined["x"], joined["y"])


def kendall(x, y) -> float:
    """Kendall τ-b (tie-corrected); NaN when one variable is constant."""
    x, y = _finite(x, y)
    return float(sps.kendalltau(x, y, variant="b").statistic)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis (works on a stack of bootstrap resamples)."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    denom = np.sqrt(np.sum(xc * xc, axis=-1) * np.sum(yc * yc, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(xc * yc, axis=-1) / denom


def pearson(x, y) -> float:
    x, y = _finite(x, y)
    return float(_pearson_rows(x, y))


def spearman(x, y) -> float:
    """Spearman ρ with average ranks for ties."""
    x, y = _finite(x, y)
    return float(_pearson_rows(sps.rankdata(x), sps.rankdata(y)))


CORRELATIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "kendall": kendall, "spearman": spearman, "pearson": pearson}


def correlation(x, y, method: str = "kendall") -> float:
    try:
        return CORRELATIONS[method](x, y)
    except KeyError:
        raise ValueError(f"unknown correlation {method!r}; choose from {sorted(CORRELATIONS)}") from None


def top_k(values, k: int, higher_is_better: bool = True) -> np.ndarray:
    """Positions of the k best values; equal values keep their row order (the earlier row wins)."""
    v = np.asarray(values, dtype=np.float64)
    if not 1 <= k <= len(v):
        raise ValueError(f"k must be in 1..{len(v)}, got {k}")
    order = np.argsort(-v if higher_is_better else v, kind="stable")
    return order[:k]


def precision_at_k(score, truth, k: int, score_higher_is_better: bool = True) -> float:
    """Fraction of the proxy's top-k that are also among the k best by ground truth."""
    score, truth = _finite(score, truth)
    mine = set(top_k(score, k, score_higher_is_better).tolist())
    best = set(top_k(truth, k).tolist())
    return len(mine & best) / k


def true_ranks(truth) -> np.ndarray:
    """1-based competition ranks by ground truth (1 = best; ties share the better rank)."""
    return sps.rankdata(-np.asarray(truth, dtype=np.float64), method="min").astype(np.int64)


def best_rank_at_k(score, truth, k: int, score_higher_is_better: bool = True) -> int:
    """The best ground-truth rank (1 = the best arch of the set) among the proxy's top-k."""
    score, truth = _finite(score, truth)
    return int(true_ranks(truth)[top_k(score, k, score_higher_is_better)].min())


def kendall_top_k(score, truth, k: int, by: str = "truth", score_higher_is_better: bool = True) -> float:
    """Kendall τ-b restricted to the k best rows, chosen by ground truth (`by='truth'`) or by the proxy."""
    score, truth = _finite(score, truth)
    if by == "truth":
        rows = top_k(truth, k)
    elif by == "score":
        rows = top_k(score, k, score_higher_is_better)
    else:
        raise ValueError(f"by must be 'truth' or 'score', got {by!r}")
    return kendall(score[rows], truth[rows])


def partial_correlation(x, y, z, method: str = "kendall") -> float:
    """Correlation of x and y controlling for z (e.g. #Param).

    Pearson: the first-order partial correlation; Spearman: the same on average ranks;
    Kendall: the partial τ of Kendall (1942), (τxy − τxz τyz) / √((1 − τxz²)(1 − τyz²)).
    """
    x, y, z = _finite(x, y, z)
    if method == "spearman":
        x, y, z = (sps.rankdata(v) for v in (x, y, z))
        method = "pearson"
    if method not in ("pearson", "kendall"):
        raise ValueError(f"unknown partial correlation {method!r}; choose kendall, spearman or pearson")
    rxy, rxz, ryz = (correlation(a, b, method) for a, b in ((x, y), (x, z), (y, z)))
    denominator = (1 - rxz ** 2) * (1 - ryz ** 2)
    if not denominator > 0:  # x or y is a monotone function of z (or constant): nothing is left
        return float("nan")
    return float((rxy - rxz * ryz) / np.sqrt(denominator))


def grouped_correlation(x, y, groups, method: str = "kendall", min_size: int = 3) -> pd.DataFrame:
    """Correlation within each group (e.g. same-#Param classes): columns group, n, value.

    Groups smaller than `min_size`, or constant in x or y, get value NaN (kept, not dropped).
    """
    frame = pd.DataFrame({"x": np.asarray(x, float), "y": np.asarray(y, float), "group": np.asarray(groups)})
    rows = []
    for group, part in frame.groupby("group", sort=True):
        value = float("nan")
        if len(part) >= min_size and part.x.nunique() > 1 and part.y.nunique() > 1:
            value = correlation(part.x.to_numpy(), part.y.to_numpy(), method)
        rows.append({"group": group, "n": len(part), "value": value})
    return pd.DataFrame(rows, columns=["group", "n", "value"])


def weighted_mean(values, weights) -> float:
    """Mean of the finite values weighted by `weights` (e.g. a size-weighted mean of per-group τ)."""
    v, w = np.asarray(values, float), np.asarray(weights, float)
    keep = np.isfinite(v)
    return float(np.sum(v[keep] * w[keep]) / np.sum(w[keep])) if keep.any() else float("nan")


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile-bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float
    reps: int


def bootstrap_ci(statistic: Callable[..., float], *arrays, reps: int = 1000, level: float = 0.95,
                 seed: int = 0) -> Interval:
    """Percentile bootstrap over rows: resample row indices with replacement `reps` times.

    `statistic(*resampled_arrays) -> float`; resamples where it is NaN (e.g. a constant resample)
    are left out of the quantiles.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"bootstrap arrays differ in length: {[len(a) for a in arrays]}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    estimate = float(statistic(*arrays))
    draws = np.empty(reps)
    for r in range(reps):
        idx = rng.integers(0, n, size=n)
        draws[r] = statistic(*(a[idx] for a in arrays))
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return Interval(estimate, float("nan"), float("nan"), level, reps)
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), level, reps)
