"""`zcbench ls spaces|proxies [--json]`: every entry that loaded, and on stderr each that did not."""
from __future__ import annotations

import json
import sys

from zcbench.spaces.catalog import SPACES


def register(parser) -> None:
    parser.add_argument("what", choices=["spaces", "proxies"])
    parser.add_argument("--json", action="store_true", help="machine-readable output with all metadata")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.what == "spaces":
        list_search_spaces(args.json)
        report_failures(SPACES)
    else:
        from zcbench.proxies.registry import REGISTRY  # imports torch: only when proxies are listed

        list_proxies(REGISTRY, args.json)
        report_failures(REGISTRY)
    return 0


def report_failures(registry) -> None:
    """A broken entry (e.g. a plugin that fails to import) is named on stderr; the others are still listed."""
    for name, why in registry.failures().items():
        print(f"zcbench ls: {registry.kind} {name!r} failed to load: {why}", file=sys.stderr)


def list_search_spaces(as_json: bool) -> None:
    rows = [{"name": s.name, "size": s.official_size, "description": s.description} for s in SPACES]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['name']:<8} {r['size']:>8}  {r['description']}")


def list_proxies(registry, as_json: bool) -> None:
    specs = list(registry)
    if as_json:
        print(json.dumps([s.metadata() for s in specs], indent=2, default=str))
        return
    width = max([8, *(len(",".join(s.presets)) for s in specs)])
    print(f"{'name':<16} {'ver':>3} {'better':<7} {'cost class':<20} {'settings':<{width}} {'spaces':<12} summary")
    for s in specs:
        better = "higher" if s.higher_is_better else "lower"
        print(f"{s.name:<16} {s.version:>3} {better:<7} {s.cost_class:<20} {','.join(s.presets):<{width}} "
              f"{','.join(s.spaces):<12} {s.summary}")
