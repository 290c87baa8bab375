"""`zcbench reproduce`: compute every ledger claim the available data and results allow.

Inputs, each optional: a data directory (NB201 ground truth, the Revisit groups file), a results
directory (merged sweep tables). What cannot be computed gets a verdict that names the missing
file or sweep. Always computed, with no external data: the space's #Param/FLOPs classes, the
paper-internal consistency checks (R11, E1), and a demonstration of the proxies and statistics on
synthetic images for a small seeded sample of archs.

Outputs in `--out`: ledger.json, report.md, report.html (self-contained, PNGs embedded) and
figures/*.png. The one-line summary is returned by `reproduce()` and printed by the CLI.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import random
import time
from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.benchmarks.pruning import CODE as PRUNING_CODE
from zcbench.proxies.combinations import combination_names, combine, get_combination
from zcbench.proxies.registry import settings_hash
from zcbench.reports import claims as ledger
from zcbench.reports import groups as groups_mod
from zcbench.reports import plots, render, stats, tenas
from zcbench.reports.correlations import correlation_table
from zcbench.reports.nb101_sample import HOW_TO_COMPUTE as NB101_SAMPLE_HOW
from zcbench.reports.nb101_sample import NB101SampleTaus, load_nb101_sample_taus
from zcbench.reports.pruning import PRUNING_DIR, load_pruning_runs, summarize_runs
from zcbench.reports.results import ProxyScores, available, load_results, proxy_scores, unmerged_sweeps
from zcbench.reports.search import Score, group_experiment, random_search, rule_columns, summarize
from zcbench.reports.tables import NO_TARGET, ReportTable
from zcbench.spaces import nb201
from zcbench.spaces.catalog import DATASET_CLASSES, get_space
from zcbench.spaces.errors import DataNotFoundError, ZcbenchError

FULL_SPACE = nb201.NUM_ARCHS
RS_SEEDS = (1, 2, 3, 4, 5)
PARAMS_NOTE = "#Param of the C=16, N=5 network with the dataset's head (analytic, protocols §1.1)"


class Missing(Exception):
    """A claim cannot be computed: `verdict` is needs-data or needs-results, `enable` says what would."""

    def __init__(self, verdict: str, enable: str):
        super().__init__(enable)
        self.verdict, self.enable = verdict, enable


@dataclass
class Outcome:
    """What a compute function found; `verdict=None` lets `judge` compare with the tolerance."""

    our_value: object
    explanation: str = ""
    spec: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    verdict: str | None = None
    partial: str = ""  # non-empty: why the value is only indicative


@dataclass
class Inputs:
    """Everything the compute functions read; missing pieces hold the reason instead."""

    data_dir: Path | None
    results_dir: Path | None
    quick: bool
    seed: int
    truth: object = None  # spaces.groundtruth.GroundTruth
    truth_missing: str = ""
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    unmerged: list = field(default_factory=list)  # sweep folders without merged.parquet
    pruning_runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # stored `zcbench search prune` runs
    nb101_sample: NB101SampleTaus | None = None  # scripts/nb101_sample_tau.py output
    revisit_groups: list | None = None
    groups_missing: str = ""
    cache: dict = field(default_factory=dict)

    @property
    def bootstrap_reps(self) -> int:
        return 100 if self.quick else 1000

    @property
    def expectation_runs(self) -> int:
        return 100 if self.quick else 2000


@dataclass
class Report:
    ledger: list[dict]
    tables: list[ReportTable]
    figures: list[dict]  # key, title, file (relative to the output dir), caption
    meta: dict


# ------------------------------------------------------------------------------------ inputs

def load_inputs(data_dir=None, results_dir=None, quick=False, seed=0) -> Inputs:
    from zcbench.spaces.groundtruth import load_ground_truth

    inputs = Inputs(Path(data_dir) if data_dir else None, Path(results_dir) if results_dir else None, quick, seed)
    try:
        inputs.truth = load_ground_truth(data_dir=data_dir)
    except DataNotFoundError as exc:
        inputs.truth_missing = one_line(exc)
    try:
        inputs.revisit_groups = groups_mod.load_revisit_groups(groups_mod.revisit_groups_path(data_dir))
    except DataNotFoundError as exc:
        inputs.groups_missing = one_line(exc)
    if inputs.results_dir is not None:
        if not inputs.results_dir.is_dir():
            raise ZcbenchError(f"results directory {inputs.results_dir} does not exist")
        inputs.results = load_results(inputs.results_dir)
        inputs.unmerged = unmerged_sweeps(inputs.results_dir)
        inputs.pruning_runs = load_pruning_runs(inputs.results_dir)
        inputs.nb101_sample = load_nb101_sample_taus(inputs.results_dir)
    return inputs


def one_line(exc: DataNotFoundError) -> str:
    where = ", ".join(exc.searched) if exc.searched else "nowhere: no --data-dir given and $ZCBENCH_DATA unset"
    return f"{exc.what} not found (looked in {where}); {exc.how_to_get}"


def space_table() -> pd.DataFrame:
    """index → n3, n1 and #Param per dataset head (no data file needed)."""
    return _space_table().copy()


@functools.lru_cache(maxsize=1)
def _space_table() -> pd.DataFrame:
    table = groups_mod.op_count_table().set_index("index")
    extra = get_space("nb201").PARAMS_PER_CLASS
    for ds, classes in DATASET_CLASSES.items():
        table[f"params_{ds}"] = table["params_cifar10"] + extra * (classes - 10)
    return table


def target(inputs: Inputs, paper: str, dataset: str, split: str = "test"):
    """(TargetSpec, accuracy Series, note) for the paper's preferred benchmark version that is present."""
    from zcbench.spaces.groundtruth import TargetSpec

    if inputs.truth is None:
        raise Missing("needs-data", inputs.truth_missing)
    preference = ledger.VERSION_PREFERENCE[paper]
    for version in preference:
        spec = TargetSpec.paper_valid(dataset, version) if split == "valid" else TargetSpec(dataset, split, version)
        if spec.column in inputs.truth.target_columns:
            note = "" if version == preference[0] else (
                f"{paper}'s code reads {preference[0]}, which the ground truth lacks for this target; used {version}")
            return spec, inputs.truth.values(spec), note
    raise Missing("needs-data", f"{dataset} {split} accuracy (versions {', '.join(preference)}) is not in the "
                                f"ground truth {', '.join(inputs.truth.sources)}; convert the official NB201 .pth "
                                f"with `zcbench data convert nb201`")


