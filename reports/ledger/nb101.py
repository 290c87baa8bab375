"""NAS-Bench-101 in the ledger: Revisit's τ(metric, #Param) on NB101 (R12) per proxy seed, the Tab. 5 NB101
column (random search on the official run table), and the report's NB101 section (the enumerated space,
the shared sample's τ table, R12 and Tab. 5 side by side).

R12 reads the most faithful NB101 sample the library holds (`nb101_sample.R12_SOURCES`): a uniform sample
of the enumerated space at the paper's scale before the shared 292-module sample, which is not a uniform
sample and so never decides the claim (`SampleInterval`). The Tab. 5 NB101 entries need the official
`nasbench_only108.tfrecord`, converted (`zcbench data convert nb101`), and, for a proxy, a uniform NB101
sample scored with it; the runs draw N=100 from the cells the proxy scored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.benchmarks import library
from zcbench.benchmarks.provenance import SOURCE_ROOT
from zcbench.reports import nb101_sample, nb101_search, plots, render, stats, uncertainty
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger import kinds
from zcbench.reports.ledger.core import Claim, Missing, Outcome, claim_kind, ms
from zcbench.reports.ledger.rules import Band, Interval
from zcbench.reports.search import random_search, summarize
from zcbench.reports.tables import NO_TARGET, ReportTable
from zcbench.spaces import nb101_enumeration as enum
from zcbench.spaces.errors import DataNotFoundError

# R12 label → (registry proxy, sign making higher = predicted better, paper value, metric label)
R12 = {"lr1": ("lr1", 1.0, 0.46, "LR1"), "ntk": ("ntk", -1.0, 0.36, "NTK (-kappa)"),
       "lr2": ("naswot", 1.0, 0.62, "LR2 (naswot)")}
R12_TARGET = "#Param of the stem-128 NB101 network (= the records' trainable_parameters)"
PAPER_CELLS = 10_000
CODE_NTK_BATCH = nb101_sample.CODE_NTK_BATCH
SEARCH_METHOD = ("random search on the official NB101 table: N=100 distinct cells (Python random.sample over the "
                 "table's cells in file order, seeds 1–5), argmax (first in sample order), mean (std, ddof=0) of the "
                 "picks' accuracy = max over the 3 repeats of final_test_accuracy at 108 epochs (the NASWOT/Revisit "
                 "code); a proxy's runs draw from the cells a uniform NB101 sample scored; band of simulated 5-run "
                 "means with each run's proxy seed drawn from ours")
SEARCH_PROXY_SOURCES = tuple(s for s in nb101_sample.R12_SOURCES if s.uniform)
NO_NB101_SWEEP = ("angle", "loss")  # no NB101 config computes them
SUMMARY_FILE = "docs/nb101_enumeration.json"
WRITE_SUMMARY_COMMAND = ("python -c \"from zcbench.reports.ledger.nb101 import write_enumeration_summary; "
                         f"write_enumeration_summary('{SUMMARY_FILE}')\"")


@dataclass(frozen=True)
class SampleInterval(Interval):
    """`Interval` for a claim about a population of which the results may hold another sample: only a
    uniform sample of the claim's population decides (reproduced / deviates); the interval of any other
    sample describes that sample's population, so its verdict is at most indicative."""

    population_reason: str = ("the interval describes the population the archs were drawn from; only a uniform "
                              "sample of the paper's population can decide")

    def judge(self, claim, outcome) -> tuple[str, str]:
        verdict, why = super().judge(claim, outcome)
        if verdict in ("reproduced", "deviates") and not outcome.details.get("uniform_sample"):
            return "indicative", (f"{why} — but these archs are not a uniform sample of the paper's population, so "
                                  "the interval does not speak for it")
        return verdict, why


# ------------------------------------------------------------------------------------ R12

