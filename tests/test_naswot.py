"""NASWOT v2 (ReLU-code logdet, "LR2") and v1 (Jacobian covariance), protocols §A3, §F.6."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from zcbench.proxies import naswot
from zcbench.proxies.registry import REGISTRY, EvalContext
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.nb201 import parse_arch
from zcbench.spaces.nb201_networks import ReLUConvBN, build_network

CONV_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED_CELL = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
DEAD_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
B = 16


@pytest.fixture(scope="module")
def data():
    return synthetic_imageset(n=48, size=8, num_classes=10, seed=1)


def tiny_net(cell=CONV_CELL, seed=0):
    torch.manual_seed(seed)
    return build_network(parse_arch(cell), channels=4, cells_per_stage=1, num_classes=1).train()


def batch(data, n=B, seed=0):
    return data.batch(n, np.random.default_rng(seed))[0]


def numpy_hamming_kernel(network, images, keep) -> tuple[np.ndarray, int]:
    """Reference K = Σ_layers (units − Hamming distance) from ReLU inputs captured by plain hooks."""
    codes = []
    handles = [m.register_forward_hook(lambda mod, inp, out: codes.append((inp[0].flatten(1) > 0).numpy()))
               for m in network.modules() if keep(m)]
    with torch.no_grad():
        network(images)
    for h in handles:
        h.remove()
    K = sum(c.shape[1] * (1.0 - cdist(c, c, metric="hamming")) for c in codes)
    return np.rint(K), sum(c.shape[1] for c in codes)


# --- the kernel ---------------------------------------------------------------------------------

@pytest.mark.parametrize("selection", naswot.RELU_SELECTIONS)
@pytest.mark.parametrize("cell", [CONV_CELL, MIXED_CELL, DEAD_CELL], ids=["conv", "mixed", "dead"])
def test_backward_armed_kernel_equals_single_forward_kernel(data, selection, cell):
    x = batch(data)
    armed = naswot.relu_code_kernel(tiny_net(cell), x, "backward_armed", selection=selection)
    single = naswot.relu_code_kernel(tiny_net(cell), x, "single_forward", selection=selection)
    assert torch.equal(armed[0], single[0]) and armed[1:] == single[1:]


@pytest.mark.parametrize("cell", [CONV_CELL, MIXED_CELL], ids=["conv", "mixed"])
def test_kernel_matches_numpy_hamming_reference(data, cell):
    net, x = tiny_net(cell), batch(data)
    K, units, _ = naswot.relu_code_kernel(net, x, selection="torch_relu")
    reference, reference_units = numpy_hamming_kernel(net, x, lambda m: isinstance(m, torch.nn.ReLU))
    assert units == reference_units
    np.testing.assert_array_equal(K.numpy(), reference)


def test_authors_class_name_rule_counts_every_conv_op_input_twice(data):
    """'ReLU' in the class name also matches the ReLUConvBN op wrappers (AutoDL's name), whose input
    is their inner ReLU's input: K_code = K_paper + K over the conv ops' inputs."""
    net, x = tiny_net(), batch(data)
    code_K, code_units, code_layers = naswot.relu_code_kernel(net, x, selection="class_name")
    paper_K, paper_units, paper_layers = naswot.relu_code_kernel(net, x, selection="torch_relu")
    conv_K, conv_units = numpy_hamming_kernel(net, x, lambda m: isinstance(m, ReLUConvBN))
    np.testing.assert_array_equal(code_K.numpy(), paper_K.numpy() + conv_K)
    assert code_units == paper_units + conv_units
    # CONV_CELL has 5 conv ops × 3 cells; 2 reduction blocks × 2 ReLUConvBN; 1 final ReLU
    assert (paper_layers, code_layers) == (15 + 4 + 1, 2 * (15 + 4) + 1)


@pytest.mark.parametrize("selection", naswot.RELU_SELECTIONS)
@pytest.mark.parametrize("cell", [CONV_CELL, MIXED_CELL], ids=["conv", "mixed"])
def test_kernel_reusing_shared_inputs_equals_recomputing_every_input(data, selection, cell):
    net, x = tiny_net(cell), batch(data)
    reused = naswot.relu_code_kernel(net, x, "single_forward", selection=selection)
    recomputed = naswot.relu_code_kernel(net, x, "single_forward", selection=selection, recent_inputs=0)
    assert torch.equal(reused[0], recomputed[0]) and reused[1:] == recomputed[1:]


def test_kernel_reuses_an_input_only_while_it_is_unchanged():
    relu_input = torch.randn(6, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    kernel = naswot._CodeKernel()
    kernel.add(relu_input)
    kernel.add(relu_input)
    assert kernel.recomputed == 1 and kernel.layers == 2
    first_K = kernel.K.clone()
    relu_input.neg_()  # in place: same tensor object, new codes
    kernel.add(relu_input)
    assert kernel.recomputed == 2
    fresh = naswot._CodeKernel(recent_inputs=0)
    fresh.add(relu_input)
    torch.testing.assert_close(kernel.K, first_K + fresh.K, rtol=0, atol=0)


@pytest.mark.parametrize("selection", naswot.RELU_SELECTIONS)
def test_kernel_is_symmetric_psd_with_units_on_the_diagonal(data, selection):
    K, units, _ = naswot.relu_code_kernel(tiny_net(MIXED_CELL), batch(data), selection=selection)
    assert torch.equal(K, K.T)
    assert torch.all(K.diagonal() == units) and torch.all(K <= units) and torch.all(K >= 0)
    assert torch.linalg.eigvalsh(K)[0] > -1e-9 * units * B


def test_score_is_numpy_slogdet_of_the_kernel(data):
    net, x = tiny_net(), batch(data)
    K, _, _ = naswot.relu_code_kernel(net, x)
    sign, logabsdet = np.linalg.slogdet(K.numpy())
    result = naswot.naswot_logdet(net, x)
    assert result.ok and sign == 1.0
    assert result.value == pytest.approx(logabsdet, rel=1e-12)


def test_dead_cell_has_identical_codes_and_a_singular_kernel(data):
    """All-`none` cells: the units after them see constant inputs, every sample has the same code."""
    result = naswot.naswot_logdet(tiny_net(DEAD_CELL), batch(data))
    assert result.status == "singular" and result.value == -math.inf
    assert result.diagnostics["identical_code_pairs"] == B * (B - 1) // 2


def test_duplicated_image_makes_the_kernel_singular(data):
    x = batch(data)
    x[3] = x[7]
    result = naswot.naswot_logdet(tiny_net(), x)
    assert result.status == "singular" and result.diagnostics["identical_code_pairs"] >= 1


# --- the registered v2 proxy ----------------------------------------------------------------------

def test_registered_score_is_the_pure_function_on_the_seeded_network_and_batch(data):
    """Wiring: torch seeded with the run seed builds the C×N net with ONE output in train mode, and
    the un-augmented batch comes from the seed's 'data' stream."""
    spec, seed = REGISTRY.get("naswot"), 7
    result = spec.score(CONV_CELL, data=data, setting="code", seed=seed, channels=4, cells=1, batch_size=B)
    space = get_space("nb201")
    ctx = EvalContext(space, space.arch(CONV_CELL), data, "cifar10", seed, torch.device("cpu"))
    x = data.batch(B, ctx.rng("data"), augment=False)[0]
    with torch.random.fork_rng():
        net = tiny_net(seed=seed)
    assert net.classifier.out_features == 1
    assert result.value == naswot.naswot_logdet(net, x).value


def test_every_architecture_sees_the_same_batch_for_a_seed(data, monkeypatch):
    seen = []
    original = naswot.naswot_logdet
    monkeypatch.setattr(naswot, "naswot_logdet", lambda net, x, *a: seen.append(x) or original(net, x, *a))
    for cell in (CONV_CELL, MIXED_CELL):
        REGISTRY.get("naswot").score(cell, data=data, seed=3, channels=4, cells=1, batch_size=B)
    assert len(seen) == 2 and torch.equal(seen[0], seen[1])


def test_same_seed_is_bit_identical_and_another_seed_differs(data):
    spec = REGISTRY.get("naswot")
    runs = [spec.score(MIXED_CELL, data=data, seed=s, channels=4, cells=1, batch_size=B).value for s in (1, 1, 2)]
    assert runs[0] == runs[1] != runs[2]


def test_naslib_preset_equals_paper_preset(data):
    spec = REGISTRY.get("naswot")
    values = {p: spec.score(CONV_CELL, data=data, setting=p, seed=0, channels=4, cells=1, batch_size=B).value
              for p in ("code", "paper", "naslib")}
    assert values["naslib"] == values["paper"] != values["code"]


def test_presets_differ_only_where_protocols_says():
    spec = REGISTRY.get("naswot")
    code, paper = spec.settings("code"), spec.settings("paper")
    assert {f.name for f in dataclasses.fields(code) if getattr(code, f.name) != getattr(paper, f.name)} \
        == {"relu_selection"}
    assert (code.batch_size, code.augment, code.train_mode, code.num_classes, code.init, code.repeats) \
        == (128, False, True, 1, "pytorch_default", 1)
    assert (code.method, code.relu_selection) == ("backward_armed", "class_name")
    assert spec.higher_is_better and "LR2" in spec.summary
    assert "lr2" not in REGISTRY  # one entry per quantity


# --- v1: Jacobian covariance -------------------------------------------------------------------------

def numpy_v1_score(jacobian: np.ndarray, k: float = 1e-5) -> float:
    v = np.linalg.eigvalsh(np.corrcoef(jacobian))
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def test_v1_score_matches_numpy_corrcoef_eigenvalues(data):
    net, x = tiny_net().eval(), batch(data)
    J = naswot.input_jacobian(net, x)
    result = naswot.naswot_jacobian_cov(net, x)
    assert result.ok and result.value == pytest.approx(numpy_v1_score(J.double().numpy()), rel=1e-9)


def test_v1_eval_mode_jacobian_rows_are_independent_per_sample_jacobians(data):
    net, x = tiny_net().eval(), batch(data, n=4)
    rows = []
    for n in range(4):
        xn = x[n:n + 1].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(xn).logits.sum(), xn)
        rows.append(grad.flatten())
    torch.testing.assert_close(naswot.input_jacobian(net, x), torch.stack(rows))


