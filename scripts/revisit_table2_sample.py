"""Revisit Table 2 on a sample (claim R13): Kendall τ-b of LR2, LR1 and NTK (−κ) with #Param on NB201.

Scores a seeded sample of NB201 cells with `params`, `lr1`, `naswot` (= LR2) and `ntk` (full-size
networks, `code` settings unless --setting says otherwise) on CIFAR-10 images read from an image
folder, then reports scipy's τ-b of each metric against #Param next to the paper's whole-space values
(LR2 0.56, LR1 0.39, NTK 0.30), whether or not they match.

Proxies run phase by phase (cheap ones first, NTK last) and every score is appended to
`<name>_scores.csv` as soon as it exists, so a rerun resumes and the τ table (`<name>.csv`, JSON
sidecar `<name>.json`) is rewritten after each phase: while NTK is still running the table already
holds LR1/LR2, and the NTK row says on how many cells it rests.

τ is computed twice: over the cells where both values are finite with status 'ok' (main column), and
with ±inf kept as extreme ranks (NASWOT's −inf for singular kernels, κ = +inf → −κ = −inf), NaN dropped.

    nohup nice -n 10 python scripts/revisit_table2_sample.py \\
        --images /work/shared/data/images/cifar10-test-jpg > results/revisit_table2_sample200.log 2>&1 &
    # κ on TE-NAS's own C=3, N=1 network instead (≈ 15 CPU s per cell):
    python scripts/revisit_table2_sample.py --images ... --proxies ntk --ntk-setting supernet \\
        --name revisit_table2_sample200_ntk_supernet
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import multiprocessing as mp
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

from zcbench.benchmarks.provenance import script_environment
from zcbench.proxies.ntk import AUTHORS_NAN_VALUE
from zcbench.proxies.registry import get_proxy, settings_hash
from zcbench.spaces import nb201
from zcbench.spaces.image_files import load_image_folder

# metric name → (proxy, sign applied before ranking, Revisit Table 2 NB201 value)
METRICS = {"LR2": ("naswot", 1.0, 0.56), "LR1": ("lr1", 1.0, 0.39), "NTK (-kappa)": ("ntk", -1.0, 0.30)}
PHASES = ("params", "lr1", "naswot", "ntk")  # cheapest first
SCORE_COLUMNS = ["index", "arch", "proxy", "value", "status", "seconds", "settings_hash", "seed"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=200, help="number of NB201 cells sampled without replacement")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the cell sample")
    p.add_argument("--seed", type=int, default=0, help="proxy seed (init, image batches)")
    p.add_argument("--images", required=True, help="CIFAR-10 image folder (<class>/<image> layout)")
    p.add_argument("--setting", default="code")
    p.add_argument("--ntk-setting", default=None,
                   help="preset for the NTK phase only (default --setting), e.g. 'supernet': κ on TE-NAS's C=3, N=1 "
                        "network, the other candidate for the unstated whole-space κ network (protocols §A1)")
    p.add_argument("--proxies", nargs="+", default=list(PHASES), choices=PHASES,
                   help="phases to run (default all; params is always scored, τ needs it)")
    p.add_argument("--out", default="results")
    p.add_argument("--name", default=None, help="output file stem (default revisit_table2_sample<cells>)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per worker (1: fastest on a busy machine)")
    p.add_argument("--workers", type=int, default=1, help="processes scoring cells in parallel (one writer)")
    p.add_argument("--report-only", action="store_true",
                   help="score nothing: rewrite the tau table and sidecar from the scores computed so far "
                        "(e.g. while another invocation is still running the NTK phase)")
    return p.parse_args(argv)


def sample_cells(n: int, seed: int) -> list[int]:
    """n distinct NB201 indices drawn with numpy's default_rng(seed), in draw order."""
    return [int(i) for i in np.random.default_rng(seed).choice(nb201.NUM_ARCHS, size=n, replace=False)]


def read_scores(path: Path, hashes: dict) -> pd.DataFrame:
    """Rows already computed; refuses a file holding another setting of one of our proxies."""
    if not path.exists():
        return pd.DataFrame(columns=SCORE_COLUMNS)
    scores = pd.read_csv(path)
    for proxy, rows in scores.groupby("proxy"):
        if proxy in hashes and set(rows.settings_hash) != {hashes[proxy]}:
            raise SystemExit(f"{path}: rows of {proxy!r} have settings {sorted(set(rows.settings_hash))}, this run "
                             f"uses {hashes[proxy]}; pass another --name or remove the file")
    return scores


def score_cell(job) -> dict:
    """One (proxy, settings, cell) → a scores row; module-level so a process pool can run it."""
    proxy, settings, index, seed = job
    result = get_proxy(proxy).score(index, data=_DATA["images"], settings=settings, seed=seed, dataset="cifar10")
    return {"index": index, "arch": str(nb201.index_to_arch(index)), "proxy": proxy, "value": result.value,
            "status": result.status, "seconds": result.seconds, "settings_hash": settings_hash(settings),
            "seed": seed}


_DATA: dict = {}  # the image set, set before the pool forks so workers inherit it instead of pickling it


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)


def run_phase(proxy: str, settings, indices, data, seed: int, path: Path, done: set, workers: int = 1,
              threads: int = 1) -> None:
    """Score the cells not yet in `path`, appending each row as it arrives (this process is the only
    writer; with workers > 1 a fork pool computes, in completion order)."""
    todo = [i for i in indices if (i, proxy) not in done]
    print(f"== {proxy}: {len(todo)} of {len(indices)} cells to score ({workers} worker(s))", flush=True)
    _DATA["images"] = data
    jobs = [(proxy, settings, index, seed) for index in todo]
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(mp.get_context("fork").Pool(workers, _worker_init, (threads,)))
            rows = pool.imap_unordered(score_cell, jobs)
        else:
            rows = map(score_cell, jobs)
        for k, row in enumerate(rows):
            pd.DataFrame([row], columns=SCORE_COLUMNS).to_csv(path, mode="a", header=not path.exists(), index=False)
            print(f"[{proxy} {k + 1}/{len(todo)}] cell {row['index']}: {row['value']:.6g} ({row['status']}), "
                  f"{row['seconds']:.1f} s", flush=True)


