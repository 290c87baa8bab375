"""`zcbench score`: one JSON line per proxy with --json (a table without), image sourcing, settings overrides,
exit codes.

Most tests swap in a registry of small fake proxies (cheap, and each fake pins one behaviour);
the real registry is exercised through `params` (closed form) and the console script.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from zcbench import cli
from zcbench.proxies.registry import REGISTRY, ProxyResult, ProxySpec, proxy_registry, settings_hash
from zcbench.spaces import nb201

DEAD_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ROW_FIELDS = {"proxy", "version", "setting", "settings", "settings_hash", "space", "arch", "arch_str", "dataset",
              "seed", "value", "status", "diagnostics", "seconds", "device", "images"}


@dataclasses.dataclass(frozen=True)
class FakeSettings:
    scale: float = 1.0
    batch_size: int = 4


def _image_mean(ctx, settings):
    """Mean pixel of a seeded batch: depends on the images, the seed and both settings fields."""
    data = ctx.require_data("image_mean")
    images, _, _ = data.batch(settings.batch_size, ctx.rng())
    return ProxyResult(settings.scale * float(images.mean()),
                       diagnostics={"image_size": data.image_size, "n_images": len(data), "source": data.name})


def _raise(ctx, settings):
    raise RuntimeError("boom in the proxy")


def fake_spec(name, compute, needs=()):
    return ProxySpec(name=name, version=3, higher_is_better=True, cost_class="forward", needs=needs,
                     paper="test", summary=name, settings_type=FakeSettings,
                     presets={"code": FakeSettings(), "paper": FakeSettings(scale=2.0)}, compute=compute)


@pytest.fixture
def fake_registry(monkeypatch):
    registry = proxy_registry()
    registry.register(fake_spec("image_mean", _image_mean, needs=("images",)))
    registry.register(fake_spec("infinite", lambda ctx, s: ProxyResult(float("inf"))))
    registry.register(fake_spec("raises", _raise))
    monkeypatch.setattr("zcbench.commands.score.REGISTRY", registry)
    return registry


@pytest.fixture
def no_data_dir(monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)


def score(capsys, *args):
    code = cli.main(["score", "--json", *args])
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    return code, rows, captured.err


def test_params_row_has_every_field_and_the_closed_form_value(capsys):
    arch = nb201.index_to_arch(1234)
    code, rows, _ = score(capsys, "--arch", "1234", "--proxy", "params")
    assert code == 0 and len(rows) == 1
    row = rows[0]
    assert set(row) == ROW_FIELDS
    expected = (73_306 + 243_040 * arch.n_conv3x3 + 28_000 * arch.n_conv1x1) / 1e6
    assert row["value"] == pytest.approx(expected, rel=0, abs=1e-12)
    assert (row["proxy"], row["status"], row["arch"], row["arch_str"]) == ("params", "ok", "1234", str(arch))
    assert row["settings_hash"] == settings_hash(REGISTRY.get("params").settings("code"))
    assert (row["setting"], row["dataset"], row["seed"], row["device"]) == ("code", "cifar10", 0, "cpu")


def test_arch_string_and_index_give_the_same_row(capsys):
    arch = nb201.index_to_arch(77)
    _, by_index, _ = score(capsys, "--arch", "77", "--proxy", "params")
    _, by_string, _ = score(capsys, "--arch", str(arch), "--proxy", "params")
    for row in (by_index[0], by_string[0]):
        row.pop("seconds")
    assert by_index == by_string


def test_dataset_changes_the_params_head(capsys):
    _, rows, _ = score(capsys, "--arch", DEAD_CELL, "--proxy", "params", "--dataset", "cifar100")
    assert rows[0]["value"] == pytest.approx((73_306 + 90 * 65) / 1e6)


def test_unknown_proxy_exits_2_with_did_you_mean(capsys):
    code, rows, err = score(capsys, "--arch", "0", "--proxy", "parms")
    assert code == 2 and rows == []
    assert "unknown proxy 'parms'" in err and "Did you mean 'params'" in err


def test_unknown_proxy_is_reported_before_any_scoring(capsys):
    code, rows, _ = score(capsys, "--arch", "0", "--proxy", "params", "--proxy", "parms")
    assert code == 2 and rows == []


def test_invalid_arch_exits_2_naming_the_operation(capsys):
    code, _, err = score(capsys, "--arch", "|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                         "--proxy", "params")
    assert code == 2 and "nor_conv_5x5" in err


def test_out_of_range_index_exits_2(capsys):
    code, _, err = score(capsys, "--arch", "15625", "--proxy", "params")
    assert code == 2 and "15625" in err


def test_unknown_setting_exits_2_listing_the_presets(capsys):
    code, _, err = score(capsys, "--arch", "0", "--proxy", "params", "--setting", "papr")
    assert code == 2 and "papr" in err and "code" in err


def test_set_override_reaches_the_settings_and_the_hash(capsys, fake_registry):
    _, base, _ = score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", "synthetic")
    _, over, _ = score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", "synthetic",
                       "--set", "scale=3", "--set", "batch_size=4")
    assert over[0]["settings"] == {"scale": 3.0, "batch_size": 4}
    assert over[0]["settings_hash"] != base[0]["settings_hash"]
    assert over[0]["value"] == pytest.approx(3 * base[0]["value"], rel=1e-6)


def test_set_field_of_no_selected_proxy_exits_2(capsys, fake_registry):
    code, rows, err = score(capsys, "--arch", "0", "--proxy", "infinite", "--set", "batchsize=4")
    assert code == 2 and rows == [] and "batchsize" in err and "batch_size" in err


def test_malformed_set_exits_2(capsys, fake_registry):
    code, _, err = score(capsys, "--arch", "0", "--proxy", "infinite", "--set", "scale")
    assert code == 2 and "KEY=VALUE" in err


def test_paper_setting_uses_the_paper_preset(capsys, fake_registry):
    _, code_row, _ = score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", "synthetic")
    _, paper_row, _ = score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", "synthetic",
                            "--setting", "paper")
    assert paper_row[0]["setting"] == "paper" and paper_row[0]["settings"]["scale"] == 2.0
    assert paper_row[0]["value"] == pytest.approx(2 * code_row[0]["value"], rel=1e-6)


def test_proxy_needing_images_without_any_source_is_a_clear_error(capsys, fake_registry, no_data_dir):
    code, rows, err = score(capsys, "--arch", "0", "--proxy", "image_mean")
    assert code == 2 and rows == []
    assert "--images synthetic" in err


def test_proxy_without_images_runs_without_a_data_dir(capsys, fake_registry, no_data_dir):
    code, rows, err = score(capsys, "--arch", "0", "--proxy", "infinite")
    assert code == 0 and len(rows) == 1 and "images" not in err


@pytest.mark.parametrize("dataset,size,classes", [("cifar10", 32, 10), ("imagenet16", 16, 120)])
def test_synthetic_images_are_announced_and_sized_for_the_dataset(capsys, fake_registry, dataset, size, classes):
    code, rows, err = score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", "synthetic",
                            "--dataset", dataset)
    assert code == 0 and "SYNTHETIC" in err and f"{size}x{size}" in err
    assert rows[0]["diagnostics"]["image_size"] == size
    assert rows[0]["images"] == f"synthetic-{dataset}"
    assert rows[0]["diagnostics"]["n_images"] >= 10 * classes


def test_seed_changes_synthetic_batch_and_repeats_bit_identically(capsys, fake_registry):
    runs = [score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", "synthetic", "--seed", s)[1][0]
            for s in ("1", "1", "2")]
    assert runs[0]["value"] == runs[1]["value"] != runs[2]["value"]
    assert runs[0]["seed"] == 1


def test_image_folder_is_read_and_announced(capsys, fake_registry, tmp_path):
    image_files = pytest.importorskip("zcbench.spaces.image_files")
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    assert len(image_files.load_image_folder(str(tmp_path))) == 6
    code, rows, err = score(capsys, "--arch", "0", "--proxy", "image_mean", "--images", str(tmp_path))
    assert code == 0 and str(tmp_path) in err and "6 8x8 images (2 classes" in err
    assert rows[0]["diagnostics"]["n_images"] == 6 and rows[0]["diagnostics"]["image_size"] == 8


def test_non_finite_value_is_null_with_its_status(capsys, fake_registry):
    code, rows, _ = score(capsys, "--arch", "0", "--proxy", "infinite")
    assert code == 0 and rows[0]["value"] is None and rows[0]["status"] == "inf"


def test_proxy_that_raises_gives_an_error_row_and_exit_1(capsys, fake_registry):
    code, rows, _ = score(capsys, "--arch", "0", "--proxy", "raises", "--proxy", "infinite")
    assert code == 1 and [r["proxy"] for r in rows] == ["raises", "infinite"]
    assert rows[0]["status"] == "error:RuntimeError: boom in the proxy" and rows[0]["value"] is None


def test_all_scores_every_registered_proxy_once(capsys, fake_registry):
    code, rows, _ = score(capsys, "--arch", "0", "--proxy", "all", "--proxy", "infinite", "--images", "synthetic")
    assert sorted(r["proxy"] for r in rows) == fake_registry.names()
    assert code == 1  # 'raises' is among them
    assert all(r["version"] == 3 and not math.isnan(r["seconds"]) for r in rows)


def test_console_script_exit_code_and_stderr():
    """The installed `zcbench` entry point (not just `cli.main`) maps errors to exit status 2."""
    exe = os.path.join(os.path.dirname(sys.executable), "zcbench")
    done = subprocess.run([exe, "score", "--arch", "0", "--proxy", "nope_proxy"], check=False,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "unknown proxy 'nope_proxy'" in done.stderr and done.stdout == ""


def test_every_registered_proxy_scores_through_the_cli_on_tiny_settings(capsys):
    """`--proxy all` on the real registry with --set shrinking every network: one ok-or-flagged row each."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code, rows, err = score(capsys, "--arch", "1234", "--proxy", "all", "--images", "synthetic",
                                "--set", "channels=4", "--set", "cells=1", "--set", "batch_size=8",
                                "--set", "samples=4", "--set", "iterations=2", "--set", "images_per_class=2",
                                "--set", "repeats=1")
    finally:
        torch.set_num_threads(threads)
    assert code == 0, [(r["proxy"], r["status"]) for r in rows]
    assert sorted(r["proxy"] for r in rows) == REGISTRY.names()
    assert "SYNTHETIC" in err
    for row in rows:
        assert not row["status"].startswith("error"), row
        assert (row["value"] is not None) == (row["status"] not in ("inf", "-inf", "nan", "singular")), row
        if "channels" in row["settings"]:
            assert row["settings"]["channels"] == 4


