"""NB101 random search with a proxy against the official run table (Revisit Tab. 5 NB101 column, NASWOT).

The search itself is `reports.search.random_search`; this module supplies the NB101 ground truth the
authors' code reads — per module hash the MAX over the 3 repeats of `final_test_accuracy` at 108 epochs
(protocols §B2, §D.2), not the NB101 paper's mean — and the candidates: every cell of the table, in file
order, that has a row for every score the rule uses. `#Param` needs no proxy sweep: it is the table's
`trainable_parameters` (column `params`, in millions).
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from zcbench.reports.search import REVISIT_SEEDS, Rule, random_search, rule_columns
from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.nb101 import HOW_TO_GET_TABLE, TABLE_CANDIDATES
from zcbench.spaces.nb101_records import NB101Target, load_table

CODE_TARGET = NB101Target(metric="test", point="final", epochs=108, aggregate="max")
NASWOT_SEEDS = range(500)  # NASWOT search.py: 500 runs, N sampled with replacement
OFFICIAL_FILE = "nasbench_only108.tfrecord"


class MissingScoresError(ZcbenchError, KeyError):
    """A search rule reads a score column that was not supplied."""


def load_official_runs(data_dir=None) -> pd.DataFrame:
    """The converted official run table from the data directory; DataNotFoundError names the file and the
    `zcbench data convert nb101` step when it is absent (the ledger's `needs-data`)."""
    return load_table(find_data_file(list(TABLE_CANDIDATES), f"the converted NB101 run table (from {OFFICIAL_FILE})",
                                     HOW_TO_GET_TABLE, data_dir))


def search_table(runs: pd.DataFrame, scores: dict[str, pd.Series] | None = None,
                 target: NB101Target = CODE_TARGET) -> pd.DataFrame:
    """One row per module hash of `runs`, in file order: `accuracy` (target, %), `params` (trainable
    parameters, M) and one column per score series (indexed by module hash; NaN = failed)."""
    accuracy = target.values(runs)
    params = runs.drop_duplicates("module_hash").set_index("module_hash")["trainable_parameters"] / 1e6
    table = pd.DataFrame({"accuracy": accuracy, "params": params.reindex(accuracy.index)})
    for name, series in (scores or {}).items():
        table[name] = series.reindex(table.index)
    return table


def nb101_random_search(runs: pd.DataFrame, rule: Rule | None, scores: dict[str, pd.Series] | None = None,
                        n: int = 100, seeds: Iterable[int] = REVISIT_SEEDS, sampler: str = "distinct",
                        target: NB101Target = CODE_TARGET) -> pd.DataFrame:
    """Simulated runs (one row per seed: seed, arch = module hash of the pick, accuracy, failed,
    sample_best) over the cells of `runs` that have a row in every score series the rule reads.

    Revisit: n=100, seeds 1…5, `distinct`; NASWOT: n=100, `NASWOT_SEEDS`, `with-replacement`.
    `rule=None` is the random baseline; summarise with `reports.search.summarize`.
    """
    table = search_table(runs, scores, target)
    return random_search(table, "accuracy", rule, list(candidate_cells(table, rule, scores)), n, seeds, sampler)


def candidate_cells(table: pd.DataFrame, rule: Rule | None, scores: dict[str, pd.Series] | None = None) -> pd.Index:
    """The cells of `search_table` (file order) with a row in every score series `rule` reads (a failed
    score, NaN, stays a candidate: it is counted, never picked); `params` is the table's own column."""
    candidates = table.index
    for column in rule_columns(rule) if rule is not None else []:
        if column != "params":
            if column not in (scores or {}):
                raise MissingScoresError(f"rule {rule.name!r} reads score {column!r}, not among {sorted(scores or {})} "
                                         "(nor the table's `params`)")
            candidates = candidates.intersection(scores[column].index, sort=False)
    return candidates