def _sources_with(inputs, proxy: str, sign: float) -> list[nb101_sample.SeedPairs]:
    """Every R12 source in the results with `proxy` and #Param on at least 3 common modules (memoised)."""
    key = ("nb101_r12", proxy)
    if key not in inputs.memo:
        found = []
        for source in nb101_sample.R12_SOURCES:
            if proxy in source.proxies:
                pairs = nb101_sample.proxy_vs_params(inputs.results, source, proxy, sign)
                if pairs is not None and len(pairs.archs) >= 3:
                    found.append(pairs)
        inputs.memo[key] = found
    return inputs.memo[key]


def preferred(found: list[nb101_sample.SeedPairs]) -> nb101_sample.SeedPairs:
    """A uniform sample first, then enough proxy seeds for a verdict (3), then the most modules."""
    return max(found, key=lambda p: (p.source.uniform, min(len(p.seeds), 3), len(p.archs)))


def manifests(inputs, source) -> list[dict]:
    if inputs.results_dir is None:
        return []
    found = [library.entry(inputs.results_dir, nb101_sample.NB101_SAMPLE_KIND, name) for name in source.entries]
    return [e.manifest for e in found if e is not None]


def _substitute(data_sources: list[str]) -> str:
    splits = {m.group(1) for s in data_sources for m in [ins.SPLIT_PATTERN.search(s)] if m}
    if any(s.startswith("synthetic") for s in data_sources):
        return "synthetic images"
    if splits - {"train"}:
        return f"{'/'.join(sorted(splits - {'train'}))}-split images where the authors sample training images"
    return ""


def per_seed_taus(pairs: nb101_sample.SeedPairs) -> list[float]:
    return [stats.kendall(x, pairs.y) for x in pairs.x]


def r12_interval(pairs: nb101_sample.SeedPairs, per_seed: list[float], inputs) -> uncertainty.SeedInterval:
    """The prediction interval for one draw: seed spread (when there are ≥ 2 seeds) and the bootstrap over
    the sampled modules."""
    arch_sd = uncertainty.bootstrap_sd_of_seed_mean(stats.kendall, pairs.x, [pairs.y] * len(pairs.x),
                                                    inputs.bootstrap_reps, inputs.seed)
    return uncertainty.seed_interval(per_seed, arch_sd)


def other_source(pairs: nb101_sample.SeedPairs, claim, inputs) -> dict:
    """A source the verdict did not use, with its own τ per seed, interval and whether that interval (± the
    rule's tolerance) holds the paper's value (shown beside the verdict; a single seed's interval covers
    the module sampling only)."""
    per_seed = per_seed_taus(pairs)
    found = {"source": pairs.source.label, "uniform": pairs.source.uniform, "seeds": pairs.seeds,
             "n": len(pairs.archs), "per_seed": dict(zip(map(str, pairs.seeds), per_seed)),
             "settings": pairs.scores.settings}
    if np.all(np.isfinite(per_seed)):
        interval = r12_interval(pairs, per_seed, inputs)
        found.update(mean=interval.estimate, interval=[interval.low, interval.high], arch_sd=interval.arch_sd,
                     paper_inside=interval.covers(claim.paper_value, claim.rule.tolerance))
    return found


def other_source_text(other: dict, claim) -> str:
    """One other source in words: its τ per seed, its interval, and whether that holds the paper's value."""
    seeds = len(other["seeds"])
    text = (f"{other['source']} ({seeds} seed{'s' if seeds != 1 else ''}, n={other['n']:,}"
            + (f", NTK batch {other['settings']['batch_size']}"
               if claim.params["proxy"] == "ntk" and "batch_size" in other["settings"] else "")
            + "): " + ", ".join(f"{v:.3f}" for v in other["per_seed"].values()))
    if "interval" not in other:
        return text
    low, high = other["interval"]
    return (f"{text}, interval [{low:.3f}, {high:.3f}]{' (module sampling only)' if seeds == 1 else ''}"
            f" ± {claim.rule.tolerance}: paper {'inside' if other['paper_inside'] else 'outside'}"
            + ("" if other["uniform"] else " (not a uniform sample)"))


