"""Random-search simulations: sampling, explicit tie rules, failed rows, rank sums (protocols §B2, §A7)."""
import random

import numpy as np
import pandas as pd
import pytest

from zcbench.proxies.combinations import get_combination
from zcbench.reports import search
from zcbench.reports.groups import ArchSet


def param_like_table(n=400, seed=0):
    """Scores with heavy ties (6 distinct values, like #Param's 28) and a noisy accuracy."""
    rng = np.random.default_rng(seed)
    params = rng.integers(0, 6, size=n).astype(float)
    return pd.DataFrame({"params": params, "proxy": rng.normal(size=n),
                         "acc": 80 + params + rng.normal(0, 1, size=n)}, index=np.arange(1000, 1000 + n))


def test_distinct_sampling_is_python_random_sample_of_the_set_in_order():
    cands = list(range(50, 250))
    got = search.draw_sample(cands, 100, seed=3, sampler="distinct")
    random.seed(3)  # what the Revisit script does before random.sample
    assert got.tolist() == random.sample(cands, 100)
    assert len(set(got.tolist())) == 100


def test_with_replacement_sampling_repeats_archs_like_naswot():
    got = search.draw_sample(range(20), 100, seed=0, sampler="with-replacement")
    assert len(set(got.tolist())) < 100
    assert got.tolist() == np.random.RandomState(0).randint(0, 20, size=100).tolist()
    with pytest.raises(ValueError, match="cannot draw 30 distinct archs from a set of 20"):
        search.draw_sample(range(20), 30, seed=0)


def test_argmax_tie_rule_picks_the_first_maximum_in_sample_order():
    table = param_like_table()
    runs = search.random_search(table, "acc", search.Score("params"), table.index, n=100, seeds=range(1, 21))
    for seed, pick in zip(runs.seed, runs.arch):
        sample = random.Random(seed).sample(list(table.index), 100)
        best = max(table.params[a] for a in sample)
        assert pick == next(a for a in sample if table.params[a] == best)
    # the rule matters: with ties the last maximum is a different arch in most runs
    lasts = []
    for seed in range(1, 21):
        sample = random.Random(seed).sample(list(table.index), 100)
        best = max(table.params[a] for a in sample)
        lasts.append([a for a in sample if table.params[a] == best][-1])
    assert sum(a != b for a, b in zip(lasts, runs.arch)) > 10


def test_lower_is_better_scores_pick_the_minimum():
    table = param_like_table()
    runs = search.random_search(table, "acc", search.Score("proxy", higher_is_better=False), table.index,
                                n=50, seeds=[7])
    sample = random.Random(7).sample(list(table.index), 50)
    assert runs.arch[0] == min(sample, key=lambda a: table.proxy[a])


def test_failed_scores_are_never_picked_and_are_counted():
    table = param_like_table()
    table.loc[table.params == table.params.max(), "params"] = np.nan
    runs = search.random_search(table, "acc", search.Score("params"), table.index, n=100, seeds=range(1, 6))
    assert table.params[runs.arch].notna().all()
    for seed, failed in zip(runs.seed, runs.failed):
        sample = random.Random(seed).sample(list(table.index), 100)
        assert failed == sum(np.isnan(table.params[a]) for a in sample)
    table["params"] = np.nan
    with pytest.raises(ValueError, match="every sampled arch has a failed score"):
        search.random_search(table, "acc", search.Score("params"), table.index, n=10, seeds=[1])


def brute_rank_sum_pick(table, sample, columns_signs):
    """Within-sample stable 0-based ranks (ties by sample order) summed; first maximum wins."""
    total = {a: 0 for a in sample}
    for column, sign in columns_signs:
        order = sorted(sample, key=lambda a: (sign * table[column][a], sample.index(a)))
        for rank, a in enumerate(order):
            total[a] += rank
    best = max(total.values())
    return next(a for a in sample if total[a] == best)


def test_combination_rules_rank_within_each_sample_with_ties_in_sample_order():
    table = param_like_table()
    table["ntk"] = np.round(np.exp(-table.proxy), 1)  # lower is better, with ties
    table["lr1"] = table["proxy"]
    rule = get_combination("ntk+params")
    runs = search.random_search(table, "acc", rule, table.index, n=60, seeds=range(1, 16))
    for seed, pick in zip(runs.seed, runs.arch):
        sample = random.Random(seed).sample(list(table.index), 60)
        assert pick == brute_rank_sum_pick(table, sample, [("ntk", -1), ("params", 1)])
    assert search.rule_columns(rule) == ["ntk", "params"]


def test_failed_rows_in_a_combination_are_counted_and_ranked_last():
    table = param_like_table()
    table["lr1"] = table["proxy"]
    table.loc[table.index[::4], "lr1"] = np.nan
    runs = search.random_search(table, "acc", get_combination("lr1+params"), table.index, n=40, seeds=range(1, 11))
    for seed, failed, pick in zip(runs.seed, runs.failed, runs.arch):
        sample = random.Random(seed).sample(list(table.index), 40)
        assert failed == sum(np.isnan(table.lr1[a]) for a in sample)
        ok = [a for a in sample if not np.isnan(table.lr1[a])]
        bad = [a for a in sample if np.isnan(table.lr1[a])]
        # non-ok rows take the lowest lr1 ranks (in sample order), ok rows are ranked above them
        lr1_rank = {a: r for r, a in enumerate(bad)}
        lr1_rank.update({a: len(bad) + r for r, a in enumerate(sorted(ok, key=lambda a: (table.lr1[a], ok.index(a))))})
        p_rank = {a: r for r, a in enumerate(sorted(sample, key=lambda a: (table.params[a], sample.index(a))))}
        total = {a: lr1_rank[a] + p_rank[a] for a in sample}
        assert pick == next(a for a in sample if total[a] == max(total.values()))


def test_random_baseline_picks_a_member_of_the_same_sample():
    table = param_like_table()
    runs = search.random_search(table, "acc", None, table.index, n=100, seeds=range(1, 31))
    for seed, pick in zip(runs.seed, runs.arch):
        assert pick in random.Random(seed).sample(list(table.index), 100)
    # on average it is worse than picking by the correlated params score
    by_params = search.random_search(table, "acc", search.Score("params"), table.index, n=100, seeds=range(1, 31))
    assert runs.accuracy.mean() < by_params.accuracy.mean()


def test_summary_uses_population_std():
    runs = pd.DataFrame({"accuracy": [1.0, 2.0, 3.0, 4.0], "failed": [0, 1, 0, 0]})
    assert search.summarize(runs) == {"mean": 2.5, "std": pytest.approx(np.sqrt(1.25)), "runs": 4, "failed": 1}


def test_group_experiment_skips_rules_whose_scores_are_absent():
    table = param_like_table()
    sets = [ArchSet("low", tuple(table.index[:200]), "first half"), ArchSet("high", tuple(table.index[200:]), "")]
    rules = {"params": search.Score("params"), "random": None, "lr2": search.Score("lr2")}
    out = search.group_experiment({"cifar10": table}, "acc", rules, sets, n=20)
    assert set(out.method) == {"params", "random"} and len(out) == 4
    assert (out.runs == 5).all()
