"""`zcbench reproduce`: the claims ledger and report from whatever data and results are available."""
from __future__ import annotations

from zcbench.options import add_data_dir, add_trust_pickle, seed_value


def register(parser) -> None:
    parser.add_argument("--paper", default=None, help="only this paper's claims (TE-NAS, KNAS, Revisit, EnTranNAS)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer bootstrap/expectation repetitions and a smaller synthetic demo (CPU, minutes)")
    add_data_dir(parser)
    add_trust_pickle(parser)
    parser.add_argument("--results", default=None,
                        help="results library (<kind>/<name>/manifest.json); default: the checkout's "
                             "committed results/")
    parser.add_argument("--seed", type=seed_value, default=0, help="seed of the demo sample and the bootstrap")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--readme", default=None,
                        help="also rewrite the results table of this README from the new ledger")
    parser.set_defaults(func=run)


def run(args) -> int:
    from zcbench.reports.ledger import run as reproduce

    _, summary = reproduce(args.out, data_dir=args.data_dir, results_dir=args.results, paper=args.paper,
                           quick=args.quick, seed=args.seed)
    if args.readme:
        from zcbench.reports.readme import load_ledger, update_readme

        update_readme(args.readme, load_ledger(f"{args.out}/ledger.json"))
    print(summary)
    return 0
