"""`zcbench space export SPACE --out FILE.csv`: the per-architecture table of a space."""
from __future__ import annotations

from zcbench.spaces import nb101
from zcbench.spaces.catalog import get_space, nb201_table
from zcbench.spaces.errors import ZcbenchError

EXPORTERS = {"nb201": lambda args: nb201_table(), "nb101": lambda args: nb101.cells_table(args.cells)}


def register(subparsers) -> None:
    p = subparsers.add_parser("space", help="inspect search spaces")
    sub = p.add_subparsers(dest="space_command", required=True)
    export = sub.add_parser("export", help="write one row per architecture (ids, op counts, params, FLOPs, iso)")
    export.add_argument("space")
    export.add_argument("--out", required=True, help="output CSV path")
    export.add_argument("--cells", default=None, help="(nb101) CSV of cells with adjacency and operations columns")
    export.set_defaults(func=run_export)


def run_export(args) -> int:
    get_space(args.space)  # a clear "unknown space" error first
    if args.space not in EXPORTERS:
        raise ZcbenchError(f"no exporter for space {args.space!r}; available: {', '.join(EXPORTERS)}")
    table = EXPORTERS[args.space](args)
    table.to_csv(args.out, index=False)
    print(f"wrote {len(table)} rows to {args.out}")
    return 0