def test_combination_ranks_over_the_given_archs(capsys):
    """`--combination lr2+params`-style rank sums need a set: one line per arch, equal to combine()."""
    from zcbench.proxies.combinations import combine

    code = cli.main(["score", "--json", "--arch", "0", "--arch", "6111", "--arch", "3", "--combination", "lr1+params",
                     "--images", "synthetic", "--set", "batch_size=64"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    scores = {(r["proxy"], r["arch"]): r["value"] for r in lines if "proxy" in r}
    combined = {r["arch"]: r["value"] for r in lines if r.get("combination") == "lr1+params"}
    assert set(combined) == {"0", "6111", "3"} and all(r["archs_in_set"] == 3 for r in lines if "combination" in r)
    table = pd.DataFrame({p: [scores[(p, a)] for a in ("0", "6111", "3")] for p in ("lr1", "params")},
                         index=["0", "6111", "3"])
    assert combined == combine(table, "lr1+params").to_dict()


def test_bug_ls_spaces_needed_the_nb101_table(capsys, no_data_dir):
    """`zcbench ls spaces` lists each benchmark's official size, without reading any data."""
    assert cli.main(["ls", "spaces"]) == 0
    sizes = {line.split()[0]: int(line.split()[1]) for line in capsys.readouterr().out.splitlines()}
    assert sizes == {"nb201": 15_625, "nb101": 423_624}


def test_ls_proxies_lists_every_registered_proxy_with_its_spaces(capsys):
    assert cli.main(["ls", "proxies", "--json"]) == 0
    listed = {row["name"]: row["spaces"] for row in json.loads(capsys.readouterr().out)}
    assert listed == {name: list(REGISTRY.get(name).spaces) for name in REGISTRY.names()}
