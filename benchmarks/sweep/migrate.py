"""`python -m zcbench.benchmarks.sweep.migrate DIR…`: record sha256 checksums for the shards and
merged tables of sweep folders written before checksums existed (`SweepStore.stamp_checksums`).

Each legacy file is first checked the way unstamped files are read (it parses, row count as its
sidecar or manifest records); damaged ones are listed and left unstamped (recomputed by `sweep run`).
Takes the folder's run lock, so a running sweep's folder is refused. Exit status 0 when nothing is
damaged, 1 when something is, 2 for a folder that is not a sweep or is locked.
"""
from __future__ import annotations

import sys

from zcbench.benchmarks.sweep.store import SWEEP_FILE, SweepStore
from zcbench.spaces.errors import ZcbenchError


def migrate(folder) -> dict[str, list[str]]:
    store = SweepStore(folder)
    if not (store.root / SWEEP_FILE).is_file():
        raise ZcbenchError(f"{store.root}: not a sweep output directory (no {SWEEP_FILE})")
    with store.running("checksum migration"):
        return store.stamp_checksums()


def main(argv: list[str] | None = None) -> int:
    folders = sys.argv[1:] if argv is None else argv
    if not folders:
        print("usage: python -m zcbench.benchmarks.sweep.migrate SWEEP_DIR [SWEEP_DIR …]", file=sys.stderr)
        return 2
    status = 0
    for folder in folders:
        try:
            result = migrate(folder)
        except ZcbenchError as exc:
            print(f"{folder}: error: {exc}", file=sys.stderr)
            status = 2
            continue
        print(f"{folder}: stamped {len(result['stamped'])}, already stamped {len(result['had'])}, "
              f"damaged {len(result['damaged'])}")
        for line in result["damaged"]:
            print(f"  damaged: {line}")
        status = max(status, 1 if result["damaged"] else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
