"""NTK condition number κ (TE-NAS, protocols §A1): kernel paths, statuses, presets, determinism."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from zcbench.proxies import ntk
from zcbench.proxies.registry import REGISTRY
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import parse_arch
from zcbench.spaces.nb201_networks import arch_mask, build_network, build_supernet

CONV_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED_CELL = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
DEAD_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
TINY = {"channels": 4, "cells": 1, "batch_size": 12, "repeats": 2}


@pytest.fixture(scope="module")
def data():
    return synthetic_imageset(n=48, size=8, num_classes=10, seed=1)


def tiny_net(cell=CONV_CELL, dtype=torch.float64, seed=0, num_classes=10):
    torch.manual_seed(seed)
    return build_network(parse_arch(cell), channels=4, cells_per_stage=1, num_classes=num_classes).to(dtype).train()


def batch(data, n=12, dtype=torch.float64, seed=0):
    return data.batch(n, np.random.default_rng(seed))[0].to(dtype)


def theta(network, images, **kwargs):
    return ntk.gram(ntk.per_sample_gradients(network, images, **kwargs), torch.float64)


# --- the two gradient paths compute the same kernel -------------------------------------------------

@pytest.mark.parametrize("output", ["logits", "features"])
def test_vectorized_kernel_equals_reference_loop(data, output):
    net, x = tiny_net(), batch(data)
    reference = theta(net, x, output=output, method="loop")
    fast = theta(net, x, output=output, method="vectorized")
    torch.testing.assert_close(fast, reference, rtol=1e-10, atol=1e-10 * reference.abs().max().item())


def test_vectorized_kernel_equals_loop_on_supernet_with_unexecuted_ops(data):
    """Masked supernet ops never run: the loop drops their (None) gradients, jacrev keeps zero blocks."""
    torch.manual_seed(0)
    net = build_supernet(arch_mask(parse_arch(MIXED_CELL)), channels=3, cells_per_stage=1).double().train()
    x = batch(data)
    loop_blocks = ntk.per_sample_gradients(net, x, method="loop")
    fast_blocks = ntk.per_sample_gradients(net, x, method="vectorized")
    assert len(loop_blocks) < len(fast_blocks) == len(ntk.weight_parameters(net))
    torch.testing.assert_close(ntk.gram(fast_blocks, torch.float64), ntk.gram(loop_blocks, torch.float64),
                               rtol=1e-10, atol=1e-9)


def test_kernel_is_taken_through_the_batch_coupled_train_mode_forward(data):
    """Train-mode BN couples samples: Θ differs from separate single-sample forwards; in eval mode
    (no coupling) the per-sample rows equal independent one-image backward passes."""
    x = batch(data, n=6)

    def separate(net):
        rows = []
        for n in range(x.shape[0]):
            out = net(x[n:n + 1]).logits.sum()
            grads = torch.autograd.grad(out, list(ntk.weight_parameters(net).values()))
            rows.append(torch.cat([g.flatten() for g in grads]))
        G = torch.stack(rows)
        return G @ G.T

    eval_net = tiny_net().eval()
    torch.testing.assert_close(theta(eval_net, x), separate(eval_net), rtol=1e-10, atol=1e-8)
    train_net = tiny_net()
    assert not torch.allclose(theta(train_net, x), separate(tiny_net().eval()), rtol=1e-3)


def test_only_parameters_named_weight_enter_the_kernel():
    net = tiny_net()
    names = ntk.weight_parameters(net)
    assert names and all("weight" in n for n in names)
    assert any(n.endswith("bias") for n, _ in net.named_parameters()) and not any(n.endswith("bias") for n in names)
    assert {n for n, p in net.named_parameters() if "weight" in n} == set(names)


# --- κ from the kernel ----------------------------------------------------------------------------

def test_kappa_matches_independent_numpy_eigenvalues_and_is_at_least_one(data):
    net, x = tiny_net(), batch(data)
    G = np.concatenate([b.numpy() for b in ntk.per_sample_gradients(net, x)], axis=1)
    eigenvalues = np.linalg.eigvalsh(G @ G.T)
    result = ntk.ntk_condition_number(net, x, ntk.PAPER)
    assert result.ok and result.value >= 1.0
    assert result.value == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-9)
    assert result.diagnostics["gradient_dim"] == G.shape[1]


def test_kappa_does_not_depend_on_the_order_of_the_batch(data):
    net, x = tiny_net(), batch(data)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(5))
    first = ntk.ntk_condition_number(net, x, ntk.PAPER).value
    assert ntk.ntk_condition_number(net, x[perm], ntk.PAPER).value == pytest.approx(first, rel=1e-9)


def test_duplicated_image_makes_the_kernel_singular_and_kappa_inf(data):
    """Two identical samples have identical gradients (even through batch-coupled BN): rank-deficient Θ."""
    x = batch(data)
    x[1] = x[0]
    result = ntk.ntk_condition_number(tiny_net(), x, ntk.PAPER)
    assert result.status == "inf" and result.value == math.inf
    assert result.diagnostics["lambda_min"] <= result.diagnostics["singular_tol"]


@pytest.mark.parametrize("matrix,expected", [
    (np.diag([1.0, 2.0, 4.0]), 4.0),
    (np.array([[2.0, 1.0], [1.0, 2.0]]), 3.0),
])
def test_condition_number_of_known_matrices(matrix, expected):
    result = ntk.condition_number(torch.tensor(matrix))
    assert result.ok and result.value == pytest.approx(expected, rel=1e-12)


def test_condition_number_statuses_for_degenerate_kernels():
    singular = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    assert ntk.condition_number(singular).status == "inf"
    indefinite = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)  # λ = −1, 3
    result = ntk.condition_number(indefinite)
    assert result.status == "inf" and result.diagnostics["raw_ratio"] == pytest.approx(-3.0)
    zero = torch.zeros(3, 3, dtype=torch.float64)
    assert ntk.condition_number(zero).status == "nan"
    with_nan = torch.tensor([[1.0, math.nan], [math.nan, 1.0]], dtype=torch.float64)
    assert ntk.condition_number(with_nan).status == "nan"


def test_authors_nan_rule_turns_only_nan_ratios_into_1e5_and_says_so():
    zero = ntk.condition_number(torch.zeros(3, 3), nan_to_1e5=True)
    assert zero.ok and zero.value == 1e5 and zero.diagnostics["nan_rule_fired"]
    singular = ntk.condition_number(torch.tensor([[1.0, 1.0], [1.0, 1.0]]), nan_to_1e5=True)
    assert singular.status == "inf" and not singular.diagnostics["nan_rule_fired"]


# --- the registered proxy --------------------------------------------------------------------------

def score(data, cell, setting="code", seed=0, **overrides):
    return REGISTRY.get("ntk").score(cell, data=data, setting=setting, seed=seed, **{**TINY, **overrides})


def test_dead_cell_is_flagged_nan_or_1e5_by_the_authors_rule(data):
    """All-`none` cell: every weight gradient is 0, Θ = 0, λmax/λmin = 0/0."""
    paper = score(data, DEAD_CELL, "paper")
    assert paper.status == "nan" and math.isnan(paper.value)
    code = score(data, DEAD_CELL, "code")
    assert code.ok and code.value == 1e5 and code.diagnostics["nan_rule_fired"] == TINY["repeats"]


def test_same_seed_is_bit_identical_and_another_seed_differs(data):
    first, second = score(data, MIXED_CELL, seed=4), score(data, MIXED_CELL, seed=4)
    assert first.ok and first.value == second.value and first.diagnostics["kappa"] == second.diagnostics["kappa"]
    assert score(data, MIXED_CELL, seed=5).value != first.value


def test_registered_vectorized_method_scores_like_the_loop(data):
    loop = score(data, CONV_CELL, "paper", method="loop")
    fast = score(data, CONV_CELL, "paper", method="vectorized")
    assert fast.value == pytest.approx(loop.value, rel=1e-4)


def test_code_never_reinitialises_but_paper_redraws_weights_per_repeat():
    """With the whole image set as the batch and no augmentation, repeats see the same images (in
    another order): κ repeats exactly under `code` (same weights) and changes under `paper`."""
    images = synthetic_imageset(n=8, size=8, num_classes=10, seed=3)
    common = {"batch_size": len(images), "augment": False, "repeats": 2, "eig_dtype": "float64"}
    code = score(images, CONV_CELL, "code", **common).diagnostics["kappa"]
    paper = score(images, CONV_CELL, "paper", **common).diagnostics["kappa"]
    assert code[0] == pytest.approx(code[1], rel=1e-6)
    assert paper[0] != pytest.approx(paper[1], rel=1e-3)


def test_code_and_paper_presets_differ_as_protocols_declare():
    spec = REGISTRY.get("ntk")
    code, paper = spec.settings("code"), spec.settings("paper")
    differing = {f.name for f in dataclasses.fields(code) if getattr(code, f.name) != getattr(paper, f.name)}
    assert differing == {"batch_size", "init", "reinit_per_repeat", "eig_dtype", "nan_to_1e5"}
    assert (code.batch_size, paper.batch_size) == (72, 32)
    assert (code.init, paper.init) == ("pytorch_default", "kaiming_normal_fanin")
    for preset in (code, paper):
        assert preset.train_mode and preset.augment and preset.output == "logits"
        assert preset.param_name_contains == "weight" and preset.repeats == 3
    assert spec.higher_is_better is False and spec.cost_class == "per-sample-backward"


def test_supernet_setting_scores_the_tenas_single_path_supernet(data):
    result = score(data, MIXED_CELL, "supernet", channels=3, cells=1)
    supernet = build_supernet(arch_mask(parse_arch(MIXED_CELL)), channels=3, cells_per_stage=1)
    assert result.ok
    executed = sum(p.numel() for n, p in supernet.named_parameters() if "weight" in n)
    assert 0 < result.diagnostics["gradient_dim"] < executed  # masked ops contribute no gradient


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="method"):
        ntk.NTKSettings(method="fast")
    with pytest.raises(ValueError, match="init"):
        ntk.NTKSettings(init="kaiming")


@pytest.mark.slow
def test_full_size_c16_n5_cell_on_cpu():
    images = synthetic_imageset(n=16, size=32, num_classes=10, seed=2)
    result = REGISTRY.get("ntk").score(CONV_CELL, data=images, setting="code", seed=0, batch_size=8, repeats=1)
    assert result.ok and result.value >= 1.0
    assert result.diagnostics["gradient_dim"] == sum(
        p.numel() for n, p in build_network(parse_arch(CONV_CELL)).named_parameters() if "weight" in n)
