"""EPE-NAS, Zen-score, ZiCo, MeCo and SWAP (proxies/zoo_other.py, protocols §G.10–G.14).

Each formula is checked against a computation written here without the module's helpers (numpy on
hand-made or captured tensors of toy networks), plus the code-vs-paper switches, sign and scale,
degenerate (dead) cells and the settings rules. Tiny networks (C=4, N=1) and 8 px synthetic images.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from golden.tiny import TEST_CELLS, tiny_images, tiny_settings
from torch import nn

from zcbench import cli
from zcbench.proxies import zoo_other as zoo
from zcbench.proxies.registry import REGISTRY
from zcbench.spaces.errors import SettingsError
from zcbench.spaces.images import synthetic_imageset

NAMES = ("epe_nas", "zen", "zico", "meco", "swap")
CONV, MIXED, DEAD = (TEST_CELLS["nb201"][c] for c in ("conv", "mixed", "dead"))


@pytest.fixture(scope="module")
def images():
    return tiny_images()


def tiny_score(name, cell, images, preset="code", seed=0, **overrides):
    spec = REGISTRY.get(name)
    settings, _ = tiny_settings(spec, preset)
    return spec.score(cell, data=images, settings=dataclasses.replace(settings, **overrides), seed=seed)


# ---------------------------------------------------------------------------------------------
# Metadata: sign, cost, data needs, spaces

@pytest.mark.parametrize("name", NAMES)
def test_registered_higher_is_better_on_both_spaces(name):
    spec = REGISTRY.get(name)
    assert spec.higher_is_better is True
    assert spec.spaces == ("nb201", "nb101")
    assert {"code", "nb101"} <= set(spec.presets)


def test_zen_is_data_free_and_the_others_need_images():
    assert REGISTRY.get("zen").needs == ()
    for name in ("epe_nas", "zico", "meco", "swap"):
        assert "images" in REGISTRY.get(name).needs


def test_zen_scores_without_any_images():
    spec = REGISTRY.get("zen")
    settings, _ = tiny_settings(spec, "code")
    result = spec.score(CONV, data=None, settings=settings, seed=0)
    assert result.ok and result.diagnostics["input_size"] == 32  # CIFAR resolution when no images are given


# ---------------------------------------------------------------------------------------------
# EPE-NAS

def numpy_epe(jacobian, labels, rule, k=1e-5):
    classes = sorted(set(labels.tolist()))
    s, n = {}, {}
    for c in classes:
        rows = jacobian[labels == c]
        corr = np.atleast_2d(np.corrcoef(rows))
        s[c], n[c] = np.log(np.abs(corr) + k).sum(), len(rows)
    if rule == "sum":
        return sum(abs(v) for v in s.values())
    used = [c for c in classes if n[c] >= 2]  # the references skip a one-sample class (§G.10)
    return sum(abs(s[a] / n[a] - s[b] / n[b]) for a in used for b in used) / len(used)


@pytest.mark.parametrize("rule", ["sum", "pairwise"])
def test_epe_formula_matches_numpy_corrcoef(rule):
    rng = np.random.default_rng(0)
    jacobian = rng.normal(size=(12, 30))
    labels = np.array([0, 1, 2, 0, 1, 0, 3, 1, 2, 0, 1, 2])  # class 3 has a single sample: ρ = [[1]]
    result = zoo.epe_nas_value(jacobian, labels, head_classes=10, class_rule=rule)
    assert result.ok and result.value == pytest.approx(numpy_epe(jacobian, labels, rule), rel=1e-12)
    assert result.diagnostics["classes_seen"] == 4


def test_epe_rule_by_head_switches_at_100_classes():
    jacobian = np.random.default_rng(1).normal(size=(8, 5))
    labels = np.arange(8) % 3
    assert zoo.epe_nas_value(jacobian, labels, 100, "by_head").diagnostics["rule"] == "sum"
    assert zoo.epe_nas_value(jacobian, labels, 120, "by_head").diagnostics["rule"] == "pairwise"


def test_epe_constant_jacobian_row_is_recorded_as_nan():
    jacobian = np.ones((4, 6))
    result = zoo.epe_nas_value(jacobian, np.array([0, 0, 1, 1]), 10, "sum")
    assert result.status == "nan" and math.isnan(result.value) and result.diagnostics["nan_classes"] == 2


def test_epe_code_and_paper_differ_only_for_more_than_100_classes():
    many = synthetic_imageset(n=64, size=8, num_classes=120, seed=0)
    spec = REGISTRY.get("epe_nas")
    code, _ = tiny_settings(spec, "code")
    paper, _ = tiny_settings(spec, "paper")
    ten = [spec.score(CONV, data=tiny_images(), settings=s, seed=0).value for s in (code, paper)]
    assert ten[0] == ten[1]
    code_r, paper_r = (spec.score(CONV, data=many, settings=s, seed=0, dataset="imagenet16") for s in (code, paper))
    assert (code_r.diagnostics["rule"], paper_r.diagnostics["rule"]) == ("sum", "pairwise")
    assert code_r.value != paper_r.value


def test_epe_dead_cell_has_zero_jacobian_and_nan(images):
    result = tiny_score("epe_nas", DEAD, images)
    assert result.status == "nan" and result.dead_cell
    assert result.diagnostics["zero_jacobian_rows"] == result.diagnostics["batch_size"]


# ---------------------------------------------------------------------------------------------
# Zen-score

class ToyPlain(nn.Module):
    """conv → BN → ReLU → conv → BN (no global_pooling attribute: the feature map is `cells`' output)."""

    def __init__(self):
        super().__init__()
        self.cells = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, bias=False), nn.BatchNorm2d(5), nn.ReLU(),
                                   nn.Conv2d(5, 4, 1, bias=False), nn.BatchNorm2d(4))

    def forward(self, x):
        return self.cells(x).mean(dim=(2, 3))


