"""Crafted pickles under the official file names run no code through any entry point (`data convert
nb201`, `reproduce` auto-discovering a .pth, `score` reading CIFAR batches): exit status 2, a named
error, and no marker file; `--trust-pickle` lifts the allow-list for files the user vouches for."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from zcbench.cli import main
from zcbench.spaces.errors import UnsafePickleError
from zcbench.spaces.image_files import read_cifar_batches
from zcbench.spaces.integrity import TRUST_ENV, load_pickle, trust_pickles

PTH_NAME = "NAS-Bench-201-v1_0-e61699.pth"


class Payload:
    """Unpickling this creates the directory `marker`: the proof that a loader ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture(autouse=True)
def untrusted(monkeypatch):
    """Every test starts restricted; `--trust-pickle` sets the variable for the process, undone here."""
    monkeypatch.delenv(TRUST_ENV, raising=False)


def write_cifar10(root, payload=None):
    """cifar-10-batches-py/ with the official file names; the test batch carries `payload` if given."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1], b"filenames": [b"a.png", b"b.png"]}
        if payload is not None and name == "test_batch":
            entry[b"batch_label"] = payload
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    return folder


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("legacy", [False, True])
def test_data_convert_refuses_a_crafted_pth(tmp_path, capsys, legacy):
    marker = tmp_path / "ran"
    torch.save({"meta_archs": Payload(marker)}, tmp_path / PTH_NAME, _use_new_zipfile_serialization=not legacy)
    code, err = run_cli(capsys, "data", "convert", "nb201", str(tmp_path / PTH_NAME), "--out", str(tmp_path / "t.csv"))
    assert code == 2 and not marker.exists()
    assert "refused to load the NAS-Bench-201 file" in err and "posix.mkdir" in err and "--trust-pickle" in err
    assert not (tmp_path / "t.csv").exists()


def test_reproduce_refuses_an_autodiscovered_crafted_pth(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)  # only the crafted file is there to find
    marker, data = tmp_path / "ran", tmp_path / "data"
    data.mkdir()
    torch.save({"meta_archs": Payload(marker)}, data / PTH_NAME)
    (tmp_path / "results").mkdir()
    code, err = run_cli(capsys, "reproduce", "--data-dir", str(data), "--results", str(tmp_path / "results"),
                        "--out", str(tmp_path / "out"), "--quick")
    assert code == 2 and not marker.exists()
    assert "refused to load the NAS-Bench-201 file" in err


def test_score_refuses_crafted_cifar_batches(tmp_path, capsys):
    marker = tmp_path / "ran"
    write_cifar10(tmp_path / "data", Payload(marker))
    code, err = run_cli(capsys, "score", "--arch", "0", "--proxy", "naswot", "--split", "test",
                        "--data-dir", str(tmp_path / "data"))
    assert code == 2 and not marker.exists()
    assert "test_batch: refused to load the image batch file" in err and "posix.mkdir" in err


def test_official_style_batches_still_load_and_trust_lifts_the_allow_list(tmp_path):
    folder = write_cifar10(tmp_path / "clean")
    assert len(read_cifar_batches(folder, "cifar10", "train")) == 10
    marker = tmp_path / "ran"
    path = write_cifar10(tmp_path / "evil", Payload(marker)) / "test_batch"
    with pytest.raises(UnsafePickleError):
        load_pickle(path, encoding="latin1")
    with trust_pickles():
        load_pickle(path, encoding="latin1")
    assert marker.exists() and TRUST_ENV not in os.environ


def test_trust_pickle_flag_reaches_the_loader(tmp_path, capsys):
    marker = tmp_path / "ran"
    torch.save({"meta_archs": Payload(marker)}, tmp_path / PTH_NAME)
    code, err = run_cli(capsys, "data", "convert", "nb201", str(tmp_path / PTH_NAME), "--out",
                        str(tmp_path / "t.csv"), "--trust-pickle")
    assert marker.exists()  # the user vouched for the file: it was loaded as is
    assert code == 2 and "meta_archs" in err  # and then rejected as a malformed NB201 dict
