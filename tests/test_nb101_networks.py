"""NB101 network builder: parameter counts against the official records, FLOPs against NASLib, wiring."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zcbench.spaces import nb101
from zcbench.spaces.catalog import get_space
from zcbench.spaces.flops import count_flops
from zcbench.spaces.nb101_networks import (
    BN_MOMENTUM,
    NB101Cell,
    build_network,
    count_parameters,
    naswot_init,
    vertex_channels,
)
from zcbench.spaces.nb101_networks import count_flops as nb101_count_flops
from zcbench.spaces.nb201_networks import NetOutput

C3, C1, MP = nb101.OPS


def numel_on_meta(arch, **kwargs) -> int:
    """Parameter count of the built network without allocating or initialising its weights."""
    with torch.device("meta"):
        network = build_network(arch, init="pytorch_default", **kwargs)
    return sum(p.numel() for p in network.parameters() if p.requires_grad)


def test_parameter_count_equals_official_trainable_parameters(shared_data):
    records = json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())
    for record in records:
        arch = nb101.make_arch(record["module_adjacency"], record["module_operations"])
        assert numel_on_meta(arch) == record["trainable_parameters"], record["module_hash"]
        assert count_parameters(arch) == record["trainable_parameters"]
        assert get_space("nb101").param_count(arch) == record["trainable_parameters"]


@pytest.mark.parametrize("input_size", [32, 31])
def test_counted_flops_equal_the_forward_hooks_on_the_built_network(shared_data, input_size):
    records = json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())
    for record in records[:3]:
        arch = nb101.make_arch(record["module_adjacency"], record["module_operations"])
        built = count_flops(build_network(arch, init="pytorch_default"), (3, input_size, input_size))
        assert nb101_count_flops(arch, input_size=input_size) == pytest.approx(built, rel=1e-12)


@pytest.fixture(scope="module")
def sample500(shared_data):
    return pd.read_csv(shared_data / "nb101" / "nb101_sample500.csv", dtype={"adjacency": str})


def test_sample500_params_equal_naslib_exactly(sample500):
    """NASLib's PyTorch NB101 model prunes the spec and has the TF layer set (bias-free convs, BN γ/β,
    biased dense), so its counts equal ours for all 500 cells: measured difference 0 (max |Δ| = 0).
    The "few parameters per cell" discrepancy of other PyTorch ports does not appear in this sample."""
    ours = [count_parameters(nb101.make_arch(b, o)) for b, o in zip(sample500["adjacency"], sample500["operations"])]
    assert ours == [round(p * 1e6) for p in sample500["params_m"]]


def torchstat_extra_mflops(network, input_shape) -> float:
    """What NASLib's counter (tensorwatch/torchstat) adds to our conv+linear FLOPs: 2 per BN output element
    (affine), 1 per ReLU output element, k² per max-pool output element; minus the dense bias, which it
    leaves out (Linear = in·out)."""
    extra = [0.0]

    def hook(module, _inputs, output):
        if isinstance(module, nn.BatchNorm2d):
            extra[0] += 2 * output.numel()
        elif isinstance(module, nn.ReLU):
            extra[0] += output.numel()
        elif isinstance(module, nn.MaxPool2d):
            extra[0] += module.kernel_size ** 2 * output.numel()
        elif isinstance(module, nn.Linear):
            extra[0] -= module.out_features

    handles = [m.register_forward_hook(hook) for m in network.modules()]
    with torch.no_grad():
        network.eval()(torch.zeros(1, *input_shape))
    for handle in handles:
        handle.remove()
    return extra[0] / 1e6


def check_flops_explained(sample500, rows):
    """NASLib flops_m = our conv+linear FLOPs (spaces.flops) + the BN/ReLU/max-pool terms − dense bias."""
    for row in rows:
        arch = nb101.make_arch(sample500["adjacency"][row], sample500["operations"][row])
        network = get_space("nb101").build(arch)
        ours = count_flops(network, (3, 32, 32))
        extra = torchstat_extra_mflops(network, (3, 32, 32))
        assert sample500["flops_m"][row] == pytest.approx(ours + extra, abs=1e-7), row
        assert extra > 0.001 * ours  # the explained difference is real, not rounding


def test_sample500_flops_differ_from_naslib_only_by_bn_relu_pool_terms(sample500):
    check_flops_explained(sample500, [5, 7])


@pytest.mark.slow
def test_all_sample500_flops_differences_are_explained(sample500):
    check_flops_explained(sample500, range(len(sample500)))


def test_count_parameters_equals_builder_for_random_cells_and_shapes():
    rng = np.random.default_rng(3)
    for k in range(25):
        arch = nb101.random_arch(rng)
        kwargs = {"stem_channels": (8, 16, 128)[k % 3], "num_classes": (1, 10, 100)[k % 3],
                  "modules_per_stack": 1 + k % 3, "num_stacks": 1 + k % 3}
        assert count_parameters(arch, **kwargs) == numel_on_meta(arch, **kwargs), str(arch)


def test_output_channels_are_split_evenly_remainder_first_and_others_take_successor_max():
    # 1, 2, 4 feed the output (128 → 43, 43, 42); 3 feeds only 4; 5 is absent
    matrix = [[0, 1, 0, 1, 0, 0],
              [0, 0, 1, 0, 0, 1],
              [0, 0, 0, 0, 0, 1],
              [0, 0, 0, 0, 1, 0],
              [0, 0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0, 0]]
    assert vertex_channels(matrix, 64, 128) == [64, 43, 43, 42, 42, 128]
    assert vertex_channels([[0, 1], [0, 0]], 64, 128) == [64, 128]


def test_cell_truncates_the_extra_channel_and_concatenates_feeders():
    # vertices 1, 2, 3 feed the output with 3, 3, 2 channels (c_out 8); 1 → 3 is truncated from 3 to 2
    matrix = [[0, 1, 1, 0, 0],
              [0, 0, 0, 1, 1],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0]]
    torch.manual_seed(0)
    cell = NB101Cell(matrix, ["input", C3, C1, MP, "output"], c_in=4, c_out=8).eval()
    assert cell.channels == [4, 3, 3, 2, 8]
    x = torch.randn(2, 4, 6, 6)
    v1 = cell.vertex_ops[0](cell.projections["1"](x))
    v2 = cell.vertex_ops[1](cell.projections["2"](x))
    v3 = nn.functional.max_pool2d(v1[:, :2], 3, stride=1, padding=1)
    torch.testing.assert_close(cell(x), torch.cat([v1, v2, v3], dim=1))


def test_input_to_output_edge_adds_a_projection_and_lone_edge_is_the_projection():
    torch.manual_seed(0)
    cell = NB101Cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"], c_in=3, c_out=5).eval()
    x = torch.randn(1, 3, 5, 5)
    torch.testing.assert_close(cell(x), cell.vertex_ops[0](cell.projections["1"](x)) + cell.projections["2"](x))
    lone = NB101Cell([[0, 1], [0, 0]], ["input", "output"], c_in=3, c_out=5).eval()
    torch.testing.assert_close(lone(x), lone.projections["1"](x))
    assert sum(p.numel() for p in lone.parameters()) == 3 * 5 + 2 * 5


def test_proxy_sized_network_returns_named_logits_and_features():
    arch = nb101.random_arch(np.random.default_rng(5))
    network = get_space("nb101").build(arch, channels=16, num_classes=1)
    out = network(torch.randn(2, 3, 8, 8))
    assert isinstance(out, NetOutput)
    assert out.logits.shape == (2, 1) and out.features.shape == (2, 64)


def test_layers_follow_tf_semantics():
    arch = nb101.make_arch("010001000", "input,conv3x3-bn-relu,output")
    network = build_network(arch, stem_channels=4)
    bns = [m for m in network.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(bn.momentum == pytest.approx(0.003) and bn.eps == 1e-5 and bn.affine for bn in bns)
    assert BN_MOMENTUM == pytest.approx(1 - 0.997)
    assert all(m.bias is None for m in network.modules() if isinstance(m, nn.Conv2d))
    assert network.classifier.bias is not None
    # TF 'same' 2×2/2 pooling rounds up: 9 → 5 → 3
    assert network.cells(network.stem(torch.zeros(1, 3, 9, 9))).shape[-2:] == (3, 3)


def test_naswot_init_draws_fan_out_he_convs_and_small_linear():
    arch = nb101.make_arch("010001000", "input,conv3x3-bn-relu,output")
    torch.manual_seed(0)
    network = build_network(arch, stem_channels=32, num_classes=100)
    conv = max((m for m in network.modules() if isinstance(m, nn.Conv2d)), key=lambda m: m.weight.numel())
    kh, kw = conv.kernel_size
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (kh * kw * conv.out_channels)), rel=0.05)
    assert network.classifier.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert (network.classifier.bias == 0).all()
    for bn in (m for m in network.modules() if isinstance(m, nn.BatchNorm2d)):
        assert (bn.weight == 1).all() and (bn.bias == 0).all()
    # pytorch_default leaves the (kaiming-uniform) constructor weights: a different spread
    default = build_network(arch, stem_channels=32, num_classes=100, init="pytorch_default")
    assert default.classifier.weight.std().item() > 0.02
    assert naswot_init(default).classifier.weight.std().item() == pytest.approx(0.01, rel=0.05)
