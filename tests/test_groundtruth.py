"""NB201 ground truth: TargetSpec naming, the .pth / NATS readers (checked against the official APIs
on small fake files), the normalized-table reader and its errors, and the reference table."""
from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import pytest
import torch
from fake_nb201 import full_seeds, write_fake_nats, write_fake_pth

from zcbench.spaces import groundtruth as gtm
from zcbench.spaces import nb201
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError, ZcbenchError
from zcbench.spaces.groundtruth import GroundTruth, TargetSpec

PTH_V1_0 = "NAS-Bench-201-v1_0-e61699.pth"


# ------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fake_v1_0(tmp_path_factory):
    return write_fake_pth(tmp_path_factory.mktemp("v1_0"), "v1_0")


@pytest.fixture(scope="module")
def gt_v1_0(fake_v1_0):
    return gtm.read_nb201_pth(fake_v1_0[0], per_seed=True)


@pytest.fixture(scope="module")
def fake_nats_file(tmp_path_factory):
    return write_fake_nats(tmp_path_factory.mktemp("nats"), fast_mode=False)


@pytest.fixture
def no_env_data(monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)


def small_table(**targets) -> pd.DataFrame:
    """A valid normalized table: metadata of every index plus the given target columns."""
    table = gtm._metadata_table().copy()
    for name, values in (targets or {"cifar10_test_v1_0": np.linspace(10, 90, nb201.NUM_ARCHS)}).items():
        table[name] = values
    return table


def api_accuracy(arch_results, spec: TargetSpec) -> float:
    """The official ArchResults.get_metrics value for a spec (mean / seed / max over seeds)."""
    dataset = gtm.NB201_DATASET_NAME[spec.dataset]
    if spec.aggregation == "max":
        return max(arch_results.get_metrics(dataset, spec.eval_set, is_random=s)["accuracy"]
                   for s in arch_results.get_dataset_seeds(dataset))
    is_random = False if spec.aggregation == "mean" else spec.aggregation
    return arch_results.get_metrics(dataset, spec.eval_set, is_random=is_random)["accuracy"]


# ------------------------------------------------------------------------------------------- TargetSpec

@pytest.mark.parametrize("spec,column", [
    (TargetSpec("cifar10", "test", "v1_0"), "cifar10_test_v1_0"),
    (TargetSpec("cifar100", "valid", "v1_1"), "cifar100_valid_v1_1"),
    (TargetSpec("cifar10-valid", "valid", "v1_0", hp="12"), "cifar10valid_valid_hp12_v1_0"),
    (TargetSpec("cifar10-valid", "test", "v1_1"), "cifar10valid_test_v1_1"),
    (TargetSpec("cifar10", "test", "nats"), "cifar10_test_nats"),
    (TargetSpec("ImageNet16-120", "x-valid", "v1_1"), "imagenet16_valid_v1_1"),
    (TargetSpec("cifar100", "ori-test", "v1_0"), "cifar100_oritest_v1_0"),
    (TargetSpec("cifar10", "ori-test", "v1_0", aggregation=777), "cifar10_test_seed777_v1_0"),
    (TargetSpec("cifar100", "x-test", "v1_0", hp=12, aggregation="max"), "cifar100_test_hp12_max_v1_0"),
])
def test_column_names_follow_the_normalized_table(spec, column):
    assert spec.column == column
    assert TargetSpec.from_column(column) == spec


@pytest.mark.parametrize("dataset,eval_set", [("cifar10", "ori-test"), ("cifar100", "x-test"),
                                              ("imagenet16", "x-test")])
def test_paper_test_preset_is_the_papers_convention(dataset, eval_set):
    spec = TargetSpec.paper_test(dataset, "v1_1")
    assert (spec.eval_set, spec.hp, spec.aggregation, spec.version) == (eval_set, "200", "mean", "v1_1")
    assert spec.column == f"{dataset}_test_v1_1"


def test_paper_valid_uses_cifar10_valid_models_for_c10():
    assert TargetSpec.paper_valid("cifar10", "v1_1").column == "cifar10valid_valid_v1_1"
    assert TargetSpec.paper_valid("imagenet16", "v1_1").eval_set == "x-valid"


def test_describe_names_every_choice_on_one_line():
    text = TargetSpec("cifar100", "test", "v1_0", aggregation=888).describe()
    assert "\n" not in text
    for part in ("cifar100", "x-test", "200-epoch", "seed 888", PTH_V1_0, "cifar100_test_seed888_v1_0"):
        assert part in text


