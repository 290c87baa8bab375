"""`zcbench verify`: check your implementation of a proxy against ours, or scores against a published table.

    zcbench verify MODULE:CALLABLE --against PROXY [--setting code] [--n 20] [--seed 0] [--tolerance 1e-6]
    zcbench verify SUBJECT --against-table FILE [--published NAME] [--dataset cifar10] [--n 20]

The first form scores n seeded cells with PROXY and with your function on the very network and batch
PROXY builds for each (benchmarks.verify; the signature is `fn(network, images, labels) -> float`),
prints both values and their relative difference per cell, then Kendall τ-b, and exits 1 when any
cell is beyond the tolerance (or raised). The second compares SUBJECT — a scores file (CSV/Parquet
with `arch,value`), one of our proxies by name, or MODULE:CALLABLE with `--against PROXY` for its
inputs — with a measure of NAS-Bench-Suite-Zero's NB201 table: n cells, τ and ρ with bootstrap
intervals per dataset (reports.concordance); exit 1 only when `--min-tau` is given and not reached.
Exit 2 for bad input (a MODULE:CALLABLE that does not import, an unknown proxy, missing data).
"""
from __future__ import annotations

import json
import math
import sys

from zcbench.options import add_data_dir, add_trust_pickle, check_device, non_negative_int, seed_value
from zcbench.spaces.catalog import DATASET_CLASSES
from zcbench.spaces.errors import ZcbenchError

SUBJECT_HELP = ("MODULE:CALLABLE (a function fn(network, images, labels) -> float; MODULE is a dotted module on "
                "the Python path or a .py file), or with --against-table also a scores file (.csv/.parquet with "
                "columns arch,value[,dataset]) or one of our proxies by name")


def _tolerance(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number ≥ 0")
    return value


def register(parser) -> None:
    parser.description = __doc__.split("\n\n")[0] + (
        " Exit status 0 when every cell agrees within the tolerance (table mode: always, unless --min-tau), "
        "1 when a cell differs or raised, 2 for bad input.")
    parser.add_argument("subject", metavar="SUBJECT", help=SUBJECT_HELP)
    parser.add_argument("--against", metavar="PROXY", default=None,
                        help="our proxy to check against; it also supplies the network and batch your function sees")
    parser.add_argument("--against-table", metavar="FILE", default=None,
                        help="compare with a published table instead: NAS-Bench-Suite-Zero's zc_nasbench201.json "
                             "(a path, or looked up under --data-dir as naslib-zc/zc_nasbench201.json)")
    parser.add_argument("--published", metavar="NAME", default=None,
                        help="the table's measure to compare with (nwot, jacov, synflow, …); default: the "
                             "counterpart of the proxy (naswot → nwot, naswot_v1 → jacov, …)")
    parser.add_argument("--setting", default="code", help="settings preset of the proxy (default code)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override a settings field of the proxy, e.g. batch_size=64, channels=4")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--n", type=non_negative_int, default=20,
                        help="cells to score (default 20), drawn with --seed; with --against-table 0 = every cell "
                             "of the table")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="seed of the cell sample and of the proxy (weights, batch); default 0")
    parser.add_argument("--tolerance", type=_tolerance, default=1e-6,
                        help="largest relative difference |a-b|/max(|a|,|b|) that passes (default 1e-6)")
    parser.add_argument("--min-tau", type=float, default=None,
                        help="with --against-table: exit 1 when Kendall τ on some dataset is below this")
    parser.add_argument("--dataset", default="cifar10", choices=sorted(DATASET_CLASSES))
    parser.add_argument("--split", default="train", help="image split read from the data directory (default train)")
    parser.add_argument("--images", default=None, metavar="synthetic|PATH",
                        help="'synthetic' random images, or an image folder; default: the dataset's files under "
                             "--data-dir/$ZCBENCH_DATA")
    add_data_dir(parser)
    add_trust_pickle(parser)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--per-cell", action="store_true", help="with --against-table: print every cell's values")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of the table")
    parser.set_defaults(func=run)


# ------------------------------------------------------------------------------------------ helpers

def _proxy_and_settings(name: str, args):
    from zcbench.proxies.registry import REGISTRY
    from zcbench.proxies.settings import split_overrides

    spec = REGISTRY.get(name)  # unknown → did-you-mean
    return spec, spec.settings(args.setting, **split_overrides(args.overrides))


