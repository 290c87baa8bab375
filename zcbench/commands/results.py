"""`zcbench results index [--results DIR] [--check]`: the results library's INDEX.md, written from the manifests."""
from __future__ import annotations

from pathlib import Path

from zcbench.spaces.errors import ZcbenchError

ACTIONS = ("index",)


def register(parser) -> None:
    parser.add_argument("action", choices=ACTIONS,
                        help="index: write INDEX.md from every <kind>/<name>/manifest.json and check the library")
    parser.add_argument("--results", default="results", metavar="DIR", help="results library (default: results)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail (exit 2) when INDEX.md is out of date or the library has problems")
    parser.set_defaults(func=run)


def run(args) -> int:
    from zcbench.benchmarks import library
    from zcbench.reports.results import index_markdown, write_index

    root = Path(args.results)
    if not root.is_dir():
        raise ZcbenchError(f"results directory {root} does not exist")
    problems = library.problems(root)
    if args.check:
        index = root / library.INDEX
        if not index.is_file() or index.read_text() != index_markdown(root):
            problems.insert(0, f"{index} is out of date: run `zcbench results index --results {root}`")
    else:
        print(f"wrote {write_index(root)} ({len(library.entries(root))} entries)")
    if problems:
        raise ZcbenchError(f"{len(problems)} problem(s) in the results library {root}:\n  " + "\n  ".join(problems))
    return 0
