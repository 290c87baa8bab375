"""`ReportTable`: a pandas table that always says what it was computed on.

Every table in a report states its TargetSpec (which accuracy: dataset, split, schedule, benchmark
file version), its architecture set, and how many rows failed and were excluded.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

NO_TARGET = "none (properties of the search space, no accuracy involved)"


def as_counts(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Keep count columns that have gaps (NaN) as whole numbers, so they render as 15625, not 15625.00."""
    for column in columns:
        frame[column] = pd.Series([int(n) if pd.notna(n) else float("nan") for n in frame[column]],
                                  index=frame.index, dtype=object)
    return frame


@dataclass
class ReportTable:
    key: str  # stable identifier (file names, anchors)
    title: str
    frame: pd.DataFrame
    target: str  # TargetSpec.describe(), or NO_TARGET
    arch_set: str
    excluded: int = 0  # rows whose inputs failed (status not ok) and were left out
    notes: str = ""

    def header(self) -> list[str]:
        lines = [f"Target: {self.target}", f"Architectures: {self.arch_set}",
                 f"Failed rows excluded: {self.excluded}"]
        return lines + ([f"Notes: {self.notes}"] if self.notes else [])
