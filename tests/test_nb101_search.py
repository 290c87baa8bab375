"""NB101 random search against fake official run tables (the real one needs nasbench_only108.tfrecord)."""
import numpy as np
import pandas as pd
import pytest

from zcbench.reports import nb101_search
from zcbench.reports.search import Score, draw_sample, summarize
from zcbench.spaces import nb101_records
from zcbench.spaces.errors import DataNotFoundError, ZcbenchError


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A converted fake official table: 150 cells × 3 repeats at 108 epochs, plus 12-epoch runs of the first 60."""
    path = tmp_path_factory.mktemp("nb101") / "fake.tfrecord"
    records = list(nb101_records.synthetic_records(450, seed=3))
    records += [r._replace(epochs=12) for r in records[:60]]
    nb101_records.write_tfrecord(path, map(nb101_records.encode_record, records))
    return nb101_records.load_table(path)


def test_accuracy_is_the_max_of_the_108_epoch_final_test_accuracies(runs):
    table = nb101_search.search_table(runs)
    at108 = runs[runs.epochs == 108]
    expected = at108.groupby("module_hash", sort=False).final_test_accuracy.max() * 100
    assert list(table.index) == list(runs.module_hash.drop_duplicates())  # file order
    assert np.allclose(table.accuracy, expected.loc[table.index])
    assert (table.accuracy > at108.groupby("module_hash", sort=False).final_test_accuracy.mean()
            .loc[table.index] * 100).any()  # not the paper's mean
    assert np.allclose(table.params * 1e6, runs.drop_duplicates("module_hash").trainable_parameters)


def test_params_search_picks_the_largest_sampled_cell_like_revisit(runs):
    got = nb101_search.nb101_random_search(runs, Score("params"))
    table = nb101_search.search_table(runs)
    assert list(got.seed) == [1, 2, 3, 4, 5]
    for seed, pick, acc in zip(got.seed, got.arch, got.accuracy):
        sample = draw_sample(list(table.index), 100, seed)
        assert pick == table.params.loc[sample].idxmax()  # first maximum in sample order
        assert acc == table.accuracy[pick]
    assert summarize(got)["runs"] == 5


def test_proxy_scores_restrict_the_candidates_and_failed_scores_are_counted(runs):
    table = nb101_search.search_table(runs)
    scored = table.index[:120]
    proxy = pd.Series(np.arange(len(scored), dtype=float), index=scored)
    proxy.iloc[:10] = np.nan
    got = nb101_search.nb101_random_search(runs, Score("naswot"), {"naswot": proxy}, n=100, seeds=range(20),
                                           sampler="with-replacement")
    assert set(got.arch) <= set(scored[10:])
    assert got.failed.sum() > 0
    baseline = nb101_search.nb101_random_search(runs, None, n=50, seeds=nb101_search.NASWOT_SEEDS[:3])
    assert len(baseline) == 3


def test_a_rule_reading_an_absent_score_is_named(runs):
    with pytest.raises(nb101_search.MissingScoresError, match="reads score 'lr1'"):
        nb101_search.nb101_random_search(runs, Score("lr1"))


def test_a_table_without_108_epoch_runs_is_refused(runs):
    with pytest.raises(ZcbenchError, match="no NB101 runs at 108 epochs"):
        nb101_search.search_table(runs[runs.epochs == 12])


def test_without_the_official_file_the_error_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ZCBENCH_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="nasbench_only108.tfrecord"):
        nb101_search.load_official_runs()
