"""NASWOT (Mellor et al.): v2 = ReLU-code log-determinant ("LR2" in Revisit), v1 = Jacobian covariance.

Protocols §A3, §E.7, §F.6. Both higher-is-better.

v2, registered as `naswot` (one entry; Revisit calls the same quantity "LR2", so there is no `lr2`
duplicate): every ReLU's input is binarised per sample, c = (input > 0), and
K = Σ_layers [c cᵀ + (1−c)(1−c)ᵀ] (B×B: units on which two samples agree, so diag K = N_A, the number
of units); score = log|det K| (float64 slogdet, sign discarded as the authors do).
* Which modules count (`relu_selection`): the authors' code hooks every module whose class NAME contains
  'ReLU'. In NB201 that is each nn.ReLU AND each `ReLUConvBN` op wrapper (AutoDL's class name, kept by
  spaces.nb201_networks), whose input is the input of its own inner ReLU: every conv op's input is
  counted twice (`class_name`, preset `code`). The paper counts each rectified unit once, as NASLib's
  `nwot` does (nn.ReLU instances only): `torch_relu`, presets `paper` and `naslib`. The two K differ.
* How (`method`, same K, tested): `backward_armed` — the authors' code: a forward+backward pass of the
  summed outputs w.r.t. the input only arms a per-module flag, K is counted on a second forward of the
  same batch at armed modules; `single_forward` — NASLib: one forward, every selected module counted.
Otherwise code and paper agree: batch 128 un-augmented, C=16, N=5, ONE output class, train mode,
PyTorch default init, 1 repeat; the batch depends only on the seed, so every architecture sees the
same one. Status 'singular' (value −inf) when K is numerically singular, e.g. identical codes.

v1, registered as `naswot_v1` (arXiv 2006.04647v1; the numbers TE-NAS Table 1 quotes): J = d(Σ out)/dx
per sample, Σ = corrcoef(J) (B×B), eigenvalues v, score = −Σ_i [log(v_i + k) + 1/(v_i + k)], k = 1e-5.
NB101 (preset `nb101`, both versions): the authors' §1.4 network — stem 16, 3 stacks × 3 modules, one
output, their explicit init (`naswot`) — otherwise the `code` settings.

The v1 code (search.py) scores networks in eval mode on one augmented training batch of 256 with one
output class. Status 'nan' when a Jacobian row is constant (corrcoef undefined), e.g. dead cells.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from zcbench.proxies.networks import build_scoring_network
from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec, ScoringInputs, classify
from zcbench.proxies.settings import Settings
from zcbench.spaces.init import INIT_SCHEMES

OUTPUTS = ("logits", "features")
KERNEL_METHODS = ("backward_armed", "single_forward")
RELU_SELECTIONS = ("class_name", "torch_relu")
FLOAT32_EXACT_INTEGERS = 2 ** 24  # float32 sums of 0/1 products stay exact below this many terms
RECENT_INPUTS = 8  # ReLU-input tensors whose agreement matrices the kernel keeps for reuse


@dataclass(frozen=True)
class NaswotSettings(Settings):
    """Every choice behind one v2 score (defaults = the `code` preset, which the paper matches)."""

    CHOICES = {"init": INIT_SCHEMES, "output": OUTPUTS, "method": KERNEL_METHODS, "relu_selection": RELU_SELECTIONS}
    MINIMUM = {"batch_size": 2, "repeats": 1, "channels": 1, "cells": 1, "num_classes": 1}

    batch_size: int = 128
    augment: bool = False  # `--augtype none`: ToTensor + Normalize only
    train_mode: bool = True
    init: str = "pytorch_default"
    channels: int = 16
    cells: int = 5
    num_classes: int | str = 1  # the authors force a single output
    output: str = "logits"  # what the arming backward pass differentiates
    relu_selection: str = "class_name"  # authors: class name contains 'ReLU' (ReLUConvBN too)
    method: str = "backward_armed"
    repeats: int = 1  # `maxofn`; the score is the mean over repeats, each on a new batch


@dataclass(frozen=True)
class JacobianCovSettings(Settings):
    """Every choice behind one v1 score (defaults = the v1 code; the v1 paper states nothing different)."""

    CHOICES = {"init": INIT_SCHEMES, "output": OUTPUTS}
    MINIMUM = {"batch_size": 2, "repeats": 1, "channels": 1, "cells": 1, "num_classes": 1, "k": 0.0}

    batch_size: int = 256
    augment: bool = True  # v1 draws from the NB201 training transform
    train_mode: bool = False  # v1 search.py calls network.eval()
    init: str = "pytorch_default"
    channels: int = 16
    cells: int = 5
    num_classes: int | str = 1
    output: str = "logits"
    k: float = 1e-5
    repeats: int = 1


def relu_modules(network: nn.Module, selection: str = "class_name") -> list[nn.Module]:
    """The modules whose INPUT codes are counted: 'class_name' = class name contains 'ReLU' (authors'
    code), 'torch_relu' = nn.ReLU instances (paper; NASLib)."""
    if selection == "class_name":
        return [m for m in network.modules() if "ReLU" in type(m).__name__]
    if selection == "torch_relu":
        return [m for m in network.modules() if isinstance(m, nn.ReLU)]
    raise ValueError(f"unknown relu_selection {selection!r}; expected one of {RELU_SELECTIONS}")


class _CodeKernel:
    """Accumulates K = Σ_layers (agreements of the binary codes) over hooked ReLU inputs, in float64.

    One tensor often reaches several hooked modules (a NB201 node output feeds every later edge, and
    `class_name` also hooks each op wrapper beside its inner ReLU), so the agreement matrix of each of
    the last few input tensors is kept and added again instead of recomputed. A cached entry holds the
    tensor itself, so its id cannot be reused while the entry lives, and its in-place version counter.
    `recent_inputs=0` recomputes every time (the reference path of benchmarks/speed/bench_naswot.py).
    """

    def __init__(self, recent_inputs: int = RECENT_INPUTS):
        self.K: torch.Tensor | None = None
        self.units = 0
        self.layers = 0
        self.recent_inputs = recent_inputs
        self.recomputed = 0
        self._recent: dict[int, tuple[torch.Tensor, int, torch.Tensor]] = {}

    def add(self, relu_input: torch.Tensor):
        units = relu_input[0].numel()
        agreements = self._agreements(relu_input)
        self.K = agreements if self.K is None else self.K + agreements
        self.units += units
        self.layers += 1

    def _agreements(self, relu_input: torch.Tensor) -> torch.Tensor:
        cached = self._recent.get(id(relu_input))
        if cached is not None and cached[0] is relu_input and cached[1] == relu_input._version:
            return cached[2]
        codes = relu_input.detach().flatten(1) > 0
        units = codes.shape[1]
        # agreements = c·cᵀ + (1−c)(1−c)ᵀ = units + 2·c·cᵀ − n_i − n_j with n = Σ c: one matmul of 0/1,
        # whose integer entries are exact in float32 below 2^24; the rest is added in float64
        dtype = torch.float32 if units < FLOAT32_EXACT_INTEGERS else torch.float64
        ones = codes.to(dtype)
        both = (ones @ ones.T).to(torch.float64)
        active = both.diagonal().clone()
        agreements = units + 2 * both - active[:, None] - active[None, :]
        self.recomputed += 1
        if self.recent_inputs:
            if len(self._recent) >= self.recent_inputs:
                self._recent.pop(next(iter(self._recent)))
            self._recent[id(relu_input)] = (relu_input, relu_input._version, agreements)
        return agreements


def input_jacobian(network: nn.Module, images: torch.Tensor, output: str = "logits") -> torch.Tensor:
    """Rows d(Σ outputs of the whole batch)/dx_n, flattened (B, C·H·W), as NASWOT v1's one backward."""
    x = images.detach().clone().requires_grad_(True)
    out = getattr(network(x), output)
    (grad,) = torch.autograd.grad(out, x, torch.ones_like(out))
    return grad.flatten(1)