def tau_b(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    result = kendalltau(x, y, variant="b")
    return float(result.statistic), float(result.pvalue)


def kendall_table(scores: pd.DataFrame, indices: list[int]) -> pd.DataFrame:
    """τ-b(#Param, metric) per metric: over ok rows, and with ±inf ranked at the extremes."""
    wide = {proxy: rows.set_index("index") for proxy, rows in scores.groupby("proxy")}
    params = wide["params"].value
    rows = []
    for metric, (proxy, sign, paper) in METRICS.items():
        if proxy not in wide:
            rows.append({"metric": metric, "proxy": proxy, "n_cells_scored": 0, "revisit_table2": paper})
            continue
        table = pd.DataFrame({"params": params, "value": sign * wide[proxy].value, "status": wide[proxy].status})
        table = table.reindex(indices).dropna(subset=["params", "status"])  # cells scored so far
        ok = (table.status == "ok") & np.isfinite(table.value)
        ranked = ~table.value.isna()
        tau_ok, p_ok = tau_b(table.params[ok].to_numpy(float), table.value[ok].to_numpy(float))
        tau_ranked, _ = tau_b(table.params[ranked].to_numpy(float), table.value[ranked].to_numpy(float))
        rows.append({"metric": metric, "proxy": proxy, "sign": sign, "n_cells_scored": len(table),
                     "kendall_tau_b": tau_ok, "p_value": p_ok, "n": int(ok.sum()),
                     "excluded_statuses": json.dumps(table.status[~ok].value_counts().to_dict()),
                     "tau_b_nonfinite_ranked": tau_ranked, "n_nonfinite_ranked": int(ranked.sum()),
                     # the `code` κ's NaN → 1e5 rule: kept as the authors' value (status ok), counted here
                     "n_authors_nan_rule": int((table.value.abs() == AUTHORS_NAN_VALUE).sum()) if proxy == "ntk" else 0,
                     "revisit_table2": paper, "difference": tau_ok - paper})
    table = pd.DataFrame(rows)
    for column in ("n_cells_scored", "n", "n_nonfinite_ranked", "n_authors_nan_rule"):
        if column in table:
            table[column] = table[column].astype("Int64")
    return table


def write_outputs(out: Path, name: str, args, indices, settings, data, scores, started: float) -> pd.DataFrame:
    taus = kendall_table(scores, indices)
    taus.to_csv(out / f"{name}.csv", index=False)
    seconds = scores.groupby("proxy").seconds.agg(["count", "mean", "median", "max"])
    sidecar = {
        "claim": "R13 (Revisit Table 2, NB201): Kendall tau with #Param, LR2 / LR1 / NTK = 0.56 / 0.39 / 0.30 "
                 "(all 15,625 archs; here a seeded sample)",
        "setting": args.setting, "ntk_setting": args.ntk_setting or args.setting,
        "settings": {p: {"fields": dataclasses.asdict(s), "hash": settings_hash(s)} for p, s in settings.items()},
        "cells": indices, "sample_seed": args.sample_seed, "proxy_seed": args.seed,
        "sampling": "numpy default_rng(sample_seed).choice(15625, cells, replace=False), draw order",
        "images": {"folder": str(args.images), "count": len(data), "name": data.name,
                   "note": "CIFAR-10 TEST images (JPEG q75): the authors use the training set, not available here"},
        "params": "C=16, N=5 network with a 10-way head, in 10^6 (proxy `params`, code setting)",
        "tau": "scipy.stats.kendalltau(variant='b') of (#Param, sign*value); main column over cells where "
               "both are ok and finite; tau_b_nonfinite_ranked keeps +-inf as extreme ranks, drops NaN",
        "status_counts": {p: rows.status.value_counts().to_dict() for p, rows in scores.groupby("proxy")},
        "seconds_per_cell": seconds.to_dict(orient="index"),
        "wall_seconds_this_invocation": time.perf_counter() - started,
        **script_environment(),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kendall": taus.to_dict(orient="records"),
    }
    (out / f"{name}.json").write_text(json.dumps(sidecar, indent=2, default=str))
    return taus


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    name = args.name or f"revisit_table2_sample{args.cells}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    phases = [p for p in PHASES if p == "params" or p in args.proxies]
    settings = {p: get_proxy(p).settings(args.ntk_setting if p == "ntk" and args.ntk_setting else args.setting)
                for p in phases}
    hashes = {p: settings_hash(s) for p, s in settings.items()}
    data = load_image_folder(args.images, stats="cifar10")
    indices = sample_cells(args.cells, args.sample_seed)
    scores_path = out / f"{name}_scores.csv"
    print(f"{len(data)} images from {args.images}; {len(indices)} cells; settings hashes {hashes}", flush=True)
    if args.report_only:
        taus = write_outputs(out, name, args, indices, settings, data, read_scores(scores_path, hashes), started)
        print(taus.to_string(index=False), flush=True)
        return 0
    for proxy in phases:
        previous = read_scores(scores_path, hashes)
        done = set(zip(previous["index"], previous["proxy"]))
        run_phase(proxy, settings[proxy], indices, data, args.seed, scores_path, done, args.workers, args.threads)
        taus = write_outputs(out, name, args, indices, settings, data, read_scores(scores_path, hashes), started)
        print(taus.to_string(index=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
