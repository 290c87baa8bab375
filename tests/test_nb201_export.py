"""`zcbench space export nb201` against the reference tables (shared data)."""
import pandas as pd
import pytest

from zcbench.cli import main


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "nb201.csv"
    assert main(["space", "export", "nb201", "--out", str(out)]) == 0
    return pd.read_csv(out)


def test_export_has_documented_columns(exported):
    assert len(exported) == 15625 and list(exported["index"]) == list(range(15625))
    for col in ("arch", "n_conv3x3", "n_conv1x1", "params_cifar10", "params_cifar100", "params_imagenet16",
                "flops_cifar10", "flops_cifar100", "flops_imagenet16", "iso_class", "iso_representative"):
        assert col in exported
    assert exported["iso_class"].nunique() == 6466
    assert exported["params_cifar10"].nunique() == 28


@pytest.mark.shared_data
def test_export_matches_index_to_arch_file(exported, shared_data):
    ref = pd.read_csv(shared_data / "nb201_index_to_arch.txt", sep="\t", comment="#",
                      names=["index", "arch", "n3", "n1", "params"])
    assert len(ref) == 15625
    assert (ref["arch"].values == exported["arch"].values).all()
    assert (ref["params"].values == exported["params_cifar10"].values).all()
    assert (ref["n3"].values == exported["n_conv3x3"].values).all()


@pytest.mark.shared_data
def test_export_matches_nb201_csv_params_and_iso_partition(exported, shared_data):
    ref = pd.read_csv(shared_data / "nb201" / "nb201.csv")
    for ds in ("cifar10", "cifar100", "imagenet16"):
        assert (ref[f"params_{ds}"].values == exported[f"params_{ds}"].values).all(), ds
    # the same NATS-Bench class strings, hence the same partition
    assert (ref["iso_class"].values == exported["iso_class"].values).all()
    pairs = pd.DataFrame({"ours": exported["iso_class"], "ref": ref["iso_class"]}).drop_duplicates()
    assert len(pairs) == pairs["ours"].nunique() == pairs["ref"].nunique() == 6466


def test_export_unknown_space_is_a_clear_error(capsys, tmp_path):
    assert main(["space", "export", "nb2O1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "did you mean 'nb201'" in capsys.readouterr().err.lower()
