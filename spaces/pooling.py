"""Exact CPU fast paths for the two stride-1 3×3 pools of the cell spaces: NB201's `avg_pool_3x3` and
NB101's `maxpool3x3`.

On CPU, torch's NCHW pooling kernels are slower than a 3×3 convolution over the same tensor (one
thread, 64×16×32×32 float32: average pool 19 ms forward and 12 ms backward, against 4.2 and 4.7 ms for
nine shifted adds; benchmarks/speed/bench_pooling.py). The average pool here adds the nine shifted
views in the order torch's CPU kernel visits a window (row-major, starting from 0) and divides by the
same count, and its gradient does the same over grad/count, so forward, backward, double backward
(GraSP's Hessian-gradient product) and forward-mode derivatives are bit-identical to
`nn.AvgPool2d(3, 1, 1, count_include_pad=False)` (tests/test_pooling.py). The max pool path runs only
when no gradient is recorded: a maximum is exact in any order, but `torch.maximum` splits a tie's
gradient where max_pool2d gives it to the first maximum.

Other devices, layouts and dtypes use torch's kernels; `native_pooling()` forces them everywhere (the
reference path of the benchmark and the tests).
"""
from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F
from torch import nn

_FAST = {"enabled": True}
FAST_DTYPES = (torch.float32, torch.float64)


@contextlib.contextmanager
def native_pooling():
    """Within the block, every pool of this module runs torch's own kernel."""
    before = _FAST["enabled"]
    _FAST["enabled"] = False
    try:
        yield
    finally:
        _FAST["enabled"] = before


def _fast_path(x: torch.Tensor) -> bool:
    return (_FAST["enabled"] and x.device.type == "cpu" and x.dim() == 4 and x.dtype in FAST_DTYPES
            and x.is_contiguous())


def window_sum_3x3(x: torch.Tensor) -> torch.Tensor:
    """Σ over each zero-padded 3×3 window, the nine terms added in row-major window order from 0."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    total = padded[..., :height, :width].clone()
    for offset in range(1, 9):
        dh, dw = divmod(offset, 3)
        total += padded[..., dh:dh + height, dw:dw + width]
    return total


@functools.lru_cache(maxsize=64)
def _window_counts(height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """How many in-bounds inputs each 3×3 window holds (the divisor of count_include_pad=False)."""
    return window_sum_3x3(torch.ones(1, 1, height, width, dtype=dtype))


def _average(x: torch.Tensor) -> torch.Tensor:
    return window_sum_3x3(x) / _window_counts(*x.shape[-2:], x.dtype)


def _average_adjoint(grad: torch.Tensor) -> torch.Tensor:
    """avg_pool2d's backward: each window's grad/count spread back over the window."""
    return window_sum_3x3(grad / _window_counts(*grad.shape[-2:], grad.dtype))


class _LinearFunction(torch.autograd.Function):
    """A linear map: nothing to save for the backward, and its forward-mode derivative is itself."""

    generate_vmap_rule = True

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @classmethod
    def jvp(cls, ctx, tangent):
        return cls.forward(tangent)


class _AvgPool3x3(_LinearFunction):
    forward = staticmethod(_average)

    @staticmethod
    def backward(ctx, grad):
        return _AvgPool3x3Adjoint.apply(grad)


class _AvgPool3x3Adjoint(_LinearFunction):
    """Its gradient is the pool again, as in torch's derivative table (double backward, e.g. GraSP)."""

    forward = staticmethod(_average_adjoint)

    @staticmethod
    def backward(ctx, grad):
        return _AvgPool3x3.apply(grad)


class AvgPool3x3(nn.AvgPool2d):
    """`nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)` with the exact CPU fast path."""

    def __init__(self):
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return _AvgPool3x3.apply(x) if _fast_path(x) else super().forward(x)


def max_3x3(x: torch.Tensor) -> torch.Tensor:
    """Max over each −∞-padded 3×3 window, as two separable passes (NaN propagates, as in max_pool2d)."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
    rows = torch.maximum(torch.maximum(padded[..., :, :width], padded[..., :, 1:width + 1]),
                         padded[..., :, 2:width + 2])
    return torch.maximum(torch.maximum(rows[..., :height, :], rows[..., 1:height + 1, :]), rows[..., 2:height + 2, :])


class MaxPool3x3(nn.MaxPool2d):
    """`nn.MaxPool2d(3, stride=1, padding=1)` with the exact CPU fast path when no gradient is recorded."""

    def __init__(self):
        super().__init__(3, stride=1, padding=1)

    def forward(self, x):
        if _fast_path(x) and not (torch.is_grad_enabled() and x.requires_grad):
            return max_3x3(x)
        return super().forward(x)