def relu_code_kernel(network: nn.Module, images: torch.Tensor, method: str = "backward_armed",
                     output: str = "logits", selection: str = "class_name",
                     recent_inputs: int = RECENT_INPUTS) -> tuple[torch.Tensor, int, int]:
    """(K, number of binary units N_A, number of module calls counted) for one batch."""
    if method not in KERNEL_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {KERNEL_METHODS}")
    kernel = _CodeKernel(recent_inputs)
    armed: set[nn.Module] = set()
    handles = []

    def count(module, inputs, _output):
        if method == "single_forward" or module in armed:
            kernel.add(inputs[0])

    def arm(module, _grad_input, _grad_output):
        armed.add(module)

    try:
        for module in relu_modules(network, selection):
            handles.append(module.register_forward_hook(count))
            if method == "backward_armed":
                handles.append(module.register_full_backward_hook(arm))
        if method == "backward_armed":  # arms the flags only: nothing is armed during this forward
            input_jacobian(network, images, output)
        with torch.no_grad():
            network(images)
    finally:
        for handle in handles:
            handle.remove()
    if kernel.K is None:
        raise ValueError("the network has no ReLU module: the NASWOT kernel is empty")
    return kernel.K, kernel.units, kernel.layers


def logdet_score(K: torch.Tensor) -> ProxyResult:
    """log|det K| (float64 slogdet), 'singular' (−inf) when K is numerically singular."""
    K = K.to(torch.float64)
    sign, logabsdet = torch.linalg.slogdet(K)
    eigenvalues = torch.linalg.eigvalsh(K)
    lambda_min, lambda_max = float(eigenvalues[0]), float(eigenvalues[-1])
    singular_tol = K.shape[0] * torch.finfo(torch.float64).eps * max(lambda_max, 0.0)
    # K[i, j] == diag ⇔ samples i and j have identical codes (then K has two equal rows)
    identical_pairs = int(torch.triu(K == K.diagonal()[:, None], diagonal=1).sum())
    diagnostics = {"logabsdet": float(logabsdet), "sign": float(sign), "lambda_min": lambda_min,
                   "lambda_max": lambda_max, "singular_tol": singular_tol, "identical_code_pairs": identical_pairs}
    if float(sign) == 0 or lambda_min <= singular_tol:
        return ProxyResult(-math.inf, "singular", diagnostics)
    return classify(float(logabsdet), diagnostics)


