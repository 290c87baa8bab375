"""NB201 network builders: parameter counts, FLOPs, output contract, thin net and supernet."""
import random

import pytest
import torch

from zcbench.spaces import nb201
from zcbench.spaces.catalog import DATASET_CLASSES, get_space
from zcbench.spaces.flops import count_flops, nb201_flop_coefficients, nb201_flops
from zcbench.spaces.nb201_networks import (
    NetOutput,
    arch_mask,
    build_network,
    build_supernet,
    build_thin_network,
    supernet_mask,
)


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def one_arch_per_op_count():
    """One cell for every (n3, n1, n_pool, n_skip) composition: covers all 28 parameter values."""
    seen = {}
    for arch in nb201.all_archs():
        key = tuple(arch.count(op) for op in nb201.OPS)
        seen.setdefault(key, arch)
    return list(seen.values())


@pytest.mark.parametrize("dataset", sorted(DATASET_CLASSES))
def test_builder_params_equal_closed_form(dataset):
    space, classes = get_space("nb201"), DATASET_CLASSES[dataset]
    archs = one_arch_per_op_count()
    assert len({(a.n_conv3x3, a.n_conv1x1) for a in archs}) == 28
    for arch in archs[:: 3 if dataset != "cifar10" else 1]:
        assert n_params(build_network(arch, num_classes=classes)) == space.param_count(arch, classes), str(arch)


def test_closed_form_cifar10_constants():
    arch = nb201.parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|")
    assert get_space("nb201").param_count(arch) == 73_306 + 243_040 + 28_000


def test_forward_returns_named_logits_and_features():
    net = build_network(nb201.index_to_arch(6111), channels=4, cells_per_stage=1, num_classes=7)
    out = net(torch.randn(3, 3, 16, 16))
    assert isinstance(out, NetOutput)
    assert out.logits.shape == (3, 7) and out.features.shape == (3, 16)
    assert out[0] is out.logits  # documented order: (logits, features)


def test_thin_network_has_no_stem_and_one_cell():
    net = build_thin_network(nb201.index_to_arch(0))
    assert net.stem is None and len(net.cells) == 1
    assert net(torch.randn(5, 1, 3, 3)).logits.shape == (5, 10)


def test_supernet_single_path_mask_equals_fixed_cell():
    """With one op switched on per edge the supernet computes the fixed cell (same weights copied)."""
    arch = nb201.index_to_arch(1234)
    torch.manual_seed(0)
    supernet = build_supernet(arch_mask(arch), channels=4, cells_per_stage=1)
    fixed = build_network(arch, channels=4, cells_per_stage=1)
    # copy the chosen op's weights of every supernet edge into the fixed network
    state = {}
    for name, tensor in supernet.state_dict().items():
        parts = name.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            edge, op = int(parts[3]), int(parts[5])
            if nb201.OPS[op] != arch.ops[edge]:
                continue
            name = ".".join(parts[:4] + parts[6:])
        elif parts[0] in ("op_mask", "arch_parameters"):
            continue
        state[name] = tensor
    fixed.load_state_dict(state)
    x = torch.randn(2, 3, 8, 8)
    supernet.eval(), fixed.eval()
    assert torch.allclose(supernet(x).logits, fixed(x).logits, atol=1e-5)


def test_supernet_never_runs_masked_ops():
    net = build_supernet(supernet_mask(excluded=("none", "nor_conv_3x3")), channels=3)
    called = []
    for cell in net.cells:
        if hasattr(cell, "edges"):
            for edge in cell.edges:
                edge.ops[nb201.OPS.index("nor_conv_3x3")].register_forward_hook(lambda *a: called.append(1))
    net(torch.randn(2, 3, 8, 8))
    assert not called


def test_supernet_rejects_bad_masks():
    with pytest.raises(ValueError, match="6×5"):
        build_supernet(torch.ones(5, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="≥1 op per edge"):
        build_supernet(torch.zeros(6, 5, dtype=torch.bool))


def test_flops_closed_form_matches_hook_count():
    for arch in random.Random(3).sample(nb201.all_archs(), 6):
        net = build_network(arch, num_classes=100)
        assert nb201_flops(arch, 32, 100) == pytest.approx(count_flops(net, (3, 32, 32)), rel=1e-12)


def test_flops_match_xautodl_reference_counter():
    """Independent check of the FLOP convention against the NB201 authors' counter (test-only dep)."""
    flop_benchmark = pytest.importorskip("xautodl.utils.flop_benchmark")
    for index in (0, 6111, 3):
        arch = nb201.index_to_arch(index)
        expected, _ = flop_benchmark.get_model_infos(build_network(arch), (1, 3, 32, 32))
        assert nb201_flops(arch) == pytest.approx(expected, rel=1e-9)


def test_pool_and_skip_add_no_flops():
    coef = nb201_flop_coefficients(16, 120)
    assert coef["none"] == coef["skip_connect"] == coef["avg_pool_3x3"] == 0
    assert coef["nor_conv_3x3"] > coef["nor_conv_1x1"] > 0
