"""`zcbench sweep run|validate|plan|status|merge CONFIG [--out DIR] [--executor …] [--workers N]`."""
from __future__ import annotations

import json

from zcbench.benchmarks.sweep import (
    calibrate,
    load_config,
    make_plan,
    merge_sweep,
    out_dir_for,
    run_sweep,
    sweep_status,
)
from zcbench.benchmarks.sweep.config import EXECUTORS
from zcbench.benchmarks.sweep.data import load_data
from zcbench.benchmarks.sweep.run import format_seconds
from zcbench.options import add_data_dir, add_trust_pickle, check_device, check_seed, non_negative_int, positive_int

ACTIONS = ("run", "validate", "plan", "status", "merge")


def register(p) -> None:
    p.add_argument("action", choices=ACTIONS,
                   help="run: compute unfinished shards; validate: check the config; plan: rows, shards and "
                        "estimated cost per cost class; status: progress; merge: check coverage, write one table")
    p.add_argument("config", help="sweep config (TOML), e.g. configs/demo_tiny.toml")
    p.add_argument("--out", default=None, help="output directory (default: the config's `out`, else sweeps/NAME)")
    p.add_argument("--executor", choices=EXECUTORS, default=None, help="default: the config's [execution]")
    p.add_argument("--workers", type=positive_int, default=None, help="parallel workers (process pool / job array)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads per worker (CPU)")
    p.add_argument("--calibrate", type=non_negative_int, default=0, metavar="N",
                   help="plan: time each proxy on the first N archs instead of nominal per-class costs")
    p.add_argument("--json", action="store_true", help="machine-readable output (plan, status, merge)")
    p.add_argument("--partial", action="store_true",
                   help="merge: only the finished shards of an unfinished sweep, into partial.parquet")
    add_data_dir(p)
    add_trust_pickle(p)
    p.set_defaults(func=run)


def run(args) -> int:
    config = load_config(args.config)
    for seed in config.seeds:
        check_seed(seed, f"{args.config}: seeds:")
    return ACTION_FUNCS[args.action](config, args)


def _validate(config, args) -> int:
    """Plan the sweep, check its device and read each data source once (so a missing image folder
    shows up now, not in every shard)."""
    plan = make_plan(config, args.data_dir)
    check_device(config.device)
    for ds, source in config.data:
        images = load_data(ds, source, args.data_dir)
        print(f"data {ds}: {source.describe()}: {len(images)} images {images.image_size}×{images.image_size}, "
              f"{images.num_classes} classes" + (f" — {source.note}" if source.note else ""))
    s = plan.summary()
    print(f"OK {config.name}: {s['archs']} archs × {len(s['proxies'])} proxies × {len(s['datasets'])} datasets × "
          f"{len(s['seeds'])} seeds = {s['rows']} rows in {s['shards']} shards (fingerprint {plan.fingerprint})")
    return 0


def _plan(config, args) -> int:
    plan = make_plan(config, args.data_dir)
    measured = calibrate(plan, args.calibrate, args.data_dir, args.threads) if args.calibrate else None
    cost = plan.cost_by_class(measured)
    workers = args.workers or config.execution.workers
    if args.json:
        print(json.dumps({**plan.summary(), "cost_by_class": cost, "out": str(out_dir_for(config, args.out))},
                         indent=2))
        return 0
    s = plan.summary()
    print(f"sweep {s['name']} → {out_dir_for(config, args.out)}  (fingerprint {s['fingerprint']})")
    print(f"  space {s['space']}: {s['archs']} archs; datasets {s['datasets']}; seeds {s['seeds']}; "
          f"device {s['device']}")
    for proxy in s["proxies"]:
        print(f"  proxy {proxy}")
    for ds, src in config.data:
        print(f"  data {ds}: {src.describe()}" + (f" — {src.note}" if src.note else ""))
    print(f"  {s['rows']} rows in {s['shards']} shards of ≤{s['archs_per_shard']} archs")
    print(f"  {'cost class':<20} {'rows':>9} {'est. time (1 worker)':>22}  proxies")
    total = 0.0
    for klass, c in cost.items():
        total += c["seconds"]
        basis = "measured" if c["measured"] else "nominal"
        print(f"  {klass:<20} {c['rows']:>9} {format_seconds(c['seconds']):>13} ({basis})  {', '.join(c['proxies'])}")
    print(f"  total ≈ {format_seconds(total)} with 1 worker, ≈ {format_seconds(total / workers)} with {workers}")
    return 0


def _run(config, args) -> int:
    check_device(config.device)
    report = run_sweep(config, out=args.out, executor=args.executor, workers=args.workers, threads=args.threads,
                       data_dir=args.data_dir)
    print(f"sweep {config.name}: {report.skipped} shards already finished, {len(report.computed)} computed now, "
          f"{len(report.failed)} failed; output in {report.out_dir}")
    for name, error in report.failed.items():
        print(f"  {name}: {error}")
    for name, problem in report.damaged.items():
        print(f"  {name} was damaged and has been recomputed: {problem}")
    if report.complete:
        print(f"all {len(report.plan.shards)} shards finished: `zcbench sweep merge {args.config}` writes the table")
    return 0 if not report.failed else 1


def _status(config, args) -> int:
    st = sweep_status(config, out=args.out, data_dir=args.data_dir)
    if args.json:
        print(json.dumps(st, indent=2))
        return 0
    print(f"sweep {st['name']} in {st['out']} (fingerprint {st['fingerprint']})"
          + ("" if st["matches_out_dir"] else " — WARNING: the output directory holds another plan"))
    pct = 100 * st["shards_done"] / st["shards"]
    print(f"  shards {st['shards_done']}/{st['shards']} ({pct:.1f}%), rows {st['rows_done']}/{st['rows']}, "
          f"failed rows {st['failed_rows']} {st['counts_by_status'] or ''}")
    for name, problem in st["damaged_shards"].items():
        print(f"  {name} is damaged (recomputed by `sweep run`): {problem}")
    if st["seconds_per_arch"] is not None:
        print(f"  {st['seconds_per_arch']:.3f} s/arch (wall, per worker); remaining ≈ "
              f"{format_seconds(st['eta_seconds'])} with {st['workers']} worker(s)")
    print("  " + (f"running (pid {st['running_pid']})" if st["running"] else "not running")
          + ("; merged" if st["merged"] else ""))
    return 0


def _merge(config, args) -> int:
    path, summary = merge_sweep(config, out=args.out, data_dir=args.data_dir, partial=args.partial,
                                config_path=args.config)
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "sweep"}, indent=2, default=str))
        return 0
    print(f"merged {summary['rows']} of {summary['planned_rows']} planned rows → {path} "
          f"({summary['failed_rows']} not ok)")
    for proxy, counts in summary["counts_by_proxy_status"].items():
        print(f"  {proxy:<16} {counts}")
    if summary["dead_cell_rows"]:
        print(f"  {summary['dead_cell_rows']} rows on dead cells (flag `dead_cell`): "
              f"{summary['dead_cell_by_proxy_status']}")
    for reason, n in list(summary["failure_reasons"].items())[:10]:
        print(f"  {n:>6} × {reason}")
    return 0


ACTION_FUNCS = {"run": _run, "validate": _validate, "plan": _plan, "status": _status, "merge": _merge}
