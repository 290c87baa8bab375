"""`zcbench ls spaces|proxies [--json]`."""
from __future__ import annotations

import json

from zcbench.proxies.registry import REGISTRY
from zcbench.spaces.catalog import list_spaces


def register(subparsers) -> None:
    p = subparsers.add_parser("ls", help="list search spaces or proxies")
    p.add_argument("what", choices=["spaces", "proxies"])
    p.add_argument("--json", action="store_true", help="machine-readable output with all metadata")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.what == "spaces":
        rows = [{"name": s.name, "size": s.official_size, "description": s.description} for s in list_spaces()]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                print(f"{r['name']:<8} {r['size']:>8}  {r['description']}")
        return 0
    specs = list(REGISTRY)
    if args.json:
        print(json.dumps([s.metadata() for s in specs], indent=2, default=str))
        return 0
    width = max(len(",".join(s.presets)) for s in specs)
    print(f"{'name':<16} {'ver':>3} {'better':<7} {'cost class':<20} {'settings':<{width}} {'spaces':<12} summary")
    for s in specs:
        better = "higher" if s.higher_is_better else "lower"
        print(f"{s.name:<16} {s.version:>3} {better:<7} {s.cost_class:<20} {','.join(s.presets):<{width}} "
              f"{','.join(s.spaces):<12} {s.summary}")
    return 0
