"""The report's reader-facing figures, from the finished ledger and the inputs: the forest plot of
every computed claim (shown first), proxy vs accuracy for every proxy × dataset with results, LR1 vs
LR2, the simulated random-search distributions, the seed spread of τ and the pruning trajectories.

Each builder returns `(key, title, figure, caption)` or None when its data is absent; the captions
name the inputs and n. The figures themselves are drawn by `reports.plots`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.reports import plots, stats
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import NB201_DATASETS, SHORT, Missing
from zcbench.reports.results import available

FOREST_KEY = "forest"
JUDGED = ("reproduced", "consistent", "deviates", "indicative")
PROXY_LABELS = {"ntk": "κ (NTK condition number)", "lr1": "linear regions (LR1, TE-NAS R)",
                "naswot": "NASWOT log|K| (LR2)", "naswot_v1": "NASWOT v1 score", "mgm": "MGM (KNAS)",
                "angle": "angle θ_pred (cos)", "angle_feat": "angle θ_feat (cos)", "loss": "short-training loss",
                "params": "#Param (10⁶)", "flops": "MFLOPs"}
LOG_SCALE = ("ntk", "mgm")  # spread over decades: plotted as log10 when every value is positive
CORRELATION_RULES = ("Interval", "SampleInterval")  # rules of τ / ρ claims (SampleInterval: ledger.nb101)


def proxy_label(name: str) -> str:
    return PROXY_LABELS.get(name, name)


def numeric(value) -> float | None:
    """A number, or the mean of a {"mean", "std"} value; None for anything else."""
    if isinstance(value, dict) and set(value) == {"mean", "std"}:
        value = value["mean"]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    return None


def our_bounds(entry: dict) -> tuple[float, float] | None:
    """Our interval: the seed/arch prediction interval, the search band, the range of our search runs
    (few-seed means), or the exact value (lookups)."""
    interval = entry.get("interval") or {}
    if interval.get("interval") or interval.get("band"):
        low, high = interval.get("interval") or interval.get("band")
        return float(low), float(high)
    runs = [r["accuracy"] for r in entry["details"].get("per_seed", []) if isinstance(r, dict) and "accuracy" in r]
    if runs:
        return float(min(runs)), float(max(runs))
    ours = numeric(entry["our_value"])
    return (ours, ours) if ours is not None else None


def forest_rows(entries: list[dict]) -> pd.DataFrame:
    """One row per judged entry with a numeric paper value and ours: panel = τ/ρ, or accuracy per dataset."""
    rows = []
    for e in entries:
        paper, ours, bounds = numeric(e["paper_value"]), numeric(e["our_value"]), our_bounds(e)
        if e["verdict"] not in JUDGED or paper is None or ours is None or bounds is None:
            continue
        correlation = e["rule"]["rule"] in CORRELATION_RULES
        dataset = e["inputs"].get("dataset", "")
        panel = "Kendall τ / Spearman ρ" if correlation else f"{SHORT.get(dataset, dataset)} test accuracy (%)"
        rows.append({"id": e["id"] + ("*" if e.get("substitute_inputs") else ""), "panel": panel, "paper": paper,
                     "estimate": ours, "low": bounds[0], "high": bounds[1],
                     "tolerance": float(e["rule"].get("tolerance", 0.0)), "verdict": e["verdict"]})
    order = ["Kendall τ / Spearman ρ"] + [f"{SHORT[d]} test accuracy (%)" for d in NB201_DATASETS]
    frame = pd.DataFrame(rows, columns=["id", "panel", "paper", "estimate", "low", "high", "tolerance", "verdict"])
    return frame.sort_values("panel", key=lambda s: s.map(lambda p: order.index(p) if p in order else len(order)),
                             kind="stable")


def forest_figure(entries: list[dict]):
    rows = forest_rows(entries)
    if rows.empty:
        return None
    counts = rows.groupby("panel", sort=False).size()
    return (FOREST_KEY, "Every computed claim: paper vs ours", plots.forest(rows),
            f"{len(rows)} computed claims with a numeric paper value "
            f"({', '.join(f'{p}: {n}' for p, n in counts.items())})."
            " Open diamond: the paper's value; bar: our interval (τ/ρ: 95 % prediction interval for one new proxy "
            "seed; random search: 95 % band of simulated 5-run means; pruning search: the range of our runs; lookups: "
            "the exact value), dot: our value; shade: the bar widened by the claim's tolerance; colour: verdict; "
            "* substitute inputs (e.g. test-split images).")


def _first_seed(inputs, name: str, dataset: str):
    return min(ins.seed_scores(inputs, name, dataset).items())


def _axis(name: str, values: np.ndarray) -> tuple[np.ndarray, str]:
    if name in LOG_SCALE and len(values) and (values > 0).all():
        return np.log10(values), f"log10 {proxy_label(name)}"
    return values, proxy_label(name)


def proxy_accuracy_figure(inputs):
    """Every registered proxy with results × dataset: its first proxy seed against test accuracy."""
    from zcbench.proxies.registry import REGISTRY

    if inputs.truth is None or inputs.results.empty:
        return None
    found = available(inputs.results)
    panels, targets, images = [], [], set()
    for dataset in NB201_DATASETS:
        names = [n for n in dict.fromkeys(found.loc[found["dataset"] == dataset, "proxy"]) if n in REGISTRY]
        try:
            spec, acc, _ = ins.target(inputs, "TE-NAS", dataset)
        except Missing:
            continue
        for name in names:
            seed, scores = _first_seed(inputs, name, dataset)
            x, y, _ = stats.aligned_finite(scores.values, acc)
            if len(x) < 3:
                continue
            x_plot, xlabel = _axis(name, x)
            panels.append({"x": x_plot, "y": y, "xlabel": f"{xlabel} (seed {seed})",
                           "ylabel": f"{SHORT[dataset]} test accuracy (%)",
                           "title": f"{proxy_label(name)}, {SHORT[dataset]}: τ = {stats.kendall(x, y):.3f}, "
                                    f"n = {len(x):,}" + (" (partial)" if ins.from_partial(inputs, scores) else "")})
            images.update(scores.provenance.get("data_source", []))
        if names:
            targets.append(spec.describe())
    if not panels:
        return None
    return ("proxy-vs-accuracy", "Proxy vs test accuracy, every proxy × dataset with results",
            plots.density_grid(panels),
            f"{len(panels)} panels: raw proxy value of the first proxy seed (orientation as the proxy defines it) "
            f"against {'; '.join(targets)}; n = archs with a finite value on both sides (in each title); τ = "
            f"Kendall τ-b; more than 2,000 points are drawn as hexagonal bins coloured by archs per bin (log scale); "
            f"(partial) = the finished shards of an unfinished sweep, not a uniform sample; "
            f"images: {', '.join(sorted(images)) or 'none'}.")


def lr_pair_figure(inputs):
    """LR1 vs LR2 (Revisit R14) on CIFAR-10, the first proxy seed both have."""
    if not (ins.has_scores(inputs, "lr1", "cifar10") and ins.has_scores(inputs, "naswot", "cifar10")):
        return None
    lr1, lr2 = ins.seed_scores(inputs, "lr1", "cifar10"), ins.seed_scores(inputs, "naswot", "cifar10")
    seeds = ins.common_seeds([lr1, lr2])
    if not seeds:
        return None
    x, y, _ = stats.aligned_finite(lr1[seeds[0]].values, lr2[seeds[0]].values)
    title = f"LR1 vs LR2 (Revisit §3.1), C10 seed {seeds[0]}: τ = {stats.kendall(x, y):.3f}, n = {len(x):,}"
    return ("lr1-vs-lr2", "LR1 vs LR2 (R14)", plots.scatter(x, y, proxy_label("lr1"), proxy_label("naswot"), title),
            f"TE-NAS linear regions (LR1) against NASWOT log|K| (LR2) on CIFAR-10, proxy seed {seeds[0]}, the "
            f"{len(x):,} archs where both are finite; the R14 ledger entry gives τ over all proxy seeds with its "
            "interval.")


def search_distribution_figure(entries: list[dict]):
    """The simulated R-run means of every computed random-search entry, with the paper's mean marked."""
    panels = []
    for e in entries:
        hist = e["details"].get("pooled_histogram")
        if e["verdict"] not in JUDGED or not hist:
            continue
        band = e["interval"]["band"]
        panels.append({"title": f"{e['id']} ({e['verdict']}): paper {numeric(e['paper_value']):.2f}",
                       "edges": hist["edges"], "counts": hist["counts"], "band": band,
                       "paper": numeric(e["paper_value"]), "ours": numeric(e["our_value"])})
    if not panels:
        return None
    first = next(e for e in entries if e["details"].get("pooled_histogram"))
    return ("search-distributions", "Simulated random-search means vs the paper",
            plots.search_distributions(panels),
            f"{len(panels)} random-search entries: histogram of {first['interval']['simulated_means']:,} simulated "
            f"{first['interval']['runs_per_mean']}-run means (each run N=100 from the archs every input scored, its "
            f"proxy seed drawn from ours), their 95 % band (shaded), the paper's mean (black) and our exact protocol, "
            f"seeds 1–{first['interval']['runs_per_mean']}, on the first proxy seed (dashed).")