def scores(inputs: Inputs, name: str, dataset: str) -> ProxyScores:
    """The results of proxy `name` (registry name) on `dataset`, or Missing naming the sweep needed."""
    found = cached_scores(inputs, name, dataset)
    if found is None or found.values.empty:
        where = f" under {inputs.results_dir}" if inputs.results_dir else " (no --results directory given)"
        raise Missing("needs-results", f"a sweep of proxy '{name}' on {dataset} over all {FULL_SPACE:,} NB201 archs "
                                       f"(results/<sweep>/merged.parquet){where}")
    return found


def cached_scores(inputs: Inputs, name: str, dataset: str) -> ProxyScores | None:
    key = ("scores", name, dataset)
    if key not in inputs.cache:
        inputs.cache[key] = proxy_scores(inputs.results, name, dataset) if not inputs.results.empty else None
    return inputs.cache[key]


def oriented(name: str, values: pd.Series) -> pd.Series:
    """Values flipped so that higher is better (the registry's `higher_is_better`)."""
    from zcbench.proxies.registry import REGISTRY

    return values if REGISTRY.get(name).higher_is_better else -values


def coverage_note(found: list[ProxyScores], universe: int = FULL_SPACE) -> str:
    notes = []
    for f in found:
        if f.synthetic:
            notes.append(f"{f.proxy} was computed on synthetic images")
        if len(f.archs) < universe:
            notes.append(f"{f.proxy} covers {len(f.archs):,} of {universe:,} archs")
    return "; ".join(notes)


def _spec(target_text: str, arch_set: str, n: int, excluded: int, **extra) -> dict:
    return {"target": target_text, "arch_set": arch_set, "n": int(n), "excluded": int(excluded), **extra}


def _truth_provenance(inputs: Inputs) -> dict:
    return {"ground_truth": list(inputs.truth.sources)} if inputs.truth is not None else {}


# ------------------------------------------------------------------------------------ random search

# Revisit Tab. 5 / NASWOT methods → the selection rule (a score column or a registered combination).
RS_RULES = {"#Param": Score("params"), "LR1": Score("lr1"), "NTK": Score("ntk", higher_is_better=False),
            "LR2": Score("naswot"), "NASWOTv1": Score("naswot_v1"), "LR1+#Param": "lr1+params",
            "NTK+#Param": "ntk+params", "LR2+#Param": "lr2+params", "AngleLoss": "angleloss",
            "AngleLoss+#Param": "angleloss+params", "AngleLoss+LR2": "angleloss+lr2"}


def rs_rule(method: str):
    """(rule, the proxies whose results it needs); #Param comes from the space, not from results."""
    rule = RS_RULES[method]
    rule = get_combination(rule) if isinstance(rule, str) else rule
    return rule, [c for c in rule_columns(rule) if c != "params"]


def search_table(dataset: str, accuracy: pd.Series) -> pd.DataFrame:
    """The space table with `accuracy` and `params` = #Param with the dataset's head."""
    table = space_table().assign(accuracy=accuracy)
    table["params"] = table[f"params_{dataset}"]
    return table


def score_table(inputs: Inputs, dataset: str, proxies: list[str], accuracy: pd.Series):
    """Table indexed by arch: `params` (the dataset's head), accuracy, one column per proxy (NaN =
    failed); the found scores; the archs a search may sample (a ground-truth value and a row for
    every proxy)."""
    table = search_table(dataset, accuracy)
    found = [scores(inputs, name, dataset) for name in proxies]
    for name, f in zip(proxies, found):
        table[name] = f.values.reindex(table.index)
    covered = table.index[table["accuracy"].notna()]
    for f in found:
        covered = covered.intersection(f.archs)
    return table, found, covered


def compute_random_search(claim, inputs: Inputs) -> Outcome:
    dataset, method = claim.params["dataset"], claim.params["method"]
    sampler, seeds = claim.params.get("sampler", "distinct"), range(1, claim.params.get("runs", 5) + 1)
    rule, proxies = rs_rule(method)
    spec, acc, note = target(inputs, claim.paper, dataset)
    table, found, covered = score_table(inputs, dataset, proxies, acc)
    candidates = list(covered)
    runs = random_search(table, "accuracy", rule, candidates, 100, seeds, sampler)
    summary = summarize(runs)
    many = summarize(random_search(table, "accuracy", rule, candidates, 100,
                                   range(1, inputs.expectation_runs + 1), sampler))
    partial = coverage_note(found)
    arch_set = f"all {FULL_SPACE:,} NB201 archs" if len(candidates) == FULL_SPACE else \
        f"{len(candidates):,} archs with results for {', '.join(proxies)}"
    return Outcome(
        {"mean": summary["mean"], "std": summary["std"]},
        f"rule {rule.name}; {len(runs)} runs" + (f"; {note}" if note else ""),
        _spec(spec.describe(), arch_set, len(candidates), summary["failed"], rule=rule.name, sampler=sampler,
              seeds=f"{seeds.start}…{seeds.stop - 1}", n_samples=100),
        {**_truth_provenance(inputs), **{f.proxy: f.provenance for f in found}},
        {"first_10_picks": runs["arch"].tolist()[:10], "first_10_pick_accuracies": runs["accuracy"].tolist()[:10],
         f"expected_over_{inputs.expectation_runs}_runs": {"mean": many["mean"], "std": many["std"]}},
        partial=partial)


# ------------------------------------------------------------------------------------ pruning search

def compute_pruning_search(claim, inputs: Inputs) -> Outcome:
    """Accuracy of the cells found by stored TE-NAS pruning searches (the `code` preset with the claim's
    criterion; runs with other settings hashes are not mixed in)."""
    dataset, criterion = claim.params["dataset"], claim.params["criterion"]
    wanted = settings_hash(dataclasses.replace(PRUNING_CODE, criterion=criterion))
    runs = inputs.pruning_runs
    if not runs.empty:
        runs = runs[(runs["dataset"] == dataset) & (runs["settings_hash"] == wanted)]
    if runs.empty:
        where = f"{inputs.results_dir / PRUNING_DIR}" if inputs.results_dir else "<results>/" + PRUNING_DIR
        raise Missing("needs-results", f"{ledger.PRUNING_HOW}; none found in {where} for {dataset}, criterion "
                                       f"{criterion}: run `zcbench search prune --dataset {dataset} --criterion "
                                       f"{criterion} --seed 1 … --seed {claim.params['runs']}`")
    spec, acc, note = target(inputs, claim.paper, dataset)
    summary, table = summarize_runs(runs, acc)
    images = sorted(set(table["images"]))
    partial = []
    if summary["seeds"] < claim.params["runs"]:
        partial.append(f"{summary['seeds']} of the paper's {claim.params['runs']} seeds")
    if any(text.startswith("SYNTHETIC") for text in images):
        partial.append("searched on synthetic images")
    explanation = "; ".join(filter(None, [f"images: {' | '.join(images)}", note]))
    return Outcome(
        {"mean": summary["mean"], "std": summary["std"]}, explanation,
        _spec(spec.describe(), "cells found by the searches", summary["seeds"], 0, criterion=criterion,
              settings_hash=wanted, seeds=table["seed"].tolist()),
        {**_truth_provenance(inputs), "runs": table[["seed", "git_commit", "torch_version", "host", "file"]]
         .to_dict("records")},
        {"per_seed": table[["seed", "arch", "arch_str", "accuracy", "seconds"]].to_dict("records")},
        partial="; ".join(partial))


