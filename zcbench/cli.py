"""`zcbench` console entry point: parses arguments and dispatches to one command module per area.

Each module in `zcbench.commands` exposes `register(parser)`, adding its arguments (and
subcommands) with a `func(args) -> int` default. Only the module of the command being run is
imported, so `zcbench --help` and the light commands never import torch. The CLI only parses,
calls one library function and prints; `main` turns every failure into one line on stderr and an
exit status (EXIT_STATUS).
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from zcbench.spaces.errors import ZcbenchError

# Command name → one-line help (shown by `zcbench --help` without importing the command's module).
COMMANDS = {
    "ls": "list search spaces or proxies",
    "space": "inspect search spaces",
    "data": "convert official benchmark files",
    "score": "score architectures with one or more proxies (a table, or JSON lines with --json)",
    "sweep": "run, resume, inspect and merge a sharded proxy sweep (TOML config)",
    "search": "architecture searches that compute proxies (TE-NAS pruning)",
    "results": "the results library: write results/INDEX.md from the manifests, check every file is listed",
    "verify": "check your implementation of a proxy against ours cell by cell, or scores against NAS-Bench-Suite-Zero",
    "reproduce": "compute the papers' claims the available data/results allow; write ledger.json, report.md, "
                 "report.html",
}
EXIT_OK, EXIT_PROXY_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 3, 130, 141
EXIT_STATUS = ("exit status: 0 success; 1 a proxy raised (its row says 'error:…') or a shard failed; 2 a user error "
               "(bad argument, config or settings, missing or damaged data); 3 an internal error (a bug: rerun with "
               "ZCBENCH_DEBUG=1 for the traceback); 130 interrupted (Ctrl-C); 141 output pipe closed (e.g. | head)")
DEBUG_ENV = "ZCBENCH_DEBUG"


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line that points at the command's --help."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, with the full arguments of `command` only (the others show their help line)."""
    parser = Parser(prog="zcbench", description="Benchmark suite for training-free NAS proxies.", epilog=EXIT_STATUS)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary, epilog=EXIT_STATUS)
        if name == command:
            import_module(f"zcbench.commands.{name}").register(sub)
    return parser


def _silence_stdout() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so the exit flush cannot fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured or replaced stdout: nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _fail(message: str, status: int) -> int:
    print(f"zcbench: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors exit 2 with one message, never a traceback (unless $ZCBENCH_DEBUG)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = bool(os.environ.get(DEBUG_ENV))
    try:
        args = build_parser(argv[0] if argv else None).parse_args(argv)
        return args.func(args) or EXIT_OK
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2, message already printed)
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or EXIT_OK
        return _fail(f"error: {exc.code}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except ZcbenchError as exc:
        if debug:
            raise
        return _fail(f"error: {exc}", EXIT_USAGE)
    except OSError as exc:  # a path that cannot be read or written: the user's to fix
        if debug:
            raise
        return _fail(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 — a bug: one line and a hint instead of a traceback
        if debug:
            raise
        return _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with {DEBUG_ENV}=1 for the traceback)",
                     EXIT_INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
