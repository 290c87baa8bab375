"""Kendall τ-b of #Param, LR1, LR2 (naswot) and NTK κ against NB101 validation accuracy on a 500-cell sample.

The sample (`nb101_sample500.csv`: adjacency bits, operations, params_m, flops_m, val_accuracy) holds
SINGLE-RUN 108-epoch validation accuracies of 500 cells — not the paper's setting (Revisit/NASWOT take the
max test accuracy over 3 runs of the whole space, protocols §D.2). Proxies (`nb101` presets: the stem-16,
one-output NASWOT network with its init, protocols §1.4; #Param = the stem-128 count):
* params — all cells; LR2 = `naswot` — `nb101` setting (batch 128);
* NTK — `nb101` setting but with a DECLARED smaller batch (`--ntk-batch`, default 16; the code's 72 takes
  minutes per cell on this CPU), recorded in the settings and the sidecar;
* LR1 — `lr1` `nb101` setting: the code's inputs (3 × 1000 single-channel 3×3 crops, 3 repeats) on OUR
  assumed thin NB101 network (one cell, one channel per vertex; no source defines one, protocols §E.6).
Each metric is also correlated with #Param (Revisit Tab. 2's statistic, R12, there on 10,000 cells).

Cells are scored in a seeded random order (`--order-seed`), so a partial run is a random subset. Every
score is appended to `scores_<proxy>.csv` as soon as it exists (resumable; one file per proxy so that
phases may run as separate processes, `--proxies`); `scores.csv`, `tau.csv` and `tau.json` are rewritten
from all cached scores after each phase. Images: CIFAR-10 TEST-set JPEGs (the authors use training images).

    nohup nice -n 10 python scripts/nb101_sample_tau.py --images /work/shared/data/images/cifar10-test-jpg \\
        --cells-csv /work/shared/data/nb101/nb101_sample500.csv > results/nb101_sample500/run.log 2>&1 &
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from zcbench.benchmarks.provenance import script_environment
from zcbench.proxies.registry import get_proxy, settings_hash
from zcbench.reports.nb101_sample import sample_tau_table
from zcbench.spaces.image_files import load_image_folder
from zcbench.spaces.nb101 import make_arch

PROXIES = ("params", "lr1", "naswot", "ntk")  # cheapest first
# metric → (proxy, sign so that higher = predicted better)
METRICS = {"#Param": ("params", 1.0), "LR1": ("lr1", 1.0), "LR2 (naswot)": ("naswot", 1.0),
           "NTK (-kappa)": ("ntk", -1.0)}
SCORE_COLUMNS = ["cell", "module_hash", "proxy", "value", "status", "seconds", "settings_hash", "seed"]
ACCURACY_NOTE = "single-run 108-epoch validation accuracies on 500 cells (not the paper's setting)"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells-csv", required=True, help="CSV with adjacency (49-bit str), operations, val_accuracy")
    p.add_argument("--images", required=True, help="CIFAR-10 image folder (<class>/<image> layout)")
    p.add_argument("--out", default="results/nb101_sample500")
    p.add_argument("--proxies", nargs="+", default=list(PROXIES), choices=PROXIES)
    p.add_argument("--ntk-batch", type=int, default=16, help="NTK batch (code setting: 72)")
    p.add_argument("--limit", type=int, default=None, help="score at most the first N cells of the order")
    p.add_argument("--order-seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0, help="proxy seed (init, image batches)")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def proxy_settings(ntk_batch: int) -> dict:
    return {"params": get_proxy("params").settings("code"), "lr1": get_proxy("lr1").settings("nb101"),
            "naswot": get_proxy("naswot").settings("nb101"),
            "ntk": get_proxy("ntk").settings("nb101", batch_size=ntk_batch)}


def read_cells(path) -> pd.DataFrame:
    cells = pd.read_csv(path, dtype={"adjacency": str})
    missing = {"adjacency", "operations", "val_accuracy"} - set(cells.columns)
    if missing:
        raise SystemExit(f"{path}: missing column(s) {sorted(missing)}; found {list(cells.columns)}")
    archs = [make_arch(a, o) for a, o in zip(cells.adjacency, cells.operations)]
    cells["module_hash"] = [arch.module_hash for arch in archs]
    cells["num_vertices"] = [len(arch.matrix) for arch in archs]  # after pruning
    cells.index.name = "cell"
    return cells


def read_scores(path: Path, expected_hash: str) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=SCORE_COLUMNS)
    scores = pd.read_csv(path)
    if set(scores.settings_hash) - {expected_hash}:
        raise SystemExit(f"{path}: rows with settings {sorted(set(scores.settings_hash))}, this run uses "
                         f"{expected_hash}; move the file away or use another --out")
    return scores


def run_proxy(proxy: str, settings, cells: pd.DataFrame, order, data, seed: int, path: Path) -> None:
    spec, digest = get_proxy(proxy), settings_hash(settings)
    done = set(read_scores(path, digest).cell)
    todo = [c for c in order if c not in done]
    print(f"== {proxy}: {len(todo)} of {len(order)} cells to score", flush=True)
    for k, cell in enumerate(todo):
        arch = (cells.adjacency[cell], cells.operations[cell])
        result = spec.score(arch, space="nb101", data=data, settings=settings, seed=seed, dataset="cifar10")
        row = {"cell": cell, "module_hash": cells.module_hash[cell], "proxy": proxy, "value": result.value,
               "status": result.status, "seconds": result.seconds, "settings_hash": digest, "seed": seed}
        pd.DataFrame([row], columns=SCORE_COLUMNS).to_csv(path, mode="a", header=not path.exists(), index=False)
        print(f"[{proxy} {k + 1}/{len(todo)}] cell {cell}: {result.value:.6g} ({result.status}) "
              f"{result.seconds:.1f} s", flush=True)


def write_outputs(out: Path, args, settings: dict, cells: pd.DataFrame, order, data) -> pd.DataFrame:
    frames = [read_scores(out / f"scores_{p}.csv", settings_hash(s)) for p, s in settings.items()]
    scores = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=SCORE_COLUMNS)
    scores.sort_values(["proxy", "cell"]).to_csv(out / "scores.csv", index=False)
    taus = sample_tau_table(scores, cells, METRICS, ACCURACY_NOTE)
    taus.to_csv(out / "tau.csv", index=False)
    sidecar = {
        "what": "Kendall tau-b of NB101 proxies vs accuracy on a 500-cell sample",
        "accuracy": f"val_accuracy column of {args.cells_csv}: {ACCURACY_NOTE}",
        "settings": {p: {"preset": "code" if p == "params" else "nb101", "fields": dataclasses.asdict(s),
                         "hash": settings_hash(s)} for p, s in settings.items()},
        "ntk_batch_note": ("NTK batch 72 = the code setting" if args.ntk_batch == 72 else
                           f"NTK batch {args.ntk_batch}, not the code setting's 72 (≈ 10× the CPU time per cell)"),
        "lr1": "ASSUMED thin NB101 network (one cell, one channel per vertex, NASWOT init): no source defines "
               "one (spaces/nb101_networks.py NB101ThinNetwork); a transfer of TE-NAS's recipe, not a reproduction",
        "tau_params": "kendall_tau_b_params = tau-b(sign*score, #Param stem 128) on the same cells (Revisit Tab. 2 "
                      "statistic; the paper uses 10,000 NB101 cells)",
        "order_rule": f"cells scored in numpy default_rng({args.order_seed}).permutation({len(cells)}) order; a "
                      "partial proxy is the first n_cells_scored cells of that order",
        "order_seed": args.order_seed, "proxy_seed": args.seed, "cells_total": len(cells), "order": order,
        "images": {"folder": str(args.images), "count": len(data),
                   "note": "CIFAR-10 TEST images (JPEG): the authors use training images, not available here"},
        "tau": "scipy.stats.kendalltau(variant='b') of (sign*score, val_accuracy) over cells with status ok; "
               "unit 'module' = one point per distinct module hash (mean score and mean accuracy of its rows)",
        "sample_composition": {"rows": len(cells), "distinct_modules": int(cells.module_hash.nunique()),
                               "rows_of_the_most_common_module": int(cells.module_hash.value_counts().iloc[0]),
                               "pruned_vertex_counts": {int(k): int(v) for k, v in cells.num_vertices
                                                        .value_counts().sort_index().items()}},
        "status_counts": {p: rows.status.value_counts().to_dict() for p, rows in scores.groupby("proxy")},
        "seconds_per_cell": scores.groupby("proxy").seconds.agg(["count", "mean", "median", "max"])
                                  .to_dict(orient="index"),
        **script_environment(),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kendall": taus.to_dict(orient="records"),
    }
    (out / "tau.json").write_text(json.dumps(sidecar, indent=2, default=str))
    return taus


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = read_cells(args.cells_csv)
    order = [int(c) for c in np.random.default_rng(args.order_seed).permutation(len(cells))]
    settings = proxy_settings(args.ntk_batch)
    data = load_image_folder(args.images, stats="cifar10")
    print(f"{len(data)} images; {len(order[:args.limit])} of {len(cells)} cells; proxies {args.proxies}", flush=True)
    for proxy in args.proxies:
        run_proxy(proxy, settings[proxy], cells, order[:args.limit], data, args.seed, out / f"scores_{proxy}.csv")
        taus = write_outputs(out, args, settings, cells, order, data)
        print(taus.drop(columns=["accuracy", "excluded_statuses"]).to_string(index=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
