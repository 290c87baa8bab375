"""Progress of long loops on stderr: a tqdm bar with ETA on a terminal, plain lines otherwise.

`Progress(total, label)` counts steps with `update(note)`; `track(items, label)` wraps a loop. When
the stream is not a terminal (a log file, `2>&1 | cat`), each step prints one plain line with the
count, elapsed time and ETA, unless `piped_lines=False` (inner loops whose outer loop already
reports). `enabled=False` silences it. Used by `sweep run`, `search prune` and `reproduce`.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


class Progress:
    """Steps done out of `total` (`done` of them before this run, e.g. finished shards on resume)."""

    def __init__(self, total: int | None, label: str, *, unit: str = "it", done: int = 0, stream=None,
                 enabled: bool = True, piped_lines: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.label, self.unit, self.done, self.new = total, label, unit, done, 0
        self.start = time.monotonic()
        terminal = enabled and self.stream.isatty()
        self.lines = enabled and piped_lines and not terminal
        self.bar = tqdm(total=total, initial=done, desc=label, unit=unit, file=self.stream, leave=piped_lines,
                        dynamic_ncols=True) if terminal else None

    def update(self, note: str = "") -> None:
        """One step finished; `note` says which (shown beside the bar, or at the end of the line)."""
        self.done += 1
        self.new += 1
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update()
        elif self.lines:
            self.stream.write(self.line(note) + "\n")
            self.stream.flush()

    def line(self, note: str = "") -> str:
        """`label: 3/12 shards (25%) elapsed 00:04 ETA 00:12 — note` (ETA from this run's pace)."""
        elapsed = time.monotonic() - self.start
        count = f"{self.done} {self.unit}"
        if self.total:
            eta = elapsed / self.new * (self.total - self.done) if self.new else 0.0
            count = (f"{self.done}/{self.total} {self.unit} ({100 * self.done / self.total:.0f}%) "
                     f"elapsed {tqdm.format_interval(elapsed)} ETA {tqdm.format_interval(eta)}")
        return f"{self.label}: {count}" + (f" — {note}" if note else "")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(items: Iterable[T], label: str, *, total: int | None = None, describe: Callable[[T], str] | None = None,
          **options) -> Iterator[T]:
    """Yield `items`, one progress step per item once the caller's loop body ran for it (noted with
    `describe(item)` when given); `total` defaults to `len(items)`. Options as for `Progress` (unit,
    done, stream, enabled, piped_lines)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    with Progress(total, label, **options) as progress:
        for item in items:
            yield item
            progress.update(describe(item) if describe else "")
