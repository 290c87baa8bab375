"""`zcbench verify`: check a user's implementation of a proxy against ours, cell by cell.

The user's function has the signature of our proxies' pure score functions:

    fn(network: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float

`network` is the freshly initialised network our proxy would score for that cell, seed and settings
(the settings' width, depth, head, init, train/eval mode and device; its forward returns
`NetOutput(logits, features)`, see `spaces.nb201_networks`); `images` (B, 3, H, W, normalised) and
`labels` (B,) are the first batch our proxy draws. Both come from `ProxySpec.scoring_inputs`, so both
sides see identical weights and inputs, and the function runs in the same seeded RNG context our
proxy's scoring does. Choices that live neither in the network nor in the batch (which ReLUs count,
a constant k, …) are the function's own: it must make those of the `--setting` it is checked against.

`verify_callable` scores a seeded sample of cells both ways and reports, per cell, both values and
their relative difference |a − b| / max(|a|, |b|); the check passes when every cell is within the
tolerance (or both sides give the same non-finite value) and nothing raised. Kendall τ-b over the
cells is printed as well: a rank-level view when values differ.

`subject_scores` scores cells with a user function or one of our proxies, and `read_subject_scores`
reads a user's CSV/Parquet of `arch,value`, for the comparison with a published table
(`reports.concordance`).
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats as sps

from zcbench.proxies.registry import ProxySpec, ScoringInputs, error_status, settings_hash
from zcbench.spaces.catalog import Space
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError, ZcbenchError
from zcbench.spaces.images import ImageSet

SIGNATURE = "fn(network: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float"
DEFAULT_TOLERANCE = 1e-6
SCORE_FILE_SUFFIXES = (".csv", ".parquet", ".pq")
VALUE_COLUMNS = ("value", "score")


class VerifyError(ZcbenchError):
    """A `verify` input that cannot be used: a MODULE:CALLABLE that does not import, a scores file
    without the needed columns, a proxy without inputs to share; the message names it."""


# ------------------------------------------------------------------------------------- the user's code

def is_callable_reference(text: str) -> bool:
    """`MODULE:CALLABLE` (or `path/to/file.py:CALLABLE`), as opposed to a file or a proxy name."""
    module, sep, name = text.rpartition(":")
    return bool(sep and module and name) and not Path(text).exists()


def load_callable(reference: str) -> Callable:
    """Import `MODULE:CALLABLE` (dotted module on sys.path, or a .py file path) and return the callable."""
    module_name, sep, attribute = reference.rpartition(":")
    if not sep or not module_name or not attribute:
        raise VerifyError(f"{reference!r} is not MODULE:CALLABLE (e.g. mypkg.proxies:naswot_score or "
                          f"path/to/file.py:naswot_score)")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise VerifyError(f"{reference!r}: no file {module_name!r}")
            spec = importlib.util.spec_from_file_location(f"zcbench_verify_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except VerifyError:
        raise
    except ModuleNotFoundError as exc:
        where = "" if module_name.endswith(".py") else f" (searched sys.path; the current directory is {Path.cwd()})"
        raise VerifyError(f"{reference!r}: cannot import module {module_name!r}: {exc}{where}") from None
    except Exception as exc:  # noqa: BLE001 — the user's module failed while importing
        raise VerifyError(f"{reference!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}") from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            public = sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n)))
            raise VerifyError(f"{reference!r}: module {module_name!r} has no attribute {attribute!r}; its callables: "
                              f"{', '.join(public) or 'none'}")
        found = getattr(found, part)
    if not callable(found):
        raise VerifyError(f"{reference!r} is not callable (it is of type {type(found).__name__}); expected a "
                          f"function {SIGNATURE}")
    return found


def as_score(value) -> float:
    """A user function's return value as a float: a Python/numpy number or a one-element tensor."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"returned a tensor of shape {tuple(value.shape)}, expected one number")
        return float(value.detach().cpu().item())
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        value = getattr(value, "value", value)  # a ProxyResult-like object
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"returned {type(value).__name__}, expected a float ({SIGNATURE})")
    return float(value)