@pytest.mark.parametrize("kwargs,message", [
    ({"dataset": "cifar10", "split": "valid", "version": "v1_0"}, "cifar10-valid"),
    ({"dataset": "cifar10", "split": "x-test", "version": "v1_0"}, "no split 'x-test'"),
    ({"dataset": "svhn", "split": "test", "version": "v1_0"}, "unknown dataset 'svhn'"),
    ({"dataset": "cifar10", "split": "test", "version": "v2"}, "unknown benchmark version 'v2'"),
    ({"dataset": "cifar10", "split": "test", "version": "v1_0", "hp": "100"}, "unknown schedule hp '100'"),
    ({"dataset": "cifar10", "split": "test", "version": "v1_0", "aggregation": "median"}, "median"),
    ({"dataset": "cifar10", "split": "test", "version": "v1_0", "space": "nb101"}, "nb101"),
])
def test_invalid_target_names_the_problem(kwargs, message):
    with pytest.raises(ZcbenchError, match=message):
        TargetSpec(**kwargs)


def test_unknown_column_name_is_rejected():
    with pytest.raises(ZcbenchError, match="not a target column"):
        TargetSpec.from_column("params_cifar10")


# ------------------------------------------------------------------------------------------- .pth reader

def test_pth_columns_are_what_a_v1_0_file_provides(gt_v1_0):
    means = [c for c in gt_v1_0.target_columns if TargetSpec.from_column(c).aggregation == "mean"]
    assert {"cifar10_test_v1_0", "cifar100_test_v1_0", "imagenet16_test_v1_0", "cifar10valid_valid_v1_0",
            "cifar100_oritest_v1_0", "cifar10valid_valid_hp12_v1_0", "cifar10_train_v1_0"} <= set(means)
    # v1_0 has 12-epoch results for cifar10-valid only
    assert {TargetSpec.from_column(c).dataset for c in means if "_hp12_" in c} == {"cifar10-valid"}
    assert list(gt_v1_0.table.columns[:len(gtm.META_COLUMNS)]) == list(gtm.META_COLUMNS)


def test_pth_values_match_the_official_api_on_every_target(fake_v1_0, gt_v1_0):
    from nas_201_api import NASBench201API

    api = NASBench201API(fake_v1_0[1], verbose=False)
    checked = 0
    for index in fake_v1_0[1]["arch2infos"]:
        for spec in gt_v1_0.targets():
            results = api.query_meta_info_by_index(index, hp=spec.hp)
            got = gt_v1_0.values(spec)[index]
            if math.isnan(got):  # a seed column of an arch trained without that seed
                assert spec.aggregation not in results.get_dataset_seeds(gtm.NB201_DATASET_NAME[spec.dataset])
                continue
            expected = api_accuracy(results, spec)
            assert got == pytest.approx(expected, rel=1e-12), spec.column
            checked += 1
    assert checked > 100


def test_pth_mean_is_over_the_seeds_of_each_arch_at_the_last_epoch(fake_v1_0, gt_v1_0):
    index = 6111  # trained with 1 + 6111 % 3 = 1 seed in the fake; index 1 with 2 seeds
    for i in (index, 1):
        state = fake_v1_0[1]["arch2infos"][i]["full"]
        seeds = full_seeds(i)["cifar100"]
        finals = [state["all_results"][("cifar100", s)]["eval_acc1es"]["x-test@199"] for s in seeds]
        got = gt_v1_0.values(TargetSpec.paper_test("cifar100", "v1_0"))[i]
        assert got == pytest.approx(sum(finals) / len(finals))


def test_pth_archs_without_results_are_nan_not_dropped(gt_v1_0):
    values = gt_v1_0.values(TargetSpec.paper_test("cifar10", "v1_0"))
    assert len(values) == nb201.NUM_ARCHS
    assert sorted(values.dropna().index) == [0, 1, 6111]


def test_pth_metadata_columns(gt_v1_0):
    row = gt_v1_0.table.loc[6111]
    assert row["arch"] == str(nb201.index_to_arch(6111))
    assert row["params_cifar10"] == 73_306 + 243_040 * row["n_conv3x3"] + 28_000 * row["n_conv1x1"]
    assert row["params_imagenet16"] - row["params_cifar10"] == 7_150