def pruning_section(inputs: Inputs) -> list[ReportTable]:
    """Every stored pruning search with the accuracy of its cell (TE-NAS's benchmark file preference)."""
    runs = inputs.pruning_runs
    if runs.empty:
        return []
    frames, targets = [], []
    for dataset, group in runs.groupby("dataset", sort=True):
        try:
            spec, acc, _ = target(inputs, "TE-NAS", dataset)
        except Missing:
            acc, spec = pd.Series(dtype=float), None
        frames.append(group.assign(accuracy=group["arch"].map(acc)))
        targets.append(f"{dataset}: {spec.describe() if spec else 'no ground truth'}")
    frame = pd.concat(frames)[["dataset", "setting", "criterion", "settings_hash", "seed", "arch", "arch_str",
                               "accuracy", "seconds", "images"]].sort_values(["dataset", "criterion", "seed"])
    return [ReportTable("tenas-pruning-runs", "TE-NAS pruning searches (zcbench search prune)",
                        frame.reset_index(drop=True), "; ".join(targets), "the cell found by each search",
                        notes="one row per stored search; seconds = wall time of the search")]


# ------------------------------------------------------------------------------------ correlations

def _proxy_series(inputs: Inputs, name: str, dataset: str) -> tuple[pd.Series, list[ProxyScores]]:
    """Higher-is-better values of a proxy or of a registered combination (ranks over the archs where
    every component is usable)."""
    if name in combination_names():
        combination = get_combination(name)
        found = [scores(inputs, column, dataset) for column in combination.columns()]
        table = pd.concat({f.proxy: f.values for f in found}, axis=1)
        values = combine(table, combination, non_ok="exclude").dropna()
        return (values if combination.higher_is_better else -values), found
    found = scores(inputs, name, dataset)
    return oriented(found.proxy, found.values), [found]


def _tau_with_ci(x: pd.Series, y: pd.Series, inputs: Inputs) -> tuple[dict, int, pd.Index]:
    joined = pd.concat([x.rename("x"), y.rename("y")], axis=1, join="inner")
    xs, ys, dropped = stats.paired_finite(joined["x"], joined["y"])
    ci = stats.bootstrap_ci(stats.kendall, xs, ys, reps=inputs.bootstrap_reps, seed=inputs.seed)
    keep = joined.index[np.isfinite(joined["x"]) & np.isfinite(joined["y"])]
    return {"kendall_tau_b": ci.estimate, "ci95": [ci.low, ci.high], "bootstrap_reps": ci.reps}, dropped, keep


def compute_tau_with_params(claim, inputs: Inputs) -> Outcome:
    dataset = claim.params["dataset"]
    values, found = _proxy_series(inputs, claim.params["proxy"], dataset)
    params = space_table()[f"params_{dataset}"]
    result, dropped, keep = _tau_with_ci(values, params, inputs)
    failed = sum(f.failed for f in found)
    return Outcome(result["kendall_tau_b"], f"95% bootstrap CI {result['ci95'][0]:.3f}…{result['ci95'][1]:.3f}",
                   _spec(PARAMS_NOTE + f", {dataset}", f"{len(keep):,} NB201 archs with a finite score",
                         len(keep), failed + dropped, orientation="higher-is-better (κ and loss negated)"),
                   {f.proxy: f.provenance for f in found}, result, partial=coverage_note(found))


def _first_dataset_with(inputs: Inputs, proxies: list[str], datasets) -> str:
    missing = []
    for ds in datasets:
        try:
            for name in proxies:
                scores(inputs, name, ds)
            return ds
        except Missing as exc:
            missing.append(exc.enable)
    raise Missing("needs-results", missing[0])


def compute_tau_with_accuracy(claim, inputs: Inputs) -> Outcome:
    name = claim.params["proxy"]
    dataset = _first_dataset_with(inputs, [name], claim.params["datasets"])
    found = scores(inputs, name, dataset)
    spec, acc, note = target(inputs, claim.paper, dataset)
    result, dropped, keep = _tau_with_ci(found.values, acc, inputs)
    params = space_table().loc[keep, f"params_{dataset}"]
    raw = found.values.loc[keep]
    result["partial_tau_given_params"] = stats.partial_correlation(raw, acc.loc[keep], params, "kendall")
    per_class = stats.grouped_correlation(raw, acc.loc[keep], params, "kendall")
    result["within_param_class_tau_weighted"] = stats.weighted_mean(per_class["value"], per_class["n"])
    _store_scatter(inputs, claim.id, raw, acc.loc[keep], f"{found.proxy} ({dataset})", spec.column,
                   f"{claim.id}: {found.proxy} vs test accuracy", logx=name == "ntk")
    return Outcome(result["kendall_tau_b"], f"raw {found.proxy} values; partial τ given #Param "
                   f"{result['partial_tau_given_params']:.3f}" + (f"; {note}" if note else ""),
                   _spec(spec.describe(), f"{len(keep):,} NB201 archs with a finite score", len(keep),
                         found.failed + dropped, dataset=dataset),
                   {**_truth_provenance(inputs), found.proxy: found.provenance}, result,
                   partial=coverage_note([found]))


def compute_tau_between(claim, inputs: Inputs) -> Outcome:
    a, b = claim.params["proxies"]
    dataset = claim.params["dataset"]
    (x, fx), (y, fy) = _proxy_series(inputs, a, dataset), _proxy_series(inputs, b, dataset)
    result, dropped, keep = _tau_with_ci(x, y, inputs)
    return Outcome(result["kendall_tau_b"], "", _spec(NO_TARGET, f"{len(keep):,} archs where both are finite",
                                                      len(keep), dropped + sum(f.failed for f in fx + fy)),
                   {f.proxy: f.provenance for f in fx + fy}, result, partial=coverage_note(fx + fy))


