"""NB101 proxy results as report inputs: the sample τ table, and each proxy against #Param per proxy seed.

The shared sample is `nb101/nb101_sample500.csv` in the data directory (adjacency, operations, single-run
validation accuracy of 500 rows, 292 distinct modules); its proxy scores are the library entries
`results/samples/nb101_sample500/` (seed 0, with #Param) and, optional, `nb101_sample500_seeds/` (proxy
seeds 1–2 of the same modules), both in the sweep schema with one row per module, proxy, settings and
seed. `nb101_sample_taus` computes the τ table per row and per distinct module and per proxy seed from
those rows and the cells; `load_nb101_sample_taus` reads both.

Revisit's R12 (Tab. 2: τ(metric, #Param) on 10,000 random NB101 cells) needs no accuracies, only the
library rows: `R12_SOURCES` lists the entries that can serve it — the uniform samples of the enumerated
space planned at the paper's scale (configs/nb101_r12_*.toml) before the 292-module sample, which is
NOT a uniform sample of the space — and `proxy_vs_params` aligns one proxy with #Param per proxy seed on
the modules every seed scored.
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
SEEDS_NAME = "nb101_sample500_seeds"  # proxy seeds 1–2 of the same modules (configs/samples/…_seeds.toml)
CELLS_FILE = "nb101/nb101_sample500.csv"  # relative to the data directory
TAU_COLUMNS = ("unit", "metric", "proxy", "seed", "n_cells_scored", "n", "kendall_tau_b", "p_value",
               "kendall_tau_b_params", "excluded_statuses")
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
    table: pd.DataFrame  # TAU_COLUMNS: one row per unit, metric and proxy seed
    meta: dict  # sample composition, settings, seeds, provenance, notes
    folder: Path

    def row(self, unit: str, metric: str, seed: int = 0) -> pd.Series | None:
        match = self.table[(self.table["unit"] == unit) & (self.table["metric"] == metric)
                           & (self.table["seed"] == seed)]
        return match.iloc[0] if len(match) else None

    def summary(self) -> pd.DataFrame:
        """One row per unit and metric: the proxy seeds, n, and τ as the mean over seeds with each seed's value."""
        return seed_summary(self.table)


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


def load_nb101_sample_taus(results_dir, data_dir=None, name: str = NB101_SAMPLE_NAME,
                           seeds_name: str = SEEDS_NAME) -> NB101SampleTaus | None:
    """The τ table of library sample `name`, with the proxy seeds of sample `seeds_name` when the library
    holds it (None when results_dir holds no `name`); the cells file is read from the data directory
    (DataNotFoundError when absent), a damaged table raises CorruptDataError."""
    entry = library.entry(results_dir, NB101_SAMPLE_KIND, name)
    if entry is None:
        return None
    found = [entry] + [e for e in [library.entry(results_dir, NB101_SAMPLE_KIND, seeds_name)] if e is not None]
    results = pd.concat([read_table(path) for e in found for path in e.tables()], ignore_index=True)
    cells = read_cells(find_data_file([CELLS_FILE], "NB101 sample cells", "the shared data's nb101/ folder",
                                      data_dir))
    table, meta = nb101_sample_taus(results, name, cells, tuple(e.name for e in found[1:]))
    provenance = {"results": [f"{NB101_SAMPLE_KIND}/{e.name}" for e in found],
                  "git_commits": sorted({c for e in found for c in e.manifest.get("git_commits", [])}),
                  "complete": {e.name: e.manifest.get("complete", True) for e in found},
                  "imported_from": (entry.manifest.get("imported_from") or {}).get("script")}
    return NB101SampleTaus(table, {**meta, "provenance": provenance}, entry.folder)


def one_settings_per_proxy(rows: pd.DataFrame, what: str) -> None:
    """CorruptDataError when a proxy has rows of several settings hashes (seeds are combined only within one)."""
    if (many := rows.groupby("proxy")["settings_hash"].nunique()).max() > 1:
        raise CorruptDataError(f"{what}: several settings for {list(many[many > 1].index)}; proxy seeds are "
                               "combined only under one settings hash")


