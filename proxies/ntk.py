"""NTK condition number κ (TE-NAS, Chen et al. ICLR'21; protocols §A1, §E.1/3/4/6, §F.3). Lower is better.

κ = λ_max(Θ) / λ_min(Θ) with Θ = G Gᵀ, the B×B kernel of per-sample gradients g_n = ∂(Σ_k z_nk)/∂w.
The gradients are taken through ONE forward of the whole batch (BN in train mode couples the samples,
so g_n has cross-sample terms), w = every parameter whose name contains 'weight' (conv weights, BN γ,
classifier weight; biases, BN β and architecture parameters excluded). Θ is B×B, not (B·K)×(B·K):
the authors back-propagate the sum of a sample's outputs, not each output.

Two exact paths to G, selected by `method` (same quantity, tested equal; the field is part of the
settings hash like every other field, so rows of the two methods are kept apart):
* `loop` — the reference: B backward passes through the retained graph, as the authors' code;
* `vectorized` — torch.func.jacrev of the B-vector of per-sample summed outputs: one forward over the
  full batch (BN still in train mode), the B backward passes batched with vmap.
On CPU the loop is the fastest path measured (≈ 60 % of a float32 matmul's FLOP/s; jacrev, a
channels_last network and `is_grads_batched` chunks are no faster: docs/benchmarks.md, "Expensive proxies").

Presets (protocols §E.1, §E.3, §E.4):
* `code`: batch 72 (released NB201 launcher), PyTorch default init (the TE-NAS Kaiming re-init is a
  silent no-op), float32 eigen-solve and the post-publication rule NaN → 1e5;
* `paper`: batch 32 (App. A), Kaiming-normal (fan-in) re-drawn for each of the 3 repeats, float64;
* `supernet`: `code` on the TE-NAS C=3, N=1 NB201 supernet restricted to the cell.
* `nb101`: `code` on the NB101 proxy network of NASWOT/Revisit (§1.4: stem 16, 3 modules per stack, ONE
  output, NASWOT init). TE-NAS never scored NB101 and Revisit's NB101 code is unreleased: assumed.
All: one augmented training batch per repeat, BN in train mode, logits, 3 repeats, value = mean of the
per-repeat κ (each one in the diagnostics). The network for whole-space κ is unstated by the authors
(§E.6): C=16, N=5 by default; Revisit's copy would differentiate the pooled features (`output`).

Numerics: λ_min ≤ B·eps·λ_max (numerically singular, λ_min ≤ 0 included) → status 'inf'; Θ = 0 or
non-finite → 'nan', unless the code rule turns a NaN ratio into 1e5 (counted in `nan_rule_fired`).
`raw_ratio` keeps λ_max/λ_min exactly as the authors' code would return it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev

from zcbench.proxies.networks import NETWORK_KINDS, build_scoring_network
from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec, classify
from zcbench.proxies.settings import Settings
from zcbench.spaces.errors import SettingsError
from zcbench.spaces.init import INIT_SCHEMES

OUTPUTS = ("logits", "features")
METHODS = ("loop", "vectorized")
EIG_DTYPES = {"float32": torch.float32, "float64": torch.float64}
AUTHORS_NAN_VALUE = 1e5


@dataclass(frozen=True)
class NTKSettings(Settings):
    """Every choice behind one κ value (defaults = the `code` preset)."""

    CHOICES = {"init": INIT_SCHEMES, "network": NETWORK_KINDS, "output": OUTPUTS, "eig_dtype": tuple(EIG_DTYPES),
               "method": METHODS}
    MINIMUM = {"batch_size": 2, "repeats": 1, "channels": 1, "cells": 1, "num_classes": 1}

    batch_size: int = 72
    augment: bool = True  # NB201 train transform (flip + crop)
    train_mode: bool = True  # BN uses batch statistics
    init: str = "pytorch_default"
    reinit_per_repeat: bool = False  # paper: a fresh network (new init) for each repeat
    network: str = "cell"  # 'cell' = evaluation network; 'supernet' = TE-NAS single-path supernet
    channels: int = 16
    cells: int = 5  # cells per stage
    num_classes: int | str = "dataset"
    output: str = "logits"
    param_name_contains: str = "weight"
    repeats: int = 3
    eig_dtype: str = "float32"  # dtype of Θ and of its eigen-solve
    nan_to_1e5: bool = True  # authors' rule: a NaN ratio becomes 1e5
    method: str = "loop"


CODE = NTKSettings()
PAPER = dataclasses.replace(CODE, batch_size=32, init="kaiming_normal_fanin", reinit_per_repeat=True,
                            eig_dtype="float64", nan_to_1e5=False)
SUPERNET = dataclasses.replace(CODE, network="supernet", channels=3, cells=1)
NB101 = dataclasses.replace(CODE, cells=3, num_classes=1, init="naswot")


def weight_parameters(network: nn.Module, name_contains: str = "weight") -> dict[str, nn.Parameter]:
    return {name: p for name, p in network.named_parameters() if name_contains in name and p.requires_grad}


def _gradients_loop(network, images, output, weights) -> list[torch.Tensor]:
    params = list(weights.values())
    out = getattr(network(images), output)
    blocks: list[torch.Tensor | None] = [None] * len(params)
    for n in range(out.shape[0]):
        grads = torch.autograd.grad(out[n].sum(), params, retain_graph=True, allow_unused=True)
        for i, grad in enumerate(grads):
            if grad is None:  # the op never ran (masked supernet op): dropped, as in the authors' code
                continue
            if blocks[i] is None:
                blocks[i] = grad.new_empty((out.shape[0], grad.numel()))
            blocks[i][n] = grad.flatten()
    return [b for b in blocks if b is not None]


def _gradients_vectorized(network, images, output, weights) -> list[torch.Tensor]:
    # The remaining state goes in as a non-differentiated argument: torch.func forbids mutating captured
    # tensors, and BN in train mode updates its running statistics (once, as the loop's single forward).
    state = {name: t.detach() for name, t in [*network.named_parameters(), *network.named_buffers()]
             if name not in weights}

    def summed_outputs(w, fixed):
        return getattr(functional_call(network, {**fixed, **w}, (images,)), output).sum(dim=1)

    jacobian = jacrev(summed_outputs)({name: p.detach() for name, p in weights.items()}, state)
    return [j.flatten(1) for j in jacobian.values()]


def per_sample_gradients(network: nn.Module, images: torch.Tensor, *, output: str = "logits",
                         name_contains: str = "weight", method: str = "loop") -> list[torch.Tensor]:
    """G = [g_1 … g_B] as column blocks, one (B, numel) block per weight tensor.

    `vectorized` keeps all-zero blocks for parameters the forward never reached (`loop` drops them);
    they add nothing to Θ.
    """
    weights = weight_parameters(network, name_contains)
    if not weights:
        raise SettingsError(f"no trainable parameter name contains {name_contains!r} (setting param_name_contains)")
    if method == "loop":
        return _gradients_loop(network, images, output, weights)
    if method == "vectorized":
        return _gradients_vectorized(network, images, output, weights)
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def gram(blocks: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """Θ = G Gᵀ accumulated block by block in `dtype` (never materialises G in float64)."""
    first = blocks[0]
    theta = torch.zeros(first.shape[0], first.shape[0], dtype=dtype, device=first.device)
    for block in blocks:
        block = block.to(dtype)
        theta += block @ block.T
    return theta


def condition_number(theta: torch.Tensor, nan_to_1e5: bool = False) -> ProxyResult:
    """κ = λ_max/λ_min of a symmetric PSD kernel, eigen-solved in theta's dtype, with explicit statuses."""
    finite = bool(torch.isfinite(theta).all())
    if finite:
        eigenvalues = torch.linalg.eigvalsh(theta)
        lambda_min, lambda_max = eigenvalues[0], eigenvalues[-1]
        raw_ratio = float(lambda_max / lambda_min)  # in theta's dtype, as the authors' division
        lambda_min, lambda_max = float(lambda_min), float(lambda_max)
    else:
        lambda_min = lambda_max = raw_ratio = math.nan
    diagnostics = {"lambda_min": lambda_min, "lambda_max": lambda_max, "raw_ratio": raw_ratio,
                   "eig_dtype": str(theta.dtype).removeprefix("torch."), "nan_rule_fired": False}
    if nan_to_1e5 and math.isnan(raw_ratio):
        diagnostics["nan_rule_fired"] = True
        return ProxyResult(AUTHORS_NAN_VALUE, diagnostics=diagnostics)
    if not lambda_max > 0:  # zero or non-finite kernel: κ undefined
        return ProxyResult(math.nan, "nan", diagnostics)
    singular_tol = theta.shape[0] * torch.finfo(theta.dtype).eps * lambda_max
    diagnostics["singular_tol"] = singular_tol
    if lambda_min <= singular_tol:
        return ProxyResult(math.inf, "inf", diagnostics)
    return ProxyResult(lambda_max / lambda_min, diagnostics=diagnostics)