@pytest.mark.parametrize("norm,bn_variance", [("l1", "running_var"), ("frobenius", "batch_var")])
def test_zen_repeat_matches_a_hand_computation(norm, bn_variance):
    torch.manual_seed(0)
    net = zoo.gaussian_init(ToyPlain()).train()
    x, noise = torch.randn(6, 3, 5, 5), torch.randn(6, 3, 5, 5)
    settings = zoo.ZenSettings(norm=norm, bn_variance=bn_variance)
    reference = ToyPlain()
    reference.load_state_dict(net.state_dict())
    got = zoo.zen_repeat(net, x, noise, settings)

    # by hand: the BN inputs and outputs of both passes, numpy
    bn_inputs = []
    hooks = [m.register_forward_pre_hook(lambda _m, i: bn_inputs.append(i[0].detach().double().numpy()))
             for m in reference.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        clean = reference.cells(x).double().numpy()
        first = list(bn_inputs)
        perturbed = reference.cells(x + 0.01 * noise).double().numpy()
    for h in hooks:
        h.remove()
    diff = (clean - perturbed).reshape(6, -1)
    delta = np.abs(diff).sum(1).mean() if norm == "l1" else np.sqrt((diff ** 2).sum(1)).mean()
    if bn_variance == "running_var":  # momentum 0.1 from 1, unbiased batch variance, two train forwards
        second = bn_inputs[len(first):]
        def var(a):
            return a.transpose(1, 0, 2, 3).reshape(a.shape[1], -1).var(axis=1, ddof=1)
        variances = [0.81 + 0.09 * var(a) + 0.1 * var(b) for a, b in zip(first, second)]
    else:
        variances = [a.transpose(1, 0, 2, 3).reshape(a.shape[1], -1).var(axis=1) for a in first]
    expected = np.log(delta) + sum(np.log(np.sqrt(v.mean())) for v in variances)
    assert got["value"] == pytest.approx(expected, rel=1e-5)
    assert got["bn_layers"] == 2


def test_gaussian_init_draws_unit_normal_weights_and_resets_bn():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.Linear(64, 64))
    with torch.no_grad():
        net[1].weight.fill_(3.0)
    zoo.gaussian_init(net)
    weights = torch.cat([net[0].weight.flatten(), net[2].weight.flatten()]).detach()
    assert abs(float(weights.std()) - 1.0) < 0.05 and abs(float(weights.mean())) < 0.05
    assert torch.all(net[1].weight == 1) and torch.all(net[1].bias == 0) and torch.all(net[2].bias == 0)


def test_zen_dead_cell_is_minus_inf_not_replaced(images):
    result = tiny_score("zen", DEAD, images)
    assert result.status == "-inf" and result.value == -math.inf and result.dead_cell


def test_zen_code_and_paper_presets_differ(images):
    code, paper = (tiny_score("zen", CONV, images, preset=p).value for p in ("code", "paper"))
    assert math.isfinite(code) and math.isfinite(paper) and code != paper


@pytest.mark.parametrize("size", ["0", "-8", "auto"])
def test_zen_input_size_must_be_positive_or_dataset(size):
    with pytest.raises(SettingsError, match="input_size"):
        REGISTRY.get("zen").settings("code", input_size=size)


