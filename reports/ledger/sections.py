"""Report sections that are not claims: the space's #Param classes, the Revisit groups, proxy-vs-accuracy
tables, the stored pruning searches, and the synthetic demo (an appendix: a pipeline check only)."""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from zcbench.reports import groups as groups_mod
from zcbench.reports import plots, stats
from zcbench.reports.correlations import correlation_table
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import NB201_DATASETS, Missing
from zcbench.reports.results import available
from zcbench.reports.tables import NO_TARGET, ReportTable
from zcbench.spaces import nb201

FULL_SPACE = ins.FULL_SPACE


def space_section() -> tuple[list[ReportTable], list[tuple]]:
    """#Param and FLOPs of the NB201 space by (n3, n1) class."""
    from zcbench.spaces.flops import nb201_flops

    table = ins.space_table()
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
    figures = [("space-classes", "Archs per #Param value", plots.param_classes(classes, "NB201: archs per #Param"),
                f"number of the {FULL_SPACE:,} NB201 cells with each #Param value (C10 head), by (#conv3x3, #conv1x1)")]
    return tables, figures


def groups_section(inputs) -> list[ReportTable]:
    if inputs.revisit_groups is None:
        return []
    diff = groups_mod.compare_with_classes(inputs.revisit_groups)
    diff["missing_indices"] = diff["missing_indices"].map(lambda v: " ".join(map(str, v)) or "—")
    diff["missing_kinds"] = diff["missing_kinds"].map(lambda d: ", ".join(f"{k}: {v}" for k, v in d.items()) or "—")
    return [ReportTable("revisit-groups", "Revisit same-#Param groups vs the general (n3, n1) classes", diff,
                        NO_TARGET, "the 8 Revisit groups (revisit_params_split.json) and their full classes",
                        notes=f"{int(diff['missing'].sum())} archs of the full classes are absent from the "
                              "authors' file: none has a conv on a live input→output route")]


def correlation_section(inputs) -> list[ReportTable]:
    """Agreement of every registered proxy with results with test accuracy, per dataset (first proxy
    seed), over all scored archs and over the isomorphism representatives; a proxy read from a partial
    merge is labelled so (its archs are the finished shards, not a sample of the space)."""
    from zcbench.proxies.registry import REGISTRY

    if inputs.truth is None or inputs.results.empty:
        return []
    found = available(inputs.results)
    tables = []
    for dataset in NB201_DATASETS:
        names = [n for n in dict.fromkeys(found.loc[found["dataset"] == dataset, "proxy"]) if n in REGISTRY]
        if not names:
            continue
        try:
            spec, acc, note = ins.target(inputs, "TE-NAS", dataset)
        except Missing:
            continue
        first = {n: min(ins.seed_scores(inputs, n, dataset).items())[1] for n in names}
        label = {n: n + (" (partial sweep)" if ins.from_partial(inputs, s) else "") for n, s in first.items()}
        oriented_scores = {label[n]: ins.oriented(n, s.values) for n, s in first.items()}
        failed = {label[n]: s.failed for n, s in first.items()}
        params = ins.params_series(dataset)
        for arch_set in (groups_mod.all_archs(), groups_mod.iso_representatives()):
            tables.append(correlation_table(
                f"correlations-{dataset}-{arch_set.name}", f"Proxy vs test accuracy, {dataset}, {arch_set.name}",
                oriented_scores, acc, params, spec.describe() + (f" ({note})" if note else ""), arch_set, failed))
    return tables


def pruning_section(inputs) -> list[ReportTable]:
    """Every stored pruning search with the accuracy of its cell (TE-NAS's benchmark file preference)."""
    runs = inputs.pruning_runs
    if runs.empty:
        return []
    frames, targets = [], []
    for dataset, group in runs.groupby("dataset", sort=True):
        try:
            spec, acc, _ = ins.target(inputs, "TE-NAS", dataset)
        except Missing:
            acc, spec = pd.Series(dtype=float), None
        frames.append(group.assign(accuracy=group["arch"].map(acc)))
        targets.append(f"{dataset}: {spec.describe() if spec else 'no ground truth'}")
    frame = pd.concat(frames)[["dataset", "setting", "criterion", "settings_hash", "seed", "arch", "accuracy",
                               "seconds", "images"]].sort_values(["dataset", "criterion", "seed"])
    return [ReportTable("tenas-pruning-runs", "TE-NAS pruning searches (zcbench search prune)",
                        frame.reset_index(drop=True), "; ".join(targets), "the cell found by each search",
                        notes="one row per stored search; seconds = wall time of the search")]


DEMO_SIZES = {  # cost class → (archs in --quick, archs otherwise)
    "parameter-free": (64, 256), "forward": (32, 128), "backward": (32, 128), "per-sample-backward": (16, 64),
    "short-train": (8, 32)}
# Settings fields shrunk for the demo wherever a proxy has them: tiny networks, small batches.
DEMO_OVERRIDES = {"channels": 4, "cells": 1, "batch_size": 64, "batches": 2, "repeats": 1, "samples": 8,
                  "iterations": 5}


def synthetic_demo(inputs) -> tuple[list[ReportTable], dict]:
    """Every registered proxy on synthetic 16-px images with tiny networks (`DEMO_OVERRIDES`) for a
    seeded sample of archs, and τ with #Param — shows the pipeline end to end on any machine; the
    numbers say nothing about NAS."""
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
    params = ins.params_series("cifar10")
    tau_rows = []
    for name in wide.columns:
        x, y, dropped = stats.paired_finite(wide[name].dropna(), params.loc[wide[name].dropna().index])
        row = {"proxy": name, "archs": len(x), "failed": int(statuses[name]) + dropped, "seconds": seconds[name]}
        if len(x) >= 3 and len(np.unique(x)) > 1:
            ci = stats.bootstrap_ci(stats.kendall, x, y, reps=inputs.bootstrap_reps // 2, seed=inputs.seed)
            row.update(kendall_tau_with_params=ci.estimate, ci95_low=ci.low, ci95_high=ci.high)
        tau_rows.append(row)
    arch_set = f"a seeded sample (seed {inputs.seed}) of {largest} archs; cheaper proxies score more of it"
    target_text = ("none — synthetic random images (16 px, 10 classes), tiny networks "
                   f"({', '.join(f'{k}={v}' for k, v in DEMO_OVERRIDES.items())} where a proxy has the field)")
    tables = [ReportTable("demo-tau", "Demo: Kendall τ-b of each proxy with #Param on the sample (synthetic images)",
                          pd.DataFrame(tau_rows).round(4), target_text, arch_set, int(statuses.sum()),
                          "a pipeline check on synthetic inputs, not a benchmark result"),
              ReportTable("demo-scores", "Demo: proxy values per arch (synthetic images)", wide.reset_index(),
                          target_text, arch_set, int(statuses.sum()))]
    return tables, {"proxies": list(wide.columns), "archs": largest, "seconds": seconds}