def test_v1_1_file_has_12_epoch_results_for_every_dataset(tmp_path):
    path, _ = write_fake_pth(tmp_path, "v1_1", indices=(5,))
    gt = gtm.read_nb201_pth(path)
    assert {"cifar10_test_hp12_v1_1", "cifar100_test_hp12_v1_1", "imagenet16_valid_hp12_v1_1",
            "cifar10valid_valid_hp12_v1_1", "cifar10_test_v1_1"} <= set(gt.target_columns)
    assert not any(c.endswith("v1_0") for c in gt.target_columns)


def test_pth_version_comes_from_the_official_name_or_must_be_given(fake_v1_0, tmp_path):
    renamed = tmp_path / "nb201.pth"
    renamed.write_bytes(fake_v1_0[0].read_bytes())
    with pytest.raises(ZcbenchError, match="pass version="):
        gtm.read_nb201_pth(renamed)
    gt = gtm.read_nb201_pth(renamed, version="v1_1")
    assert "cifar10_test_v1_1" in gt.target_columns


@pytest.mark.parametrize("legacy", [False, True])
def test_truncated_pth_raises_corrupt_data_naming_the_file(tmp_path, legacy):
    path, _ = write_fake_pth(tmp_path, "v1_0", indices=(3,), legacy=legacy)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptDataError, match=PTH_V1_0):
        gtm.read_nb201_pth(path)


def test_pth_with_wrong_structure_names_the_problem(tmp_path, fake_v1_0):
    path = tmp_path / PTH_V1_0
    torch.save([1, 2], path)
    with pytest.raises(CorruptDataError, match="expected a dict, got list"):
        gtm.read_nb201_pth(path)
    torch.save({"meta_archs": []}, path)
    with pytest.raises(CorruptDataError, match="missing key.*arch2infos"):
        gtm.read_nb201_pth(path)


def test_pth_in_another_index_order_is_rejected():
    data = {"meta_archs": [str(a) for a in nb201.all_archs()], "arch2infos": {}, "evaluated_indexes": set()}
    data["meta_archs"][7], data["meta_archs"][8] = data["meta_archs"][8], data["meta_archs"][7]
    with pytest.raises(CorruptDataError, match=r"meta_archs\[7\]"):
        gtm._from_nb201_dict(data, "v1_0", False, "x.pth")


def test_pth_result_without_final_epoch_names_arch_dataset_and_seed(fake_v1_0):
    import copy

    data = {**fake_v1_0[1], "arch2infos": {1: copy.deepcopy(fake_v1_0[1]["arch2infos"][1])}}
    del data["arch2infos"][1]["full"]["all_results"][("cifar100", 777)]["eval_acc1es"]["x-test@199"]
    with pytest.raises(CorruptDataError, match=r"arch 1 dataset 'cifar100' seed 777.*x-test@199"):
        gtm._from_nb201_dict(data, "v1_0", False, "x.pth")


def test_malformed_arch_results_state_names_the_arch(fake_v1_0):
    data = {**fake_v1_0[1], "arch2infos": {0: {"full": {"arch_str": fake_v1_0[1]["meta_archs"][0]},
                                               "less": {}}}}
    with pytest.raises(CorruptDataError, match=r"arch 0 \(hp 200\): malformed ArchResults state.*dataset_seed"):
        gtm._from_nb201_dict(data, "v1_0", False, "x.pth")


def test_missing_pth_says_where_it_looked_and_how_to_get_it(tmp_path, no_env_data):
    with pytest.raises(DataNotFoundError) as err:
        gtm.read_nb201_pth(PTH_V1_0, data_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path / PTH_V1_0) in message and "github.com/D-X-Y/NAS-Bench-201" in message


# ------------------------------------------------------------------------------------------- NATS reader

def test_nats_values_match_the_official_api(fake_nats_file):
    import nats_bench

    path, data = fake_nats_file
    gt = gtm.read_nats_tss(path)
    api = nats_bench.create(data, "tss", fast_mode=False, verbose=False)
    for index in data["arch2infos"]:
        for hp in ("200", "12"):
            more = api.get_more_info(index, "cifar100", hp=hp, is_random=False)
            suffix = "_hp12_nats" if hp == "12" else "_nats"
            for split, key in (("test", "test"), ("valid", "valid"), ("oritest", "valtest")):
                got = gt.table.at[index, f"cifar100_{split}{suffix}"]
                assert got == pytest.approx(more[f"{key}-accuracy"], rel=1e-12)
            c10 = api.get_more_info(index, "cifar10", hp=hp, is_random=False)["test-accuracy"]
            assert gt.table.at[index, f"cifar10_test{suffix}"] == pytest.approx(c10, rel=1e-12)
    assert gt.table["cifar10_test_nats"].notna().sum() == len(data["arch2infos"])