def compute_spearman_sample(claim, inputs: Inputs) -> Outcome:
    name, dataset, n, experiments = (claim.params[k] for k in ("proxy", "dataset", "n", "experiments"))
    found = scores(inputs, name, dataset)
    spec, acc, note = target(inputs, claim.paper, dataset, split="valid")
    joined = pd.concat([found.values.rename("x"), acc.rename("y")], axis=1, join="inner")
    joined = joined[np.isfinite(joined).all(axis=1)]
    if len(joined) < n:
        raise Missing("needs-results", f"at least {n} archs with finite {found.proxy} scores on {dataset} "
                                       f"(have {len(joined)})")
    rhos = []
    for e in range(experiments):
        sample = joined.loc[random.Random(e).sample(list(joined.index), n)]
        rhos.append(stats.spearman(sample["x"], sample["y"]))
    return Outcome(float(np.mean(rhos)), f"{experiments} samples of {n} distinct archs (seeds 0…{experiments - 1}); "
                   f"ρ range {min(rhos):.3f}…{max(rhos):.3f}" + (f"; {note}" if note else ""),
                   _spec(spec.describe(), f"samples of {n} from {len(joined):,} scored archs", n, found.failed),
                   {**_truth_provenance(inputs), found.proxy: found.provenance},
                   {"rho_per_experiment": rhos}, partial=coverage_note([found]))


def compute_mgm_correlation(claim, inputs: Inputs) -> Outcome:
    values, details, found_all, spec_text = {}, {}, [], []
    for dataset in claim.params["datasets"]:
        found = scores(inputs, "mgm", dataset)
        spec, acc, _ = target(inputs, claim.paper, dataset)
        x, y, dropped = stats.paired_finite(*pd.concat([found.values, acc], axis=1, join="inner").to_numpy().T)
        values[dataset] = stats.spearman(x, y)
        details[dataset] = {"n": len(x), "excluded": dropped + found.failed}
        found_all.append(found)
        spec_text.append(spec.describe())
    good = all(v >= 0.5 for v in values.values())
    return Outcome(values, "good (ρ ≥ 0.5) on every dataset" if good else "ρ < 0.5 on some dataset",
                   _spec("; ".join(spec_text), "scored NB201 archs", sum(d["n"] for d in details.values()),
                         sum(d["excluded"] for d in details.values())),
                   {**_truth_provenance(inputs), **{f"{f.proxy}/{f.dataset}": f.provenance for f in found_all}},
                   details, verdict="reproduced" if good else "deviates", partial=coverage_note(found_all))


# ------------------------------------------------------------------------------------ TE-NAS analyses

def _kappa_and_lr(claim, inputs: Inputs):
    dataset = _first_dataset_with(inputs, ["ntk", "lr1"], claim.params["datasets"])
    return dataset, scores(inputs, "ntk", dataset), scores(inputs, "lr1", dataset)


def compute_op_composition(claim, inputs: Inputs) -> Outcome:
    dataset, kappa, lr = _kappa_and_lr(claim, inputs)
    table = tenas.composition_table(kappa.values, lr.values)
    checks = tenas.composition_checks(table)
    inputs.cache.setdefault("tables", []).append(ReportTable(
        "tenas-composition", f"TE-NAS Fig. 4: op shares in the top 10% ({dataset} scores)", table.round(4),
        NO_TARGET, f"{len(kappa.values):,} archs with κ, {len(lr.values):,} with R", kappa.failed + lr.failed))
    inputs.cache.setdefault("figures", []).append(
        ("tenas-composition", "TE-NAS Fig. 4 (ours)", plots.composition_bars(table, "Op shares: top 10% by κ / by R")))
    ok = all(checks.values())
    return Outcome(checks, "all three statements hold" if ok else "some statements fail",
                   _spec(NO_TARGET, f"archs with finite κ / R on {dataset}", len(kappa.values),
                         kappa.failed + lr.failed), {"ntk": kappa.provenance, "lr1": lr.provenance},
                   {"shares": table.round(4).to_dict()}, verdict="reproduced" if ok else "deviates",
                   partial=coverage_note([kappa, lr]))


def compute_rank_sum(claim, inputs: Inputs) -> Outcome:
    dataset, kappa, lr = _kappa_and_lr(claim, inputs)
    spec, acc, note = target(inputs, claim.paper, dataset)
    summed = tenas.rank_sum(kappa.values, lr.values)
    idx = summed.index
    taus = {"rank_sum": stats.kendall(summed, acc.loc[idx]),
            "kappa": stats.kendall(kappa.values.loc[idx], acc.loc[idx]),
            "lr1": stats.kendall(lr.values.loc[idx], acc.loc[idx])}
    stronger = taus["rank_sum"] < 0 and abs(taus["rank_sum"]) > max(abs(taus["kappa"]), abs(taus["lr1"]))
    _store_scatter(inputs, claim.id, summed, acc.loc[idx], "rank(κ) + rank(R)", spec.column,
                   "TE-NAS Fig. 9 (ours): rank sum vs accuracy")
    return Outcome(taus, "τ(rank sum) is negative and larger in magnitude than for κ or R alone" if stronger else
                   "the rank sum is not the stronger correlate" + (f"; {note}" if note else ""),
                   _spec(spec.describe(), f"{len(idx):,} archs with finite κ and R ({dataset})", len(idx),
                         kappa.failed + lr.failed), {**_truth_provenance(inputs), "ntk": kappa.provenance,
                                                     "lr1": lr.provenance},
                   verdict="reproduced" if stronger else "deviates", partial=coverage_note([kappa, lr]))


def compute_train_test(claim, inputs: Inputs) -> Outcome:
    dataset = claim.params["dataset"]
    test_spec, test, _ = target(inputs, claim.paper, dataset)
    train_spec, train, _ = target(inputs, claim.paper, dataset, split="train")
    x, y, dropped = stats.paired_finite(train, test)
    tau, r = stats.kendall(x, y), stats.pearson(x, y)
    _store_scatter(inputs, claim.id, x, y, train_spec.column, test_spec.column,
                   "TE-NAS Fig. 10 (ours): train vs test accuracy")
    return Outcome({"kendall_tau_b": tau, "pearson": r}, "strong (τ ≥ 0.5)" if tau >= 0.5 else "weak (τ < 0.5)",
                   _spec(f"{train_spec.describe()} vs {test_spec.describe()}", "all NB201 archs", len(x), dropped),
                   _truth_provenance(inputs), verdict="reproduced" if tau >= 0.5 else "deviates")


def compute_lookup_optimal(claim, inputs: Inputs) -> Outcome:
    spec, acc, note = target(inputs, claim.paper, claim.params["dataset"])
    best = int(acc.idxmax())
    return Outcome(float(acc.max()), f"arch {best} {nb201.index_to_arch(best)}" + (f"; {note}" if note else ""),
                   _spec(spec.describe(), f"all {FULL_SPACE:,} NB201 archs", acc.notna().sum(), acc.isna().sum()),
                   _truth_provenance(inputs), {"index": best})


