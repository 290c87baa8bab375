"""The exact CPU pooling fast paths (spaces/pooling.py) against torch's own kernels: the same bits in
the forward, the backward and the double backward of the average pool, under torch.func transforms,
and in the no-grad max pool; whole networks unchanged; the fallbacks where the fast path does not apply."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import jacrev

from zcbench.spaces import nb101_networks
from zcbench.spaces.nb101 import make_arch
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network
from zcbench.spaces.pooling import AvgPool3x3, MaxPool3x3, native_pooling


def native_avg(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def native_max(x):
    return F.max_pool2d(x, 3, 1, 1)


shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 9), st.integers(1, 9))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, dtype=st.sampled_from([torch.float32, torch.float64]), scale=st.sampled_from([1e-3, 1.0, 1e4]),
       seed=st.integers(0, 2 ** 16))
def test_average_pool_forward_and_backward_are_bit_identical(shape, dtype, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, dtype=dtype, generator=generator) * scale).requires_grad_(True)
    upstream = torch.randn(shape, dtype=dtype, generator=generator)
    fast = AvgPool3x3()(x)
    (fast_grad,) = torch.autograd.grad(fast, x, upstream)
    reference = native_avg(x)
    (reference_grad,) = torch.autograd.grad(reference, x, upstream)
    assert torch.equal(fast, reference) and torch.equal(fast_grad, reference_grad)


def test_average_pool_matches_at_the_network_sizes():
    """The tensors NB201 pools in C16 N5 at 32 px, where a different summation order would show."""
    generator = torch.Generator().manual_seed(0)
    for shape in [(64, 16, 32, 32), (64, 32, 16, 16), (64, 64, 8, 8)]:
        x = torch.randn(shape, generator=generator).requires_grad_(True)
        upstream = torch.randn(shape, generator=generator)
        pairs = [(AvgPool3x3()(x), native_avg(x))]
        pairs.append(tuple(torch.autograd.grad(out, x, upstream)[0] for out in (AvgPool3x3()(x), native_avg(x))))
        assert all(torch.equal(a, b) for a, b in pairs)


def test_average_pool_double_backward_is_bit_identical():
    """GraSP differentiates a gradient: the Hessian-vector product through the pool must not move."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64, generator=generator).requires_grad_(True)
    weight = torch.randn(3, 3, 3, 3, dtype=torch.float64, generator=generator).requires_grad_(True)
    vector = torch.randn(3, 3, 3, 3, dtype=torch.float64, generator=generator)

    def hessian_vector(pool):
        loss = (pool(F.conv2d(x, weight, padding=1)) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, weight, create_graph=True)
        return torch.autograd.grad((grad * vector).sum(), (weight, x))

    for fast, reference in zip(hessian_vector(AvgPool3x3()), hessian_vector(native_avg)):
        assert torch.equal(fast, reference)


def test_average_pool_under_jacrev_equals_the_native_jacobian():
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64)

    def summed(pool):
        return lambda t: pool(t).flatten(1).sum(1)

    assert torch.equal(jacrev(summed(AvgPool3x3()))(x), jacrev(summed(native_avg))(x))


def test_average_pool_forward_mode_derivative_is_bit_identical():
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    tangent = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    fast = torch.func.jvp(AvgPool3x3(), (x,), (tangent,))
    reference = torch.func.jvp(native_avg, (x,), (tangent,))
    assert all(torch.equal(a, b) for a, b in zip(fast, reference))


@pytest.mark.parametrize("special", [float("nan"), float("-inf"), float("inf")])
def test_max_pool_without_gradients_is_identical_including_non_finite_values(special):
    generator = torch.Generator().manual_seed(2)
    for shape in [(4, 16, 32, 32), (2, 3, 1, 1), (1, 2, 2, 7)]:
        x = torch.randn(shape, generator=generator)
        x.view(-1)[:: 7] = special
        x.view(-1)[1:: 5] = 0.0  # ties
        with torch.no_grad():
            assert torch.equal(MaxPool3x3()(x).isnan(), native_max(x).isnan())
            assert torch.equal(MaxPool3x3()(x).nan_to_num(), native_max(x).nan_to_num())


def test_max_pool_records_gradients_with_torch_kernel_so_ties_go_to_the_first_maximum():
    x = torch.zeros(1, 1, 3, 3, requires_grad=True)  # every window is a tie
    (fast_grad,) = torch.autograd.grad(MaxPool3x3()(x).sum(), x)
    (reference_grad,) = torch.autograd.grad(native_max(x).sum(), x)
    assert torch.equal(fast_grad, reference_grad)
    assert fast_grad.flatten().tolist().count(0.0) < 9  # the gradient is routed, not split evenly


def test_fallbacks_keep_torch_kernels():
    """channels_last, half precision and native_pooling() take torch's path (and agree, trivially)."""
    x = torch.randn(2, 4, 5, 5).contiguous(memory_format=torch.channels_last)
    assert torch.equal(AvgPool3x3()(x), native_avg(x))
    half = torch.randn(2, 4, 5, 5, dtype=torch.bfloat16)
    assert torch.equal(AvgPool3x3()(half), native_avg(half))
    with native_pooling():
        y = torch.randn(2, 4, 5, 5)
        assert torch.equal(AvgPool3x3()(y), native_avg(y))


def test_whole_networks_are_unchanged_by_the_fast_paths():
    """Logits and every weight gradient of a pooling-heavy NB201 net, and a NB101 net's no-grad logits."""
    images = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    arch = resolve_arch("|avg_pool_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~1|"
                        "avg_pool_3x3~2|")

    def logits_and_grads():
        torch.manual_seed(0)
        network = build_network(arch, channels=4, cells_per_stage=1).train()
        logits = network(images).logits
        grads = torch.autograd.grad(logits.square().sum(), list(network.parameters()))
        return [logits, *grads]

    fast = logits_and_grads()
    with native_pooling():
        reference = logits_and_grads()
    assert all(torch.equal(a, b) for a, b in zip(fast, reference))

    matrix = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    ops = ["input", "maxpool3x3", "conv3x3-bn-relu", "maxpool3x3", "output"]

    def nb101_logits():
        torch.manual_seed(0)
        with torch.no_grad():
            network = nb101_networks.build_network(make_arch(matrix, ops), stem_channels=4, modules_per_stack=1)
            return network.train()(images).logits

    fast = nb101_logits()
    with native_pooling():
        assert torch.equal(fast, nb101_logits())
