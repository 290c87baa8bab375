"""MGM (KNAS): tensor/entry selection, the code and paper estimators, fast paths vs the authors' loop
(protocols §A4, §E.8, §F.7). Tiny networks (C=4, N=1, 8 px) unless marked slow."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from zcbench.proxies.mgm import (
    MGM,
    MGMSettings,
    centred_halves,
    gram_mean,
    mgm,
    per_sample_gradients_loop,
    per_sample_gradients_vectorized,
    select_entries,
)
from zcbench.spaces.images import NORMALIZATION, synthetic_imageset
from zcbench.spaces.nb201 import parse_arch, resolve_arch
from zcbench.spaces.nb201_networks import NetOutput, build_network

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
TINY = {"channels": 4, "cells": 1}


@pytest.fixture(scope="module")
def images():
    return synthetic_imageset(n=64, size=8, num_classes=10, seed=1)


@pytest.fixture(scope="module")
def batch(images):
    rng = np.random.default_rng(7)
    x, y = images.tensors(images.sample_indices(50, rng), rng, augment=True)
    return x, y


def tiny_network(arch, dtype=torch.float32):
    torch.manual_seed(0)
    return build_network(resolve_arch(arch), channels=4, cells_per_stage=1, num_classes=10).to(dtype)


def knas_reference(grads) -> float:
    """The authors' score written out: per tensor and entry, centre the two 25-sample halves, dot, /2500, sum."""
    score = 0.0
    for tensor in range(len(grads[0])):
        for entry in range(50):
            a = np.array([grads[k][tensor][entry] for k in range(25)])
            b = np.array([grads[k][tensor][entry] for k in range(25, 50)])
            score += float(np.dot(a - a.mean(), b - b.mean())) / 2500
    return score


def names(selection):
    return [s.name for s in selection]


def test_code_selection_is_the_first_eleven_tensors_of_at_least_fifty_entries_in_full_size_nets():
    settings, rng = MGMSettings(), np.random.default_rng(0)
    conv_cells = build_network(parse_arch(ALL_CONV3))
    chosen = select_entries([(n, p.numel()) for n, p in conv_cells.named_parameters()], settings, rng)
    assert names(chosen) == (["stem.0.weight"] + [f"cells.0.edges.{e}.1.weight" for e in range(6)]
                             + [f"cells.1.edges.{e}.1.weight" for e in range(4)])
    # no conv in the cells: the walk runs into the residual blocks and the 64-channel BN tensors
    empty_cells = build_network(parse_arch(ALL_NONE))
    chosen = select_entries([(n, p.numel()) for n, p in empty_cells.named_parameters()], settings, rng)
    assert names(chosen) == ["stem.0.weight", "cells.5.conv_a.1.weight", "cells.5.conv_b.1.weight",
                             "cells.5.downsample.1.weight", "cells.11.conv_a.1.weight", "cells.11.conv_a.2.weight",
                             "cells.11.conv_a.2.bias", "cells.11.conv_b.1.weight", "cells.11.conv_b.2.weight",
                             "cells.11.conv_b.2.bias", "cells.11.downsample.1.weight"]
    assert all(np.array_equal(s.entries, np.arange(50)) for s in chosen)


def test_paper_selection_samples_fifty_distinct_entries_of_every_large_tensor():
    network = build_network(parse_arch(MIXED))
    sizes = [(n, p.numel()) for n, p in network.named_parameters()]
    chosen = select_entries(sizes, MGM.presets["paper"], np.random.default_rng(0))
    assert names(chosen) == [n for n, size in sizes if size >= 50]
    numel = dict(sizes)
    assert all(len(set(s.entries)) == 50 and s.entries.max() < numel[s.name] for s in chosen)
    assert any(not np.array_equal(np.sort(s.entries), np.arange(50)) for s in chosen)


def test_loop_stores_the_first_fifty_gradient_entries_of_each_sample(batch):
    network = tiny_network(MIXED)
    selection, grads = per_sample_gradients_loop(network, *batch, MGMSettings(), None)
    assert grads.shape == (50, 11, 50) and grads.dtype == np.float64
    for t, s in enumerate(selection):  # after the loop .grad holds the last sample's gradient
        np.testing.assert_array_equal(grads[-1, t], network.get_parameter(s.name).grad.reshape(-1)[:50].double())
    assert not np.array_equal(grads[0], grads[1])


