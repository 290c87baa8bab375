"""Generic claim kinds shared by the papers: correlations over proxy seeds, random search with its
band and power, stored pruning searches, Spearman samples, benchmark lookups.

Seeds are a dimension of every proxy-based result: each compute function evaluates every proxy
seed the results hold, on the archs every seed scored, and builds the prediction interval of
`reports.uncertainty` (seed spread, plus a bootstrap over archs when those archs are a sample).
"""
from __future__ import annotations

import random

import numpy as np
import pandas as pd

from zcbench.benchmarks.pruning import TRAINING_CRITERIA, criterion_settings
from zcbench.proxies.combinations import combination_names, combine, get_combination
from zcbench.proxies.registry import settings_hash
from zcbench.reports import stats, uncertainty
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import Missing, Outcome, claim_kind
from zcbench.reports.pruning import ANGLELOSS_DIR, PRUNING_DIR, summarize_runs
from zcbench.reports.results import ProxyScores
from zcbench.reports.search import (
    Score,
    pick_positions,
    random_search,
    rule_columns,
    simulated_positions,
    summarize,
)
from zcbench.spaces import nb201

FULL_SPACE = ins.FULL_SPACE
PRUNING_COST = {  # measured here (AMD EPYC, 2 shared cores), one search per core
    False: "324 κ evaluations (≈ 40–50 min on one CPU core)",
    True: "54 short trainings of the C=3, N=1 supernet (≈ 24 min on one shared CPU core)",
}


# ------------------------------------------------------------------------------------ correlations

def proxy_series_by_seed(inputs, name: str, dataset: str) -> tuple[dict[int, pd.Series], list]:
    """Higher-is-better values per proxy seed of a proxy or a registered combination (a combination's
    ranks are taken over the archs where every component is usable, per seed)."""
    if name in combination_names():
        combination = get_combination(name)
        per_proxy = [ins.seed_scores(inputs, column, dataset) for column in combination.columns()]
        out = {}
        for seed in ins.common_seeds(per_proxy):
            table = pd.concat({found[seed].proxy: found[seed].values for found in per_proxy}, axis=1)
            values = combine(table, combination, non_ok="exclude").dropna()
            out[seed] = values if combination.higher_is_better else -values
        return out, [found[s] for found in per_proxy for s in out]
    found = ins.seed_scores(inputs, name, dataset)
    return {s: ins.oriented(f.proxy, f.values) for s, f in found.items()}, list(found.values())


def seed_correlation(inputs, xs: dict[int, pd.Series], ys: dict[int, pd.Series], found: list,
                     statistic=stats.kendall) -> tuple[uncertainty.SeedInterval, dict, pd.Index]:
    """The statistic per proxy seed on the archs every seed scored (finite on both sides), and its
    prediction interval; the archs are a sample when some seed's rows miss part of the space."""
    seeds = sorted(set(xs) & set(ys))
    if not seeds:
        raise Missing("needs-results", "no proxy seed has both sides of this correlation")
    common = ins.finite_archs([xs[s] for s in seeds] + [ys[s] for s in seeds])
    per_seed_x = [xs[s].loc[common].to_numpy(np.float64) for s in seeds]
    per_seed_y = [ys[s].loc[common].to_numpy(np.float64) for s in seeds]
    values = [statistic(x, y) for x, y in zip(per_seed_x, per_seed_y)]
    covered = min(len(f.archs) for f in found) if found else FULL_SPACE
    is_sample = covered < FULL_SPACE
    arch_sd = uncertainty.bootstrap_sd_of_seed_mean(statistic, per_seed_x, per_seed_y, inputs.bootstrap_reps,
                                                    inputs.seed) if is_sample else 0.0
    interval = uncertainty.seed_interval(values, arch_sd)
    whole = {}
    for s in seeds:  # a seed that scored the whole space: its own whole-space value, for reference
        idx = ins.finite_archs([xs[s], ys[s]])
        if len(idx) > len(common):
            whole[int(s)] = {"value": statistic(xs[s].loc[idx].to_numpy(), ys[s].loc[idx].to_numpy()), "n": len(idx)}
    details = {**interval.as_dict(), "seed_ids": [int(s) for s in seeds], "archs": len(common),
               "arch_sample": is_sample, "bootstrap_reps": inputs.bootstrap_reps if is_sample else 0,
               "single_seed_larger_sets": whole}
    return interval, details, common


