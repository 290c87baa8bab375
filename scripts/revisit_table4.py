"""Revisit Table 4 (claim R17): Kendall τ-b between Angle / Loss / AngleLoss and #Param.

Scores a seeded sample of NB201 cells with the `angle`, `loss` and `angle_feat` proxies (one short
training per cell, `code` settings unless overridden) on CIFAR-10 images read from an image folder,
then reports τ-b (scipy.stats.kendalltau) of each metric against the cell's #Param, next to the
paper's 0.20 / −0.11 / 0.07. Metrics: Angle = cos θ_pred (higher better), Loss = −loss (the
authors' metric; τ of the raw loss is its negation), AngleLoss = rank(angle) + rank(−loss).
Three variants: the authors' code (trivial-network penalties included as values), the measured
values without the filter, and the code values over the rows the filter left alone.

Writes, under --out: `<name>_scores.csv` (one row per cell, appended as it goes; a rerun resumes),
`<name>.csv` (the τ table) and `<name>.json` (settings, seeds, versions, device, timings, τ table).

    nice -n 19 nohup python scripts/revisit_table4.py --cells 50 \\
        --images /work/shared/data/images/cifar10-test-jpg --out results > results/revisit_table4.log 2>&1 &
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

from zcbench.benchmarks.provenance import script_environment
from zcbench.proxies.combinations import combine
from zcbench.proxies.registry import get_proxy, settings_hash
from zcbench.spaces import nb201
from zcbench.spaces.catalog import get_space
from zcbench.spaces.image_files import load_image_folder

PAPER_TAU = {"angle": 0.20, "loss": -0.11, "angleloss": 0.07}
PROXIES = ("angle", "loss", "angle_feat")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=50, help="number of NB201 cells sampled (without replacement)")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the cell sample")
    p.add_argument("--seed", type=int, default=0, help="proxy seed (init, proxy set, augmentation)")
    p.add_argument("--images", required=True, help="CIFAR-10 image folder (<class>/<image> layout)")
    p.add_argument("--out", default="results")
    p.add_argument("--name", default=None, help="output file stem (default revisit_table4_sample<cells>)")
    p.add_argument("--setting", default="code")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=JSON", dest="overrides",
                   help="override a short-training settings field, e.g. iterations=10")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy machine)")
    return p.parse_args(argv)


def parse_overrides(pairs) -> dict:
    overrides = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects FIELD=VALUE, got {pair!r}")
        overrides[key] = json.loads(text)
    return overrides


def sample_cells(n: int, seed: int) -> list[int]:
    """n distinct NB201 indices drawn with numpy's default_rng(seed), in draw order."""
    return [int(i) for i in np.random.default_rng(seed).choice(nb201.NUM_ARCHS, size=n, replace=False)]


def score_cell(index: int, data, settings, seed: int) -> dict:
    space = get_space("nb201")
    arch = space.arch(index)
    row = {"index": index, "arch": str(arch), "params": space.param_count(arch, num_classes=10)}
    results = {name: get_proxy(name).score(arch, data=data, settings=settings, seed=seed) for name in PROXIES}
    for name, result in results.items():
        row[name], row[f"{name}_status"], row[f"{name}_seconds"] = result.value, result.status, result.seconds
    diagnostics = results["angle_feat"].diagnostics  # the shared run's diagnostics plus feature_cosine
    row.update({key: diagnostics.get(key) for key in ("classifier_cosine", "loss_last", "feature_cosine",
                                                      "last_accuracy", "train_seconds")})
    row.update(settings_hash=settings_hash(settings), trivial=diagnostics.get("trivial") or "",
               drawn_from=diagnostics["proxy_set"]["drawn_from"])
    return row


