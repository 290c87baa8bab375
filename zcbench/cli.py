"""`zcbench` console entry point: parses arguments and dispatches to one command module per area.

Each module in `zcbench.commands` exposes `register(subparsers)`, adding its subcommands with a
`func(args) -> int` default. The CLI only parses, calls one library function and prints.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

from zcbench.spaces.errors import ZcbenchError

COMMAND_MODULES = ("ls", "space", "data", "score", "sweep", "search", "reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zcbench", description="Benchmark suite for training-free NAS proxies.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        import_module(f"zcbench.commands.{name}").register(subparsers)
    return parser


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="directory holding benchmark/image files (default: $ZCBENCH_DATA)")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ZcbenchError as exc:
        print(f"zcbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
