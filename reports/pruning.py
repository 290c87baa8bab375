"""Stored TE-NAS pruning searches (`zcbench search prune`) as a table, and their accuracy summary.

A results directory holds `searches/tenas_prune/<dataset>/<preset>-<criterion>-<settings hash>/seed-<s>.json`,
one search each, listed (with checksums) in the folder's `manifest.json`. `load_pruning_runs` reads the
listed records into one row per search; `summarize_runs` adds the
benchmark accuracy of each cell found and the mean (std, ddof=0, as the papers' "mean (std)") over seeds.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from zcbench.benchmarks import library
from zcbench.spaces.errors import CorruptDataError

PRUNING_KIND, PRUNING_NAME = "searches", "tenas_prune"
ANGLELOSS_NAME = "angleloss_prune"  # searches with the short-training criteria (protocols §B3)
ANGLELOSS_DIR = f"{PRUNING_KIND}/{ANGLELOSS_NAME}"
PRUNING_DIR = f"{PRUNING_KIND}/{PRUNING_NAME}"
RUN_COLUMNS = ("dataset", "setting", "criterion", "settings_hash", "seed", "arch", "arch_str", "seconds", "images",
               "nonfinite_ntk_changes", "git_commit", "torch_version", "package_version", "host")


def load_pruning_runs(results_dir) -> pd.DataFrame:
    """One row per search listed in the manifests of `results_dir/searches/tenas_prune` and
    `…/angleloss_prune` (empty table when there is none); a record whose checksum differs from the
    manifest's raises CorruptDataError."""
    rows = []
    entries = [library.entry(results_dir, PRUNING_KIND, name) for name in (PRUNING_NAME, ANGLELOSS_NAME)]
    for path in [p for entry in entries if entry for p in entry.tables()]:
        try:
            record = json.loads(path.read_text())
            rows.append({**{key: record[key] for key in RUN_COLUMNS}, "file": str(path)})
        except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as exc:
            raise CorruptDataError(f"{path}: not a pruning-search record ({type(exc).__name__}: {exc})") from exc
    return pd.DataFrame(rows, columns=[*RUN_COLUMNS, "file"])


def summarize_runs(runs: pd.DataFrame, accuracy: pd.Series) -> tuple[dict, pd.DataFrame]:
    """({'mean', 'std', 'seeds'}, the runs with an `accuracy` column): accuracy of the cell found per seed."""
    table = runs.sort_values("seed").assign(accuracy=runs["arch"].map(accuracy))
    values = table["accuracy"].to_numpy(float)
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "seeds": len(values)}, table