def test_nats_fast_mode_directory_gives_the_same_table(tmp_path, fake_nats_file):
    root, _ = write_fake_nats(tmp_path, fast_mode=True)
    single = gtm.read_nats_tss(fake_nats_file[0])
    fast = gtm.read_nats_tss(root)
    pd.testing.assert_frame_equal(single.table, fast.table)


def test_truncated_nats_archive_raises_corrupt_data(tmp_path, fake_nats_file):
    path = tmp_path / fake_nats_file[0].name
    path.write_bytes(fake_nats_file[0].read_bytes()[:5000])
    with pytest.raises(CorruptDataError, match="NATS-tss-v1_0-3ffb9.pickle.pbz2"):
        gtm.read_nats_tss(path)


# ------------------------------------------------------------------------------------------- converters

@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_convert_writes_a_table_that_reads_back_identically(fake_v1_0, tmp_path, suffix):
    out = tmp_path / f"sub/nb201{suffix}"
    summary = gtm.convert_nb201_pth(fake_v1_0[0], out)
    assert "\n" not in summary and "15625 archs" in summary and "15622 archs without results" in summary
    again = gtm.read_table(out)
    direct = gtm.read_nb201_pth(fake_v1_0[0])
    pd.testing.assert_frame_equal(again.table, direct.table, check_dtype=False, check_exact=False, rtol=1e-12)


def test_cli_data_convert_dispatches_to_the_converters(fake_nats_file, tmp_path, capsys):
    from zcbench.commands import data

    out = tmp_path / "nats.csv"
    args = argparse.Namespace(kind="nats", input=str(fake_nats_file[0]), out=str(out))
    assert data.run_convert(args) == 0
    assert "cifar10_test_nats" in capsys.readouterr().out
    assert gtm.read_table(out).best(TargetSpec.paper_test("cifar10", "nats")).index in (0, 2, 9930)


# ------------------------------------------------------------------------------------------- table reader

def test_table_round_trip_and_queries(tmp_path):
    path = gtm.write_table(small_table(), tmp_path / "t.csv")
    gt = gtm.read_table(path)
    spec = TargetSpec.paper_test("cifar10", "v1_0")
    assert gt.best(spec) == (nb201.NUM_ARCHS - 1, str(nb201.index_to_arch(nb201.NUM_ARCHS - 1)), 90.0)
    assert gt.values(spec).index.tolist() == list(range(nb201.NUM_ARCHS))


def test_missing_target_column_error_lists_the_columns_there():
    gt = GroundTruth(small_table(), ["t.csv"])
    with pytest.raises(ZcbenchError, match=r"no column 'cifar100_test_v1_1'.*it has: cifar10_test_v1_0"):
        gt.values(TargetSpec.paper_test("cifar100", "v1_1"))


def test_join_combines_tables_and_refuses_conflicts():
    a = GroundTruth(small_table(), ["a"])
    b = GroundTruth(small_table(cifar10_test_v1_1=np.linspace(0, 100, nb201.NUM_ARCHS)), ["b"])
    joined = a.join(b)
    assert {"cifar10_test_v1_0", "cifar10_test_v1_1"} <= set(joined.target_columns)
    with pytest.raises(ZcbenchError, match="different values"):
        a.join(GroundTruth(small_table(cifar10_test_v1_0=np.zeros(nb201.NUM_ARCHS)), ["c"]))


def write_csv_text(tmp_path, text: str):
    path = tmp_path / "nb201.csv"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def csv_text():
    return small_table().to_csv(index=False)


def test_csv_truncated_mid_row_is_named(tmp_path, csv_text):
    path = write_csv_text(tmp_path, csv_text[: len(csv_text) - 40])
    with pytest.raises(CorruptDataError, match=r"nb201.csv: the last line has \d+ of 9 fields \(truncated"):
        gtm.read_table(path)