def arch_set_text(pairs: nb101_sample.SeedPairs, complete: bool | None) -> str:
    n = len(pairs.archs)
    if pairs.source.uniform:
        stopped = "" if complete is not False else " (partial merge: the finished shards, themselves uniform)"
        return (f"uniform sample n={n:,} of the {enum.FULL_CELLS:,} enumerated NB101 cells (the modules every proxy "
                f"seed scored; {pairs.source.planned_cells:,} planned{stopped})")
    return (f"the {n:,} distinct modules of the shared 500-row NB101 sample every proxy seed scored (NASLib's random "
            f"specs, mostly small pruned cells: not a uniform sample of the space)")


@claim_kind("nb101_tau_with_params", params=("proxy",))
def compute_nb101_tau_with_params(claim, inputs) -> Outcome:
    """τ-b(proxy, #Param) per proxy seed on the most faithful NB101 sample present, with a prediction
    interval for one draw (seed spread + bootstrap over the sampled modules)."""
    proxy, sign, _, metric = R12[claim.params["proxy"]]
    found = _sources_with(inputs, proxy, sign)
    if not found:
        configs = [s.config for s in nb101_sample.R12_SOURCES if proxy in s.proxies]
        raise Missing("needs-results", f"NB101 {proxy} and #Param rows in one library sample: run "
                                       f"`zcbench sweep run {configs[0]} --data-dir <data-dir>` and `zcbench sweep "
                                       f"merge` it (any of {', '.join(configs)})")
    pairs = preferred(found)
    values = per_seed_taus(pairs)
    if not np.all(np.isfinite(values)):
        raise Missing("needs-results", f"τ({proxy}, #Param) is undefined (constant values) on proxy seeds "
                                       f"{[s for s, v in zip(pairs.seeds, values) if not np.isfinite(v)]} of "
                                       f"{pairs.source.label}")
    interval = r12_interval(pairs, values, inputs)
    stored = manifests(inputs, pairs.source)
    complete = all(m.get("complete", True) for m in stored) if stored else None
    arch_set = arch_set_text(pairs, complete)
    larger = {}
    for seed in pairs.seeds:  # a seed with more modules than all seeds share: its own τ, for reference
        if pairs.finite[seed] > len(pairs.archs):
            own = pairs.scores.values[seed]
            both = own.index[np.isfinite(own.to_numpy())].intersection(pairs.params.index)
            larger[str(seed)] = {"value": stats.kendall(sign * own.loc[both].to_numpy(),
                                                        pairs.params.loc[both].to_numpy()), "n": len(both)}
    others = [other_source(p, claim, inputs) for p in found if p is not pairs]
    notes = [f"higher-is-better orientation{' (κ negated)' if sign < 0 else ''}; source {pairs.source.label}"]
    if proxy == "lr1":
        notes.append(nb101_sample.LR1_NOTE)
    if proxy == "ntk":
        batch = pairs.scores.settings.get("batch_size")
        notes.append(f"NTK batch {batch} = the code setting" if batch == CODE_NTK_BATCH else
                     f"NTK batch {batch}, not the code setting's {CODE_NTK_BATCH} (declared)")
    if others:
        notes.append("also present: " + "; ".join(other_source_text(o, claim) for o in others))
    partial = "" if pairs.source.uniform else (
        f"{len(pairs.archs):,} distinct modules of the shared NB101 sample, not a uniform sample of the space "
        f"like the paper's {PAPER_CELLS:,} random cells")
    substitute = _substitute(pairs.scores.data_source)
    if substitute == "synthetic images":
        partial = "; ".join(filter(None, [partial, "computed on synthetic images"]))
    details = {**interval.as_dict(), "seed_ids": pairs.seeds, "archs": len(pairs.archs), "arch_sample": True,
               "uniform_sample": pairs.source.uniform, "bootstrap_reps": inputs.bootstrap_reps,
               "source": {"entries": list(pairs.source.entries), "config": pairs.source.config,
                          "planned_cells": pairs.source.planned_cells, "complete": complete,
                          "entries_found": pairs.scores.entries},
               "modules_scored_per_seed": {str(s): n for s, n in pairs.scored.items()},
               "modules_finite_per_seed": {str(s): n for s, n in pairs.finite.items()},
               "statuses_per_seed": {str(s): v for s, v in pairs.scores.statuses.items()},
               "single_seed_larger_sets": larger, "other_sources": others}
    excluded = max(pairs.scored.values()) - len(pairs.archs)
    return Outcome(
        interval.estimate, "; ".join(notes),
        ins.spec(R12_TARGET, arch_set, len(pairs.archs), excluded, dataset="nb101"),
        {"results": [f"samples/{name}" for name in pairs.scores.entries],
         "git_commits": sorted({c for m in stored for c in m.get("git_commits", [])}),
         "settings_hash": pairs.scores.settings_hash, "settings": pairs.scores.settings},
        details, partial=partial, interval=interval, seeds=tuple(pairs.seeds),
        inputs={"dataset": "nb101", "target": R12_TARGET, "benchmark_file": "none (#Param from the builder)",
                "images": " | ".join(pairs.scores.data_source) or "none", "proxy_seeds": pairs.seeds,
                "arch_set": arch_set, "n_archs": len(pairs.archs),
                "settings_hash": {proxy: pairs.scores.settings_hash}},
        substitute="" if substitute == "synthetic images" else substitute)