def naswot_logdet(network: nn.Module, images: torch.Tensor, method: str = "backward_armed",
                  output: str = "logits", selection: str = "class_name") -> ProxyResult:
    """NASWOT v2 score of one network on one batch (mode and init are the caller's)."""
    K, units, layers = relu_code_kernel(network, images, method, output, selection)
    result = logdet_score(K)
    result.diagnostics.update(n_units=units, relu_layers=layers, batch_size=K.shape[0])
    return result


def jacobian_covariance_score(jacobian: torch.Tensor, k: float = 1e-5) -> ProxyResult:
    """−Σ_i [log(v_i + k) + 1/(v_i + k)] over the eigenvalues v of corrcoef(rows), in float64."""
    J = jacobian.to(torch.float64)
    centred = J - J.mean(dim=1, keepdim=True)
    constant_rows = int((centred.abs().amax(dim=1) == 0).sum())
    diagnostics = {"constant_rows": constant_rows, "finite": bool(torch.isfinite(J).all())}
    if constant_rows or not diagnostics["finite"]:
        return ProxyResult(math.nan, "nan", diagnostics)  # corrcoef divides by a zero variance
    eigenvalues = torch.linalg.eigvalsh(torch.corrcoef(J))
    diagnostics.update(lambda_min=float(eigenvalues[0]), lambda_max=float(eigenvalues[-1]))
    shifted = eigenvalues + k
    return classify(float(-(torch.log(shifted) + 1.0 / shifted).sum()), diagnostics)


def naswot_jacobian_cov(network: nn.Module, images: torch.Tensor, k: float = 1e-5,
                        output: str = "logits") -> ProxyResult:
    """NASWOT v1 score of one network on one batch."""
    result = jacobian_covariance_score(input_jacobian(network, images, output), k)
    result.diagnostics["batch_size"] = images.shape[0]
    return result


