"""The NB101 sample Kendall table (`scripts/nb101_sample_tau.py`) as a report input.

`sample_tau_table` computes it from per-row proxy scores; a results directory may hold
`nb101_sample500/tau.csv` (one row per unit × metric: τ-b with the sample's
single-run validation accuracy and with #Param) and its `tau.json` sidecar (settings, sample
composition, provenance). They are the only NB101 proxy results the ledger reads: Revisit's NB101 τ
(Tab. 2, 10,000 cells) is compared with them as an indicative value, never as a reproduction.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from zcbench.reports import stats
from zcbench.spaces.errors import CorruptDataError

NB101_SAMPLE_DIR = "nb101_sample500"
TAU_COLUMNS = ("unit", "metric", "proxy", "n_cells_scored", "n", "kendall_tau_b", "p_value", "kendall_tau_b_params",
               "excluded_statuses")
HOW_TO_COMPUTE = ("run `python scripts/nb101_sample_tau.py --cells-csv <data>/nb101/nb101_sample500.csv --images "
                  "<CIFAR-10 image folder>` (resumable; writes results/nb101_sample500/)")


@dataclass(frozen=True)
class NB101SampleTaus:
    table: pd.DataFrame  # TAU_COLUMNS
    meta: dict  # the tau.json sidecar
    folder: Path

    def row(self, unit: str, metric: str) -> pd.Series | None:
        match = self.table[(self.table["unit"] == unit) & (self.table["metric"] == metric)]
        return match.iloc[0] if len(match) else None


def load_nb101_sample_taus(results_dir) -> NB101SampleTaus | None:
    """The stored table, or None when the folder has no tau.csv; a malformed table raises CorruptDataError."""
    folder = Path(results_dir) / NB101_SAMPLE_DIR
    if not (folder / "tau.csv").exists():
        return None
    try:
        table = pd.read_csv(folder / "tau.csv")
        meta = json.loads((folder / "tau.json").read_text())
    except (OSError, ValueError) as exc:
        raise CorruptDataError(f"{folder}: unreadable NB101 sample table ({type(exc).__name__}: {exc})") from exc
    missing = set(TAU_COLUMNS) - set(table.columns)
    if missing:
        raise CorruptDataError(f"{folder / 'tau.csv'}: missing column(s) {sorted(missing)} (written by an older "
                               f"scripts/nb101_sample_tau.py? re-run it: cached scores are reused)")
    return NB101SampleTaus(table, meta, folder)


def _taus(values: pd.Series, accuracy: pd.Series, params: pd.Series) -> dict:
    """τ-b of the (oriented) values with accuracy and with #Param, on the values' index."""
    accuracy, params = accuracy.reindex(values.index).to_numpy(float), params.reindex(values.index).to_numpy(float)
    tau, p = kendalltau(values, accuracy, variant="b") if len(values) > 1 else (math.nan, math.nan)
    sized, size, _ = stats.paired_finite(values, params)
    tau_params = stats.kendall(sized, size) if len(sized) > 1 else math.nan
    return {"n": len(values), "kendall_tau_b": float(tau), "p_value": float(p),
            "kendall_tau_b_params": float(tau_params)}


def sample_tau_table(scores: pd.DataFrame, cells: pd.DataFrame, metrics: dict, accuracy_note: str) -> pd.DataFrame:
    """Per metric, τ-b(sign·score, val_accuracy) and τ-b(sign·score, #Param) over rows with an ok, finite score.

    `scores`: cell, module_hash, proxy, value, status (the 'params' proxy gives #Param); `cells`: val_accuracy
    and module_hash indexed by cell; `metrics`: label → (proxy, sign making higher = predicted better).
    Two units: the sample's rows as given, and its distinct modules — rows with one module hash are the same
    network up to vertex order, so their scores (which differ only by the init's vertex order) and their
    accuracies are averaged. Rows whose score failed are counted per status, never dropped silently.
    """
    scored = scores.assign(value=scores["value"].astype(float))
    scored = scored[(scored["status"] == "ok") & np.isfinite(scored["value"])]
    accuracies = {"row": cells["val_accuracy"], "module": cells.groupby("module_hash")["val_accuracy"].mean()}
    rows = []
    for unit, key in (("row", "cell"), ("module", "module_hash")):
        means = {proxy: group.groupby(key)["value"].mean() for proxy, group in scored.groupby("proxy")}
        params = means.get("params", pd.Series(dtype=float))
        for metric, (proxy, sign) in metrics.items():
            mine = scores[scores["proxy"] == proxy]
            excluded = mine["status"][~mine["cell"].isin(scored.loc[scored["proxy"] == proxy, "cell"])]
            rows.append({"unit": unit, "metric": metric, "proxy": proxy, "sign": sign, "n_cells_scored": len(mine),
                         **_taus(sign * means.get(proxy, pd.Series(dtype=float)), accuracies[unit], params),
                         "excluded_statuses": json.dumps(excluded.value_counts().to_dict()),
                         "accuracy": accuracy_note + ("; mean per module" if unit == "module" else "")})
    return pd.DataFrame(rows)
