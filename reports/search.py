"""Random search with a proxy, simulated offline on precomputed scores (protocols §B2, §A7).

A run draws N candidates from an arch set, scores them with a selection rule and reports the
ground-truth accuracy of the pick. Computing every proxy once and simulating the runs afterwards is
statistically equivalent to the papers' online runs (not bit-identical: their proxies were
re-computed per run).

Explicit conventions, because ties decide #Param-based searches (28 distinct values):
* Sampling: `distinct` = Python `random.Random(seed).sample(candidates, N)` (Revisit, seeds 1…5);
  `with-replacement` = `numpy.random.RandomState(seed).randint(0, len(candidates), N)` (NASWOT).
* A rule is a single `Score` column or a rank `Combination` (`proxies.combinations`), whose ranks
  are computed WITHIN the sample, as the authors' code does (stable 0-based ranks: ties in sample
  order; failed rows take the worst ranks, policy `last`).
* The pick is the best value, the FIRST in sample order on ties (`proxies.combinations.argbest`).
  A failed (NaN) single score is never picked; failed rows are counted per run; ±inf are ordinary
  (extreme) values.
* Random baseline: a uniformly random member of the same sample, drawn with `default_rng([seed, 1])`.
"""
from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zcbench.proxies.combinations import Combination, argbest, combine

SAMPLERS = ("distinct", "with-replacement")
REVISIT_SEEDS = (1, 2, 3, 4, 5)


def draw_sample(candidates, n: int, seed: int, sampler: str = "distinct") -> np.ndarray:
    """The N candidate ids of one run, in sample order."""
    pool = candidates if isinstance(candidates, list) else list(candidates)
    if sampler == "distinct":
        if n > len(pool):
            raise ValueError(f"cannot draw {n} distinct archs from a set of {len(pool)}")
        return np.asarray(random.Random(seed).sample(pool, n))
    if sampler == "with-replacement":
        return np.asarray(pool)[np.random.RandomState(seed).randint(0, len(pool), size=n)]
    raise ValueError(f"unknown sampler {sampler!r}; choose from {SAMPLERS}")


@dataclass(frozen=True)
class Score:
    """One score column; the pick is its best value."""

    column: str
    higher_is_better: bool = True

    @property
    def name(self) -> str:
        return self.column


Rule = Score | Combination


def rule_columns(rule: Rule) -> list[str]:
    return [rule.column] if isinstance(rule, Score) else rule.columns()


def pick(rule: Rule, sample: pd.DataFrame):
    """Position (0…N−1) of the rule's pick in a sample given in sample order; None if all failed."""
    if isinstance(rule, Score):
        values, higher = sample[rule.column], rule.higher_is_better
    else:
        values, higher = combine(sample, rule), rule.higher_is_better
    if values.isna().all():
        return None
    return int(argbest(values.reset_index(drop=True), higher))


def random_search(table: pd.DataFrame, accuracy: str, rule: Rule | None, candidates, n: int = 100,
                  seeds: Iterable[int] = REVISIT_SEEDS, sampler: str = "distinct") -> pd.DataFrame:
    """Simulate one run per seed; `rule=None` is the random baseline.

    `table` is indexed by arch id and holds the score columns and the `accuracy` column.
    Returns one row per seed: seed, arch (the pick), accuracy, failed (NaN scores in the sample),
    sample_best (the best accuracy in the sample, an upper bound for any rule).
    """
    candidates = list(candidates)
    missing = pd.Index(candidates).difference(table.index)
    if len(missing):
        raise ValueError(f"{len(missing)} candidate archs have no row in the score table, e.g. {list(missing[:5])}")
    if table[accuracy].loc[candidates].isna().any():
        raise ValueError(f"ground-truth column {accuracy!r} has missing values among the candidates")
    score_columns = rule_columns(rule) if rule is not None else []
    columns = {c: table[c].to_numpy(dtype=np.float64) for c in [accuracy, *score_columns]}
    rows = []
    for seed in seeds:
        ids = draw_sample(candidates, n, seed, sampler)
        positions = table.index.get_indexer(ids)
        sample = pd.DataFrame({c: v[positions] for c, v in columns.items()})
        acc = sample[accuracy].to_numpy()
        if rule is None:
            pos, failed = int(np.random.default_rng([seed, 1]).integers(0, n)), 0
        else:
            failed = int(sample[score_columns].isna().any(axis=1).sum())
            pos = pick(rule, sample)
            if pos is None:
                raise ValueError(f"seed {seed}: every sampled arch has a failed score for {rule.name!r}")
        rows.append({"seed": seed, "arch": ids[pos], "accuracy": acc[pos], "failed": failed,
                     "sample_best": acc.max()})
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> dict:
    """Mean and standard deviation (numpy's ddof=0) of the picked accuracies, as the papers report."""
    acc = runs["accuracy"].to_numpy(dtype=np.float64)
    return {"mean": float(acc.mean()), "std": float(acc.std(ddof=0)), "runs": len(acc),
            "failed": int(runs["failed"].sum())}