def test_csv_truncated_at_a_line_end_is_named(tmp_path, csv_text):
    lines = csv_text.splitlines(keepends=True)
    path = write_csv_text(tmp_path, "".join(lines[:1000]))
    with pytest.raises(CorruptDataError, match="999 rows.*truncated"):
        gtm.read_table(path)


def test_table_problems_are_named(tmp_path):
    cases = {
        "missing column\\(s\\) arch": small_table().drop(columns="arch"),
        "no target column": small_table().drop(columns="cifar10_test_v1_0"),
        "duplicate index 5": small_table().assign(index=lambda t: t["index"].where(t["index"] != 6, 5)),
        "index 3 has arch":
            small_table().assign(arch=lambda t: t["arch"].where(t["index"] != 3, t["arch"][4])),
        "column 'cifar10_test_v1_0' row 11 holds 'abc'":
            small_table().assign(cifar10_test_v1_0=lambda t: t["cifar10_test_v1_0"].astype(object).where(
                t["index"] != 10, "abc")),
    }
    for message, table in cases.items():
        path = gtm.write_table(table, tmp_path / "bad.csv")
        with pytest.raises(CorruptDataError, match=message):
            gtm.read_table(path)


def test_damaged_parquet_and_unknown_format_are_named(tmp_path):
    path = gtm.write_table(small_table(), tmp_path / "t.parquet")
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CorruptDataError, match="t.parquet: content changed since it was written"):
        gtm.read_table(path)
    (tmp_path / "t.parquet.sha256").unlink()  # a table from elsewhere: the parser names the damage
    with pytest.raises(CorruptDataError, match="t.parquet: cannot read as parquet"):
        gtm.read_table(path)
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(ZcbenchError, match="unknown table format '.xlsx'"):
        gtm.read_table(tmp_path / "t.xlsx")


def test_load_ground_truth_searches_the_data_dir(tmp_path, no_env_data):
    with pytest.raises(DataNotFoundError) as err:
        gtm.load_ground_truth(data_dir=tmp_path)
    assert str(tmp_path / "nb201/nb201.csv") in str(err.value) and PTH_V1_0 in str(err.value)
    gtm.write_table(small_table(), tmp_path / "nb201" / "nb201.csv")
    assert "cifar10_test_v1_0" in gtm.load_ground_truth(data_dir=tmp_path).target_columns


def test_load_ground_truth_reads_an_official_file_when_no_table(tmp_path, no_env_data):
    write_fake_pth(tmp_path, "v1_0", indices=(2,))
    gt = gtm.load_ground_truth(data_dir=tmp_path)
    assert gt.sources == (str(tmp_path / PTH_V1_0),)
    assert gt.values(TargetSpec.paper_test("cifar10", "v1_0")).notna().sum() == 1


# ------------------------------------------------------------------------------------------- reference data

@pytest.fixture(scope="module")
def reference(shared_data):
    return gtm.read_table(shared_data / "nb201" / "nb201.csv")


@pytest.mark.parametrize("dataset,index,best", [("cifar10", 6111, 94.3733), ("cifar100", 9930, 73.5133),
                                                ("imagenet16", 857, 47.3111)])
def test_reference_best_test_accuracy_in_every_version(reference, dataset, index, best):
    versions = [v for v in gtm.VERSIONS
                if TargetSpec.paper_test(dataset, v).column in reference.target_columns]
    assert versions == (["v1_0", "v1_1", "nats"] if dataset == "cifar10" else ["v1_0", "nats"])
    for version in versions:
        got = reference.best(TargetSpec.paper_test(dataset, version))
        assert got.index == index and got.value == pytest.approx(best, abs=1e-4)


def test_reference_arch_column_matches_the_derived_index_order(shared_data):
    raw = pd.read_csv(shared_data / "nb201" / "nb201.csv", usecols=["index", "arch"])
    assert raw["index"].tolist() == list(range(nb201.NUM_ARCHS))
    assert raw["arch"].tolist() == [str(nb201.index_to_arch(i)) for i in range(nb201.NUM_ARCHS)]


def test_reference_metadata_matches_what_the_converter_writes(reference):
    meta = gtm._metadata_table()
    for column in gtm.META_COLUMNS:
        assert reference.table[column].tolist() == meta[column].tolist(), column


def test_reference_found_through_the_data_dir(shared_data, no_env_data):
    gt = gtm.load_ground_truth(data_dir=shared_data)
    assert gt.sources[0].endswith("nb201/nb201.csv")
    assert len(gt.targets()) == 12