def r12_claims() -> list[Claim]:
    return [Claim(f"R12/{label}", "R12", "Revisit", "Tab. 2", f"Kendall τ({label}, #Param), NB101, 10,000 nets", value,
                  "Kendall τ-b of the proxy (higher-is-better orientation) with the stem-128 #Param per proxy seed, on "
                  "the modules every seed scored, of the most faithful NB101 sample present (a uniform sample of the "
                  "enumerated space first, else the shared 292-module sample, which cannot decide); prediction "
                  "interval for one draw (seed spread + bootstrap over modules)", "nb101_tau_with_params",
                  SampleInterval(0.05), {"proxy": label})
            for label, (_, _, value, _) in R12.items()]


# ------------------------------------------------------------------------------------ Tab. 5 NB101 column

def official_runs(inputs) -> pd.DataFrame:
    """The converted official run table (memoised); Missing names the file, where it was looked for, and how
    to get and convert it."""
    if "nb101_runs" not in inputs.memo:
        try:
            inputs.memo["nb101_runs"] = nb101_search.load_official_runs(inputs.data_dir), ""
        except DataNotFoundError as exc:
            inputs.memo["nb101_runs"] = None, ins.one_line(exc, inputs.data_dir)
    runs, missing = inputs.memo["nb101_runs"]
    if runs is None:
        raise Missing("needs-data", missing)
    return runs


def _proxy_scores(inputs, proxy: str) -> nb101_sample.SeedScores:
    """`proxy` per proxy seed from the uniform NB101 sample with the most seeds (then cells)."""
    found = []
    for source in SEARCH_PROXY_SOURCES:
        if proxy in source.proxies:
            scores = nb101_sample.seed_scores(nb101_sample.source_rows(inputs.results, source), proxy)
            if scores is not None:
                found.append(scores)
    if not found:
        configs = [s.config for s in SEARCH_PROXY_SOURCES if proxy in s.proxies]
        if not configs:
            raise Missing("needs-results", f"NB101 rows of {proxy}: no shipped NB101 config computes it (a config "
                                           f"like configs/nb101_r12_sample10000.toml with proxy {proxy})")
        raise Missing("needs-results", f"NB101 {proxy} scores on a uniform sample of the space: run `zcbench sweep "
                                       f"run {configs[0]} --data-dir <data-dir>` and `zcbench sweep merge` it")
    return max(found, key=lambda s: (min(len(s.values), 3), max(len(v) for v in s.values.values())))