def seed_spread_figure(entries: list[dict]):
    """τ / ρ per proxy seed for every correlation entry with two or more seeds."""
    rows = []
    for e in entries:
        per_seed = (e.get("interval") or {}).get("per_seed") or []
        if e["rule"]["rule"] not in CORRELATION_RULES or len(per_seed) < 2:
            continue
        seeds = e["seeds"] if len(e["seeds"]) == len(per_seed) else range(len(per_seed))
        proxies = ", ".join(e["inputs"].get("settings_hash") or {})
        rows += [{"id": f"{e['id']} ({proxies})", "seed": str(s), "value": v} for s, v in zip(seeds, per_seed)]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    return ("seed-spread", "Seed spread of τ / ρ per claim", plots.seed_spread(frame),
            f"{frame['id'].nunique()} correlation entries with ≥ 2 proxy seeds: the statistic per seed (the seed sets "
            f"the network's init and the input batch), on the archs every seed scored (n in the ledger).")


def pruning_trajectories(inputs) -> pd.DataFrame:
    """Per stored κ/R pruning search and round: the mean κ and linear regions of the supernet (from the
    records; searches judged by short training record no κ or R)."""
    from zcbench.benchmarks.pruning import TRAINING_CRITERIA

    rows = []
    for run in inputs.pruning_runs.itertuples():
        if run.criterion in TRAINING_CRITERIA:
            continue
        record = json.loads(Path(run.file).read_text())
        label = f"{SHORT.get(run.dataset, run.dataset)} {run.criterion} seed {run.seed}"
        for number, candidates in enumerate(record["rounds"], start=1):
            rows.append({"run": label, "round": number,
                         "kappa": float(np.nanmean([k for c in candidates for k in c["kappa_origin"]])),
                         "regions": float(np.mean([r for c in candidates for r in c["regions_origin"]]))})
    return pd.DataFrame(rows, columns=["run", "round", "kappa", "regions"])


def pruning_trajectory_figure(inputs):
    if inputs.pruning_runs.empty:
        return None
    rows = pruning_trajectories(inputs)
    if rows.empty:
        return None
    return ("pruning-trajectories", "TE-NAS pruning searches, round by round", plots.pruning_trajectories(rows),
            f"{rows['run'].nunique()} stored searches (`zcbench search prune`): per round, the supernet's κ (mean over "
            f"the round's candidates and repeats) and its linear-region count (thin supernet, mean), before that "
            f"round's ops are pruned; images: {', '.join(sorted(set(inputs.pruning_runs['images'])))}.")


def report_figures(entries: list[dict], inputs) -> list[tuple]:
    """The reader-facing figures that exist for these inputs, the forest plot first."""
    built = (forest_figure(entries), proxy_accuracy_figure(inputs), lr_pair_figure(inputs),
             search_distribution_figure(entries), seed_spread_figure(entries), pruning_trajectory_figure(inputs))
    return [figure for figure in built if figure is not None]