def compute_lookup_arch(claim, inputs: Inputs) -> Outcome:
    spec, acc, note = target(inputs, claim.paper, claim.params["dataset"])
    index = nb201.arch_to_index(claim.params["arch"])
    return Outcome(float(acc[index]), f"NB201 index {index}" + (f"; {note}" if note else ""),
                   _spec(spec.describe(), f"one arch (index {index})", 1, 0), _truth_provenance(inputs),
                   {"index": index})


# ------------------------------------------------------------------------------------ Revisit Fig. 1

FIG1_METHODS = ("AngleLoss", "LR1", "LR2", "NTK")


def revisit_group_experiment(inputs: Inputs) -> pd.DataFrame:
    """Random search inside the 8 Revisit groups × 3 datasets for random and every method with results."""
    if "fig1" in inputs.cache:
        return inputs.cache["fig1"]
    if inputs.revisit_groups is None:
        raise Missing("needs-data", inputs.groups_missing)
    members = pd.Index(sorted(i for g in inputs.revisit_groups for i in g.indices))
    tables, rules, specs, partial = {}, {"random": None}, [], []
    for dataset in ledger.NB201_DATASETS:
        spec, acc, _ = target(inputs, "Revisit", dataset)
        if acc.loc[members].isna().any():
            raise Missing("needs-data", f"{spec.describe()} has no value for {int(acc.loc[members].isna().sum())} "
                                        "archs of the Revisit groups")
        specs.append(spec.describe())
        table = search_table(dataset, acc)
        for method in FIG1_METHODS:
            rule, proxies = rs_rule(method)
            try:
                found = [scores(inputs, name, dataset) for name in proxies]
            except Missing:
                continue
            short = [f for f in found if len(members.difference(f.archs))]
            if short:  # a group run needs every member scored (or failed): skip partial results
                covers = ", ".join(f"{f.proxy} covers {len(members.intersection(f.archs)):,} of {len(members):,}"
                                   for f in short)
                partial.append(f"{method} on {dataset} ({covers})")
                continue
            for name, f in zip(proxies, found):
                table[name] = f.values.reindex(table.index)
            rules[method] = rule
        tables[dataset] = table
    experiment = group_experiment(tables, "accuracy", rules, inputs.revisit_groups, 100, RS_SEEDS)
    inputs.cache["fig1-partial"] = partial
    inputs.cache["fig1"] = experiment
    inputs.cache.setdefault("tables", []).append(ReportTable(
        "revisit-fig1", "Revisit Fig. 1 (ours): random search N=100 × 5 inside each same-#Param group",
        experiment.round(3), "; ".join(specs), "the 8 Revisit groups (revisit_params_split.json)",
        int(experiment["failed"].sum()),
        "methods without results for every group member are absent"
        + (f"; left out for partial coverage: {'; '.join(partial)}" if partial else "")))
    inputs.cache.setdefault("figures", []).append(
        ("revisit-fig1", "Revisit Fig. 1 (ours)",
         plots.group_bars(experiment, "Random search inside same-#Param groups")))
    return experiment


def compute_group_experiment(claim, inputs: Inputs) -> Outcome:
    experiment = revisit_group_experiment(inputs)
    methods = set(experiment["method"])
    statement = claim.params["statement"]
    needed = {"angleloss-best": "AngleLoss", "lr2-below-random": "LR2"}[statement]
    if needed not in methods:
        role = "angle and loss" if needed == "AngleLoss" else "naswot (LR2)"
        partial = [p for p in inputs.cache.get("fig1-partial", []) if p.startswith(needed)]
        raise Missing("needs-results", f"sweeps of {role} on cifar10, cifar100 and imagenet16 over every arch "
                                       f"of the Revisit groups (5,589 in the authors' file; the random baseline and "
                                       f"{', '.join(sorted(methods - {'random'})) or 'no proxy'} are in the figure)"
                                       + (f"; partial now: {'; '.join(partial)}" if partial else ""))
    wide = experiment.pivot_table(index=["dataset", "group"], columns="method", values="mean")
    all_datasets = sorted(set(wide.index.get_level_values("dataset")))
    wide = wide[wide[needed].notna()]  # judge only the datasets where the method has results
    datasets = sorted(set(wide.index.get_level_values("dataset")))
    if statement == "angleloss-best":
        others = [m for m in wide.columns if m != "AngleLoss"]
        wins = int((wide["AngleLoss"] >= wide[others].max(axis=1)).sum())
        holds = wins == len(wide)
        value = {"groups_where_angleloss_best": wins, "groups": len(wide), "compared_with": others}
    else:
        below = (wide["LR2"] < wide["random"]).groupby(level="dataset").sum()
        holds = bool((below >= 5).all())
        value = {f"{ds}_groups_lr2_below_random": int(v) for ds, v in below.items()}
    absent = sorted(set(all_datasets) - set(datasets))
    partial = f"{needed} results only for {', '.join(datasets)} (none for {', '.join(absent)})" if absent else ""
    return Outcome(value, ("holds" if holds else "does not hold") + f" on {', '.join(datasets)}",
                   _spec("NB201 test accuracy, Revisit versions (see the Fig. 1 table)",
                         "the 8 Revisit groups", int(experiment["runs"].sum()), int(experiment["failed"].sum())),
                   {**_truth_provenance(inputs), "groups": "revisit_params_split.json"},
                   verdict="reproduced" if holds else "deviates", partial=partial)


# ------------------------------------------------------------------------------------ paper-internal checks

def compute_table_consistency(claim, inputs: Inputs) -> Outcome:
    mismatches = []
    for method, cells in claim.paper_value.items():
        table5 = ledger.REVISIT_RS[method][1]
        for column, cell, full in zip(("NB101",) + tuple(ledger.SHORT[d] for d in ledger.NB201_DATASETS),
                                      cells, table5):
            if cell is None:
                continue
            for what, rounded, exact in (("mean", cell["mean"], full[0]), ("std", cell["std"], full[1])):
                if abs(rounded - exact) > 0.05 + 1e-9:
                    mismatches.append(f"{method} {column} {what}: Tab. 1 {rounded} vs Tab. 5 {exact}")
    return Outcome(mismatches or "consistent", "; ".join(mismatches) or "every Tab. 1 cell is Tab. 5 rounded",
                   _spec(NO_TARGET, "paper tables", sum(len(c) for c in claim.paper_value.values()), 0),
                   {"source": "Revisit Tab. 1 and Tab. 5 (spec/claims.md)"},
                   verdict="deviates" if mismatches else "reproduced")


def attainable_kendall(n: int) -> set[float]:
    """Every Kendall τ value of two rankings of n items without ties (brute force over permutations)."""
    values = set()
    for perm in permutations(range(n)):
        discordant = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        values.add(1 - 4 * discordant / (n * (n - 1)))
    return values