def _images(spec, args):
    if "images" not in spec.needs:
        return None
    from zcbench.commands.score import load_imageset

    data, described = load_imageset(args)
    print(f"zcbench verify: images: {described}", file=sys.stderr)
    return data


def _number(value: float) -> str:
    return f"{value:.10g}" if math.isfinite(value) else str(value)


def _print_json(obj) -> None:
    from zcbench.commands.score import finite_or_none

    print(json.dumps(finite_or_none(obj), default=str), flush=True)


# ------------------------------------------------------------------------------- against our proxy

def run_against_proxy(args, space) -> int:
    from zcbench.benchmarks import verify

    if not verify.is_callable_reference(args.subject):
        raise verify.VerifyError(f"{args.subject!r} is not MODULE:CALLABLE; against a proxy, SUBJECT is your "
                                 f"function ({verify.SIGNATURE})")
    if args.n < 1:
        raise verify.VerifyError("--n must be ≥ 1 against a proxy")
    spec, settings = _proxy_and_settings(args.against, args)
    if space.name not in spec.spaces:
        raise verify.VerifyError(f"proxy {spec.name!r} does not support space {space.name!r}")
    verify.check_shareable(spec, settings)
    fn = verify.load_callable(args.subject)
    device = check_device(args.device)
    data = _images(spec, args)
    archs = verify.sample_cells(space, args.n, args.seed)
    width = max(4, *(len(space.arch_id(a)) for a in archs))
    if not args.json:
        print(f"{args.subject} against {spec.name}[{args.setting}] on {len(archs)} {space.name} cells (seed "
              f"{args.seed}), tolerance {args.tolerance:g}")
        print(f"{'cell':>4}  {'arch':<{width}}  {'ours':>18}  {'theirs':>18}  {'rel. diff':>10}  status")
    counter = iter(range(1, len(archs) + 1))

    def show(cell):
        if args.json:
            _print_json({"cell": next(counter), **cell.as_dict(args.tolerance)})
            return
        status = "agree" if cell.agrees(args.tolerance) else "DIFFER"
        if cell.ours_status != "ok" or cell.theirs_status != "ok":
            status += f" (ours: {cell.ours_status}; theirs: {cell.theirs_status})"
        print(f"{next(counter):>4}  {cell.arch:<{width}}  {_number(cell.ours):>18}  {_number(cell.theirs):>18}  "
              f"{cell.relative_difference:>10.3g}  {status}", flush=True)

    report = verify.verify_callable(fn, spec, archs, space=space, data=data, settings=settings, seed=args.seed,
                                    device=device, dataset=args.dataset, tolerance=args.tolerance,
                                    subject=args.subject, setting=args.setting, on_cell=show)
    if args.json:
        _print_json({"summary": report.summary()})
    else:
        verdict = "PASS" if report.passed else f"FAIL ({report.disagreements} of {len(report.cells)} cells differ)"
        print(f"Kendall τ-b over {len(report.cells)} cells: {report.kendall:.4f}; max relative difference "
              f"{report.max_relative_difference:.3g} (tolerance {args.tolerance:g}): {verdict}")
    return 0 if report.passed else 1


# ------------------------------------------------------------------------------- against a table

def _subject(args):
    """What SUBJECT is in table mode: (scores file path | None, spec | None, settings, fn | None, label)."""
    from zcbench.benchmarks import verify
    from zcbench.proxies.registry import REGISTRY

    if verify.is_score_file(args.subject):
        return args.subject, None, None, None, args.subject
    if verify.is_callable_reference(args.subject):
        if args.against is None:
            raise verify.VerifyError("a function needs --against PROXY: the proxy whose network and batch it scores")
        spec, settings = _proxy_and_settings(args.against, args)
        fn = verify.load_callable(args.subject)
        verify.check_shareable(spec, settings)
        return None, spec, settings, fn, args.subject
    if args.subject not in REGISTRY:
        try:
            REGISTRY.get(args.subject)
        except ZcbenchError as exc:
            raise verify.VerifyError(f"{args.subject!r} is not MODULE:CALLABLE, a scores file (.csv/.parquet) or "
                                     f"one of our proxies: {exc}") from None
    spec, settings = _proxy_and_settings(args.subject, args)
    return None, spec, settings, None, f"{spec.name}[{args.setting}]"


