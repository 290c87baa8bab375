"""TE-NAS whole-space analyses on precomputed κ (NTK condition number) and R (LR1) values.

* Fig. 4 / claim T3: operator composition of the top-10 % archs by min κ and by max R.
* Fig. 9 / claim T4: rank(κ) + rank(R) over complete archs vs accuracy (κ ascending, R descending,
  stable ranks from `proxies.combinations`; lower sum = better, hence a negative correlation; protocols §A7).
(Fig. 10 / claim T5, train vs test accuracy, is a plain correlation of two ground-truth columns.)
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from zcbench.proxies.combinations import combine
from zcbench.spaces import nb201


@functools.lru_cache(maxsize=1)
def _op_codes() -> np.ndarray:
    """(15,625, 6) op positions in nb201.OPS, one row per official index."""
    code = {op: k for k, op in enumerate(nb201.OPS)}
    return np.array([[code[op] for op in arch.ops] for arch in nb201.all_archs()], dtype=np.int64)


def op_composition(indices) -> pd.Series:
    """Share of each NB201 op among all edges of the given archs (sums to 1 over the 5 ops)."""
    codes = _op_codes()[np.asarray(list(indices), dtype=np.int64)]
    counts = np.bincount(codes.ravel(), minlength=len(nb201.OPS))
    return pd.Series(counts / counts.sum(), index=list(nb201.OPS))


def top_fraction(scores: pd.Series, fraction: float = 0.1, higher_is_better: bool = True) -> pd.Index:
    """Index labels of the best `fraction` of finite scores (ties by row order, stable)."""
    finite = scores[np.isfinite(scores.to_numpy(dtype=np.float64))]
    k = max(1, round(fraction * len(finite)))
    order = np.argsort(-finite.to_numpy() if higher_is_better else finite.to_numpy(), kind="stable")
    return finite.index[order[:k]]


def composition_table(kappa: pd.Series, lr: pd.Series, fraction: float = 0.1) -> pd.DataFrame:
    """Op shares (rows = ops) among all archs scored and among the top fraction by min κ / max R."""
    return pd.DataFrame({
        "all archs": op_composition(kappa.index.union(lr.index)),
        f"top {fraction:.0%} by min κ": op_composition(top_fraction(kappa, fraction, higher_is_better=False)),
        f"top {fraction:.0%} by max R": op_composition(top_fraction(lr, fraction, higher_is_better=True)),
    })


def composition_margins(table: pd.DataFrame) -> dict[str, float]:
    """The qualitative statements of TE-NAS Fig. 4 on a `composition_table`, each as a margin of op
    shares that is positive exactly when the statement holds."""
    base, by_kappa, by_lr = (table[c] for c in table.columns)
    return {
        "both selections are rich in conv3x3 (share above the space's)":
            float(min(by_kappa["nor_conv_3x3"], by_lr["nor_conv_3x3"]) - base["nor_conv_3x3"]),
        "R favours conv1x1 more than κ": float(by_lr["nor_conv_1x1"] - by_kappa["nor_conv_1x1"]),
        "κ favours skip_connect more than R": float(by_kappa["skip_connect"] - by_lr["skip_connect"]),
    }


def composition_checks(table: pd.DataFrame) -> dict[str, bool]:
    """Whether each Fig. 4 statement holds on a `composition_table`."""
    return {name: margin > 0 for name, margin in composition_margins(table).items()}


def composition_margin(kappa_and_lr: np.ndarray, archs: np.ndarray) -> float:
    """The smallest Fig. 4 margin (> 0: every statement holds) for columns (κ, R) over `archs`; archs
    may repeat (a bootstrap resample), each repeat counting once more."""
    index = pd.Index(np.asarray(archs, dtype=np.int64))
    table = composition_table(pd.Series(kappa_and_lr[:, 0], index=index), pd.Series(kappa_and_lr[:, 1], index=index))
    return min(composition_margins(table).values())


def rank_sum(kappa: pd.Series, lr: pd.Series) -> pd.Series:
    """The `tenas` combination, rank(κ ascending) + rank(R descending), over the archs where both
    are finite (stable 0-based ranks, `proxies.combinations`); lower is better."""
    both = pd.concat({"ntk": kappa, "lr1": lr}, axis=1).dropna()
    both = both[np.isfinite(both.to_numpy()).all(axis=1)]
    return combine(both, "tenas").rename("rank_sum")