def _network_and_batches(ctx: EvalContext, settings, proxy: str):
    """The scoring network and the `repeats` (images, labels) batches (one seeded stream: same batches
    for every arch)."""
    data = ctx.require_data(proxy)
    rng = ctx.rng("data")
    network = build_scoring_network(ctx, kind="cell", channels=settings.channels, cells=settings.cells,
                                    num_classes=settings.num_classes, init=settings.init,
                                    train_mode=settings.train_mode)
    batches = [data.batch(settings.batch_size, rng, augment=settings.augment)[:2] for _ in range(settings.repeats)]
    return network, [(images.to(ctx.device), labels.to(ctx.device)) for images, labels in batches]


def _repeat_batches(ctx: EvalContext, settings, proxy: str):
    network, batches = _network_and_batches(ctx, settings, proxy)
    return network, [images for images, _ in batches]


def scoring_inputs(ctx: EvalContext, settings) -> ScoringInputs:
    """The network and first batch both NASWOT versions score (`ProxySpec.build_inputs`, for `zcbench verify`)."""
    network, batches = _network_and_batches(ctx, settings, "naswot/naswot_v1")
    return ScoringInputs(network, *batches[0])


def _mean_of_repeats(results: list[ProxyResult]) -> ProxyResult:
    if len(results) == 1:
        return results[0]
    diagnostics = {"per_repeat": [r.value for r in results], "status": [r.status for r in results]}
    failed = [r for r in results if not r.ok]
    if failed:
        return ProxyResult(failed[0].value, failed[0].status, diagnostics)
    return classify(float(np.mean([r.value for r in results])), diagnostics)


def naswot_score(ctx: EvalContext, settings: NaswotSettings) -> ProxyResult:
    network, batches = _repeat_batches(ctx, settings, "naswot")
    return _mean_of_repeats([naswot_logdet(network, x, settings.method, settings.output, settings.relu_selection)
                             for x in batches])


def naswot_v1_score(ctx: EvalContext, settings: JacobianCovSettings) -> ProxyResult:
    network, batches = _repeat_batches(ctx, settings, "naswot_v1")
    return _mean_of_repeats([naswot_jacobian_cov(network, x, settings.k, settings.output) for x in batches])


NASWOT_CODE = NaswotSettings()
NASWOT = ProxySpec(
    name="naswot", version=1, higher_is_better=True, cost_class="backward", needs=("images", "gradients"),
    paper="NASWOT v2 (Mellor et al., ICML'21) §3; 'LR2' in Revisit (Yang et al., WACV'23)",
    summary="NASWOT v2 = LR2 in Revisit: log|det K| of the ReLU binary-code agreement kernel",
    settings_type=NaswotSettings,
    presets={"code": NASWOT_CODE, "paper": dataclasses.replace(NASWOT_CODE, relu_selection="torch_relu"),
             "naslib": dataclasses.replace(NASWOT_CODE, relu_selection="torch_relu", method="single_forward"),
             "nb101": dataclasses.replace(NASWOT_CODE, cells=3, init="naswot")},
    compute=naswot_score, spaces=("nb201", "nb101"), build_inputs=scoring_inputs)

V1_CODE = JacobianCovSettings()
NASWOT_V1 = ProxySpec(
    name="naswot_v1", version=1, higher_is_better=True, cost_class="backward", needs=("images", "gradients"),
    paper="NASWOT v1 (Mellor et al., arXiv 2006.04647v1); quoted by TE-NAS (ICLR'21) Table 1",
    summary="NASWOT v1: Jacobian-covariance score −Σ[log(v+k) + 1/(v+k)] of corrcoef of input Jacobians",
    settings_type=JacobianCovSettings,
    presets={"code": V1_CODE, "paper": V1_CODE, "nb101": dataclasses.replace(V1_CODE, cells=3, init="naswot")},
    compute=naswot_v1_score, spaces=("nb201", "nb101"), build_inputs=scoring_inputs)