def run_against_table(args, space) -> int:
    import difflib

    from zcbench.benchmarks import verify
    from zcbench.reports.concordance import concordance
    from zcbench.spaces.published_scores import TARGET, load_published_scores, published_cells, published_name

    if space.name != "nb201":
        raise verify.VerifyError(f"the published table is of space nb201, not {space.name!r}")
    published = load_published_scores(args.against_table, args.data_dir)
    measures = sorted(set(published["proxy"]))
    path, spec, settings, fn, label = _subject(args)
    name = args.published or published_name(spec.name if spec is not None else args.against or "")
    if name is None:
        raise verify.VerifyError(f"say which measure of the table to compare {label} with: --published NAME "
                                 f"({', '.join(m for m in measures if m != TARGET)}, or {TARGET})")
    if name not in measures:
        close = difflib.get_close_matches(name, measures, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise verify.VerifyError(f"the table has no measure {name!r}.{hint} It has: {', '.join(measures)}")
    if path is not None:
        scores = verify.read_subject_scores(path, space, args.dataset)
    else:
        device = check_device(args.device)
        cells = published_cells(published, args.dataset)
        if args.n > len(cells):
            raise verify.VerifyError(f"the table has {len(cells)} {args.dataset} cells: give --n ≤ {len(cells)}, "
                                     "or --n 0 for all of them")
        archs = [space.arch(i) for i in cells] if args.n == 0 else verify.sample_cells(space, args.n, args.seed,
                                                                                        cells)
        scores = verify.subject_scores(archs, space=space, data=_images(spec, args), settings=settings, spec=spec,
                                       fn=fn, seed=args.seed, device=device, dataset=args.dataset)
    result = concordance(scores.assign(proxy="subject"), published, pairs={"subject": name})
    if args.per_cell:
        _print_cells(scores, published, name, args.json)
    if args.json:
        for row in result.to_dict("records"):
            _print_json({"subject": label, **row, "proxy": None})
    else:
        print(f"{label} against NAS-Bench-Suite-Zero {name!r} ({published.attrs['source']})")
        print(f"{'dataset':<11} {'cells':>5} {'n':>5} {'excl.':>5}  {'Kendall τ-b [95%]':<26} {'Spearman ρ [95%]':<26}")
        for row in result.itertuples(index=False):
            excluded = row.excluded_ours + row.excluded_published
            print(f"{row.dataset:<11} {row.cells_common:>5} {row.n:>5} {excluded:>5}  "
                  f"{_interval(row.kendall, row.kendall_low, row.kendall_high):<26} "
                  f"{_interval(row.spearman, row.spearman_low, row.spearman_high):<26} "
                  f"{'' if row.status == 'ok' else row.status}")
    if args.min_tau is not None:
        below = result[(result["status"] != "ok") | ~(result["kendall"] >= args.min_tau)]
        if len(below):
            print(f"zcbench verify: Kendall τ below --min-tau {args.min_tau} on {', '.join(below['dataset'])}",
                  file=sys.stderr)
            return 1
    return 0


def _interval(estimate: float, low: float, high: float) -> str:
    if not math.isfinite(estimate):
        return "-"
    return f"{estimate:+.4f} [{low:+.3f}, {high:+.3f}]"


def _print_cells(scores, published, name: str, as_json: bool) -> None:
    theirs = published[published["proxy"] == name][["dataset", "index", "value", "status"]]
    joined = scores.merge(theirs, on=["dataset", "index"], how="left", suffixes=("", "_published"))
    for row in joined.itertuples(index=False):
        if as_json:
            _print_json({"dataset": row.dataset, "index": row.index, "value": row.value, "status": row.status,
                         "published": row.value_published, "published_status": row.status_published})
        else:
            print(f"{row.dataset:<11} {row.index:>6}  {_number(row.value):>18} ({row.status})  "
                  f"{_number(row.value_published):>18} ({row.status_published})")


def run(args) -> int:
    from zcbench.spaces.catalog import get_space

    space = get_space(args.space)
    if args.against_table is None:
        if args.against is None:
            raise ZcbenchError("give --against PROXY (check a function against our proxy) or --against-table FILE "
                               "(compare with a published table)")
        return run_against_proxy(args, space)
    return run_against_table(args, space)
