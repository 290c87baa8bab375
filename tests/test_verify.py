"""`zcbench verify`: an exact copy of our NASWOT passes, altered copies are caught, bad input is exit 2 with a
named message; the comparison with a published table. Tiny networks (C=4, N=1) and synthetic images."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import verify_examples as ex

from zcbench.benchmarks import verify
from zcbench.cli import main
from zcbench.proxies.naswot import naswot_logdet
from zcbench.proxies.registry import get_proxy
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset

TINY = {"channels": 4, "cells": 1, "batch_size": 8}
TINY_ARGS = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
FAKE_TABLE = str(Path(__file__).parent / "data" / "fake_zc_nasbench201.json")
SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def data():
    return synthetic_imageset(n=64, size=8, num_classes=10, seed=0)


def run_verify(fn, proxy="naswot", n=4, data=None, **settings):
    spec = get_proxy(proxy)
    return verify.verify_callable(fn, spec, verify.sample_cells(SPACE, n, 0), space=SPACE, data=data,
                                  settings=spec.settings("code", **{**TINY, **settings}))


def cli(capsys, *args):
    code = main(["verify", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------------- library

def test_exact_copy_of_naswot_passes(data):
    report = run_verify(ex.naswot_copy, data=data)
    assert report.passed and report.max_relative_difference == 0.0
    assert report.kendall == pytest.approx(1.0)
    assert sum(c.ours_status == "ok" for c in report.cells) >= 2  # a dead cell is -inf on both sides


def test_exact_copy_of_naswot_v1_passes(data):
    assert run_verify(ex.naswot_v1_copy, proxy="naswot_v1", n=6, data=data).passed


@pytest.mark.parametrize("altered", [ex.naswot_dropping_a_layer, ex.naswot_with_noise])
def test_altered_copies_are_caught(data, altered):
    report = run_verify(altered, data=data)
    assert not report.passed and report.disagreements >= 1
    assert report.max_relative_difference > 1e-6


def test_noise_of_1e3_is_measured_as_such(data):
    report = run_verify(ex.naswot_with_noise, data=data)
    assert report.max_relative_difference == pytest.approx(1e-3 / (1 + 1e-3), rel=1e-6)
    assert verify.verify_callable(ex.naswot_with_noise, get_proxy("naswot"), [SPACE.arch(c.arch) for c in
                                  report.cells], space=SPACE, data=data, tolerance=2e-3,
                                  settings=get_proxy("naswot").settings("code", **TINY)).passed


@pytest.mark.parametrize("broken", [ex.raises, ex.returns_text])
def test_a_function_that_raises_or_returns_garbage_fails_with_its_error(data, broken):
    report = run_verify(broken, n=2, data=data)
    assert not report.passed
    assert all(c.theirs_status.startswith("error:") for c in report.cells)


def test_scoring_inputs_are_what_the_proxy_scores(data):
    spec = get_proxy("naswot")
    settings = spec.settings("code", **TINY)
    for index in (1234, 6111):
        inputs = spec.scoring_inputs(index, data=data, settings=settings, seed=3)
        assert inputs.images.shape == (8, 3, 8, 8) and inputs.labels.shape == (8,)
        assert inputs.network.training is settings.train_mode
        ours = spec.score(index, data=data, settings=settings, seed=3)
        assert naswot_logdet(inputs.network, inputs.images).value == ours.value
    again = spec.scoring_inputs(1234, data=data, settings=settings, seed=3)
    first = spec.scoring_inputs(1234, data=data, settings=settings, seed=3)
    assert torch.equal(again.images, first.images)
    assert all(torch.equal(a, b) for a, b in zip(again.network.state_dict().values(),
                                                 first.network.state_dict().values()))


def test_verify_does_not_disturb_the_global_rng(data):
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    run_verify(ex.naswot_copy, n=2, data=data)
    assert torch.equal(torch.rand(3), expected)


def test_relative_difference_rules():
    rd = verify.relative_difference
    assert rd(1.0, 1.0) == 0 and rd(0.0, 0.0) == 0 and rd(-math.inf, -math.inf) == 0 and rd(math.nan, math.nan) == 0
    assert rd(100.0, 101.0) == pytest.approx(1 / 101)
    assert rd(1.0, math.nan) == math.inf and rd(-math.inf, 3.0) == math.inf and rd(math.inf, -math.inf) == math.inf


def test_cell_samples_are_seeded_nested_and_distinct():
    twenty = verify.sample_cells(SPACE, 20, 7)
    assert verify.sample_cells(SPACE, 5, 7) == twenty[:5] and len(set(twenty)) == 20
    assert verify.sample_cells(SPACE, 20, 8) != twenty
    pool = [117, 180, 213]
    assert sorted(a.index for a in verify.sample_cells(SPACE, 3, 0, pool)) == pool
    with pytest.raises(verify.VerifyError, match="n=4"):
        verify.sample_cells(SPACE, 4, 0, pool)


def test_callables_load_from_modules_and_files(tmp_path):
    assert verify.load_callable("verify_examples:naswot_copy") is ex.naswot_copy
    path = tmp_path / "mine.py"
    path.write_text("def score(network, images, labels):\n    return 1.0\n")
    assert verify.load_callable(f"{path}:score")(None, None, None) == 1.0
    (tmp_path / "boom.py").write_text("raise ImportError('needs a GPU')\n")
    with pytest.raises(verify.VerifyError, match="importing .* raised ImportError: needs a GPU"):
        verify.load_callable(f"{tmp_path / 'boom.py'}:score")


def test_repeats_and_proxies_without_inputs_are_refused(data):
    with pytest.raises(verify.VerifyError, match="repeats=2"):
        run_verify(ex.naswot_copy, data=data, repeats=2)
    spec = get_proxy("params")
    with pytest.raises(verify.VerifyError, match="does not expose the network"):
        verify.verify_callable(ex.naswot_copy, spec, [SPACE.arch(1)], space=SPACE, data=None,
                               settings=spec.settings("code"))


def test_user_scores_file_is_read_with_arch_indices_or_strings(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(f"arch,value\n117,1.5\n\"{SPACE.arch(180)}\",2.5\n213,nan\n")
    table = verify.read_subject_scores(path, SPACE, "cifar10")
    assert list(table["index"]) == [117, 180, 213] and list(table["status"]) == ["ok", "ok", "nan"]
    path.write_text("arch,value\n117,1\n117,2\n")
    with pytest.raises(verify.VerifyError, match="appears twice"):
        verify.read_subject_scores(path, SPACE, "cifar10")
    path.write_text("cell,value\n117,1\n")
    with pytest.raises(verify.VerifyError, match="needs columns 'arch' and 'value'"):
        verify.read_subject_scores(path, SPACE, "cifar10")


# -------------------------------------------------------------------------------------------- CLI

def test_cli_passes_an_exact_copy(capsys):
    code, out, err = cli(capsys, "verify_examples:naswot_copy", "--against", "naswot", "--images", "synthetic",
                         "--n", "3", *TINY_ARGS)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:4] == ["cell", "arch", "ours", "theirs"]
    assert len([line for line in lines[2:] if " agree" in line]) == 3
    assert "Kendall τ-b over 3 cells: 1.0000" in out and out.rstrip().endswith("PASS")


def test_cli_catches_an_altered_copy_with_exit_1(capsys):
    code, out, _ = cli(capsys, "verify_examples:naswot_dropping_a_layer", "--against", "naswot", "--images",
                       "synthetic", "--n", "3", *TINY_ARGS)
    assert code == 1 and "DIFFER" in out and "FAIL (" in out


def test_cli_tolerance_decides(capsys):
    args = ["verify_examples:naswot_with_noise", "--against", "naswot", "--images", "synthetic", "--n", "2",
            *TINY_ARGS]
    assert cli(capsys, *args)[0] == 1
    assert cli(capsys, *args, "--tolerance", "2e-3")[0] == 0


def test_cli_json_has_one_line_per_cell_and_a_summary(capsys):
    import json

    code, out, _ = cli(capsys, "verify_examples:naswot_copy", "--against", "naswot", "--images", "synthetic",
                       "--n", "2", "--json", *TINY_ARGS)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r.get("cell") for r in rows[:2]] == [1, 2] and rows[2]["summary"]["passed"] is True


@pytest.mark.parametrize("args, message", [
    (["verify_examples:no_such", "--against", "naswot"], "has no attribute 'no_such'"),
    (["no_such_module:fn", "--against", "naswot"], "cannot import module 'no_such_module'"),
    (["verify_examples:NOT_CALLABLE", "--against", "naswot"], "is not callable"),
    (["not-a-reference", "--against", "naswot"], "is not MODULE:CALLABLE"),
    (["verify_examples:naswot_copy", "--against", "naswat"], "Did you mean 'naswot'"),
    (["verify_examples:naswot_copy", "--against", "params"], "does not expose the network"),
    (["verify_examples:naswot_copy"], "give --against PROXY"),
    (["verify_examples:naswot_copy", "--against", "naswot", "--set", "bogus=1"], "no settings field"),
    (["verify_examples:naswot_copy", "--against", "naswot", "--set", "repeats=3"], "repeats=3"),
    (["verify_examples:naswot_copy", "--against", "naswot", "--tolerance", "-1"], "--tolerance"),
    (["verify_examples:naswot_copy", "--against", "naswot", "--n", "0"], "--n must be"),
])
def test_cli_bad_input_is_exit_2_with_a_named_message(capsys, args, message):
    code, _, err = cli(capsys, *args, "--images", "synthetic")
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_against_table_with_a_scores_file(capsys, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("arch,value\n117,1\n180,2\n213,3\n6111,4\n8274,5\n")  # same order as the fake nwot
    code, out, err = cli(capsys, str(path), "--against-table", FAKE_TABLE, "--published", "nwot")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("cifar10"))
    assert row.split()[:5] == ["cifar10", "5", "4", "1", "+1.0000"]  # the -inf published cell is excluded
    path.write_text("arch,value\n117,4\n180,3\n213,2\n6111,1\n")
    assert cli(capsys, str(path), "--against-table", FAKE_TABLE, "--against", "naswot", "--min-tau", "0")[0] == 1


def test_cli_against_table_with_one_of_our_proxies(capsys):
    code, out, err = cli(capsys, "params", "--against-table", FAKE_TABLE, "--n", "0", "--dataset", "cifar100",
                         "--per-cell")
    assert code == 0, err
    assert "'params'" in out and len([line for line in out.splitlines() if line.startswith("cifar100")]) == 4


def test_cli_against_table_with_a_function(capsys):
    code, out, err = cli(capsys, "verify_examples:naswot_copy", "--against", "naswot", "--against-table", FAKE_TABLE,
                         "--n", "3", "--images", "synthetic", *TINY_ARGS)
    assert code == 0, err
    assert "against NAS-Bench-Suite-Zero 'nwot'" in out


@pytest.mark.parametrize("args, message", [
    (["params", "--against-table", "/nonexistent/zc.json"], "not found"),
    (["params", "--against-table", FAKE_TABLE, "--published", "nwto"], "Did you mean 'nwot'"),
    (["naswat", "--against-table", FAKE_TABLE], "Did you mean 'naswot'"),
    (["verify_examples:naswot_copy", "--against-table", FAKE_TABLE], "needs --against PROXY"),
    (["lr1", "--against-table", FAKE_TABLE], "--published NAME"),
    (["params", "--against-table", FAKE_TABLE, "--space", "nb101"], "space nb201"),
])
def test_cli_against_table_bad_input_is_exit_2(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err