def test_v1_dead_cell_is_nan_not_ok(data):
    result = naswot.naswot_jacobian_cov(tiny_net(DEAD_CELL).eval(), batch(data))
    assert result.status == "nan" and result.diagnostics["constant_rows"] == B


def test_v1_registered_settings_follow_the_v1_code():
    spec = REGISTRY.get("naswot_v1")
    s = spec.settings("code")
    assert (s.batch_size, s.augment, s.train_mode, s.num_classes, s.k) == (256, True, False, 1, 1e-5)
    result = spec.score(MIXED_CELL, data=synthetic_imageset(n=32, size=8, seed=0), seed=0, channels=4, cells=1,
                        batch_size=B)
    assert result.ok and math.isfinite(result.value)


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="relu_selection"):
        naswot.NaswotSettings(relu_selection="all")


def test_full_size_c16_n5_cell_on_cpu():
    images = synthetic_imageset(n=32, size=32, num_classes=10, seed=2)
    result = REGISTRY.get("naswot").score(CONV_CELL, data=images, setting="code", seed=0, batch_size=16)
    assert result.ok and math.isfinite(result.value)
    # 32×32 inputs: conv-op inputs are counted twice by the authors' rule
    assert result.diagnostics["n_units"] > 16 * 32 * 32 * 15