def other_settings_check(inputs, found: dict, target: pd.Series, orient: bool,
                         statistic=stats.kendall) -> tuple[list[dict], str]:
    """The claim's statistic under every other stored setting of the proxy (its lowest seed, on the cells it
    scored, with a bootstrap interval over those cells; one seed, so no seed spread), and the chosen
    setting's lowest seed on the cells both scored when there are enough: does the preset change the answer?"""
    first = found[min(found)]

    def values(scores: ProxyScores, cells: pd.Index) -> np.ndarray:
        return (ins.oriented(scores.proxy, scores.values) if orient else scores.values).loc[cells].to_numpy(np.float64)

    checks, texts = [], []
    for other in ins.other_setting_scores(inputs, first.proxy, first.dataset, first.provenance["settings_hash"]):
        cells = ins.finite_archs([other.values, target])
        if len(cells) < ins.OTHER_SETTING_MIN_ARCHS:
            continue
        x, y = values(other, cells), target.loc[cells].to_numpy(np.float64)
        value = statistic(x, y)
        interval = uncertainty.seed_interval([value], uncertainty.bootstrap_sd_of_seed_mean(
            statistic, [x], [y], inputs.bootstrap_reps, inputs.seed))
        check = {"setting": other.provenance["setting"], "settings_hash": other.provenance["settings_hash"],
                 "seed": other.provenance["seeds"][0], "n": len(cells), "value": value,
                 "interval": [interval.low, interval.high],
                 "interval_rule": "uncertainty.seed_interval of one proxy seed: bootstrap over cells only",
                 "sweeps": other.provenance["sweeps"], "shared_cells": 0}
        label = (f"setting `{check['setting']}` ({check['settings_hash']}, seed {check['seed']}, n={len(cells):,}): "
                 f"{value:.3f} [{check['interval'][0]:.3f}, {check['interval'][1]:.3f}]")
        shared = ins.finite_archs([other.values, first.values, target])
        if len(shared) >= ins.OTHER_SETTING_MIN_ARCHS:
            y_shared = target.loc[shared].to_numpy(np.float64)
            check.update(shared_cells=len(shared),
                         chosen_setting_shared_cells=statistic(values(first, shared), y_shared),
                         other_setting_shared_cells=statistic(values(other, shared), y_shared),
                         tau_between_settings=stats.kendall(values(other, shared), values(first, shared)))
            label += (f"; on the {len(shared):,} cells both scored {check['other_setting_shared_cells']:.3f} vs "
                      f"`{first.provenance['setting']}` {check['chosen_setting_shared_cells']:.3f}, τ between the "
                      f"two settings {check['tau_between_settings']:.2f}")
        checks.append(check)
        texts.append(label)
    return checks, "; ".join(texts)


def arch_set_text(n: int, is_sample: bool) -> str:
    return (f"sample n={n:,} (the archs every proxy seed scored; seeded uniform sample of the "
            f"{FULL_SPACE:,})" if is_sample else f"all {FULL_SPACE:,} NB201 archs ({n:,} with finite scores)")


def excluded_count(found: list, n: int) -> int:
    """Archs scored by the widest result but outside the n archs a claim used (failed on some side)."""
    return max(len(f.archs) for f in found) - n if found else 0


def correlation_outcome(claim, inputs, interval, details, common, found, target_text, dataset, truth_version="",
                        explanation="", extra_details=None) -> Outcome:
    _, substitute = ins.image_inputs(found)
    arch_set = arch_set_text(len(common), details["arch_sample"])
    return Outcome(
        interval.estimate, explanation,
        ins.spec(target_text, arch_set, len(common), excluded_count(found, len(common)), dataset=dataset),
        {f"{f.proxy} seed {','.join(map(str, f.provenance.get('seeds', [])))}": f.provenance for f in found},
        {**details, **(extra_details or {})}, partial=ins.caveats(inputs, found), interval=interval,
        seeds=tuple(details["seed_ids"]),
        inputs=ins.evidence(dataset=dataset, target_text=target_text, arch_set=arch_set, n=len(common),
                            seeds=details["seed_ids"], found=found, truth_version=truth_version),
        substitute=substitute)


