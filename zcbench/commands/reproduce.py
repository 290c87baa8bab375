"""`zcbench reproduce`: the claims ledger and report from whatever data and results are available."""
from __future__ import annotations

from zcbench.cli import add_data_dir


def register(subparsers) -> None:
    p = subparsers.add_parser("reproduce", help="compute the papers' claims the available data/results allow; "
                                                "write ledger.json, report.md, report.html")
    p.add_argument("--paper", default=None, help="only this paper's claims (TE-NAS, KNAS, Revisit, EnTranNAS)")
    p.add_argument("--quick", action="store_true",
                   help="fewer bootstrap/expectation repetitions and a smaller synthetic demo (CPU, minutes)")
    add_data_dir(p)
    p.add_argument("--results", default=None,
                   help="directory of sweep results (<sweep>/merged.parquet); default: ./results if present")
    p.add_argument("--seed", type=int, default=0, help="seed of the demo sample and the bootstrap")
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from zcbench.reports.reproduce import run as reproduce

    _, summary = reproduce(args.out, data_dir=args.data_dir, results_dir=args.results, paper=args.paper,
                           quick=args.quick, seed=args.seed)
    print(summary)
    return 0
