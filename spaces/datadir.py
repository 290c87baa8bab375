"""Locating data files: an explicit --data-dir, then $ZCBENCH_DATA; never a silent fallback."""
from __future__ import annotations

import os
from pathlib import Path

from zcbench.spaces.errors import DataNotFoundError

ENV_VAR = "ZCBENCH_DATA"


def data_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for data, in order: the explicit one, then $ZCBENCH_DATA."""
    roots = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]))
    return roots


def find_data_file(candidates: list[str], what: str, how_to_get: str,
                   data_dir: str | os.PathLike | None = None) -> Path:
    """Return the first existing `root/candidate`; raise DataNotFoundError listing every place tried.

    A candidate that is an absolute path is tried as is.
    """
    searched = []
    for cand in candidates:
        if Path(cand).is_absolute():
            searched.append(Path(cand))
            continue
        for root in data_roots(data_dir):
            searched.append(root / cand)
    for path in searched:
        if path.exists():
            return path
    raise DataNotFoundError(what, searched, how_to_get)


def data_relative(path: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> str:
    """`path` relative to the data root that holds it (how result files name their inputs), else as given."""
    resolved = Path(path).resolve()
    for root in data_roots(data_dir):
        if resolved.is_relative_to(root.resolve()):
            return resolved.relative_to(root.resolve()).as_posix()
    return str(path)