@claim_kind("tau_with_params", params=("proxy", "dataset"))
def compute_tau_with_params(claim, inputs) -> Outcome:
    dataset = claim.params["dataset"]
    xs, found = proxy_series_by_seed(inputs, claim.params["proxy"], dataset)
    params = ins.params_series(dataset)
    interval, details, common = seed_correlation(inputs, xs, {s: params for s in xs}, found)
    other_checks, other_text = ([], "") if claim.params["proxy"] in combination_names() else \
        other_settings_check(inputs, ins.seed_scores(inputs, claim.params["proxy"], dataset), params, orient=True)
    return correlation_outcome(claim, inputs, interval, details, common, found, ins.PARAMS_NOTE + f", {dataset}",
                               dataset, explanation="; ".join(filter(None, (
                                   "higher-is-better orientation (κ and loss negated)", other_text))),
                               extra_details={"other_settings": other_checks})


def first_dataset_with(inputs, proxies: list[str], datasets) -> str:
    missing = []
    for ds in datasets:
        try:
            for name in proxies:
                ins.seed_scores(inputs, name, ds)
            return ds
        except Missing as exc:
            missing.append(exc.enable)
    raise Missing("needs-results", missing[0])


@claim_kind("tau_with_accuracy", params=("proxy", "datasets"))
def compute_tau_with_accuracy(claim, inputs) -> Outcome:
    name = claim.params["proxy"]
    dataset = first_dataset_with(inputs, [name], claim.params["datasets"])
    found = ins.seed_scores(inputs, name, dataset)
    spec, acc, note = ins.target(inputs, claim.paper, dataset)
    raw = {s: f.values for s, f in found.items()}
    interval, details, common = seed_correlation(inputs, raw, {s: acc for s in raw}, list(found.values()))
    first = raw[min(raw)].loc[common]
    params = ins.params_series(dataset).loc[common]
    extra = {"partial_tau_given_params_first_seed": stats.partial_correlation(first, acc.loc[common], params,
                                                                              "kendall")}
    per_class = stats.grouped_correlation(first, acc.loc[common], params, "kendall")
    extra["within_param_class_tau_weighted_first_seed"] = stats.weighted_mean(per_class["value"], per_class["n"])
    extra["other_settings"], other_text = other_settings_check(inputs, found, acc, orient=False)
    return correlation_outcome(claim, inputs, interval, details, common, list(found.values()), spec.describe(),
                               dataset, spec.version, "; ".join(filter(None, (
                                   f"raw {name} values (sign as the paper states it)", note, other_text))), extra)


@claim_kind("tau_between", params=("proxies", "dataset"))
def compute_tau_between(claim, inputs) -> Outcome:
    a, b = claim.params["proxies"]
    dataset = claim.params["dataset"]
    (xs, fx), (ys, fy) = proxy_series_by_seed(inputs, a, dataset), proxy_series_by_seed(inputs, b, dataset)
    interval, details, common = seed_correlation(inputs, xs, ys, fx + fy)
    return correlation_outcome(claim, inputs, interval, details, common, fx + fy, "none (proxy vs proxy)", dataset,
                               explanation=f"proxy seed s of {a} paired with seed s of {b}")


SPREAD_DRAWS = 100  # samples of n archs drawn to measure the arch-sampling spread of ρ


