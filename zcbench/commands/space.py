"""`zcbench space export SPACE --out FILE.csv|FILE.parquet`: the per-architecture table of a space."""
from __future__ import annotations

from zcbench.spaces import nb101
from zcbench.spaces.catalog import get_space, nb201_table
from zcbench.spaces.errors import ZcbenchError

EXPORTERS = {"nb201": lambda args: nb201_table(), "nb101": lambda args: nb101.export_table(args.cells, args.all)}


def register(parser) -> None:
    sub = parser.add_subparsers(dest="space_command", required=True)
    export = sub.add_parser("export", help="write one row per architecture (ids, op counts, params, FLOPs, iso)")
    export.add_argument("space")
    export.add_argument("--out", required=True, help="output path: .parquet writes Parquet, anything else CSV")
    export.add_argument("--cells", default=None, help="(nb101) CSV of cells with adjacency and operations columns")
    export.add_argument("--all", action="store_true", help="(nb101) every enumerated cell (~1 CPU minute)")
    export.set_defaults(func=run_export)


def run_export(args) -> int:
    get_space(args.space)  # a clear "unknown space" error first
    if args.space not in EXPORTERS:
        raise ZcbenchError(f"no exporter for space {args.space!r}; available: {', '.join(EXPORTERS)}")
    table = EXPORTERS[args.space](args)
    if str(args.out).endswith(".parquet"):
        table.to_parquet(args.out, index=False)
    else:
        table.to_csv(args.out, index=False)
    print(f"wrote {len(table)} rows to {args.out}")
    return 0