def _status_of(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "ok"


def call_subject(fn: Callable, inputs: ScoringInputs) -> tuple[float, str]:
    """(value, status) of the user's function on one cell; an exception becomes an 'error:…' status."""
    try:
        value = as_score(fn(inputs.network, inputs.images, inputs.labels))
    except Exception as exc:  # noqa: BLE001 — recorded per cell, like a proxy that raises
        return math.nan, error_status(exc)
    return value, _status_of(value)


# ------------------------------------------------------------------------------------------ cells

def sample_cells(space: Space, n: int, seed: int, pool: Iterable | None = None) -> list:
    """n distinct cells: the first n of numpy default_rng(seed).permutation of `pool` (references) when
    given, else of the whole space — so a smaller n gives the first cells of a larger one."""
    refs = list(pool) if pool is not None else None
    size = len(refs) if refs is not None else len(space)
    if not 1 <= n <= size:
        raise VerifyError(f"cannot draw n={n} distinct cells from {size}")
    picks = np.random.default_rng(seed).permutation(size)[:n]
    return [space.arch(refs[int(i)] if refs is not None else int(i)) for i in picks]


def relative_difference(ours: float, theirs: float) -> float:
    """|a − b| / max(|a|, |b|); 0 when equal (both zero, the same infinity, both NaN), inf when only one
    side is NaN or infinite."""
    if ours == theirs or (math.isnan(ours) and math.isnan(theirs)):
        return 0.0
    if not (math.isfinite(ours) and math.isfinite(theirs)):
        return math.inf
    return abs(ours - theirs) / max(abs(ours), abs(theirs))


def kendall_tau(x, y) -> float:
    """Kendall τ-b over the pairs where both are finite (NaN with fewer than 2 or a constant side)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2 or np.unique(x[keep]).size < 2 or np.unique(y[keep]).size < 2:
        return math.nan
    return float(sps.kendalltau(x[keep], y[keep], variant="b").statistic)


@dataclass(frozen=True)
class CellComparison:
    """One cell scored by our proxy and by the user's function."""

    arch: str
    arch_str: str
    ours: float
    ours_status: str
    theirs: float
    theirs_status: str
    seconds_ours: float
    seconds_theirs: float

    @property
    def relative_difference(self) -> float:
        return relative_difference(self.ours, self.theirs)

    def agrees(self, tolerance: float) -> bool:
        """Within tolerance, or the same non-finite value on both sides; never when either raised."""
        if self.ours_status.startswith("error:") or self.theirs_status.startswith("error:"):
            return False
        return self.relative_difference <= tolerance

    def as_dict(self, tolerance: float) -> dict:
        return {"arch": self.arch, "arch_str": self.arch_str, "ours": self.ours, "ours_status": self.ours_status,
                "theirs": self.theirs, "theirs_status": self.theirs_status,
                "relative_difference": self.relative_difference, "agrees": self.agrees(tolerance),
                "seconds_ours": self.seconds_ours, "seconds_theirs": self.seconds_theirs}


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify_callable`: every cell, the tolerance, τ, and pass/fail."""

    subject: str
    proxy: str
    setting: str
    settings_hash: str
    space: str
    seed: int
    tolerance: float
    cells: tuple[CellComparison, ...] = field(default_factory=tuple)

    @property
    def kendall(self) -> float:
        return kendall_tau([c.ours for c in self.cells], [c.theirs for c in self.cells])

    @property
    def max_relative_difference(self) -> float:
        return max((c.relative_difference for c in self.cells), default=0.0)

    @property
    def disagreements(self) -> int:
        return sum(not c.agrees(self.tolerance) for c in self.cells)

    @property
    def passed(self) -> bool:
        return bool(self.cells) and self.disagreements == 0

    def summary(self) -> dict:
        return {"subject": self.subject, "proxy": self.proxy, "setting": self.setting,
                "settings_hash": self.settings_hash, "space": self.space, "seed": self.seed,
                "cells": len(self.cells), "tolerance": self.tolerance, "kendall": self.kendall,
                "max_relative_difference": self.max_relative_difference, "disagreements": self.disagreements,
                "passed": self.passed}


def check_shareable(spec: ProxySpec, settings) -> None:
    """The proxy must expose its inputs, and score one batch (a mean over repeats has no single batch)."""
    if spec.build_inputs is None:
        from zcbench.proxies.registry import REGISTRY

        able = [s.name for s in REGISTRY if s.build_inputs is not None]
        raise VerifyError(f"proxy {spec.name!r} does not expose the network and inputs it scores, so a function "
                          f"cannot be checked against it; proxies that do: {', '.join(able) or 'none'}")
    if getattr(settings, "repeats", 1) != 1:
        raise VerifyError(f"{spec.name} settings have repeats={settings.repeats}: verify compares one batch per "
                          "cell; pass --set repeats=1")


def verify_callable(fn: Callable, spec: ProxySpec, archs: list, *, space: Space, data: ImageSet | None, settings,
                    seed: int = 0, device: str | torch.device = "cpu", dataset: str = "cifar10",
                    tolerance: float = DEFAULT_TOLERANCE, subject: str = "",
                    setting: str = "code", on_cell: Callable[[CellComparison], None] | None = None) -> VerifyReport:
    """Score each arch with our proxy (`ProxySpec.score`, its full path) and with `fn` on the inputs that
    path builds (`ProxySpec.scoring_inputs`); `on_cell` sees each comparison as it is made."""
    check_shareable(spec, settings)
    if not tolerance >= 0:
        raise VerifyError(f"tolerance must be ≥ 0, got {tolerance}")
    cells = []
    for arch in archs:
        common = dict(space=space, data=data, settings=settings, seed=seed, device=device, dataset=dataset)
        ours = spec.score(arch, **common)
        start = time.perf_counter()
        theirs, status = spec.scoring_inputs(arch, then=lambda inputs: call_subject(fn, inputs), **common)
        cell = CellComparison(space.arch_id(arch), str(arch), ours.value, ours.status, theirs, status,
                              ours.seconds, time.perf_counter() - start)
        if on_cell is not None:
            on_cell(cell)
        cells.append(cell)
    return VerifyReport(subject, spec.name, setting, settings_hash(settings), space.name, seed, tolerance,
                        tuple(cells))


# ------------------------------------------------------------------------- scores for a published table

def subject_scores(archs: list, *, space: Space, data: ImageSet | None, settings, spec: ProxySpec,
                   fn: Callable | None = None, seed: int = 0, device: str | torch.device = "cpu",
                   dataset: str = "cifar10", on_cell: Callable[[str, float, str], None] | None = None) -> pd.DataFrame:
    """A score table (dataset, index, value, status) of `archs`: `fn` on `spec`'s inputs when given,
    else `spec` itself."""
    if fn is not None:
        check_shareable(spec, settings)
    rows = []
    for arch in archs:
        common = dict(space=space, data=data, settings=settings, seed=seed, device=device, dataset=dataset)
        if fn is None:
            result = spec.score(arch, **common)
            value, status = result.value, result.status
        else:
            value, status = spec.scoring_inputs(arch, then=lambda inputs: call_subject(fn, inputs), **common)
        arch_id = space.arch_id(arch)
        if on_cell is not None:
            on_cell(arch_id, value, status)
        rows.append({"dataset": dataset, "index": int(arch_id), "value": value, "status": status})
    return pd.DataFrame(rows, columns=["dataset", "index", "value", "status"])


def read_subject_scores(path, space: Space, dataset: str | None = None) -> pd.DataFrame:
    """A user's scores file (CSV or Parquet): columns `arch` (NB201 index or arch string) and `value`
    (or `score`), optionally `dataset` (else every row is `dataset`); → (dataset, index, value, status)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"scores file {str(path)!r}", [path.absolute()],
                                "give a CSV or Parquet file with columns arch,value")
    if path.suffix.lower() not in SCORE_FILE_SUFFIXES:
        raise VerifyError(f"{path}: a scores file is .csv or .parquet, got {path.suffix or 'no suffix'!r}")
    try:
        table = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        raise CorruptDataError(f"{path}: cannot read as {path.suffix[1:]}: {type(exc).__name__}: {exc}") from None
    value_column = next((c for c in VALUE_COLUMNS if c in table.columns), None)
    if "arch" not in table.columns or value_column is None:
        raise VerifyError(f"{path}: needs columns 'arch' and 'value' (or 'score'); has {list(table.columns)}")
    if "dataset" not in table.columns and dataset is None:
        raise VerifyError(f"{path}: no 'dataset' column: say which dataset the scores are for (--dataset)")
    indices = []
    for row, ref in enumerate(table["arch"]):
        try:
            ref = int(ref) if isinstance(ref, (np.integer, float)) else ref  # CSV/Parquet integers are numpy's
            indices.append(int(space.arch_id(space.arch(ref))))
        except (ZcbenchError, ValueError, TypeError) as exc:
            raise VerifyError(f"{path}: data row {row + 1}: {ref!r} is not a {space.name} cell ({exc})") from None
    values = pd.to_numeric(table[value_column], errors="coerce")
    if bad := [row + 1 for row, (v, raw) in enumerate(zip(values, table[value_column])) if pd.isna(v) and
               not pd.isna(raw)]:
        raise VerifyError(f"{path}: column {value_column!r} holds non-numbers (data row {bad[0]})")
    datasets = table["dataset"].astype(str) if "dataset" in table.columns else [dataset] * len(table)
    out = pd.DataFrame({"dataset": list(datasets), "index": indices, "value": values.astype(float)})
    out["status"] = [_status_of(v) for v in out["value"]]
    if out.duplicated(["dataset", "index"]).any():
        first = out[out.duplicated(["dataset", "index"])].iloc[0]
        raise VerifyError(f"{path}: cell {first['index']} appears twice for dataset {first['dataset']!r}")
    return out


def is_score_file(text: str) -> bool:
    return Path(text).suffix.lower() in SCORE_FILE_SUFFIXES


def describe_callable(fn: Callable) -> str:
    module = getattr(fn, "__module__", None) or "?"
    return f"{module}:{getattr(fn, '__qualname__', repr(fn))}"
