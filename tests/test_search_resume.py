"""`zcbench search prune` resumes an interrupted search at the round level: the finished rounds and
both RNG states are saved after each round, and the resumed result equals an uninterrupted run."""
from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from zcbench.benchmarks import pruning
from zcbench.benchmarks.provenance import run_provenance
from zcbench.benchmarks.pruning import CODE, candidate_count, run_name, run_searches
from zcbench.cli import main
from zcbench.commands.score import load_imageset
from zcbench.spaces.nb201_networks import supernet_mask

TINY = dict(ntk_batch=2, lr_batches=1, lr_batch_size=8, repeats=1)
CLI = ["search", "prune", "--images", "synthetic", "--seed", "3", "--quiet",
       *(f"--set={key}={value}" for key, value in TINY.items())]
RUN_DEPENDENT = {"seconds", *run_provenance()}  # wall time and where/when it ran


def comparable(record: dict) -> dict:
    return json.loads(json.dumps({k: v for k, v in record.items() if k not in RUN_DEPENDENT}))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same search (the CLI's synthetic images) run without a break."""
    data, described = load_imageset(argparse.Namespace(images="synthetic", dataset="cifar10", seed=0))
    [(_, record, _)] = run_searches(data, tmp_path_factory.mktemp("clean"), seeds=[3], dataset="cifar10",
                                    setting="code", settings=dataclasses.replace(CODE, **TINY), images=described)
    return record


def interrupt_in_round(monkeypatch, number: int) -> None:
    """Ctrl-C at the start of round `number` (after the earlier rounds were saved)."""
    real, calls = pruning.prune_round, []

    def prune_round(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pruning, "prune_round", prune_round)


def test_candidate_count_follows_the_rounds():
    assert candidate_count(supernet_mask(), 1) == 24 + 18 + 12
    assert candidate_count(supernet_mask(), 2) == 24 + 12


def test_interrupted_search_exits_130_and_resumes_to_the_uninterrupted_result(tmp_path, capsys, monkeypatch,
                                                                              uninterrupted):
    out = ["--out", str(tmp_path)]
    path = tmp_path / run_name("cifar10", "code", dataclasses.replace(CODE, **TINY), 3)
    state_file = path.with_suffix(".rounds.json")
    with monkeypatch.context() as patch:
        interrupt_in_round(patch, 3)
        assert main([*CLI, *out]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == "zcbench: interrupted"
    assert not path.exists() and len(json.loads(state_file.read_text())["rounds"]) == 2

    with monkeypatch.context() as patch:
        interrupt_in_round(patch, 2)  # only one round is left to run: an interrupt in a 2nd call would fire
        assert main([*CLI, *out]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["computed"] and line["arch"] == uninterrupted["arch"]
    assert not state_file.exists()
    assert comparable(json.loads(path.read_text())) == comparable(uninterrupted)


def test_damaged_round_state_is_a_named_error(tmp_path, capsys):
    path = tmp_path / run_name("cifar10", "code", dataclasses.replace(CODE, **TINY), 3)
    path.parent.mkdir(parents=True)
    path.with_suffix(".rounds.json").write_text('{"rounds": [')
    assert main([*CLI, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unreadable saved rounds" in err and "delete it" in err and "Traceback" not in err