@claim_kind("spearman_sample", params=("proxy", "dataset", "n", "experiments"))
def compute_spearman_sample(claim, inputs) -> Outcome:
    name, dataset, n, experiments = (claim.params[k] for k in ("proxy", "dataset", "n", "experiments"))
    found = ins.seed_scores(inputs, name, dataset)
    spec, acc, note = ins.target(inputs, claim.paper, dataset, split="valid")
    per_seed, spreads = [], []
    for seed, f in sorted(found.items()):
        joined = pd.concat([f.values.rename("x"), acc.rename("y")], axis=1, join="inner")
        joined = joined[np.isfinite(joined).all(axis=1)]
        if len(joined) < n:
            raise Missing("needs-results", f"at least {n} archs with finite {name} scores on {dataset} (seed {seed} "
                                           f"has {len(joined)})")
        draws = max(experiments, SPREAD_DRAWS)  # the first `experiments` draws are the claim's own samples
        rhos = [stats.spearman(*joined.loc[random.Random(e).sample(list(joined.index), n)].to_numpy().T)
                for e in range(draws)]
        per_seed.append(float(np.mean(rhos[:experiments])))
        spreads.append(float(np.std(rhos, ddof=1)) / np.sqrt(experiments))
    # arch sampling: the spread of a mean of `experiments` samples of n archs; seeds: their own spread
    interval = uncertainty.seed_interval(per_seed, float(np.mean(spreads)))
    fl = list(found.values())
    _, substitute = ins.image_inputs(fl)
    arch_set = f"{experiments} samples of {n} distinct archs (seeds 0…{experiments - 1})"
    return Outcome(interval.estimate, f"Spearman ρ; {note}" if note else "Spearman ρ",
                   ins.spec(spec.describe(), arch_set, n, 0), {f.proxy: f.provenance for f in fl},
                   interval.as_dict(), partial=ins.caveats(inputs, fl), interval=interval, seeds=tuple(sorted(found)),
                   inputs=ins.evidence(dataset=dataset, target_text=spec.describe(), arch_set=arch_set, n=n,
                                       seeds=sorted(found), found=fl, truth_version=spec.version),
                   substitute=substitute)


# ------------------------------------------------------------------------------------ random search

# Revisit Tab. 5 / NASWOT methods → the selection rule (a score column or a registered combination).
RS_RULES = {"#Param": Score("params"), "LR1": Score("lr1"), "NTK": Score("ntk", higher_is_better=False),
            "LR2": Score("naswot"), "NASWOTv1": Score("naswot_v1"), "LR1+#Param": "lr1+params",
            "NTK+#Param": "ntk+params", "LR2+#Param": "lr2+params", "AngleLoss": "angleloss",
            "AngleLoss+#Param": "angleloss+params", "AngleLoss+LR2": "angleloss+lr2"}
SAMPLE_N = 100


def rs_rule(method: str):
    """(rule, the proxies whose results it needs); #Param comes from the space, not from results."""
    rule = RS_RULES[method]
    rule = get_combination(rule) if isinstance(rule, str) else rule
    return rule, [c for c in rule_columns(rule) if c != "params"]


def _seed_tables(inputs, dataset: str, proxies: list[str], accuracy: pd.Series):
    """Per proxy seed: (score table, candidate archs = every arch with accuracy and a row of every proxy)."""
    base = ins.search_table(dataset, accuracy)
    if not proxies:
        return {None: (base, base.index[base["accuracy"].notna()])}, []
    per_proxy = [ins.seed_scores(inputs, name, dataset) for name in proxies]
    out, found = {}, []
    for seed in ins.common_seeds(per_proxy):
        table = base.copy()
        covered = table.index[table["accuracy"].notna()]
        for name, per_seed in zip(proxies, per_proxy):
            table[name] = per_seed[seed].values.reindex(table.index)
            covered = covered.intersection(per_seed[seed].archs)
            found.append(per_seed[seed])
        out[seed] = (table, covered)
    if not out:
        raise Missing("needs-results", f"no proxy seed has results for all of {', '.join(proxies)} on {dataset}")
    return out, found


def histogram(values: np.ndarray, bins: int = 40) -> dict:
    """A small summary of the simulated R-run means for the report's figure: bin edges and counts."""
    counts, edges = np.histogram(values, bins=bins)
    return {"edges": edges.round(4).tolist(), "counts": counts.tolist()}


def simulated_run_accuracies(table, candidates, rule, runs: int, seed: int, sampler: str) -> np.ndarray:
    """Accuracy of the pick of `runs` simulated searches (N=100 from `candidates`)."""
    cand = np.asarray(candidates)
    columns = {c: table[c].to_numpy(np.float64)[table.index.get_indexer(cand)] for c in rule_columns(rule)}
    acc = table["accuracy"].to_numpy(np.float64)[table.index.get_indexer(cand)]
    picks = pick_positions(columns, rule, simulated_positions(len(cand), SAMPLE_N, runs, seed, sampler))
    return acc[picks]