# ---------------------------------------------------------------------------------------------
# ZiCo

def test_zico_formula_on_hand_made_gradients():
    gradients = {"a": np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]]),  # std [1, 0, 0], mean|g| [2, 2, 0]
                 "b": np.array([[5.0, -5.0], [5.0, -5.0]]),  # std 0 everywhere: skipped
                 "c": np.array([[1.0, -1.0], [-1.0, 1.0]])}  # std 1, mean|g| 1 → Σ = 2
    value, diagnostics = zoo.zico_from_gradients(gradients)
    assert value == pytest.approx(math.log(2.0) + math.log(2.0), rel=1e-15)
    assert diagnostics == {"layers": 2, "skipped_layers": 1}


@pytest.mark.parametrize("accumulate", [True, False])
def test_zico_recorded_gradients_follow_the_accumulation_rule(accumulate):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = net

        def forward(self, x):
            return zoo.NetOutput(self.body(x), x)

    model = Wrap()
    batches = [(torch.randn(4, 3, 2, 2), torch.tensor([0, 1, 2, 0])) for _ in range(3)]
    recorded = zoo.recorded_gradients(model, batches, accumulate)["body.1"]
    single = []
    for x, y in batches:  # each batch alone, numpy gradient of the mean CE of a linear layer
        logits = (x.flatten(1) @ net[1].weight.T + net[1].bias).detach().double().numpy()
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(y)), y.numpy()] -= 1
        single.append((p.T @ x.flatten(1).double().numpy() / len(y)).ravel())
    expected = np.cumsum(single, axis=0) if accumulate else np.stack(single)
    np.testing.assert_allclose(recorded, expected, rtol=1e-5, atol=1e-7)


def test_zico_code_accumulates_and_paper_does_not(images):
    code, paper = (tiny_score("zico", CONV, images, preset=p) for p in ("code", "paper"))
    assert code.ok and paper.ok and code.value != paper.value


def test_zico_dead_cell_has_no_gradient_variation(images):
    result = tiny_score("zico", DEAD, images)
    assert result.ok and result.value == 0.0 and result.diagnostics["layers"] == 0 and result.dead_cell


def test_zico_needs_two_batches():
    with pytest.raises(SettingsError, match="batches"):
        REGISTRY.get("zico").settings("code", batches=1)


# ---------------------------------------------------------------------------------------------
# MeCo

def test_min_correlation_eigenvalue_matches_numpy():
    rows = torch.randn(6, 20, generator=torch.Generator().manual_seed(0))
    expected = np.min(np.real(np.linalg.eigvals(np.corrcoef(rows.double().numpy()))))
    assert zoo.min_correlation_eigenvalue(rows) == pytest.approx(expected, rel=1e-10)


def test_min_correlation_eigenvalue_extremes():
    identical = torch.arange(10.0).repeat(3, 1)  # ρ = all ones: eigenvalues 3, 0, 0
    assert abs(zoo.min_correlation_eigenvalue(identical)) < 1e-12
    constant = torch.ones(4, 9)  # ρ undefined → set to 0 (authors' rule) → λ_min = 0
    assert zoo.min_correlation_eigenvalue(constant) == 0.0
    orthogonal = torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])  # ρ = I
    assert zoo.min_correlation_eigenvalue(orthogonal) == pytest.approx(1.0)


class ToyNoBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(4, 2)

    def forward(self, x):
        f = self.relu(self.conv(x))
        return zoo.NetOutput(self.classifier(f.mean(dim=(2, 3))), f)


def test_meco_terms_use_only_the_first_sample_and_every_module():
    torch.manual_seed(0)
    net = ToyNoBN().eval()
    x = torch.randn(3, 3, 5, 5)
    y = x.clone()
    y[1:] = torch.randn(2, 3, 5, 5)
    settings = zoo.MecoSettings()
    terms = zoo.meco_terms(net, x, settings, np.random.default_rng(0))["terms"]
    assert terms == zoo.meco_terms(net, y, settings, np.random.default_rng(0))["terms"]
    with torch.no_grad():
        conv = net.conv(x)[0].reshape(4, -1).double().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected_conv = np.min(np.linalg.eigvalsh(np.corrcoef(conv)))
    # calls: conv, relu, classifier (one value per output column of sample 0 → ρ undefined → 0), root (logits)
    assert len(terms) == 4 and terms[0] == pytest.approx(expected_conv, rel=1e-10)
    assert terms[2] == 0.0 and terms[3] == 0.0