@claim_kind("nb101_random_search", params=("method",), optional=("runs",))
def compute_nb101_random_search(claim, inputs) -> Outcome:
    method, runs_per_mean = claim.params["method"], claim.params.get("runs", 5)
    runs = official_runs(inputs)
    rule, proxies = kinds.rs_rule(method)
    if missing := [p for p in proxies if p in NO_NB101_SWEEP]:
        raise Missing("needs-results", f"NB101 rows of {', '.join(missing)} (short training on the NB101 proxy "
                                       "network): no shipped NB101 config computes them")
    base = nb101_search.search_table(runs)
    found = [_proxy_scores(inputs, p) for p in proxies]
    seeds = sorted(set.intersection(*(set(f.values) for f in found))) if found else [None]
    if not seeds:
        raise Missing("needs-results", f"no proxy seed has NB101 rows of all of {', '.join(proxies)}")
    tables = {}
    for seed in seeds:
        scores = {f.proxy: f.values[seed] for f in found} if seed is not None else {}
        table = base.assign(**{name: s.reindex(base.index) for name, s in scores.items()})
        candidates = nb101_search.candidate_cells(table, rule, scores)
        tables[seed] = table, candidates[table.loc[candidates, "accuracy"].notna().to_numpy()]
    smallest = min(len(c) for _, c in tables.values())
    if smallest < kinds.SAMPLE_N:
        raise Missing("needs-results", f"NB101 scores of {', '.join(proxies)} for at least {kinds.SAMPLE_N} cells of "
                                       f"the official table ({smallest} now)")
    means_wanted = max(inputs.simulated_means * 5 // runs_per_mean, 40)
    per_seed, simulated = {}, []
    for k, (seed, (table, candidates)) in enumerate(tables.items()):
        exact = summarize(random_search(table, "accuracy", rule, list(candidates), kinds.SAMPLE_N,
                                        range(1, runs_per_mean + 1)))
        sims = kinds.simulated_run_accuracies(table, candidates, rule, means_wanted * runs_per_mean,
                                              inputs.seed + 1000 * k, "distinct")
        simulated.append(sims)
        per_seed["none" if seed is None else str(seed)] = {
            "protocol_seeds_1_to_R": {"mean": exact["mean"], "std": exact["std"], "failed": exact["failed"]},
            **uncertainty.search_band(uncertainty.run_means(sims, runs_per_mean), runs_per_mean).as_dict(),
            "candidates": len(candidates)}
    stacked = np.stack(simulated)
    rng = np.random.default_rng(inputs.seed)
    which = rng.integers(0, len(stacked), size=(means_wanted, runs_per_mean))
    mixed = stacked[which, np.arange(means_wanted * runs_per_mean).reshape(means_wanted, runs_per_mean)].mean(axis=1)
    band = uncertainty.search_band(mixed, runs_per_mean)
    accuracy = base["accuracy"].dropna().to_numpy()
    random_runs = accuracy[np.random.default_rng([inputs.seed, 7]).integers(0, len(accuracy),
                                                                             means_wanted * runs_per_mean)]
    power = uncertainty.band_power(band, uncertainty.run_means(random_runs, runs_per_mean), claim.rule.tolerance)
    first = per_seed[next(iter(per_seed))]["protocol_seeds_1_to_R"]
    is_sample = smallest < len(base)
    arch_set = (f"sample n={smallest:,}: runs draw N=100 from the cells of the official table a uniform NB101 sample "
                f"scored (caveat: not from all {len(base):,})" if is_sample else
                f"all {len(base):,} cells of the official table")
    target = nb101_search.CODE_TARGET
    target_text = (f"NB101 {target.metric} accuracy, {target.point}, {target.epochs} epochs, {target.aggregate} over "
                   "the repeats (the NASWOT/Revisit code)")
    data_sources = sorted({s for f in found for s in f.data_source})
    substitute = _substitute(data_sources)
    proxy_seeds = [s for s in seeds if s is not None]
    return Outcome(
        {"mean": first["mean"], "std": first["std"]},
        f"rule {rule.name}; exact protocol (seeds 1–{runs_per_mean}) of the first proxy seed shown; expectation "
        f"{band.expectation:.2f}",
        ins.spec(target_text, arch_set, smallest, sum(v["protocol_seeds_1_to_R"]["failed"] for v in per_seed.values()),
                 rule=rule.name, sampler="distinct", n_samples=kinds.SAMPLE_N),
        {"ground_truth": nb101_search.OFFICIAL_FILE + " (converted)",
         **{f.proxy: {"results": [f"samples/{e}" for e in f.entries], "settings_hash": f.settings_hash}
            for f in found}},
        {"per_proxy_seed": per_seed, "pooled": band.as_dict(), "power_vs_random_pick": power,
         "pooled_histogram": kinds.histogram(mixed)},
        partial="computed on synthetic images" if substitute == "synthetic images" else "", band=band, power=power,
        seeds=tuple(proxy_seeds),
        inputs={"dataset": "nb101", "target": target_text, "benchmark_file": nb101_search.OFFICIAL_FILE,
                "images": " | ".join(data_sources) or "none (#Param from the table)", "proxy_seeds": proxy_seeds,
                "arch_set": arch_set, "n_archs": smallest,
                "settings_hash": {f.proxy: f.settings_hash for f in found}},
        substitute="" if substitute == "synthetic images" else substitute)


def search_claim(cid: str, method: str, mean: float, std: float, training: str) -> Claim:
    """Revisit Tab. 5, NB101 column, one method."""
    return Claim(f"{cid}/nb101", cid, "Revisit", "Tab. 5", f"Tab. 5, {method}, NB101", ms(mean, std), SEARCH_METHOD,
                 "nb101_random_search", Band(), {"method": method}, training=training)


# ------------------------------------------------------------------------------------ the enumerated space

def enumeration_summary(enumeration: enum.NB101Enumeration) -> dict:
    """The enumeration's composition as committed in docs/nb101_enumeration.json (JSON-ready)."""
    table = enumeration.table()
    overall = enum.summarize(table)
    return {"what": "composition of the enumerated NB101 space (spaces/nb101_enumeration.py); regenerate with "
                    + WRITE_SUMMARY_COMMAND,
            "checksum": enumeration.checksum(), "max_vertices": enumeration.max_vertices,
            "max_edges": enumeration.max_edges, "cells": overall["cells"],
            "distinct_params": overall["distinct_params"],
            "params_m_quantiles": {str(q): v for q, v in overall["params_m_quantiles"].items()},
            "params_log10_edges": list(enum.PARAMS_LOG10_EDGES), "by_vertices": enum.summarize_by_vertices(table)}


def write_enumeration_summary(path=SUMMARY_FILE) -> Path:
    """Write the full enumeration's summary (≈ 1 CPU minute without the enumeration cache, 6 s with it)."""
    path = Path(path)
    path.write_text(json.dumps(enumeration_summary(enum.enumerate_cells()), indent=1) + "\n")
    return path


def load_enumeration_summary(path=None) -> tuple[dict | None, str]:
    """(the committed summary, how it was found): docs/nb101_enumeration.json when its checksum is the full
    enumeration's, else one computed from the verified enumeration cache when that exists, else None."""
    path = Path(path) if path else SOURCE_ROOT / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text())
        if summary.get("checksum") == enum.FULL_CHECKSUM:
            return summary, SUMMARY_FILE
    except (OSError, ValueError):
        pass
    cached = enum.load(enum.cache_path(), enum.FULL_CHECKSUM)
    if cached is not None:
        return enumeration_summary(cached), "the enumeration cache"
    return None, f"{SUMMARY_FILE} absent or stale and no enumeration cache; regenerate with {WRITE_SUMMARY_COMMAND}"