@claim_kind("random_search", params=("method", "dataset"), optional=("sampler", "runs"))
def compute_random_search(claim, inputs) -> Outcome:
    dataset, method = claim.params["dataset"], claim.params["method"]
    sampler, runs = claim.params.get("sampler", "distinct"), claim.params.get("runs", 5)
    rule, proxies = rs_rule(method)
    spec, acc, note = ins.target(inputs, claim.paper, dataset)
    tables, found = _seed_tables(inputs, dataset, proxies, acc)
    too_few = min(len(c) for _, c in tables.values())
    if too_few < SAMPLE_N:
        raise Missing("needs-results", f"a sweep of proxy '{proxies[0]}' on {dataset} over the NB201 archs (the "
                                       f"results cover {too_few} archs with every input: too few to draw {SAMPLE_N})")
    means_wanted = max(inputs.simulated_means * 5 // runs, 40)
    per_seed, simulated = {}, []
    for k, (seed, (table, candidates)) in enumerate(sorted(tables.items(), key=lambda kv: (kv[0] is None, kv[0]))):
        exact = summarize(random_search(table, "accuracy", rule, list(candidates), SAMPLE_N, range(1, runs + 1),
                                        sampler))
        sims = simulated_run_accuracies(table, candidates, rule, means_wanted * runs, inputs.seed + 1000 * k, sampler)
        band = uncertainty.search_band(uncertainty.run_means(sims, runs), runs)
        simulated.append(sims)
        per_seed["none" if seed is None else int(seed)] = {
            "protocol_seeds_1_to_R": {"mean": exact["mean"], "std": exact["std"], "failed": exact["failed"]},
            **band.as_dict(), "candidates": len(candidates)}
    # each simulated R-run mean draws every run's proxy seed uniformly from the seeds we have
    stacked = np.stack(simulated)
    rng = np.random.default_rng(inputs.seed)
    which = rng.integers(0, len(stacked), size=(means_wanted, runs))
    columns = np.arange(means_wanted * runs).reshape(means_wanted, runs)
    mixed = stacked[which, columns].mean(axis=1)
    band = uncertainty.search_band(mixed, runs)
    all_acc = acc.dropna()
    random_runs = all_acc.to_numpy()[np.random.default_rng([inputs.seed, 7]).integers(0, len(all_acc),
                                                                                       means_wanted * runs)]
    power = uncertainty.band_power(band, uncertainty.run_means(random_runs, runs), claim.rule.tolerance)
    seeds = [s for s in tables if s is not None]
    smallest = min(len(c) for _, c in tables.values())
    is_sample = smallest < FULL_SPACE
    arch_set = (f"sample n={smallest:,}: runs draw N=100 from the archs each proxy seed scored (a seeded uniform "
                f"sample; caveat: an N=100 draw from a sample, not from the whole space)" if is_sample else
                f"all {FULL_SPACE:,} NB201 archs")
    first = per_seed[next(iter(per_seed))]["protocol_seeds_1_to_R"]
    images, substitute = ins.image_inputs(found)
    return Outcome(
        {"mean": first["mean"], "std": first["std"]},
        f"rule {rule.name}; exact protocol (seeds 1–{runs}) of the first proxy seed shown; expectation "
        f"{band.expectation:.2f}" + (f"; {note}" if note else ""),
        ins.spec(spec.describe(), arch_set, smallest, sum(v["protocol_seeds_1_to_R"]["failed"]
                                                          for v in per_seed.values()),
                 rule=rule.name, sampler=sampler, n_samples=SAMPLE_N),
        {**ins.truth_provenance(inputs), **{f.proxy: f.provenance for f in found}},
        {"per_proxy_seed": per_seed, "pooled": band.as_dict(), "power_vs_random_pick": power,
         "pooled_histogram": histogram(mixed)},
        partial=ins.caveats(inputs, found), band=band, power=power, seeds=tuple(seeds),
        inputs=ins.evidence(dataset=dataset, target_text=spec.describe(), arch_set=arch_set, n=smallest, seeds=seeds,
                            found=found, truth_version=spec.version),
        substitute=substitute)


# ------------------------------------------------------------------------------------ pruning search

@claim_kind("pruning_search", params=("dataset", "criterion", "runs"))
def compute_pruning_search(claim, inputs) -> Outcome:
    """Accuracy of the cells found by stored TE-NAS pruning searches (the `code` preset with the claim's
    criterion; runs with other settings hashes are not mixed in), tested against the paper's runs."""
    dataset, criterion = claim.params["dataset"], claim.params["criterion"]
    trained = criterion in TRAINING_CRITERIA
    wanted = settings_hash(criterion_settings(criterion))
    runs = inputs.pruning_runs
    if not runs.empty:
        runs = runs[(runs["dataset"] == dataset) & (runs["settings_hash"] == wanted)]
    if runs.empty:
        search = (f"runs of `zcbench search prune` (TE-NAS pruning search, benchmarks.pruning) stored under "
                  f"<results>/{ANGLELOSS_DIR if trained else PRUNING_DIR}; one search costs {PRUNING_COST[trained]}; "
                  f"none found for {dataset}, criterion {criterion}: run `zcbench search prune --dataset {dataset} "
                  f"--criterion {criterion} --seed 1 … --seed {claim.params['runs']}`")
        raise ins.needs_images(inputs, dataset, search) or Missing("needs-results", search)
    spec, acc, note = ins.target(inputs, claim.paper, dataset)
    summary, table = summarize_runs(runs, acc)
    images = sorted(set(table["images"]))
    seeds = table["seed"].tolist()
    welch = None
    if len(seeds) >= 2:
        welch = uncertainty.welch_test(table["accuracy"].to_numpy(float), claim.paper_value["mean"],
                                       claim.paper_value["std"], claim.params["runs"])
    partial = "one search: no spread to test with" if welch is None else ""
    if any(text.startswith("SYNTHETIC") for text in images):
        partial = "searched on synthetic images"
    substitute = "test-split images as search inputs" if any("test" in text.lower() for text in images) else ""
    arch_set = "cells found by the searches"
    return Outcome(
        {"mean": summary["mean"], "std": summary["std"]}, "; ".join(filter(None, [f"images: {' | '.join(images)}",
                                                                                   note])),
        ins.spec(spec.describe(), arch_set, summary["seeds"], 0, criterion=criterion, settings_hash=wanted,
                 seeds=seeds),
        {**ins.truth_provenance(inputs), "runs": table[["seed", "git_commit", "torch_version", "host"]]
         .to_dict("records")},
        {"per_seed": table[["seed", "arch", "arch_str", "accuracy", "seconds"]].to_dict("records"),
         **({"welch": welch.as_dict()} if welch else {})},
        partial=partial, welch=welch, seeds=tuple(seeds),
        inputs={"dataset": dataset, "target": spec.describe(), "benchmark_file": spec.version,
                "images": " | ".join(images),
                "proxy_seeds": seeds, "arch_set": arch_set, "n_archs": len(seeds), "settings_hash": {"prune": wanted}},
        substitute=substitute)


# ------------------------------------------------------------------------------------ lookups

def lookup_outcome(inputs, spec, value, explanation, arch_set, n, excluded, details) -> Outcome:
    return Outcome(value, explanation, ins.spec(spec.describe(), arch_set, n, excluded), ins.truth_provenance(inputs),
                   details, inputs={"dataset": spec.dataset, "target": spec.describe(), "benchmark_file": spec.version,
                                    "images": "none (benchmark lookup)", "proxy_seeds": [], "arch_set": arch_set,
                                    "n_archs": int(n), "settings_hash": {}})


@claim_kind("lookup_optimal", params=("dataset",))
def compute_lookup_optimal(claim, inputs) -> Outcome:
    spec, acc, note = ins.target(inputs, claim.paper, claim.params["dataset"])
    best = int(acc.idxmax())
    return lookup_outcome(inputs, spec, float(acc.max()), f"arch {best} {nb201.index_to_arch(best)}"
                          + (f"; {note}" if note else ""), f"all {FULL_SPACE:,} NB201 archs", acc.notna().sum(),
                          acc.isna().sum(), {"index": best})


@claim_kind("lookup_arch", params=("dataset", "arch"))
def compute_lookup_arch(claim, inputs) -> Outcome:
    spec, acc, note = ins.target(inputs, claim.paper, claim.params["dataset"])
    index = nb201.arch_to_index(claim.params["arch"])
    return lookup_outcome(inputs, spec, float(acc[index]), f"NB201 index {index}" + (f"; {note}" if note else ""),
                          f"one arch (index {index})", 1, 0, {"index": index})
