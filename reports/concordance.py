"""Concordance of our proxy scores with a published score table (NAS-Bench-Suite-Zero, protocols §G.15).

`concordance(ours, published)` pairs each of our proxies with the published measure of the same
definition (`spaces.published_scores.CORRESPONDENCES`, or explicit `pairs`) and gives, per
(dataset, published measure, our proxy [, setting, seed]): the cells both tables have, the cells
with a finite `ok` value on both sides (`n`), Kendall τ-b and Spearman ρ over those, each with a
percentile-bootstrap interval over cells (`reports.stats.bootstrap_ci`, the same resampled cells for
both statistics). Nothing is dropped silently: a published measure with no zcbench proxy yet has a
row with status `not-implemented`; one whose proxy is registered but absent from our table,
`not-scored`; fewer than MIN_CELLS usable cells, `too-few-cells`; one of our proxies without a
published counterpart, `no-counterpart`.

τ against the published table measures agreement of two implementations, two weight draws and two
image batches — not a claim about accuracy. For definitions that depend on neither weights nor
data (#params) τ is 1 by construction; for stochastic ones it is bounded by the seed-to-seed τ of
each side (protocols §G.15).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from zcbench.reports import stats
from zcbench.spaces.published_scores import BY_PUBLISHED, PUBLISHED_NAME, TARGET, dataset_name

OK, NOT_IMPLEMENTED, NOT_SCORED, TOO_FEW, NO_COUNTERPART = (
    "ok", "not-implemented", "not-scored", "too-few-cells", "no-counterpart")
MIN_CELLS = 3
REPS = 1000
LEVEL = 0.95
GROUP_KEYS = ("setting", "seed")  # further keys of our table, when present (a merged sweep has both)
COLUMNS = ["dataset", "published", "proxy", "setting", "seed", "status", "cells_common", "n", "excluded_ours",
           "excluded_published", "kendall", "kendall_low", "kendall_high", "spearman", "spearman_low",
           "spearman_high", "level", "reps"]


def normalize_scores(ours: pd.DataFrame) -> pd.DataFrame:
    """Our score table as (dataset, index, proxy, value, status[, setting, seed]).

    Accepts the merged sweep schema (`arch` = NB201 index as text, `score`, `status`) or tidy
    (`index`, `value`); a missing status is derived from the value's finiteness."""
    if "dataset" not in ours.columns or "proxy" not in ours.columns:
        raise ValueError(f"a score table needs 'dataset' and 'proxy' columns; has {list(ours.columns)}")
    index_column = "index" if "index" in ours.columns else "arch"
    value_column = "value" if "value" in ours.columns else "score"
    if index_column not in ours.columns or value_column not in ours.columns:
        raise ValueError(f"a score table needs 'index' (or 'arch') and 'value' (or 'score'); has {list(ours.columns)}")
    out = pd.DataFrame({"dataset": ours["dataset"].map(dataset_name), "index": pd.to_numeric(ours[index_column]),
                        "proxy": ours["proxy"].astype(str),
                        "value": pd.to_numeric(ours[value_column], errors="coerce").astype(float)})
    finite = np.isfinite(out["value"].to_numpy())
    out["status"] = ours["status"].astype(str).to_numpy() if "status" in ours.columns else np.where(finite, OK, "nan")
    for key in GROUP_KEYS:
        if key in ours.columns:
            out[key] = ours[key].to_numpy()
    out["index"] = out["index"].astype("int64")
    return out


def _usable(values: pd.Series, status: pd.Series) -> np.ndarray:
    return (status.to_numpy() == OK) & np.isfinite(values.to_numpy(dtype=np.float64))