def enumeration_table(summary: dict) -> pd.DataFrame:
    """One row per vertex count (and a total): cells, share, edges, interior ops and #Param range."""
    rows = []
    for v, part in summary["by_vertices"].items():
        rows.append({"vertices": v, "cells": part["cells"], "share": part["cells"] / summary["cells"],
                     **{f"{e} edges": part["cells_by_edges"].get(str(e), 0) for e in range(1, 10)},
                     **{f"interior {op}": n for op, n in part["interior_ops"].items()},
                     "params_min_m": part["params_min"] / 1e6, "params_median_m": part["params_median"] / 1e6,
                     "params_max_m": part["params_max"] / 1e6})
    frame = pd.DataFrame(rows)
    total = {"vertices": "all", **frame.drop(columns="vertices").sum(numeric_only=True).to_dict()}
    total.update(params_min_m=frame["params_min_m"].min(), params_max_m=frame["params_max_m"].max(),
                 params_median_m=summary["params_m_quantiles"]["0.5"])
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    frame = frame.loc[:, (frame != 0).any(axis=0)]  # edge counts no cell has
    counts = [c for c in frame.columns if c == "cells" or c.endswith(" edges") or c.startswith("interior ")]
    frame[counts] = frame[counts].astype(np.int64)
    return frame.round({"share": 4, "params_min_m": 3, "params_median_m": 3, "params_max_m": 3})