def ntk_condition_number(network: nn.Module, images: torch.Tensor, settings: NTKSettings) -> ProxyResult:
    """κ of one network on one batch; pure apart from BN running statistics (mode is the caller's)."""
    blocks = per_sample_gradients(network, images, output=settings.output,
                                  name_contains=settings.param_name_contains, method=settings.method)
    result = condition_number(gram(blocks, EIG_DTYPES[settings.eig_dtype]), settings.nan_to_1e5)
    result.diagnostics.update(weight_tensors=len(blocks), gradient_dim=sum(b.shape[1] for b in blocks))
    return result


def ntk_score(ctx: EvalContext, settings: NTKSettings) -> ProxyResult:
    """Mean κ over `repeats` fresh batches (and fresh inits when `reinit_per_repeat`)."""
    data = ctx.require_data("ntk")
    rng = ctx.rng("data")

    def fresh_network():
        return build_scoring_network(ctx, kind=settings.network, channels=settings.channels,
                                     cells=settings.cells, num_classes=settings.num_classes,
                                     init=settings.init, train_mode=settings.train_mode)

    network = fresh_network()
    repeats = []
    for repeat in range(settings.repeats):
        if repeat and settings.reinit_per_repeat:
            network = fresh_network()
        images, _, _ = data.batch(settings.batch_size, rng, augment=settings.augment)
        repeats.append(ntk_condition_number(network, images.to(ctx.device), settings))
    per_repeat = {key: [r.diagnostics[key] for r in repeats]
                  for key in ("lambda_min", "lambda_max", "raw_ratio")}
    diagnostics = {"kappa": [r.value for r in repeats], "status": [r.status for r in repeats], **per_repeat,
                   "nan_rule_fired": sum(r.diagnostics["nan_rule_fired"] for r in repeats),
                   "gradient_dim": repeats[0].diagnostics["gradient_dim"],
                   "weight_tensors": repeats[0].diagnostics["weight_tensors"]}
    # the mean is +inf / NaN when a repeat is, so the status follows the worst repeat
    return classify(float(np.mean([r.value for r in repeats])), diagnostics)


NTK = ProxySpec(
    name="ntk", version=1, higher_is_better=False, cost_class="per-sample-backward",
    needs=("images", "gradients"),
    paper="TE-NAS (Chen et al., ICLR'21) §3.1.1, App. A; code lib/procedures/ntk.py::get_ntk_n",
    summary="NTK condition number κ = λmax/λmin of the B×B kernel of per-sample weight gradients",
    settings_type=NTKSettings, presets={"code": CODE, "paper": PAPER, "supernet": SUPERNET, "nb101": NB101},
    compute=ntk_score, spaces=("nb201", "nb101"))