def pair_statistics(x, y, reps: int = REPS, level: float = LEVEL, seed: int = 0) -> dict:
    """τ-b and ρ of two finite arrays with bootstrap-over-cells intervals."""
    tau = stats.bootstrap_ci(stats.kendall, x, y, reps=reps, level=level, seed=seed)
    rho = stats.bootstrap_ci(stats.spearman, x, y, reps=reps, level=level, seed=seed)
    return {"kendall": tau.estimate, "kendall_low": tau.low, "kendall_high": tau.high,
            "spearman": rho.estimate, "spearman_low": rho.low, "spearman_high": rho.high}


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame, reps: int, level: float, seed: int) -> dict:
    joined = ours.merge(theirs, on="index", suffixes=("_ours", "_published"))
    if joined["index"].duplicated().any():
        raise ValueError(f"our table has several rows per cell for {ours['proxy'].iloc[0]!r} on "
                         f"{ours['dataset'].iloc[0]!r}: select one setting and seed first")
    ours_ok = _usable(joined["value_ours"], joined["status_ours"])
    published_ok = _usable(joined["value_published"], joined["status_published"])
    keep = ours_ok & published_ok
    row = {"cells_common": len(joined), "n": int(keep.sum()), "excluded_ours": int((~ours_ok).sum()),
           "excluded_published": int((~published_ok).sum())}
    if row["n"] < MIN_CELLS:
        return {**row, "status": TOO_FEW}
    x = joined.loc[keep, "value_ours"].to_numpy(dtype=np.float64)
    y = joined.loc[keep, "value_published"].to_numpy(dtype=np.float64)
    return {**row, "status": OK, **pair_statistics(x, y, reps, level, seed)}


def concordance(ours: pd.DataFrame, published: pd.DataFrame, *, pairs: Mapping[str, str] | None = None,
                implemented: Iterable[str] | None = None, datasets: Iterable[str] | None = None,
                reps: int = REPS, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Per (dataset, published measure, our proxy[, setting, seed]) agreement (module docstring).

    `pairs` (our proxy → published measure) replaces the name mapping and limits the report to those
    pairs; `implemented` (default: the proxy registry's names) decides `not-implemented` versus
    `not-scored`; `datasets` (default: those of our table, or all published ones when it is empty)."""
    ours = normalize_scores(ours)
    mapping = dict(pairs) if pairs is not None else dict(PUBLISHED_NAME)
    if implemented is None:
        from zcbench.proxies.registry import REGISTRY

        implemented = REGISTRY.names()
    implemented = set(implemented)
    wanted = [dataset_name(d) for d in datasets] if datasets is not None else (
        sorted(ours["dataset"].unique()) or sorted(published["dataset"].unique()))
    keys = ["dataset", "proxy", *[k for k in GROUP_KEYS if k in ours.columns]]
    rows = []
    for group, part in ours[ours["dataset"].isin(wanted)].groupby(keys, sort=True, dropna=False):
        labels = dict(zip(keys, group))
        name = mapping.get(labels["proxy"])
        if name is None:
            rows.append({**labels, "published": "", "status": NO_COUNTERPART})
            continue
        theirs = published[(published["dataset"] == labels["dataset"]) & (published["proxy"] == name)]
        rows.append({**labels, "published": name, "level": level, "reps": reps,
                     **_compare(part, theirs[["index", "value", "status"]], reps, level, seed)})
    if pairs is None:  # every published measure has a row per dataset, computed or not
        done = {(r["dataset"], r["published"]) for r in rows}
        for dataset in wanted:
            measures = sorted(set(published.loc[published["dataset"] == dataset, "proxy"]) - {TARGET})
            for name in measures:
                if (dataset, name) in done:
                    continue
                candidates = BY_PUBLISHED[name].ours if name in BY_PUBLISHED else ()
                registered = [c for c in candidates if c in implemented]
                rows.append({"dataset": dataset, "published": name, "proxy": registered[0] if registered else
                             (candidates[0] if candidates else ""),
                             "status": NOT_SCORED if registered else NOT_IMPLEMENTED})
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for column in ("cells_common", "n", "excluded_ours", "excluded_published"):
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame.sort_values(["dataset", "published", "proxy"], kind="stable").reset_index(drop=True)
