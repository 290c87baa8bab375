"""KNAS (Xu et al., ICML 2021): its claims, the MGM-vs-accuracy check (Fig. 4), the study of MGM's
seed-to-seed agreement under zcbench's and the authors' sample streams (protocols §A4.1), and the gap
between the authors' float32 loop and the float64 value over a sample of cells (protocols §A4, §E.8)."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from zcbench.reports import stats
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import NB201_DATASETS, Claim, Outcome, claim_kind
from zcbench.reports.ledger.cost import proxy_cost_claim
from zcbench.reports.ledger.rules import Fixed, Interval, Statement
from zcbench.reports.results import read_table, study_table
from zcbench.reports.tables import NO_TARGET, ReportTable, as_counts

EPOCH_LOG_ENABLE = ("per-epoch NB201 logs (training loss / validation accuracy at epoch 20) from the official "
                    "NAS-Bench-201-v1_0-e61699.pth; the normalized table holds final-epoch accuracies only")
STREAMS_STUDY = "nb201_mgm_streams_sample200"
STREAMS_HOW = (f"run `zcbench sweep run configs/{STREAMS_STUDY}.toml --data-dir <data>` and `zcbench sweep merge` "
               f"with the same arguments (writes results/studies/{STREAMS_STUDY}/)")
PRECISION_HOW = ("run `zcbench sweep run CONFIG --data-dir <data>` and `zcbench sweep merge` with the same arguments "
                 "for configs/nb201_mgm_code_float32_sample1000.toml (the authors' float32 loop, seeds 0–2, 1,000 "
                 "cells) and configs/nb201_mgm_cifar10.toml (float64, seed 0, all cells)")
MGM_NOTE = ("MGM in float64 (the numerically meaningful value; the authors' float32 loop is 1.5–3.9 % off it, "
            "docs/protocols.md)")


@claim_kind("mgm_correlation", params=("datasets",))
def compute_mgm_correlation(claim, inputs) -> Outcome:
    values, details, found_all, spec_text, seeds = {}, {}, [], [], set()
    for dataset in claim.params["datasets"]:
        found = ins.seed_scores(inputs, "mgm", dataset)
        spec, acc, _ = ins.target(inputs, claim.paper, dataset)
        rhos = {}
        for seed, f in found.items():
            x, y, dropped = stats.aligned_finite(f.values, acc)
            rhos[seed] = stats.spearman(x, y)
            details.setdefault(dataset, {})[f"seed {seed}"] = {"rho": rhos[seed], "n": len(x),
                                                               "excluded": dropped + f.failed}
        values[dataset] = float(np.mean(list(rhos.values())))
        found_all += list(found.values())
        spec_text.append(spec.describe())
        seeds |= set(found)
    good = all(v >= 0.5 for v in values.values())
    _, substitute = ins.image_inputs(found_all)
    n = sum(len(f.values) for f in found_all)
    return Outcome(values, "'good' = mean ρ over seeds ≥ 0.5 on every dataset: " + ", ".join(
        f"{k} {v:.3f}" for k, v in values.items()),
        ins.spec("; ".join(spec_text), "scored NB201 archs", n, 0),
        {**ins.truth_provenance(inputs), **{f"{f.proxy}/{f.dataset}": f.provenance for f in found_all}}, details,
        partial=ins.caveats(inputs, found_all), holds=good, seeds=tuple(sorted(seeds)),
        inputs=ins.evidence(dataset=", ".join(claim.params["datasets"]), target_text="; ".join(spec_text),
                            arch_set="scored NB201 archs", n=n, seeds=sorted(seeds), found=found_all),
        substitute=substitute)


def claims() -> list[Claim]:
    rho = Interval(0.1, "ρ over 200 sampled archs; the seed of KNAS's sample is not stated")
    return [
        Claim("K1", "K1", "KNAS", "§1, Fig. 1", "Spearman ρ(MGM, validation accuracy), 200 random NB201 archs, C100",
              0.56, f"Spearman ρ on 200 distinct archs (seed 0) with C100 x-valid accuracy; {MGM_NOTE}",
              "spearman_sample", rho, {"proxy": "mgm", "dataset": "cifar100", "n": 200, "experiments": 1}),
        Claim("K2", "K2", "KNAS", "§1", "Spearman ρ(MGM, −training loss), same setting", 0.53,
              "needs final training loss per arch", "static", Fixed("needs-data"), enable=EPOCH_LOG_ENABLE),
        Claim("K3/accuracy", "K3", "KNAS", "Fig. 2", "50 experiments × 200 archs, C100, ρ with validation accuracy",
              0.55, f"mean Spearman ρ over 50 samples of 200 distinct archs (seeds 0–49); {MGM_NOTE}",
              "spearman_sample", rho, {"proxy": "mgm", "dataset": "cifar100", "n": 200, "experiments": 50}),
        Claim("K3/loss", "K3", "KNAS", "Fig. 2", "50 experiments × 200 archs, C100, ρ with −training loss", 0.53,
              "needs final training loss per arch", "static", Fixed("needs-data"), enable=EPOCH_LOG_ENABLE),
        Claim("K4", "K4", "KNAS", "Tab. 1", "KNAS k=20",
              {"cifar10": 93.38, "cifar100": 70.78, "imagenet16": 44.63}, "MGM top-k then epoch-20 selection",
              "static", Fixed("needs-data"), enable=EPOCH_LOG_ENABLE + "; plus MGM sweeps for all archs"),
        Claim("K5", "K5", "KNAS", "Tab. 1", "KNAS k=40",
              {"cifar10": 93.43, "cifar100": 71.05, "imagenet16": 45.05}, "MGM top-k then epoch-20 selection",
              "static", Fixed("needs-data"), enable=EPOCH_LOG_ENABLE + "; plus MGM sweeps for all archs"),
        Claim("K6", "K6", "KNAS", "Tab. 1 (quoted)", "NASWOT, TE-NAS",
              {"NASWOT": [92.96, 70.03, 44.43], "TE-NAS": [93.90, 71.24, 42.38]}, "quoted", "static",
              Fixed("context")),
        Claim("K7", "K7", "KNAS", "Tab. 1 (NB201 baselines)", "RS, RL, REA, BOHB, RSPS, GDAS, DARTS, ResNet",
              {"RS": [93.63, 71.28, 44.88], "REA": [93.72, 72.12, 45.01], "ResNet": [93.97, 70.86, 43.63]},
              "quoted from NB201", "static", Fixed("context")),
        Claim("K8", "K8", "KNAS", "Fig. 4", "MGM vs test accuracy on C100 and IN16", "good correlations",
              f"Spearman ρ of MGM with test accuracy over all scored archs, mean over proxy seeds; 'good' = ρ ≥ 0.5; "
              f"{MGM_NOTE}", "mgm_correlation", Statement(), {"datasets": ("cifar100", "imagenet16")}),
        Claim("K9", "K9", "KNAS", "Tab. 2", "MRPC / RTE vs RoBERTa-large", {"MRPC": 93.32, "RTE": 83.75},
              "NLP fine-tuning", "static", Fixed("out-of-scope"), training="full"),
        *(proxy_cost_claim(f"{cid}/cost", "KNAS", "Tab. 1", f"KNAS k={k} search time (s, per dataset); ours: MGM per "
                           "100 nets, one part of it", value, ["mgm"],
                           datasets=NB201_DATASETS)
          for cid, k, value in (("K4", 20, {"cifar10": 4400, "cifar100": 9200, "imagenet16": 20000}),
                                ("K5", 40, {"cifar10": 8800, "cifar100": 18400, "imagenet16": 40000}))),
    ]


def stream_values(rows: pd.DataFrame) -> dict[tuple[str, int], pd.Series]:
    """MGM values by (sample_stream, seed), indexed by arch; non-ok rows left out (counted by the caller)."""
    rows = rows[(rows["proxy"] == "mgm") & (rows["status"] == "ok")]
    streams = rows["settings_json"].map(lambda text: json.loads(text)["sample_stream"])
    return {(stream, int(seed)): part.set_index(part["arch"].astype(np.int64))["value"].astype(np.float64)
            for (stream, seed), part in rows.groupby([streams, rows["seed"]])}


def stream_agreement(values: dict[tuple[str, int], pd.Series], reps: int, seed: int) -> pd.DataFrame:
    """Kendall τ (95 % bootstrap over cells) for every pair of (stream, seed) score columns."""
    table = []
    for (a, b) in itertools.combinations(sorted(values), 2):
        x, y, _ = stats.aligned_finite(values[a], values[b])
        tau = stats.bootstrap_ci(stats.kendall, x, y, reps=reps, seed=seed)
        table.append({"comparison": f"within {a[0]}" if a[0] == b[0] else "between streams",
                      "stream_a": a[0], "seed_a": a[1], "stream_b": b[0], "seed_b": b[1], "n": len(x),
                      "kendall": tau.estimate, "kendall_low": tau.low, "kendall_high": tau.high})
    return pd.DataFrame(table)


def mgm_stream_section(inputs) -> list[ReportTable]:
    """τ between MGM seeds within zcbench's stream, within the authors' stream and across them (§A4.1)."""
    key, title = "mgm-streams", "MGM seed-to-seed agreement: zcbench's and the authors' sample streams (CIFAR-10)"
    path = study_table(inputs.results_dir, STREAMS_STUDY) if inputs.results_dir else None
    if path is None:
        frame = pd.DataFrame([{"status": "needs-results", "enable": STREAMS_HOW}])
        return [ReportTable(key, title + " (not computed)", frame, NO_TARGET, "a seeded sample of NB201 cells")]
    rows = read_table(path)
    values = stream_values(rows)
    table = stream_agreement(values, reps=100 if inputs.quick else 1000, seed=inputs.seed)
    means = table.groupby("comparison")["kendall"].agg(["mean", "min", "max", "size"])
    summary = "; ".join(f"{name}: mean τ {r['mean']:.2f} ({r['min']:.2f}–{r['max']:.2f}, {int(r['size'])} pairs)"
                        for name, r in means.iterrows())
    cells = rows["arch"].nunique()
    notes = (f"{summary}. MGM `code64` (float64); `seeded` = zcbench's numpy stream, `knas_loader` = the authors' "
             "DataLoader stream replayed (protocols §A4.1); both over CIFAR-10 test JPEGs, so the knas_loader "
             "rows are the authors' mechanism on other images. Two implementations that draw different samples "
             "can agree no better than the 'between streams' τ")
    return [ReportTable(key, title, table.round(3), NO_TARGET,
                        f"{cells} NB201 cells (a seeded uniform sample), seeds {sorted({s for _, s in values})}",
                        int((rows["status"] != "ok").sum()), notes)]


# ------------------------------------------------------------------------------------ float32 vs float64

def preset_rows(inputs, preset: str, dataset: str = "cifar10") -> pd.DataFrame:
    """The `ok` MGM rows of one registry preset (its settings hash) on NB201 `dataset`."""
    from zcbench.proxies.registry import REGISTRY, settings_hash

    rows = inputs.results
    if rows.empty:
        return rows
    wanted = settings_hash(REGISTRY.get("mgm").presets[preset])
    return rows[(rows["space"] == "nb201") & (rows["proxy"] == "mgm") & (rows["dataset"] == dataset)
                & (rows["settings_hash"] == wanted) & (rows["status"] == "ok")]


def by_seed(rows: pd.DataFrame) -> dict[int, pd.Series]:
    """Values per proxy seed, by arch (none for no rows)."""
    if rows.empty:
        return {}
    return {int(seed): part.set_index(part["arch"].astype(np.int64))["value"].astype(np.float64)
            for seed, part in rows.groupby("seed")}


def precision_rows(float32: dict[int, pd.Series], float64: dict[int, pd.Series]) -> pd.DataFrame:
    """Per seed both presets scored: the relative difference of the float32 loop from float64 per cell
    (median, 95th percentile, max; over the cells whose float64 value is not exactly 0, those counted), the
    share of cells where the two agree in sign, and τ between them;
    per pair of float32 seeds: τ between the seeds (how much of MGM's ranking is the sample draw)."""
    table = []
    for seed in sorted(set(float32) & set(float64)):
        a, b, _ = stats.aligned_finite(float32[seed], float64[seed])
        nonzero = b != 0  # dead cells score exactly 0 in both precisions: no relative difference
        relative = np.abs(a[nonzero] - b[nonzero]) / np.abs(b[nonzero])
        table.append({"comparison": "float32 loop vs float64", "seed_a": seed, "seed_b": seed, "n": len(a),
                      "zero_in_float64": int((~nonzero).sum()), "float32_zero_there": int((a[~nonzero] == 0).sum()),
                      "median_rel_diff": float(np.median(relative)), "p95_rel_diff": float(np.quantile(relative, 0.95)),
                      "max_rel_diff": float(relative.max()), "sign_agreement": float(np.mean(np.sign(a) == np.sign(b))),
                      "kendall": stats.kendall(a, b)})
    for s, t in itertools.combinations(sorted(float32), 2):
        a, b, _ = stats.aligned_finite(float32[s], float32[t])
        table.append({"comparison": "float32 loop, seed vs seed", "seed_a": s, "seed_b": t, "n": len(a),
                      "sign_agreement": float(np.mean(np.sign(a) == np.sign(b))), "kendall": stats.kendall(a, b)})
    columns = ["comparison", "seed_a", "seed_b", "n", "zero_in_float64", "float32_zero_there", "median_rel_diff",
               "p95_rel_diff", "max_rel_diff", "sign_agreement", "kendall"]
    frame = pd.DataFrame(table, columns=columns)
    return as_counts(frame, "zero_in_float64", "float32_zero_there")


def mgm_precision_section(inputs) -> list[ReportTable]:
    """The authors' float32 MGM against float64 on the same cells and seeds, and float32's seed-to-seed τ."""
    key, title = "mgm-precision", "MGM: the authors' float32 loop against float64 on the same cells (CIFAR-10)"
    rows32, rows64 = preset_rows(inputs, "code"), preset_rows(inputs, "code64")
    float32, float64 = by_seed(rows32), by_seed(rows64)
    if not float32 or not (set(float32) & set(float64)):
        frame = pd.DataFrame([{"status": "needs-results", "enable": PRECISION_HOW}])
        return [ReportTable(key, title + " (not computed)", frame, NO_TARGET, "a seeded sample of NB201 cells")]
    table = precision_rows(float32, float64)
    partial = sorted(ins.partial_sweeps(inputs) & (set(rows32["sweep"]) | set(rows64["sweep"])))
    read_partial = (f"partial merges read: {', '.join(partial)} (the finished shards of unfinished sweeps: the "
                    "lowest indices of their cell lists, not uniform samples); ") if partial else ""
    notes = (read_partial + "relative difference |float32 − float64| / |float64| per cell, the same samples, "
             "weights and entries (preset `code` = the authors' per-sample loop in float32, `code64` = the same "
             "statistic in float64); "
             "sign agreement: share of cells whose two values have the same sign; the seed-vs-seed rows redraw "
             "the 50 samples and the weights (protocols §A4, §E.8)")
    return [ReportTable(key, title + (" (partial)" if partial else ""), table.round(4), NO_TARGET,
                        f"the cells both presets scored per seed (float32 seeds {sorted(float32)}, float64 seeds "
                        f"{sorted(float64)})", 0, notes)]