def enumeration_figure(summary: dict):
    """Cells per vertex count (log scale) and the #Param histogram stacked by vertex count (seaborn)."""
    plt = plots._pyplot()
    import seaborn as sns

    edges = np.asarray(summary["params_log10_edges"]) - 6  # log10 of #Param in millions
    centers = (edges[:-1] + edges[1:]) / 2
    hist = pd.DataFrame([{"vertices": v, "log_params_m": c, "cells": n} for v, part in summary["by_vertices"].items()
                         for c, n in zip(centers, part["params_log10_counts"]) if n])
    counts = pd.DataFrame([{"vertices": v, "cells": p["cells"]} for v, p in summary["by_vertices"].items()])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 2.2]})
    sns.barplot(data=counts, x="vertices", y="cells", ax=axes[0], color="tab:blue")
    axes[0].set(yscale="log", xlabel="vertices (pruned cell)", ylabel="cells", title="Cells per vertex count")
    sns.histplot(data=hist, x="log_params_m", weights="cells", hue="vertices", multiple="stack",
                 bins=edges.tolist(), ax=axes[1], palette="viridis", linewidth=0)
    ticks = [0.2, 0.5, 1, 2, 5, 10, 20, 50]
    axes[1].set_xticks(np.log10(ticks), [f"{t:g}" for t in ticks])
    axes[1].set_xlim(np.log10(0.15), np.log10(70))
    axes[1].set(xlabel="#Param (10⁶, log scale; stem 128, 10 classes)", ylabel="cells",
                title=f"#Param of all {summary['cells']:,} cells ({summary['distinct_params']:,} distinct values)")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------ report sections

def nb101_sample_section(inputs) -> list[ReportTable]:
    """The stored NB101 sample table: every metric, per row of the sample and per distinct module, with the
    proxy seeds it holds (τ = mean over seeds, each seed's value beside it)."""
    sample = inputs.nb101_sample
    if sample is None:
        return []
    composition = sample.meta.get("sample_composition", {})
    seeds = sample.meta.get("seeds", [0])
    return [ReportTable("nb101-sample-tau", "NB101 sample: Kendall τ-b with accuracy and with #Param, per proxy seed",
                        sample.summary(), sample.meta.get("accuracy", "NB101 sample accuracy"),
                        f"{composition.get('rows', '?')} rows = {composition.get('distinct_modules', '?')} distinct "
                        f"modules; proxy seeds {', '.join(map(str, seeds))}",
                        notes="unit 'module': one point per module hash (mean score and accuracy of its rows); τ = "
                              "mean over the proxy seeds, per seed as seed:value; n = fewest over seeds; "
                              + sample.meta.get("lr1", ""))]


def _r12_row(claim: str, paper, mean, per_seed: dict, interval, n, source: str, verdict: str) -> dict:
    return {"claim": claim, "paper": paper, "ours (mean over seeds)": mean,
            "per seed": " ".join(f"{s}:{v:.3f}" for s, v in per_seed.items()) or "—",
            "95% interval": f"{interval[0]:.3f} – {interval[1]:.3f}" if interval else "—",
            "n modules": n, "seeds": len(per_seed), "source": source or "—", "verdict": verdict}