def group_experiment(tables: dict[str, pd.DataFrame], accuracy: str, rules: dict[str, Rule | None],
                     arch_sets, n: int = 100, seeds: Iterable[int] = REVISIT_SEEDS,
                     sampler: str = "distinct") -> pd.DataFrame:
    """Revisit Figure 1: random search inside each arch set, per dataset, per rule.

    `tables` maps dataset → score table (with `accuracy`); rules whose columns a table lacks are
    skipped for that dataset. Returns a long table: dataset, group, method, mean, std, runs, failed.
    """
    rows = []
    seeds = tuple(seeds)
    for dataset, table in tables.items():
        for arch_set in arch_sets:
            for method, rule in rules.items():
                if rule is not None and not set(rule_columns(rule)) <= set(table.columns):
                    continue
                runs = random_search(table, accuracy, rule, arch_set.indices, n, seeds, sampler)
                rows.append({"dataset": dataset, "group": arch_set.name, "method": method, **summarize(runs)})
    return pd.DataFrame(rows, columns=["dataset", "group", "method", "mean", "std", "runs", "failed"])



# ------------------------------------------------------------------------------------ vectorised runs

def protocol_positions(n_candidates: int, n: int, seeds: Iterable[int], sampler: str = "distinct") -> np.ndarray:
    """(runs, n) positions into the candidate list drawn exactly as `draw_sample` draws the papers' runs."""
    return np.stack([draw_sample(list(range(n_candidates)), n, seed, sampler) for seed in seeds])


def simulated_positions(n_candidates: int, n: int, runs: int, seed: int, sampler: str = "distinct") -> np.ndarray:
    """(runs, n) positions for simulated runs (numpy generator `seed`): same distribution as the
    papers' samplers, not their streams."""
    rng = np.random.default_rng(seed)
    if sampler == "with-replacement":
        return rng.integers(0, n_candidates, size=(runs, n))
    if n > n_candidates:
        raise ValueError(f"cannot draw {n} distinct archs from a set of {n_candidates}")
    return np.stack([rng.choice(n_candidates, n, replace=False) for _ in range(runs)])


def _dense_ranks(values: np.ndarray) -> np.ndarray:
    """Dense ascending ranks 0… of the finite-or-infinite values; NaN → −1."""
    ranks = np.full(values.shape, -1, dtype=np.int64)
    usable = ~np.isnan(values)
    ranks[usable] = np.unique(values[usable], return_inverse=True)[1]
    return ranks


def _row_stable_ranks(keys: np.ndarray) -> np.ndarray:
    """Per row, 0-based ordinal ranks of `keys` ascending; ties in row (sample) order."""
    order = np.argsort(keys, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(keys.shape[1]), keys.shape), axis=1)
    return ranks


def _sample_rank_sums(columns: dict[str, np.ndarray], combination: Combination, positions: np.ndarray) -> np.ndarray:
    """`proxies.combinations.combine` (policy `last`) within every sample row at once."""
    total = np.zeros(positions.shape, dtype=np.int64)
    for part in combination.components:
        if isinstance(part.source, Combination):
            keys = part.sign * _sample_rank_sums(columns, part.source, positions)
        else:
            ranks = _dense_ranks(part.sign * columns[part.source])[positions]
            worst = -1 if combination.higher_is_better else np.iinfo(np.int64).max
            keys = np.where(ranks < 0, worst, ranks)
        total += _row_stable_ranks(keys)
    return total


def pick_positions(columns: dict[str, np.ndarray], rule: Rule, positions: np.ndarray) -> np.ndarray:
    """For each sample row of `positions`, the candidate position the rule picks (first in sample
    order on ties, failed rows never picked) — `random_search`'s choice, for many runs at once.
    `columns` holds one array per score column, aligned with the candidate list."""
    rows = np.arange(len(positions))
    if isinstance(rule, Score):
        sign = 1 if rule.higher_is_better else -1
        keys = _dense_ranks(sign * columns[rule.column])[positions]
        if (keys.max(axis=1) < 0).any():
            raise ValueError(f"a sample has only failed scores for {rule.name!r}")
        return positions[rows, keys.argmax(axis=1)]
    sums = _sample_rank_sums(columns, rule, positions)
    best = sums.argmax(axis=1) if rule.higher_is_better else sums.argmin(axis=1)
    return positions[rows, best]
