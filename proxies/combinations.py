"""Rank combinations of proxy scores over a SET of architectures (protocols §A7, §F.8–9).

A combination needs the whole set (ranks are relative), so it is not a per-arch proxy: it is a
`Combination` entry (name, signed components, direction) evaluated by `combine(table, name)` on a
table with one column per component score (column = proxy registry name, one row per arch:
`ntk`, `lr1`, `naswot` (Revisit's LR2), `params`, `angle`, `loss`).

Rank convention (Revisit's `argsort(argsort(x))`): 0-based ordinal position of `sign · value` in
an ascending sort. Ties are broken by a STABLE sort, i.e. in row order: of two equal values the
earlier row gets the lower rank. (The authors call numpy's default sort, which is not stable for
more than 16 elements, so their tie order is arbitrary; ours is fixed.) A component whose source is
another combination ranks that combination's value (the "re-ranked" sum of AngleLoss+#Param).

Rows that are not ok — value NaN, or a `<column>_status` column present and not 'ok' (e.g.
`trivial`, `-inf`, `error:…`) — are handled by `non_ok`:
* `"last"` (default): in every component they take the worst ranks (below all ok rows, among
  themselves in row order), so they stay in the set but never beat an ok value in that component;
* `"exclude"`: the combination is computed over the rows ok in every component; the others get NaN.
Infinite values without a status column are ranked as values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.registry import Registry

STATUS_SUFFIX = "_status"
NON_OK_POLICIES = ("last", "exclude")


@dataclass(frozen=True)
class Component:
    """One ranked term: a score column (proxy name) or a nested combination; sign −1 ranks −value."""

    source: str | Combination
    sign: int = 1

    def __post_init__(self):
        if self.sign not in (1, -1):
            raise ValueError(f"component sign must be +1 or -1, got {self.sign}")


@dataclass(frozen=True)
class Combination:
    """Sum of the components' ranks; `higher_is_better` says which end of the sum is best."""

    name: str
    components: tuple[Component, ...]
    higher_is_better: bool
    rule: str
    assumption: str = ""  # set when the authors' code for it is not released

    def columns(self) -> list[str]:
        """The score columns this combination reads, nested ones included, in first-use order."""
        names = []
        for part in self.components:
            found = part.source.columns() if isinstance(part.source, Combination) else [part.source]
            names += [n for n in found if n not in names]
        return names


def stable_ranks(values) -> np.ndarray:
    """0-based ordinal ranks of `values` ascending; equal values ranked in index order (stable sort)."""
    values = np.asarray(values, dtype=np.float64)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks


def component_ranks(values, sign: int, ok, worst_low: bool) -> np.ndarray:
    """Ranks of sign·values among the ok rows; non-ok rows take the worst ranks in row order:
    the lowest ones when `worst_low` (a higher-is-better sum), otherwise the highest ones."""
    values, ok = np.asarray(values, dtype=np.float64), np.asarray(ok, dtype=bool)
    n_ok, n_bad = int(ok.sum()), int((~ok).sum())
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[ok] = stable_ranks(sign * values[ok]) + (n_bad if worst_low else 0)
    ranks[~ok] = np.arange(n_bad) + (0 if worst_low else n_ok)
    return ranks


def ok_mask(table: pd.DataFrame, column: str) -> np.ndarray:
    """Rows whose `column` is usable: value not NaN and `<column>_status` (when present) equal to 'ok'."""
    if column not in table.columns:
        raise ZcbenchError(f"score table has no column {column!r}; columns: {', '.join(map(str, table.columns))}")
    ok = ~np.isnan(table[column].to_numpy(dtype=np.float64))
    status = column + STATUS_SUFFIX
    if status in table.columns:
        ok &= (table[status] == "ok").to_numpy()
    return ok