def r12_table(entries: list[dict]) -> pd.DataFrame:
    """One row per R12 verdict, then a row per other source of the same proxy (its own τ and interval)."""
    rows = []
    for e in entries:
        if e["claim"] != "R12":
            continue
        interval = (e.get("interval") or {}).get("interval")
        per_seed = (e.get("interval") or {}).get("per_seed") or []
        rows.append(_r12_row(e["id"], e["paper_value"], e["our_value"], dict(zip(e["seeds"], per_seed)), interval,
                             e["inputs"].get("n_archs", "—"),
                             ", ".join((e["details"].get("source") or {}).get("entries", [])), e["verdict"]))
        for other in e["details"].get("other_sources", []):
            beside = "beside: one seed, interval = module sampling only" if len(other["seeds"]) == 1 else "beside"
            rows.append(_r12_row(f"{e['id']} (other source)", e["paper_value"], other.get("mean"), other["per_seed"],
                                 other.get("interval"), other["n"], other["source"],
                                 beside if other["uniform"] else "beside: not a uniform sample"))
    return pd.DataFrame(rows)


def table5_nb101(entries: list[dict]) -> pd.DataFrame:
    rows = []
    for e in entries:
        if e["id"].endswith("/nb101") and e["claim"] != "R12" and e["our_value"] is not None:
            band = e["details"].get("pooled", {}).get("band")
            rows.append({"claim": e["id"], "setting": e["setting"], "paper": render.format_value(e["paper_value"]),
                         "ours (seeds 1–5)": render.format_value(e["our_value"]),
                         "95% band": f"{band[0]:.2f}–{band[1]:.2f}" if band else "—",
                         "power": e.get("power"), "seeds": len(e["seeds"]), "verdict": e["verdict"]})
    return pd.DataFrame(rows)


def nb101_section(inputs, entries: list[dict]) -> tuple[list[ReportTable], list[tuple]]:
    """The NB101 section: the enumerated space (from the committed summary), R12 with its intervals, and
    Tab. 5's NB101 column when the official table is attached."""
    tables, figures = [], []
    summary, how = load_enumeration_summary()
    if summary is not None:
        tables.append(ReportTable("nb101-enumeration", "NB101: the enumerated space by vertex count",
                                  enumeration_table(summary), NO_TARGET,
                                  f"all {summary['cells']:,} NB101 cells, enumerated by code ({how})",
                                  notes=f"{summary['distinct_params']:,} distinct #Param values; #Param in millions, "
                                        "stem-128 network with 10 classes (= the records' trainable_parameters); "
                                        "'interior' columns count op occurrences over interior vertices, equal across "
                                        "the three ops because relabelling the ops maps the space onto itself"))
        figures.append(("nb101-enumeration", "NB101: cells per vertex count and #Param", enumeration_figure(summary),
                        f"all {summary['cells']:,} enumerated NB101 cells (spaces/nb101_enumeration.py, from {how}): "
                        "left, cells per pruned vertex count (log scale); right, the #Param histogram (log bins of "
                        "0.05 decades), stacked by vertex count."))
    r12 = r12_table(entries)
    if not r12.empty:
        tables.append(ReportTable("nb101-r12", "Revisit Tab. 2 on NB101 (R12): Kendall τ(metric, #Param) per seed",
                                  r12, R12_TARGET, "the most faithful NB101 sample present, per claim (see source)",
                                  notes="interval: 95 % prediction interval for one new proxy seed (seed spread and "
                                        "bootstrap over the sampled modules); '(other source)' rows are the samples "
                                        "the verdict did not use (fewer seeds or modules, another NTK batch), each "
                                        "with its own interval; the shared 292-module sample is not a uniform "
                                        "sample of the space and is at most indicative"))
    search = table5_nb101(entries)
    if not search.empty:
        tables.append(ReportTable("revisit-table5-nb101", "Revisit Tab. 5, NB101 column: random search N=100 × 5",
                                  search, "NB101 test accuracy, max over the 108-epoch repeats (the code)",
                                  "the official table's cells, or those a uniform NB101 sample scored (see the ledger)",
                                  notes="ours = the exact protocol (seeds 1–5) on the first proxy seed"))
    return tables, figures