def compute_kendall_consistency(claim, inputs: Inputs) -> Outcome:
    attainable = sorted(attainable_kendall(claim.params["n"]))
    nearest = {k: min(attainable, key=lambda t: abs(t - v)) for k, v in claim.paper_value.items()}
    bad = [k for k, v in claim.paper_value.items() if round(nearest[k], 2) != v]
    pairs = claim.params["n"] * (claim.params["n"] - 1) // 2
    value = {k: f"{round(t * pairs)}/{pairs}" for k, t in nearest.items()}
    return Outcome(value, "every value is an attainable τ for n = 6 without ties" if not bad else
                   f"not attainable: {', '.join(bad)}",
                   _spec(NO_TARGET, "paper table", len(claim.paper_value), 0), {"source": "EnTranNAS Tab. 2"},
                   verdict="deviates" if bad else "reproduced")


def compute_nb101_sample_tau(claim, inputs: Inputs) -> Outcome:
    """τ(proxy, #Param) on the stored NB101 sample: always indicative (a small sample of NASLib's random
    specs, not Revisit's 10,000 cells)."""
    sample = inputs.nb101_sample
    row = sample.row("module", claim.params["metric"]) if sample is not None else None
    if row is None or not row["n"] > 1:
        raise Missing("needs-results", f"{NB101_SAMPLE_HOW} for an indicative value; the claim itself needs "
                                       f"{ledger.NB101_ENABLE}")
    composition = sample.meta.get("sample_composition", {})
    partial = (f"{int(row['n'])} distinct modules of the {composition.get('rows', '?')}-row NB101 sample (scored "
               f"{int(row['n_cells_scored'])} rows), not the paper's 10,000 cells")
    notes = [f"per-row τ: see the nb101-sample-tau table; τ with single-run validation accuracy "
             f"{row['kendall_tau_b']:.3f}"]
    if claim.params["metric"] == "LR1":
        notes.append(sample.meta.get("lr1", "LR1 on an assumed thin NB101 network"))
    if claim.params["metric"].startswith("NTK"):
        notes.append(sample.meta.get("ntk_batch_note", ""))
    return Outcome(float(row["kendall_tau_b_params"]), "; ".join(filter(None, notes)),
                   _spec("#Param of the stem-128 NB101 network (= trainable_parameters)", "NB101 sample modules",
                         int(row["n"]), 0, excluded_statuses=row["excluded_statuses"]),
                   {key: sample.meta[key] for key in ("provenance", "versions", "device", "written", "settings")
                    if key in sample.meta},
                   partial=partial)


def nb101_sample_section(inputs: Inputs) -> list[ReportTable]:
    """The stored NB101 sample table: every metric, per row of the sample and per distinct module."""
    sample = inputs.nb101_sample
    if sample is None:
        return []
    composition = sample.meta.get("sample_composition", {})
    return [ReportTable("nb101-sample-tau", "NB101 sample: Kendall τ-b with accuracy and with #Param",
                        sample.table.reset_index(drop=True), sample.meta.get("accuracy", "NB101 sample accuracy"),
                        f"{composition.get('rows', '?')} rows = {composition.get('distinct_modules', '?')} distinct "
                        f"modules ({sample.folder})",
                        notes="unit 'module': one point per module hash (mean score and accuracy of its rows); "
                              + sample.meta.get("lr1", ""))]


COMPUTE = {
    "random_search": compute_random_search, "tau_with_params": compute_tau_with_params,
    "tau_with_accuracy": compute_tau_with_accuracy, "tau_between": compute_tau_between,
    "spearman_sample": compute_spearman_sample, "mgm_correlation": compute_mgm_correlation,
    "op_composition": compute_op_composition, "rank_sum": compute_rank_sum, "train_test": compute_train_test,
    "lookup_optimal": compute_lookup_optimal, "lookup_arch": compute_lookup_arch,
    "group_experiment": compute_group_experiment, "table_consistency": compute_table_consistency,
    "kendall_consistency": compute_kendall_consistency, "pruning_search": compute_pruning_search,
    "nb101_sample_tau": compute_nb101_sample_tau,
}


def _store_scatter(inputs: Inputs, key: str, x, y, xlabel: str, ylabel: str, title: str, logx: bool = False):
    x, y, _ = stats.paired_finite(np.asarray(x, float), np.asarray(y, float))
    if logx and (x <= 0).any():
        logx = False
    inputs.cache.setdefault("figures", []).append((f"scatter-{key}", title, plots.scatter(x, y, xlabel, ylabel, title,
                                                                                        logx)))


# ------------------------------------------------------------------------------------ verdicts

def tolerance_for(claim, our_value) -> float | None:
    if claim.tolerance == "2se":
        paper_std, our_std = claim.paper_value["std"], our_value["std"]
        return 2 * math.sqrt((paper_std ** 2 + our_std ** 2) / claim.params.get("runs", len(RS_SEEDS)))
    return claim.tolerance


def judge(claim, outcome: Outcome) -> tuple[str, float | None]:
    """(verdict, tolerance used): the outcome's own verdict, `indicative` for partial inputs, else the
    comparison |ours − paper| ≤ tolerance (on the mean for mean/std values)."""
    if outcome.partial:
        return "indicative", None
    if outcome.verdict:
        return outcome.verdict, None
    tol = tolerance_for(claim, outcome.our_value)
    ours, theirs = outcome.our_value, claim.paper_value
    if isinstance(theirs, dict):
        ours, theirs = ours["mean"], theirs["mean"]
    return ("reproduced" if abs(ours - theirs) <= tol else "deviates"), tol


def evaluate(claim, inputs: Inputs) -> dict:
    """One ledger entry."""
    entry = {"id": claim.id, "claim": claim.claim, "paper": claim.paper, "where": claim.where,
             "setting": claim.setting, "paper_value": claim.paper_value, "our_value": None,
             "tolerance": claim.tolerance, "verdict": claim.verdict, "explanation": "", "method": claim.method,
             "training": claim.training, "spec": {}, "provenance": {}, "details": {}, "enable": claim.enable}
    if claim.kind == "static":
        entry["explanation"] = ledger.VERDICTS[claim.verdict]
        return entry
    try:
        outcome = COMPUTE[claim.kind](claim, inputs)
    except Missing as missing:
        entry.update(verdict=missing.verdict, enable=missing.enable, explanation=ledger.VERDICTS[missing.verdict])
        return entry
    verdict, tol = judge(claim, outcome)
    explanation = outcome.explanation
    if outcome.partial:
        explanation = f"{outcome.partial}; {explanation}" if explanation else outcome.partial
    elif verdict == "deviates" and tol is not None:
        explanation = f"|ours − paper| exceeds {tol:.3g}; {explanation}".rstrip("; ")
    entry.update(our_value=outcome.our_value, verdict=verdict, explanation=explanation, spec=outcome.spec,
                 provenance=outcome.provenance, details=outcome.details)
    if tol is not None:
        entry["tolerance"] = tol
    return entry