def test_meco_opt_samples_eight_channels_and_rescales():
    torch.manual_seed(0)
    rows = torch.randn(16, 30)

    class One(nn.Module):
        def forward(self, x):
            return x

    settings = zoo.MecoSettings(channel_sample=8)
    terms = zoo.meco_terms(One(), rows[None], settings, np.random.default_rng(5))["terms"]
    chosen = np.random.default_rng(5).choice(16, size=8, replace=False)
    expected = 2.0 * np.min(np.linalg.eigvalsh(np.corrcoef(rows.double().numpy()[chosen])))
    assert terms == [pytest.approx(expected, rel=1e-10)]


def test_meco_dead_cell_is_finite(images):
    result = tiny_score("meco", DEAD, images)
    assert result.ok and math.isfinite(result.value) and result.dead_cell


# ---------------------------------------------------------------------------------------------
# SWAP

def test_swap_cardinality_counts_distinct_neuron_columns():
    patterns = torch.tensor([[1.0, 1.0, 0.0, 0.0, 1.0],
                             [0.0, 0.0, 1.0, 0.0, 1.0]])  # columns (1,0) (1,0) (0,1) (0,0) (1,1)
    assert zoo.swap_cardinality(patterns) == 4


def test_swap_patterns_against_numpy_on_a_toy_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(36, 5), nn.ReLU())
    x = torch.randn(6, 3, 5, 5)
    patterns = zoo.relu_sign_patterns(net, x)  # only the ReLU on a 4-D input counts
    with torch.no_grad():
        codes = (net[1](net[0](x)).reshape(6, -1).numpy() > 0)
    assert patterns.shape == (6, 36)
    assert zoo.swap_cardinality(patterns) == len({codes[:, j].tobytes() for j in range(36)})
    assert zoo.swap_cardinality(patterns) <= min(2 ** 6, 36)


def test_swap_regulariser_is_a_gaussian_in_thousands_of_parameters():
    assert zoo.swap_regulariser(5000, 5.0, 2.0) == 1.0
    assert zoo.swap_regulariser(7000, 5.0, 2.0) == pytest.approx(math.exp(-2.0))


def test_swap_regularised_value_is_plain_times_factor(images):
    plain = tiny_score("swap", CONV, images)
    params_k = plain.diagnostics["params"] / 1e3
    regular = tiny_score("swap", CONV, images, reg_mu_k=params_k + 1.0, reg_sigma=4.0)
    assert regular.value == pytest.approx(plain.value * math.exp(-1.0 / 4.0), rel=1e-12)


def test_swap_regularisation_needs_both_parameters():
    with pytest.raises(SettingsError, match="both"):
        REGISTRY.get("swap").settings("code", reg_mu_k=10.0)


def test_swap_dead_cell_has_one_pattern(images):
    result = tiny_score("swap", DEAD, images)
    assert result.ok and result.value == 1.0 and result.dead_cell


def test_swap_conv_cell_beats_dead_cell(images):
    assert tiny_score("swap", CONV, images).value > tiny_score("swap", DEAD, images).value


# ---------------------------------------------------------------------------------------------
# The command line

@pytest.mark.parametrize("name", NAMES)
def test_cli_scores_each_proxy(name, capsys):
    code = cli.main(["score", "--json", "--arch", MIXED, "--proxy", name, "--images", "synthetic",
                     "--set", "channels=4", "--set", "cells=1", "--set", "batch_size=4"]
                    + (["--set", "repeats=1"] if name in ("zen", "swap") else []))
    assert code == 0
    assert f'"{name}"' in capsys.readouterr().out


def test_epe_nas_pairwise_rule_skips_one_sample_classes_as_the_references_do():
    """NASLib/EPE-NAS: a one-sample class makes the per-class step raise and is skipped; none left → NaN."""
    from zcbench.proxies.zoo_other import class_correlation_scores, epe_nas_value

    rng = np.random.default_rng(0)
    jacobian = rng.normal(size=(7, 12))
    labels = np.array([0, 0, 0, 1, 1, 2, 3])  # classes 2 and 3 have one sample each
    scores, sizes = class_correlation_scores(jacobian, labels)
    kept = np.array([scores[c] / sizes[c] for c in (0, 1)])
    expected = np.abs(kept[:, None] - kept[None, :]).sum() / 2
    result = epe_nas_value(jacobian, labels, head_classes=120, class_rule="by_head")
    assert result.value == pytest.approx(expected) and result.diagnostics["single_sample_classes"] == 2
    alone = epe_nas_value(jacobian[:3], np.array([0, 1, 2]), head_classes=120, class_rule="pairwise")
    assert math.isnan(alone.value) and alone.status == "nan"