def test_code_score_matches_independent_rewrite_of_the_authors_loop(batch):
    settings = dataclasses.replace(MGM.presets["code"], method="loop")
    _, grads = per_sample_gradients_loop(tiny_network(ALL_CONV3), *batch, settings, None)
    result = mgm(tiny_network(ALL_CONV3), *batch, settings, np.random.default_rng(0))
    assert result.value == pytest.approx(knas_reference(grads.tolist()), rel=1e-12, abs=1e-18)
    assert result.value != pytest.approx(float(gram_mean(grads).sum()), rel=1e-3)


def test_centred_halves_pairs_sample_k_with_sample_k_plus_half():
    rng = np.random.default_rng(2)
    grads = rng.normal(size=(50, 3, 50))
    assert centred_halves(grads, 2500.0).sum() == pytest.approx(knas_reference(grads.tolist()), rel=1e-12)
    shuffled = grads.copy()
    shuffled[25:] = grads[25:][rng.permutation(25)]
    assert centred_halves(shuffled, 2500.0).sum() != pytest.approx(knas_reference(grads.tolist()), rel=1e-6)


def test_gram_mean_is_the_mean_of_all_pairwise_dot_products_and_the_squared_sum_identity():
    grads = np.random.default_rng(3).normal(size=(12, 4, 50))
    explicit = [np.mean([[grads[i, t] @ grads[j, t] for j in range(12)] for i in range(12)]) for t in range(4)]
    np.testing.assert_allclose(gram_mean(grads), explicit, rtol=1e-12)
    np.testing.assert_allclose(gram_mean(grads), (grads.sum(axis=0) ** 2).sum(axis=1) / 144, rtol=1e-12)


# Fast path vs loop in float64: tiny 8 px nets normalise 2×2 maps per sample, which amplifies float32
# rounding to ~1e-4 relative in either path; in float64 the two agree to ~1e-15.
@pytest.mark.parametrize("arch", [MIXED, ALL_CONV3, 123])
@pytest.mark.parametrize("setting", ["code", "paper"])
def test_fast_path_equals_the_authors_per_sample_loop(batch, arch, setting):
    x, y = batch
    results = {impl: mgm(tiny_network(arch, torch.float64), x.double(), y,
                         dataclasses.replace(MGM.presets[setting], method=impl), np.random.default_rng(4))
               for impl in ("vectorized", "loop")}
    fast, loop = results["vectorized"], results["loop"]
    assert names(fast.selection) == names(loop.selection)
    assert all(np.array_equal(f.entries, lp.entries) for f, lp in zip(fast.selection, loop.selection))
    np.testing.assert_allclose(fast.per_tensor, loop.per_tensor, rtol=1e-9, atol=1e-18)
    assert fast.value != 0 and fast.value == pytest.approx(loop.value, rel=1e-9)


def test_fast_per_sample_gradients_equal_the_loop_entrywise(batch):
    x, y = batch
    _, loop = per_sample_gradients_loop(tiny_network(ALL_CONV3, torch.float64), x.double(), y, MGMSettings(), None)
    _, fast = per_sample_gradients_vectorized(tiny_network(ALL_CONV3, torch.float64), x.double(), y,
                                              MGMSettings(), None)
    np.testing.assert_allclose(fast, loop, rtol=1e-9, atol=1e-12 * np.abs(loop).max())