# ------------------------------------------------------------------------------------ always-on sections

def space_section() -> tuple[list[ReportTable], list[tuple]]:
    """#Param and FLOPs of the NB201 space by (n3, n1) class; the general vs Revisit group sizes."""
    from zcbench.spaces.flops import nb201_flops

    table = space_table()
    classes = (table.groupby(["n3", "n1"]).agg(archs=("params_cifar10", "size"),
                                                params_cifar10=("params_cifar10", "first"),
                                                params_cifar100=("params_cifar100", "first"),
                                                params_imagenet16=("params_imagenet16", "first")).reset_index())
    archs = nb201.all_archs()
    first = table.reset_index().groupby(["n3", "n1"])["index"].first()
    classes["mflops_cifar10"] = [round(nb201_flops(archs[first[(a, b)]], 32, 10), 3)
                                 for a, b in zip(classes.n3, classes.n1)]
    classes = classes.sort_values("params_cifar10").reset_index(drop=True)
    iso = len(nb201.iso_representatives())
    tables = [ReportTable("space-classes", "NB201 same-#Param classes: #Param and FLOPs depend only on (n3, n1)",
                          classes, NO_TARGET, f"all {FULL_SPACE:,} NB201 archs ({iso:,} isomorphism classes)",
                          notes=f"{len(classes)} distinct #Param values: argmax over #Param ties heavily; "
                                "FLOPs count conv and linear multiply-adds only (NB201 API convention)")]
    figures = [("space-classes", "Archs per #Param value", plots.param_classes(classes, "NB201: archs per #Param"))]
    return tables, figures


def groups_section(inputs: Inputs) -> list[ReportTable]:
    if inputs.revisit_groups is None:
        return []
    diff = groups_mod.compare_with_classes(inputs.revisit_groups)
    diff["missing_indices"] = diff["missing_indices"].map(lambda v: " ".join(map(str, v)) or "—")
    diff["missing_kinds"] = diff["missing_kinds"].map(lambda d: ", ".join(f"{k}: {v}" for k, v in d.items()) or "—")
    return [ReportTable("revisit-groups", "Revisit same-#Param groups vs the general (n3, n1) classes", diff,
                        NO_TARGET, "the 8 Revisit groups (revisit_params_split.json) and their full classes",
                        notes=f"{int(diff['missing'].sum())} archs of the full classes are absent from the "
                              "authors' file: none has a conv on a live input→output route")]


def correlation_section(inputs: Inputs) -> list[ReportTable]:
    """Agreement of every registered proxy with results with test accuracy, per dataset, over all
    scored archs and over the isomorphism representatives."""
    from zcbench.proxies.registry import REGISTRY

    if inputs.truth is None or inputs.results.empty:
        return []
    found = available(inputs.results)
    tables = []
    for dataset in ledger.NB201_DATASETS:
        names = [n for n in dict.fromkeys(found.loc[found["dataset"] == dataset, "proxy"]) if n in REGISTRY]
        if not names:
            continue
        try:
            spec, acc, note = target(inputs, "TE-NAS", dataset)
        except Missing:
            continue
        all_scores = {n: cached_scores(inputs, n, dataset) for n in names}
        oriented_scores = {n: oriented(n, s.values) for n, s in all_scores.items()}
        failed = {n: s.failed for n, s in all_scores.items()}
        params = space_table()[f"params_{dataset}"]
        for arch_set in (groups_mod.all_archs(), groups_mod.iso_representatives()):
            tables.append(correlation_table(
                f"correlations-{dataset}-{arch_set.name}", f"Proxy vs test accuracy, {dataset}, {arch_set.name}",
                oriented_scores, acc, params, spec.describe() + (f" ({note})" if note else ""), arch_set, failed))
    return tables


def revisit_table5(entries: list[dict]) -> list[ReportTable]:
    """Revisit Tab. 5 (NB201 columns) side by side with ours, for the rows we could compute."""
    rows = []
    for method, (cid, _) in ledger.REVISIT_RS.items():
        cells = {e["id"].split("/")[1]: e for e in entries if e["claim"] == cid and not e["id"].endswith("nb101")}
        if not any(e["our_value"] is not None for e in cells.values()):
            continue
        row = {"method": method}
        for ds in ledger.NB201_DATASETS:
            if ds in cells:
                row[f"{ledger.SHORT[ds]} paper"] = render.format_value(cells[ds]["paper_value"])
                row[f"{ledger.SHORT[ds]} ours"] = render.format_value(cells[ds]["our_value"])
                row[f"{ledger.SHORT[ds]} verdict"] = cells[ds]["verdict"]
        rows.append(row)
    if not rows:
        return []
    targets = sorted({e["spec"]["target"] for e in entries if e["claim"].startswith("R") and e["spec"].get("rule")})
    return [ReportTable("revisit-table5", "Revisit Tab. 5, NB201 columns: random search N=100 × 5 (paper vs ours)",
                        pd.DataFrame(rows), "; ".join(targets), f"all {FULL_SPACE:,} NB201 archs (or those with "
                        "results, see the ledger)", sum(e["spec"].get("excluded", 0) for e in entries
                                                        if e["spec"].get("rule")), RS_METHOD_SHORT)]


RS_METHOD_SHORT = "mean (std) of 5 runs, seeds 1–5; argmax = first in sample order; see the ledger for details"


DEMO_SIZES = {  # cost class → (archs in --quick, archs otherwise)
    "parameter-free": (64, 256), "forward": (32, 128), "backward": (32, 128), "per-sample-backward": (16, 64),
    "short-train": (8, 32)}
# Settings fields shrunk for the demo wherever a proxy has them: tiny networks, small batches.
DEMO_OVERRIDES = {"channels": 4, "cells": 1, "batch_size": 64, "batches": 1, "repeats": 1, "samples": 8,
                  "iterations": 5}