def score_all(indices, data, settings, seed: int, scores_path: Path) -> pd.DataFrame:
    """Score every cell not yet in `scores_path`, appending one CSV row per cell; returns all rows."""
    done, columns = set(), None
    if scores_path.exists():
        previous = pd.read_csv(scores_path)
        if set(previous.settings_hash) != {settings_hash(settings)}:
            raise SystemExit(f"{scores_path} holds rows of other settings {sorted(set(previous.settings_hash))}; "
                             "use another --name or remove it")
        done, columns = set(previous["index"]), list(previous.columns)
    for k, index in enumerate(indices):
        if index in done:
            continue
        row = score_cell(index, data, settings, seed)
        columns = columns or list(row)  # appended rows follow the file's column order
        pd.DataFrame([row])[columns].to_csv(scores_path, mode="a", header=not scores_path.exists(), index=False)
        print(f"[{k + 1}/{len(indices)}] cell {index}: angle {row['angle']:.4f} ({row['angle_status']}), "
              f"loss {row['loss']:.4f}, {row['train_seconds']:.1f} s", flush=True)
    table = pd.read_csv(scores_path).set_index("index")
    return table.loc[indices]


def tau(metric: pd.Series, params: pd.Series) -> tuple[float, float, int]:
    result = kendalltau(metric.to_numpy(dtype=float), params.to_numpy(dtype=float))  # tau-b by default
    return float(result.statistic), float(result.pvalue), len(metric)


def kendall_table(scores: pd.DataFrame) -> pd.DataFrame:
    """τ-b with #Param for Angle, Loss (−loss), AngleLoss, and θ_feat, in three variants."""
    ok = (scores.angle_status == "ok") & (scores.loss_status == "ok")
    variants = {
        "code: filter on, authors' penalties as values": (scores, "angle", "loss"),
        "measured: no filter": (scores, "classifier_cosine", "loss_last"),
        "code: rows the filter left alone": (scores[ok], "angle", "loss"),
    }
    rows = []
    for variant, (table, angle, loss) in variants.items():
        values = pd.DataFrame({"angle": table[angle], "loss": table[loss]})
        metrics = {"angle": values.angle, "loss": -values.loss, "angleloss": combine(values, "angleloss"),
                   "angle_feat": table.angle_feat}
        for metric, series in metrics.items():
            t, p, n = tau(series, table.params)
            rows.append({"variant": variant, "metric": metric, "kendall_tau_b": t, "p_value": p, "n": n,
                         "paper_tau": PAPER_TAU.get(metric)})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    name = args.name or f"revisit_table4_sample{args.cells}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = get_proxy("angle").settings(args.setting, **parse_overrides(args.overrides))
    start = time.perf_counter()
    data = load_image_folder(args.images)
    indices = sample_cells(args.cells, args.sample_seed)
    print(f"{len(data)} images from {args.images}; {len(indices)} cells; settings {settings}", flush=True)
    scores = score_all(indices, data, settings, args.seed, out / f"{name}_scores.csv")
    taus = kendall_table(scores)
    taus.to_csv(out / f"{name}.csv", index=False)
    sidecar = {
        "claim": "R17 (Revisit Table 4): Kendall tau with #Param, Angle / Loss / AngleLoss = 0.20 / -0.11 / 0.07",
        "setting": args.setting, "settings": dataclasses.asdict(settings), "cells": indices,
        "sample_seed": args.sample_seed, "proxy_seed": args.seed,
        "sampling": "numpy default_rng(sample_seed).choice(15625, cells, replace=False)",
        "images": {"folder": str(args.images), "count": len(data), "name": data.name,
                   "note": "CIFAR-10 TEST images (JPEG q75); the authors draw the 10x10 proxy set from the "
                           "25k NB201 train half, which is not available here"},
        "params": "C=16, N=5 network with a 10-way head (spaces.catalog.NB201Space.param_count)",
        "tau": "scipy.stats.kendalltau (tau-b); Loss metric = -loss; AngleLoss = rank(angle)+rank(-loss), "
               "stable 0-based ranks (proxies.combinations)",
        "counts": {"cells": len(scores), "trivial": int((scores.angle_status == "trivial").sum()),
                   "errors": int(scores.angle_status.str.startswith("error").sum())},
        "seconds_per_cell": {"mean_train": float(scores.train_seconds.mean()),
                             "median_train": float(scores.train_seconds.median()),
                             "max_train": float(scores.train_seconds.max())},
        "wall_seconds_this_invocation": time.perf_counter() - start,
        **script_environment(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kendall": taus.to_dict(orient="records"),
    }
    (out / f"{name}.json").write_text(json.dumps(sidecar, indent=2, default=str))
    print(taus.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
