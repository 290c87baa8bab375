"""The NB101 sample Kendall table as a report input: τ-b per row and per distinct module of a sample.

The sample is `nb101/nb101_sample500.csv` in the data directory (adjacency, operations, single-run
validation accuracy of 500 rows, 292 distinct modules); its proxy scores are the library entry
`results/samples/nb101_sample500/` (sweep schema, one row per module, proxy, settings; config
configs/samples/nb101_sample500.toml). `nb101_sample_taus` computes the table from those rows and the
cells; `load_nb101_sample_taus` reads both. They are the only NB101 proxy results the ledger reads:
Revisit's NB101 τ (Tab. 2, 10,000 cells) is compared with them as an indicative value, never as a
reproduction.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from zcbench.benchmarks import library
from zcbench.reports import stats
from zcbench.reports.results import read_table
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import CorruptDataError
from zcbench.spaces.nb101 import make_arch

NB101_SAMPLE_KIND, NB101_SAMPLE_NAME = "samples", "nb101_sample500"
CELLS_FILE = "nb101/nb101_sample500.csv"  # relative to the data directory
TAU_COLUMNS = ("unit", "metric", "proxy", "n_cells_scored", "n", "kendall_tau_b", "p_value", "kendall_tau_b_params",
               "excluded_statuses")
# metric → (proxy, sign making higher = predicted better)
METRICS = {"#Param": ("params", 1.0), "LR1": ("lr1", 1.0), "LR2 (naswot)": ("naswot", 1.0),
           "NTK (-kappa)": ("ntk", -1.0)}
ACCURACY_NOTE = "single-run 108-epoch validation accuracies on 500 cells (not the paper's setting)"
LR1_NOTE = ("ASSUMED thin NB101 network (one cell, one channel per vertex, NASWOT init): no source defines one "
            "(spaces/nb101_networks.py NB101ThinNetwork); a transfer of TE-NAS's recipe, not a reproduction")
CODE_NTK_BATCH = 72
HOW_TO_COMPUTE = ("run `zcbench sweep run configs/samples/nb101_sample500.toml --data-dir <data>` and "
                  "`zcbench sweep merge` with the same arguments (writes results/samples/nb101_sample500/)")


@dataclass(frozen=True)
class NB101SampleTaus:
    table: pd.DataFrame  # TAU_COLUMNS
    meta: dict  # sample composition, settings, provenance, notes
    folder: Path

    def row(self, unit: str, metric: str) -> pd.Series | None:
        match = self.table[(self.table["unit"] == unit) & (self.table["metric"] == metric)]
        return match.iloc[0] if len(match) else None


def read_cells(path) -> pd.DataFrame:
    """The sample's rows (index `cell`: the CSV row) with their pruned cell's module hash and vertex count."""
    cells = pd.read_csv(path, dtype={"adjacency": str})
    missing = {"adjacency", "operations", "val_accuracy"} - set(cells.columns)
    if missing:
        raise CorruptDataError(f"{path}: missing column(s) {sorted(missing)}; found {list(cells.columns)}")
    archs = [make_arch(a, o) for a, o in zip(cells["adjacency"], cells["operations"])]
    cells["module_hash"] = [arch.module_hash for arch in archs]
    cells["num_vertices"] = [len(arch.matrix) for arch in archs]  # after pruning
    cells.index.name = "cell"
    return cells


def load_nb101_sample_taus(results_dir, data_dir=None, name: str = NB101_SAMPLE_NAME) -> NB101SampleTaus | None:
    """The τ table of library sample `name` (None when results_dir holds none); the cells file is read from
    the data directory (DataNotFoundError when absent), a damaged table raises CorruptDataError."""
    entry = library.entry(results_dir, NB101_SAMPLE_KIND, name)
    if entry is None:
        return None
    results = pd.concat([read_table(path) for path in entry.tables()], ignore_index=True)
    cells = read_cells(find_data_file([CELLS_FILE], "NB101 sample cells", "the shared data's nb101/ folder",
                                      data_dir))
    table, meta = nb101_sample_taus(results, name, cells)
    provenance = {"results": f"{NB101_SAMPLE_KIND}/{name}", "git_commits": entry.manifest.get("git_commits", []),
                  "imported_from": (entry.manifest.get("imported_from") or {}).get("script")}
    return NB101SampleTaus(table, {**meta, "provenance": provenance}, entry.folder)


def nb101_sample_taus(results: pd.DataFrame, sample_name: str, cells: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """(τ table, meta) of the sample's rows in `results` (column `sweep` = sample_name; `arch` = module
    hash): every row of `cells` takes its module's score, then `sample_tau_table`."""
    rows = results[results["sweep"] == sample_name]
    if rows.empty:
        raise CorruptDataError(f"no rows of NB101 sample {sample_name!r} in the results")
    if (many := rows.groupby("proxy")["settings_hash"].nunique()).max() > 1:
        raise CorruptDataError(f"NB101 sample {sample_name!r}: several settings for {list(many[many > 1].index)}")
    scores = (cells[["module_hash"]].rename_axis("cell").reset_index()
              .merge(rows[["arch", "proxy", "value", "status"]], left_on="module_hash", right_on="arch")
              .drop(columns="arch"))
    settings = {proxy: {"setting": group["setting"].iloc[0], "hash": group["settings_hash"].iloc[0],
                        "fields": json.loads(group["settings_json"].iloc[0])} for proxy, group in rows.groupby("proxy")}
    meta = {"sample": sample_name, "accuracy": f"val_accuracy column of {CELLS_FILE}: {ACCURACY_NOTE}",
            "lr1": LR1_NOTE, "settings": settings,
            "sample_composition": {"rows": len(cells), "distinct_modules": int(cells["module_hash"].nunique()),
                                   "rows_of_the_most_common_module": int(cells["module_hash"].value_counts().iloc[0]),
                                   "pruned_vertex_counts": {int(k): int(v) for k, v in cells["num_vertices"]
                                                            .value_counts().sort_index().items()}},
            "versions": {"torch": sorted(rows["torch_version"].unique().tolist())},
            "device": sorted(rows["device"].unique().tolist())}
    if "ntk" in settings:
        batch = settings["ntk"]["fields"]["batch_size"]
        meta["ntk_batch_note"] = (f"NTK batch {batch} = the code setting" if batch == CODE_NTK_BATCH else
                                  f"NTK batch {batch}, not the code setting's {CODE_NTK_BATCH}")
    return sample_tau_table(scores, cells, METRICS, ACCURACY_NOTE), meta


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
    network up to vertex order, so their scores and their accuracies are averaged. Rows whose score failed
    are counted per status, never dropped silently.
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