class PartlyUsed(nn.Module):
    """A network whose first registered (large) parameter never takes part in the forward."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Linear(192, 10)
        self.used = nn.Linear(192, 10)

    def forward(self, x):
        features = x.flatten(1)
        return NetOutput(self.used(features), features)


def test_parameters_without_gradient_are_skipped_by_loop_and_fast_path(batch):
    for gradients in (per_sample_gradients_loop, per_sample_gradients_vectorized):
        selection, grads = gradients(PartlyUsed(), *batch, MGMSettings(), None)
        assert names(selection) == ["used.weight"] and grads.shape == (50, 1, 50)


def test_all_none_cell_scores_exactly_zero(images):
    for setting in ("code", "paper"):
        result = MGM.score(ALL_NONE, data=images, setting=setting, **TINY)
        assert result.ok and result.value == 0.0


def test_all_none_cell_scores_through_the_classifier_bias_when_it_is_selected():
    hundred_classes = synthetic_imageset(n=64, size=8, num_classes=100, seed=1)
    result = MGM.score(ALL_NONE, data=hundred_classes, setting="paper", **TINY)
    assert result.ok and result.diagnostics["tensors"][-1] == "classifier.bias" and result.value > 0
    assert result.value == pytest.approx(result.diagnostics["per_tensor"][-1] / len(result.diagnostics["tensors"]))


def test_same_seed_gives_bit_identical_scores_and_another_seed_other_samples(images):
    first, again = (MGM.score(MIXED, data=images, seed=11, **TINY) for _ in range(2))
    assert first.ok and first.value == again.value and first.diagnostics == again.diagnostics
    other = MGM.score(MIXED, data=images, seed=12, **TINY)
    assert other.diagnostics["image_indices"] != first.diagnostics["image_indices"] and other.value != first.value


def test_score_records_float64_value_selected_tensors_and_images(images):
    result = MGM.score(MIXED, data=images, **TINY)
    assert isinstance(result.value, float) and len(result.diagnostics["tensors"]) == 11
    assert len(result.diagnostics["image_indices"]) == 50 == len(set(result.diagnostics["image_indices"]))
    assert result.value == pytest.approx(sum(result.diagnostics["per_tensor"]), rel=1e-12)


def test_dtype_setting_switches_the_gradient_precision():
    images = synthetic_imageset(n=64, size=16, num_classes=10, seed=1)
    single = MGM.score(MIXED, data=images, **TINY)
    double = MGM.score(MIXED, data=images, dtype="float64", **TINY)
    assert double.value != single.value and double.value == pytest.approx(single.value, rel=1e-3)


def changed_fields(a, b) -> set[str]:
    return {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}


def test_paper_preset_differs_from_code_in_the_estimator_choices_and_the_fast_path(images):
    code, paper = MGM.presets["code"], MGM.presets["paper"]
    assert changed_fields(code, paper) == {"max_tensors", "entry_selection", "estimator", "aggregate", "method"}
    assert (code.method, paper.method) == ("loop", "vectorized")
    assert (code.max_tensors, code.entry_selection, code.estimator, code.aggregate) == (
        11, "first", "centred_halves", "sum")
    assert (paper.max_tensors, paper.entry_selection, paper.estimator, paper.aggregate) == (
        None, "random", "gram_mean", "mean")
    code_result, paper_result = (MGM.score(MIXED, data=images, setting=s, **TINY) for s in ("code", "paper"))
    assert len(paper_result.diagnostics["tensors"]) > len(code_result.diagnostics["tensors"])
    assert paper_result.value > 0 and paper_result.value != code_result.value


def test_too_few_images_and_bad_settings_are_named():
    result = MGM.score(MIXED, data=synthetic_imageset(n=20, size=8), **TINY)
    assert result.status.startswith("error:NotEnoughDataError") and "cannot draw 50" in result.status
    with pytest.raises(ValueError, match="even number"):
        MGMSettings(samples=49)
    with pytest.raises(ValueError, match="entries"):
        MGMSettings(entries=60)
    with pytest.raises(ValueError, match="estimator"):
        MGMSettings(estimator="trace")


def test_code_is_the_authors_float32_loop_and_code64_the_same_statistic_in_float64():
    code, code64 = MGM.presets["code"], MGM.presets["code64"]
    assert code == MGMSettings() and (code.method, code.dtype, code.grad_storage) == ("loop", "float32", "copied")
    assert changed_fields(code, code64) == {"method", "dtype"} and (code64.method, code64.dtype) == (
        "vectorized", "float64")
    assert MGM.presets["nb101"].method == "loop"


def test_code64_scores_like_the_float64_loop_and_close_to_the_float32_code(images):
    images16 = synthetic_imageset(n=64, size=16, num_classes=10, seed=1)
    code64 = MGM.score(ALL_CONV3, data=images16, setting="code64", **TINY)
    loop64 = MGM.score(ALL_CONV3, data=images16, setting="code", dtype="float64", **TINY)
    code = MGM.score(ALL_CONV3, data=images16, setting="code", **TINY)
    assert code64.ok and code64.value != 0 and code64.value == pytest.approx(loop64.value, rel=1e-9)
    assert code.value != code64.value and code.value == pytest.approx(code64.value, rel=1e-2)


# --- the released code under torch < 2.0: stored rows alias the live gradient (protocols §E.8) ----------

@pytest.mark.parametrize("arch", [ALL_CONV3, MIXED])
def test_aliased_torch1_storage_keeps_only_the_last_samples_gradient_and_scores_about_zero(batch, arch):
    copied_settings = MGMSettings()
    aliased_settings = dataclasses.replace(copied_settings, grad_storage="aliased_torch1")
    network = tiny_network(arch)
    _, aliased = per_sample_gradients_loop(network, *batch, aliased_settings, None)
    _, copied = per_sample_gradients_loop(tiny_network(arch), *batch, copied_settings, None)
    np.testing.assert_array_equal(aliased, np.broadcast_to(copied[-1], aliased.shape))  # every row = the last
    assert not np.array_equal(copied[0], copied[-1])
    aliased_score = mgm(tiny_network(arch), *batch, aliased_settings, None).value
    copied_score = mgm(tiny_network(arch), *batch, copied_settings, None).value
    assert copied_score != 0 and abs(aliased_score) <= 1e-10 * abs(copied_score)


def test_aliased_storage_is_refused_outside_the_loop_and_recorded_in_the_diagnostics(images):
    with pytest.raises(ValueError, match="grad_storage"):
        MGMSettings(grad_storage="aliased_torch1", method="vectorized")
    with pytest.raises(ValueError, match="grad_storage"):
        MGMSettings(grad_storage="view")
    result = MGM.score(MIXED, data=images, grad_storage="aliased_torch1", **TINY)
    assert result.ok and result.diagnostics["grad_storage"] == "aliased_torch1"
    assert abs(result.value) <= 1e-10 * abs(MGM.score(MIXED, data=images, **TINY).value)


@pytest.mark.slow
def test_full_size_code_mgm_fast_path_matches_loop_on_cifar_sized_inputs():
    images = synthetic_imageset(n=64, size=32, num_classes=10, seed=2)
    fast = MGM.score(0, data=images, method="vectorized")
    loop = MGM.score(0, data=images)
    assert fast.ok and loop.ok and fast.diagnostics["tensors"] == loop.diagnostics["tensors"]
    assert len(fast.diagnostics["tensors"]) == 11 and fast.diagnostics["tensors"][0] == "stem.0.weight"
    assert fast.value == pytest.approx(loop.value, rel=1e-3)


MEAN_STD = tuple(np.asarray(v, dtype=np.float32) / 255 for v in NORMALIZATION["cifar10"])


class NB201TrainTransformed(torch.utils.data.Dataset):
    """An ImageSet behind NB201's CIFAR train transform as torchvision ≥ 0.8 draws it (flip p=0.5 from
    torch.rand(1), zero-pad, crop offsets from two torch.randint), normalised like ToTensor+Normalize."""

    def __init__(self, imageset):
        self.imageset = imageset

    def __len__(self):
        return len(self.imageset)

    def __getitem__(self, index):
        image = self.imageset.images[index]
        if torch.rand(1) < 0.5:
            image = image[:, ::-1]
        pad, size = 4, image.shape[0]
        padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)))
        top = int(torch.randint(0, 2 * pad + 1, (1,)))
        left = int(torch.randint(0, 2 * pad + 1, (1,)))
        crop = padded[top:top + size, left:left + size]
        x = (crop.astype(np.float32) / 255 - MEAN_STD[0]) / MEAN_STD[1]
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))), int(self.imageset.labels[index])


def test_knas_loader_stream_scores_the_samples_of_the_authors_pipeline(images):
    """evaluate_for_seed's order: seed, build the network, get_model_infos (a probe forward), then a shuffled
    batch-1 DataLoader; the first 50 samples it yields are the ones `sample_stream='knas_loader'` scores."""
    flop_benchmark = pytest.importorskip("xautodl.utils.flop_benchmark")
    seed, arch = 777, MIXED
    torch.manual_seed(seed)
    network = build_network(resolve_arch(arch), channels=4, cells_per_stage=1, num_classes=10)
    flop_benchmark.get_model_infos(network, (1, 3, 8, 8))
    loader = torch.utils.data.DataLoader(NB201TrainTransformed(images), batch_size=1, shuffle=True, num_workers=0)
    samples = [sample for _, sample in zip(range(50), loader)]
    x = torch.cat([s[0] for s in samples])
    y = torch.cat([s[1] for s in samples])
    settings = MGMSettings(**TINY, sample_stream="knas_loader")
    expected = mgm(network.train(), x, y, settings, np.random.default_rng(0)).value
    got = MGM.score(arch, data=images, settings=settings, seed=seed)
    assert got.ok and got.value == expected
    seeded = MGM.score(arch, data=images, settings=MGMSettings(**TINY), seed=seed)
    assert seeded.diagnostics["image_indices"] != got.diagnostics["image_indices"]