def _rank_sum(table: pd.DataFrame, combination: Combination) -> np.ndarray:
    total = np.zeros(len(table), dtype=np.int64)
    for part in combination.components:
        if isinstance(part.source, Combination):
            values, ok = _rank_sum(table, part.source), np.ones(len(table), dtype=bool)
        else:
            values, ok = table[part.source].to_numpy(dtype=np.float64), ok_mask(table, part.source)
        total += component_ranks(values, part.sign, ok, worst_low=combination.higher_is_better)
    return total


def combine(table: pd.DataFrame, name: str | Combination, non_ok: str = "last") -> pd.Series:
    """The combination's value per row of `table` (a float Series named after it, same index).

    Non-ok rows follow `non_ok` ('last' or 'exclude', see the module docstring).
    """
    combination = get_combination(name) if isinstance(name, str) else name
    if non_ok not in NON_OK_POLICIES:
        raise ZcbenchError(f"non_ok must be one of {NON_OK_POLICIES}, got {non_ok!r}")
    usable = np.ones(len(table), dtype=bool)
    for column in combination.columns():
        usable &= ok_mask(table, column)
    result = pd.Series(np.nan, index=table.index, name=combination.name, dtype=np.float64)
    if non_ok == "exclude":
        result[usable] = _rank_sum(table[usable], combination)
    else:
        result[:] = _rank_sum(table, combination)
    return result


def argbest(values, higher_is_better: bool = True):
    """Index label of the best non-NaN value; ties go to the FIRST one in row order."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=np.float64))
    finite = series.dropna()
    if finite.empty:
        raise ZcbenchError("argbest: no non-NaN value to choose from")
    target = finite.max() if higher_is_better else finite.min()
    return finite.index[np.flatnonzero(finite.to_numpy() == target)[0]]


def select(table: pd.DataFrame, name: str, non_ok: str = "last"):
    """The index label of the row a search with this combination picks (best sum, first on ties)."""
    combination = get_combination(name)
    return argbest(combine(table, combination, non_ok), combination.higher_is_better)


COMBINATIONS: Registry[Combination] = Registry("combination", Combination)


def register_combination(combination: Combination) -> Combination:
    return COMBINATIONS.register(combination)


def get_combination(name: str) -> Combination:
    return COMBINATIONS.get(name)


def combination_names() -> list[str]:
    return COMBINATIONS.names()


def with_params(name: str, score: Component) -> Combination:
    """Revisit's "X+#Param": rank(X, its better end high) + rank(#Param ascending); higher is better."""
    return register_combination(Combination(
        name=name, components=(score, Component("params", +1)), higher_is_better=True,
        rule="rank(X) + rank(#Param), 0-based stable ranks, larger = better; argmax, first index on ties",
        assumption="" if isinstance(score.source, Combination) else
        "Revisit did not release code for this combination; built by analogy with AngleLoss+#Param"))


TENAS = register_combination(Combination(
    name="tenas", components=(Component("ntk", +1), Component("lr1", -1)), higher_is_better=False,
    rule="rank(κ ascending) + rank(LR1 descending) over complete archs (TE-NAS Fig. 9); lower sum is better"))
ANGLE_LOSS = register_combination(Combination(
    name="angleloss", components=(Component("angle", +1), Component("loss", -1)), higher_is_better=True,
    rule="rank(angle) + rank(−loss) (Revisit code: argsort(argsort)); argmax, first index on ties"))
ANGLE_LOSS_PARAMS = with_params("angleloss+params", Component(ANGLE_LOSS, +1))
LR1_PARAMS = with_params("lr1+params", Component("lr1", +1))
LR2_PARAMS = with_params("lr2+params", Component("naswot", +1))  # Revisit's LR2 = the `naswot` proxy
NTK_PARAMS = with_params("ntk+params", Component("ntk", -1))  # κ: lower is better → rank −κ
ANGLE_LOSS_LR2 = register_combination(Combination(
    name="angleloss+lr2", components=(Component(ANGLE_LOSS, +1), Component("naswot", +1)), higher_is_better=True,
    rule="rank(AngleLoss rank sum) + rank(LR2); argmax, first index on ties",
    assumption="Revisit did not release code for this combination; built like AngleLoss+#Param with LR2"))
