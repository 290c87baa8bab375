"""Proxy-vs-accuracy agreement tables over a stated architecture set.

One row per proxy: Kendall τ-b, Spearman, Pearson, partial τ controlling for #Param, the
size-weighted mean τ within same-#Param classes, precision@10% and τ within the true top 10%,
and the best true rank among the proxy's 10 best archs. Scores are oriented so that higher is
better (κ and losses negated) — positive values mean agreement.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from zcbench.reports import stats
from zcbench.reports.groups import ArchSet
from zcbench.reports.tables import ReportTable

TOP_FRACTION = 0.1
BEST_RANK_K = 10


def agreement(score: pd.Series, truth: pd.Series, params: pd.Series) -> dict:
    """All agreement measures of one oriented score on the archs where score and truth are finite."""
    joined = pd.concat([score.rename("s"), truth.rename("t"), params.rename("p")], axis=1, join="inner")
    finite = np.isfinite(joined[["s", "t"]].to_numpy(dtype=np.float64)).all(axis=1)
    rows = joined[finite]
    s, t, p = (rows[c].to_numpy(dtype=np.float64) for c in ("s", "t", "p"))
    k = max(2, round(TOP_FRACTION * len(rows)))
    per_class = stats.grouped_correlation(s, t, p, "kendall")
    return {
        "archs": len(rows), "excluded": int((~finite).sum()),
        "kendall": stats.kendall(s, t), "spearman": stats.spearman(s, t), "pearson": stats.pearson(s, t),
        "kendall_partial_params": stats.partial_correlation(s, t, p, "kendall"),
        "kendall_within_param_classes": stats.weighted_mean(per_class["value"], per_class["n"]),
        f"precision@{TOP_FRACTION:.0%}": stats.precision_at_k(s, t, k),
        f"kendall_top{TOP_FRACTION:.0%}": stats.kendall_top_k(s, t, k, by="truth"),
        f"best_rank@{BEST_RANK_K}": stats.best_rank_at_k(s, t, min(BEST_RANK_K, len(rows))),
    }


def correlation_table(key: str, title: str, scores: dict[str, pd.Series], truth: pd.Series,
                      params: pd.Series, target: str, arch_set: ArchSet, failed: dict[str, int]) -> ReportTable:
    """Agreement of each oriented score with `truth`, restricted to `arch_set`.

    `failed` counts, per proxy, archs whose score failed upstream (no usable row); they add to the
    non-finite rows excluded here.
    """
    members = pd.Index(arch_set.indices)
    rows = []
    for name, score in scores.items():
        row = {"proxy": name, **agreement(score[score.index.isin(members)], truth, params)}
        row["excluded"] += failed.get(name, 0)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return ReportTable(key, title, frame.round(4), target,
                       f"{arch_set.describe()}; rows with a score per proxy in column `archs`",
                       int(frame["excluded"].sum()),
                       "scores oriented higher-is-better; partial τ controls for #Param; within-class τ is the "
                       "size-weighted mean over the same-#Param classes; best_rank = 1 is the best arch of the set; "
                       "a proxy marked (partial sweep) is read from the finished shards of an unfinished sweep: "
                       "consecutive indices, not a uniform sample of the space")