def nb101_sample_taus(results: pd.DataFrame, sample_name: str, cells: pd.DataFrame,
                      seed_samples: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict]:
    """(τ table, meta) of the sample's rows in `results` (column `sweep` = sample_name or one of
    `seed_samples`, more proxy seeds of the same modules; `arch` = module hash): per proxy seed, every row
    of `cells` takes its module's score, then `sample_tau_table`. #Param (deterministic) is read once, from
    whichever seed has it, and listed as a metric only for the seeds whose own rows hold it. Every seed of a
    proxy is evaluated on the modules all its seeds scored."""
    names = (sample_name, *seed_samples)
    rows = results[results["sweep"].isin(names)]
    if rows[rows["sweep"] == sample_name].empty:
        raise CorruptDataError(f"no rows of NB101 sample {sample_name!r} in the results")
    one_settings_per_proxy(rows, f"NB101 sample {' + '.join(names)}")
    rows = rows.drop_duplicates(["arch", "proxy", "seed"])  # a seed in two entries: the first entry's rows
    # every seed of a proxy on the modules that all its seeds scored, so that seeds compare like with like
    seeds_per_module = rows.groupby(["proxy", "arch"])["seed"].transform("nunique")
    everywhere = seeds_per_module == rows.groupby("proxy")["seed"].transform("nunique")
    shared = {proxy: int(n) for proxy, n in rows[everywhere].groupby("proxy")["arch"].nunique().items()}
    rows = rows[everywhere]
    params = rows[rows["proxy"] == "params"].drop_duplicates("arch")
    tables = []
    for seed, own in rows.groupby("seed", sort=True):
        scored = pd.concat([own[own["proxy"] != "params"], params])
        scores = (cells[["module_hash"]].rename_axis("cell").reset_index()
                  .merge(scored[["arch", "proxy", "value", "status"]], left_on="module_hash", right_on="arch")
                  .drop(columns="arch"))
        metrics = {m: v for m, v in METRICS.items() if v[0] in set(own["proxy"])}
        tables.append(sample_tau_table(scores, cells, metrics, ACCURACY_NOTE).assign(seed=int(seed)))
    settings = {proxy: {"setting": group["setting"].iloc[0], "hash": group["settings_hash"].iloc[0],
                        "fields": json.loads(group["settings_json"].iloc[0]),
                        "seeds": sorted(int(s) for s in group["seed"].unique())}
                for proxy, group in rows.groupby("proxy")}
    meta = {"sample": sample_name, "seed_samples": list(seed_samples),
            "seeds": sorted(int(s) for s in rows["seed"].unique()), "modules_every_seed_scored": shared,
            "accuracy": f"val_accuracy column of {CELLS_FILE}: {ACCURACY_NOTE}",
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
    table = pd.concat(tables, ignore_index=True)
    return table[[*TAU_COLUMNS, *[c for c in table.columns if c not in TAU_COLUMNS]]], meta


def seed_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per unit and metric of a per-seed τ table: seeds, n (fewest over seeds), τ with accuracy and with
    #Param as the mean over seeds, and each seed's value (`seed:value`)."""
    rows = []
    for (unit, metric), group in table.groupby(["unit", "metric"], sort=False):
        group = group.sort_values("seed")
        row = {"unit": unit, "metric": metric, "proxy_seeds": len(group),
               "seeds": ",".join(map(str, group["seed"])), "n": int(group["n"].min())}
        for column in ("kendall_tau_b", "kendall_tau_b_params"):
            row[column] = float(group[column].mean())
            row[f"{column}_per_seed"] = " ".join(f"{s}:{v:.3f}" for s, v in zip(group["seed"], group[column]))
        excluded: dict = {}
        for text in group["excluded_statuses"]:
            for status, count in json.loads(text).items():
                excluded[status] = excluded.get(status, 0) + count
        rows.append({**row, "excluded_statuses": json.dumps(excluded)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ R12: proxy vs #Param

@dataclass(frozen=True)
class R12Source:
    """Library samples whose NB101 rows are read together for R12 (proxy seeds of one arch set)."""

    entries: tuple[str, ...]  # library `samples/<name>`, the first holds #Param
    proxies: tuple[str, ...]
    uniform: bool  # a seeded uniform sample of the enumerated space (the paper: 10,000 random cells)
    config: str
    planned_cells: int

    @property
    def label(self) -> str:
        return " + ".join(self.entries)


# Most faithful first: uniform samples of the enumeration (docs/nb101.md, "R12 at the paper's scale"), then the
# shared 292-module sample (NASLib's random specs: mostly small pruned cells, not a uniform sample of the space).
R12_SOURCES = (
    R12Source(("nb101_r12_sample10000",), ("lr1", "naswot"), True, "configs/nb101_r12_sample10000.toml", 10_000),
    R12Source(("nb101_r12_ntk16_sample1000",), ("ntk",), True, "configs/nb101_r12_ntk16_sample1000.toml", 1_000),
    R12Source(("nb101_r12_ntk72_sample500",), ("ntk",), True, "configs/nb101_r12_ntk72_sample500.toml", 500),
    R12Source((NB101_SAMPLE_NAME, SEEDS_NAME), ("lr1", "naswot", "ntk"), False,
              "configs/samples/nb101_sample500.toml and configs/samples/nb101_sample500_seeds.toml", 292),
)


@dataclass
class SeedScores:
    """One proxy's raw NB101 values per proxy seed (index: module hash; NaN = failed) in one source."""

    proxy: str
    values: dict[int, pd.Series]
    statuses: dict[int, dict]  # seed → status counts of its rows
    settings_hash: str
    settings: dict
    entries: list[str]  # the library entries the rows came from
    data_source: list[str]


def source_rows(results: pd.DataFrame, source: R12Source) -> pd.DataFrame:
    """The NB101 rows of the source's entries, each (module, proxy, seed) once (the first entry's row)."""
    if results.empty or "sweep" not in results.columns:
        return results.iloc[0:0]
    rows = results[(results["space"] == "nb101") & results["sweep"].isin(source.entries)]
    order = {name: k for k, name in enumerate(source.entries)}
    rows = rows.assign(_entry=rows["sweep"].map(order)).sort_values("_entry", kind="stable")
    return rows.drop_duplicates(["arch", "proxy", "seed"]).drop(columns="_entry")


def seed_scores(rows: pd.DataFrame, proxy: str) -> SeedScores | None:
    """`proxy`'s values per seed in a source's rows (None without rows); several settings are refused."""
    mine = rows[rows["proxy"] == proxy] if not rows.empty else rows
    if mine.empty:
        return None
    one_settings_per_proxy(mine, f"NB101 samples {', '.join(sorted(set(mine['sweep'])))}")
    values, statuses = {}, {}
    for seed, group in mine.groupby("seed", sort=True):
        usable = group["status"].eq("ok")
        values[int(seed)] = group["value"].astype(np.float64).where(usable).set_axis(group["arch"]).sort_index()
        statuses[int(seed)] = {str(k): int(v) for k, v in group["status"].value_counts().items()}
    settings = json.loads(mine["settings_json"].iloc[0]) if "settings_json" in mine.columns else {}
    sources = sorted(mine["data_source"].dropna().astype(str).unique()) if "data_source" in mine.columns else []
    return SeedScores(proxy, values, statuses, str(mine["settings_hash"].iloc[0]), settings,
                      sorted(set(mine["sweep"])), sources)


@dataclass
class SeedPairs:
    """A proxy (higher = predicted better) and #Param per proxy seed, on the modules every seed scored."""

    source: R12Source
    scores: SeedScores
    seeds: list[int]
    archs: pd.Index  # modules with a finite value on every seed and a #Param
    x: list[np.ndarray]  # per seed, on `archs`
    y: np.ndarray  # #Param on `archs`
    params: pd.Series  # #Param of every module of the source with one
    scored: dict[int, int]  # seed → modules with a row
    finite: dict[int, int]  # seed → modules with a finite value and a #Param


def proxy_vs_params(results: pd.DataFrame, source: R12Source, proxy: str, sign: float) -> SeedPairs | None:
    """`proxy` (times `sign`) and #Param of `source` per proxy seed (None when the source lacks either)."""
    rows = source_rows(results, source)
    if rows.empty:
        return None
    scores = seed_scores(rows, proxy)
    params = rows[(rows["proxy"] == "params") & (rows["status"] == "ok")]
    params = params.drop_duplicates("arch").set_index("arch")["value"].astype(np.float64)
    params = params[np.isfinite(params)]
    if scores is None or params.empty:
        return None
    finite = {s: v.index[np.isfinite(v.to_numpy())].intersection(params.index) for s, v in scores.values.items()}
    common = params.index
    for archs in finite.values():
        common = common.intersection(archs)
    common = common.sort_values()
    seeds = sorted(scores.values)
    return SeedPairs(source, scores, seeds, common,
                     [sign * scores.values[s].loc[common].to_numpy(np.float64) for s in seeds],
                     params.loc[common].to_numpy(np.float64), params,
                     {s: len(v) for s, v in scores.values.items()}, {s: len(a) for s, a in finite.items()})


def _taus(values: pd.Series, accuracy: pd.Series, params: pd.Series) -> dict:
    """τ-b of the (oriented) values with accuracy and with #Param, on the values' index."""
    accuracy, params = accuracy.reindex(values.index).to_numpy(float), params.reindex(values.index).to_numpy(float)
    tau, p = kendalltau(values, accuracy, variant="b") if len(values) > 1 else (math.nan, math.nan)
    sized, size, _ = stats.paired_finite(values, params)
    tau_params = stats.kendall(sized, size) if len(sized) > 1 else math.nan
    return {"n": len(values), "kendall_tau_b": float(tau), "p_value": float(p),
            "kendall_tau_b_params": float(tau_params)}


def exact_mean(values: pd.Series) -> float:
    """The mean, but exactly the common value when all agree: a float mean of equal values can move by an
    ulp and break ties of τ-b (rows of one module all carry the module's library score)."""
    first = values.iloc[0]
    return float(first) if (values == first).all() else float(values.mean())


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
        means = {proxy: group.groupby(key)["value"].agg(exact_mean) for proxy, group in scored.groupby("proxy")}
        params = means.get("params", pd.Series(dtype=float))
        for metric, (proxy, sign) in metrics.items():
            mine = scores[scores["proxy"] == proxy]
            excluded = mine["status"][~mine["cell"].isin(scored.loc[scored["proxy"] == proxy, "cell"])]
            rows.append({"unit": unit, "metric": metric, "proxy": proxy, "sign": sign, "n_cells_scored": len(mine),
                         **_taus(sign * means.get(proxy, pd.Series(dtype=float)), accuracies[unit], params),
                         "excluded_statuses": json.dumps(excluded.value_counts().to_dict()),
                         "accuracy": accuracy_note + ("; mean per module" if unit == "module" else "")})
    return pd.DataFrame(rows)
