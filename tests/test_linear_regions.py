"""LR1 (TE-NAS linear regions): pattern collection, the unique-pattern count, presets (protocols §A2, §E.2–3)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import zcbench.proxies.linear_regions as lr
from zcbench.proxies.linear_regions import (
    LR1,
    LinearRegionSettings,
    count_linear_regions,
    count_unique_rows,
    relu_patterns,
)
from zcbench.spaces.images import random_single_channel_crops, synthetic_imageset
from zcbench.spaces.nb201 import parse_arch
from zcbench.spaces.nb201_networks import build_thin_network

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
CONV_THEN_NOTHING = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
MIXED = "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"


@pytest.fixture(scope="module")
def images():
    return synthetic_imageset(n=128, size=16, num_classes=10, seed=3)


def hamming_region_count(codes: np.ndarray) -> float:
    """The authors' count: D = A(1−A)ᵀ + (1−A)Aᵀ, m_i = #{j: D_ij = 0}, R = Σ_i 1/m_i."""
    a = codes.astype(np.float64)
    distance = a @ (1 - a).T + (1 - a) @ a.T
    return float((1.0 / (distance == 0).sum(axis=1)).sum())


@pytest.mark.parametrize("rows, cols, p", [(300, 6, 0.5), (400, 12, 0.2), (200, 40, 0.5), (50, 1, 0.5)])
def test_unique_row_count_equals_authors_hamming_formula(rows, cols, p):
    codes = np.random.default_rng(rows * cols).random((rows, cols)) < p
    assert count_unique_rows(codes) == pytest.approx(hamming_region_count(codes), abs=1e-9)


def test_unique_row_count_sees_only_distinct_rows_across_byte_boundaries():
    rng = np.random.default_rng(0)
    pool = rng.random((7, 19)) < 0.5  # 19 columns: packed rows span 3 bytes
    pool[1, 18] = not pool[0, 18]
    pool[1, :18] = pool[0, :18]  # rows 0 and 1 differ only in the last bit
    codes = pool[rng.permutation(np.repeat(np.arange(7), 30))]
    assert count_unique_rows(codes) == len({tuple(r) for r in pool}) == 7


def test_patterns_start_with_the_input_signs_of_a_conv_on_edge_1_0_and_skip_2d_relus():
    # a conv op is ReLU → Conv → BN, so the first ReLU of the cell sees the network input itself
    network = build_thin_network(parse_arch(CONV_THEN_NOTHING)).train()
    x = torch.randn(20, 1, 3, 3)
    codes = relu_patterns(network, x)
    assert codes.shape == (20, 18)  # one conv ReLU + lastact, 9 units each
    assert torch.equal(codes[:, :9], x.flatten(1) > 0)
    assert not codes[:, 9:].any()  # node 3 ≡ 0 → lastact BN gives 0 → ReLU off
    with_dense_relu = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(18, 4), nn.ReLU())
    assert relu_patterns(with_dense_relu, x).shape == (20, 18)


def test_every_executed_conv_relu_and_lastact_contribute_nine_units(images):
    rng = np.random.default_rng(0)
    batches = [random_single_channel_crops(images, 100, 3, rng)]
    settings = LinearRegionSettings()
    for arch, units in ((ALL_CONV3, 7 * 9), (MIXED, 3 * 9), (ALL_NONE, 9)):
        assert count_linear_regions(build_thin_network(parse_arch(arch)), batches, settings).units == units


def test_all_none_cell_has_exactly_one_region_in_both_presets(images):
    for setting in ("code", "paper"):
        result = LR1.score(ALL_NONE, data=images, setting=setting)
        assert result.ok and result.value == 1.0 and result.diagnostics["counts"] == [1, 1, 1]


@pytest.mark.parametrize("arch", [ALL_CONV3, MIXED, 0, 9, 123])
def test_count_never_exceeds_the_number_of_samples(images, arch):
    result = LR1.score(arch, data=images, batches=2, batch_size=60)
    assert result.ok and 1 <= min(result.diagnostics["counts"]) and max(result.diagnostics["counts"]) <= 120
    assert result.diagnostics["saturated"] == (120 in result.diagnostics["counts"])


def test_same_seed_gives_bit_identical_counts_and_another_seed_new_data(images):
    first, again = (LR1.score(ALL_CONV3, data=images, seed=5) for _ in range(2))
    assert first.value == again.value and first.diagnostics == again.diagnostics
    assert LR1.score(ALL_CONV3, data=images, seed=6).diagnostics["counts"] != first.diagnostics["counts"]


def test_value_is_the_mean_of_per_repeat_counts_and_repeats_see_new_data(images):
    result = LR1.score(MIXED, data=images)
    counts = result.diagnostics["counts"]
    assert len(counts) == 3 and len(set(counts)) > 1
    assert result.value == pytest.approx(np.mean(counts))


def test_paper_preset_differs_from_code_only_in_samples_and_init():
    code, paper = LR1.presets["code"], LR1.presets["paper"]
    changed = {f.name for f in dataclasses.fields(code) if getattr(code, f.name) != getattr(paper, f.name)}
    assert changed == {"batches", "init", "reinit_per_repeat"}
    assert code.batches * code.batch_size == 3000 and paper.batches * paper.batch_size == 5000
    assert (code.init, code.reinit_per_repeat) == ("pytorch_default", False)
    assert (paper.init, paper.reinit_per_repeat) == ("kaiming_normal_fanin", True)


@pytest.mark.parametrize("setting, init_calls", [("code", 1), ("paper", 3)])
def test_code_reuses_the_weights_across_repeats_and_paper_redraws_them(images, monkeypatch, setting, init_calls):
    schemes, original = [], lr.initialize

    def recording_initialize(network, scheme):
        schemes.append(scheme)
        return original(network, scheme)

    monkeypatch.setattr(lr, "initialize", recording_initialize)
    result = LR1.score(MIXED, data=images, setting=setting)
    assert result.ok and len(schemes) == init_calls
    assert result.diagnostics["samples"] == (3000 if setting == "code" else 5000)


def test_missing_images_and_bad_settings_are_named(images):
    result = LR1.score(MIXED, data=None)
    assert result.status.startswith("error:ZcbenchError") and "needs images" in result.status
    with pytest.raises(ValueError, match="batch_size"):
        LinearRegionSettings(batch_size=0)
    with pytest.raises(ValueError, match="init"):
        LinearRegionSettings(init="orthogonal")