def synthetic_demo(inputs: Inputs) -> tuple[list[ReportTable], dict]:
    """Every registered proxy on synthetic 16-px images with tiny networks (`DEMO_OVERRIDES`) for a
    seeded sample of archs, and τ with #Param — shows the pipeline end to end on any machine; the
    numbers say nothing about NAS."""
    import dataclasses

    from zcbench.proxies.registry import REGISTRY
    from zcbench.spaces.images import synthetic_imageset

    data = synthetic_imageset(n=256, size=16, num_classes=10, seed=inputs.seed, name="synthetic-16px")
    size_pick = 0 if inputs.quick else 1
    largest = max(sizes[size_pick] for sizes in DEMO_SIZES.values())
    sample = np.random.default_rng(inputs.seed).choice(FULL_SPACE, size=largest, replace=False)
    rows, seconds = [], {}
    for spec in REGISTRY:
        n = DEMO_SIZES[spec.cost_class][size_pick]
        fields = {f.name for f in dataclasses.fields(spec.settings_type)}
        settings = spec.settings("code", **{k: v for k, v in DEMO_OVERRIDES.items() if k in fields})
        start = time.perf_counter()
        for arch in sample[:n]:
            result = spec.score(int(arch), data=data, settings=settings, seed=inputs.seed, dataset="cifar10")
            rows.append({"arch": int(arch), "proxy": spec.name, "value": result.value, "status": result.status})
        seconds[spec.name] = round(time.perf_counter() - start, 2)
    long = pd.DataFrame(rows)
    wide = long.pivot(index="arch", columns="proxy", values="value")
    statuses = long.groupby("proxy")["status"].apply(lambda s: int((s != "ok").sum()))
    params = space_table()["params_cifar10"]
    tau_rows = []
    for name in wide.columns:
        x, y, dropped = stats.paired_finite(wide[name].dropna(), params.loc[wide[name].dropna().index])
        if len(x) >= 3 and len(np.unique(x)) > 1:
            ci = stats.bootstrap_ci(stats.kendall, x, y, reps=inputs.bootstrap_reps // 2, seed=inputs.seed)
            tau_rows.append({"proxy": name, "archs": len(x), "kendall_tau_with_params": ci.estimate,
                             "ci95_low": ci.low, "ci95_high": ci.high, "failed": int(statuses[name]) + dropped,
                             "seconds": seconds[name]})
        else:
            tau_rows.append({"proxy": name, "archs": len(x), "failed": int(statuses[name]) + dropped,
                             "seconds": seconds[name]})
    arch_set = f"a seeded sample (seed {inputs.seed}) of {largest} archs; cheaper proxies score more of it"
    target_text = ("none — synthetic random images (16 px, 10 classes), tiny networks "
                   f"({', '.join(f'{k}={v}' for k, v in DEMO_OVERRIDES.items())} where a proxy has the field)")
    tables = [ReportTable("demo-tau", "Demo: Kendall τ-b of each proxy with #Param on the sample (synthetic images)",
                          pd.DataFrame(tau_rows).round(4), target_text, arch_set, int(statuses.sum()),
                          "a pipeline check on synthetic inputs, not a benchmark result"),
              ReportTable("demo-scores", "Demo: proxy values per arch (synthetic images)", wide.reset_index(),
                          target_text, arch_set, int(statuses.sum()))]
    return tables, {"proxies": list(wide.columns), "archs": largest, "seconds": seconds}


# ------------------------------------------------------------------------------------ driver

@contextlib.contextmanager
def single_torch_thread():
    """Run torch single-threaded, then restore: the demo's networks are tiny, and on a shared CPU
    intra-op threads oversubscribe the cores (measured here: 30 s vs 0.3 s per short-train arch)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run(out_dir, data_dir=None, results_dir=None, paper=None, quick=False, seed=0) -> tuple[Report, str]:
    """Compute the ledger and write ledger.json, report.md, report.html and figures/ to `out_dir`."""
    with single_torch_thread():
        return _run(out_dir, data_dir, results_dir, paper, quick, seed)


def _run(out_dir, data_dir, results_dir, paper, quick, seed) -> tuple[Report, str]:
    from zcbench.benchmarks.provenance import run_provenance

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if results_dir is None and Path("results").is_dir():
        results_dir = "results"
    selected = ledger.select(ledger.all_claims(), paper)
    inputs = load_inputs(data_dir, results_dir, quick, seed)
    entries = [evaluate(claim, inputs) for claim in selected]
    tables, figures = space_section()
    tables += groups_section(inputs) + revisit_table5(entries) + correlation_section(inputs) + pruning_section(inputs)
    tables += nb101_sample_section(inputs)
    if inputs.revisit_groups is not None and inputs.truth is not None and "fig1" not in inputs.cache:
        try:
            revisit_group_experiment(inputs)
        except Missing:
            pass  # a dataset's accuracy is absent: the R18 entries already say which file is needed
    demo_tables, demo = synthetic_demo(inputs)
    tables += inputs.cache.get("tables", []) + demo_tables
    figures += inputs.cache.get("figures", [])
    figure_refs = []
    for key, title, fig in figures:
        path = plots.save_png(fig, out_dir / "figures" / f"{key}.png")
        figure_refs.append({"key": key, "title": title, "file": str(path.relative_to(out_dir))})
    meta = {"options": {"data_dir": str(data_dir) if data_dir else None,
                        "results_dir": str(results_dir) if results_dir else None, "paper": paper, "quick": quick,
                        "seed": seed},
            "inputs": {"ground_truth": list(inputs.truth.sources) if inputs.truth is not None else None,
                       "ground_truth_missing": inputs.truth_missing,
                       "revisit_groups": inputs.groups_missing or "found",
                       "result_rows": len(inputs.results),
                       "result_sweeps": sorted(set(inputs.results["sweep"])) if len(inputs.results) else [],
                       "unmerged_sweeps": inputs.unmerged, "pruning_runs": len(inputs.pruning_runs),
                       "nb101_sample": str(inputs.nb101_sample.folder) if inputs.nb101_sample else None},
            "demo": demo, "run": run_provenance(), "seconds": round(time.perf_counter() - started, 1),
            "verdicts": ledger.VERDICTS}
    report = Report(entries, tables, figure_refs, meta)
    write(report, out_dir)
    return report, summary_line(report, out_dir)


def write(report: Report, out_dir: Path) -> None:
    ledger_doc = {"meta": report.meta, "claims": report.ledger}
    (out_dir / "ledger.json").write_text(json.dumps(render.json_safe(ledger_doc), indent=2, ensure_ascii=False))
    (out_dir / "report.md").write_text(render.markdown(report))
    (out_dir / "report.html").write_text(render.html(report, out_dir))


def summary_line(report: Report, out_dir: Path) -> str:
    counts = pd.Series([e["verdict"] for e in report.ledger]).value_counts()
    parts = ", ".join(f"{int(counts[v])} {v}" for v in ledger.VERDICTS if v in counts)
    return (f"zcbench reproduce: {len(report.ledger)} ledger entries — {parts}; "
            f"report {out_dir / 'report.html'} ({report.meta['seconds']} s)")
