"""Gradient-family zero-cost proxies (Abdelfattah et al., ICLR'21; NAS-Bench-Suite-Zero): protocols §G.1–G.9.

Seven registry entries, each a sum over the weights of every Conv2d and Linear layer (biases and BN
parameters are not in the layer set), scored on a freshly initialised network:

* grad_norm  Σ_layers ‖∂L/∂W‖₂                                  §G.2  ┐ one shared cross-entropy
* snip       Σ |W ⊙ ∂L/∂W|                                      §G.3  │ forward + backward per arch
* plain      Σ W ⊙ ∂L/∂W                                        §G.4  │ (§G.1, `shared_pass`): 4 → 1
* fisher     Σ_layers Σ_channels ½·mean_n(Σ_xy a·∂L/∂a)² · fan-in, a = layer output   §G.6  ┘
* grasp      Σ −W ⊙ (H ∂L/∂W), Hessian-gradient product         §G.5
* synflow    Σ |W ⊙ ∂R/∂W|, R = Σ logits of the |θ| net on ones  §G.7  data-free, float64, no BN
* l2_norm    Σ_layers ‖W‖₂                                      §G.8  data-free, no forward
* jacov is not registered: it is `naswot_v1`'s definition with other settings (§G.9).

Every value is reported as computed (raw sums span many decades); `log10_abs` = log10|value| is in
the diagnostics, and for synflow also `naslib_value` = ln(value), the number NAS-Bench-Suite-Zero's
table holds. All are higher-is-better as their authors rank them (grasp already carries the minus
sign). Presets: `code` = the zero-cost-nas repository (`nasbench2_pred.py`: one augmented training
batch of 64, cross-entropy, BN in train mode, synflow without BN); `naslib` = NAS-Bench-Suite-Zero
(NASLib `ZeroCost` under `zc_config.yaml`): the same measures on a batch of 32 (§G.1). For the
data-free synflow and l2_norm the two presets are equal.
`nb101` = `naslib` on the §1.4 NB101 proxy network (stem 16, 3 modules per stack, NASWOT init), an
assumption: the Suite's NB101 network is NASLib's own stem-128 model.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from zcbench.proxies.networks import build_scoring_network
from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec, classify
from zcbench.proxies.settings import Settings
from zcbench.spaces.catalog import DATASET_INPUT_SIZE
from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.init import INIT_SCHEMES

DTYPES = {"float32": torch.float32, "float64": torch.float64}
FISHER_WEIGHTINGS = ("per_parameter", "per_channel")
PASS_CACHE_SIZE = 64
SPACES = ("nb201", "nb101")


# ---------------------------------------------------------------------------------------------
# Settings

@dataclass(frozen=True)
class GradientSettings(Settings):
    """One cross-entropy pass on one batch (defaults = zero-cost-nas; NAS-Bench-Suite-Zero: batch 32, §G.1).

    A batch of 64 training images with the NB201 train augmentation (flip + crop), drawn from the
    seed's `data` stream, so every architecture of a seed sees the same batch; a C=16, N=5 network with
    the dataset's classes, PyTorch default init, train mode (BN batch statistics); `batchnorm=False`
    bypasses every BN (identity).
    """

    CHOICES = {"init": INIT_SCHEMES, "dtype": tuple(DTYPES)}
    MINIMUM = {"batch_size": 1, "channels": 1, "cells": 1, "num_classes": 1}

    batch_size: int = 64
    augment: bool = True
    train_mode: bool = True
    init: str = "pytorch_default"
    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    batchnorm: bool = True
    dtype: str = "float32"


@dataclass(frozen=True)
class GraspSettings(GradientSettings):
    """GraSP's logits temperature T (zero-cost-nas and NASLib use 1; the GraSP paper's pruning code 200)."""

    MINIMUM = {**GradientSettings.MINIMUM, "temperature": 1e-12}

    temperature: float = 1.0


@dataclass(frozen=True)
class FisherSettings(GradientSettings):
    """`per_parameter`: each channel's value counted once per weight entry of that output channel, as the
    reference code broadcasts it before summing (§G.6); `per_channel`: once per channel."""

    CHOICES = {**GradientSettings.CHOICES, "weighting": FISHER_WEIGHTINGS}

    weighting: str = "per_parameter"


@dataclass(frozen=True)
class SynflowSettings(Settings):
    """Data-free: one all-ones input of `input_size` (None = the dataset's, 32 px CIFAR / 16 px ImageNet16),
    every parameter and buffer made |·|, float64, BN bypassed (`batchnorm=True` = zero-cost-nas's
    `synflow_bn` variant, BN kept in `train_mode`)."""

    CHOICES = {"init": INIT_SCHEMES, "dtype": tuple(DTYPES)}
    MINIMUM = {"channels": 1, "cells": 1, "num_classes": 1, "input_size": 1}

    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    init: str = "pytorch_default"
    train_mode: bool = True
    batchnorm: bool = False
    dtype: str = "float64"
    input_size: int | None = None


@dataclass(frozen=True)
class L2NormSettings(Settings):
    """Data-free: only the initialised network's weights."""

    CHOICES = {"init": INIT_SCHEMES}
    MINIMUM = {"channels": 1, "cells": 1, "num_classes": 1}

    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    init: str = "pytorch_default"


# ---------------------------------------------------------------------------------------------
# Network helpers

def scored_layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """The reference layer set: every Conv2d and Linear, in module order (their weights, not biases)."""
    return [(name, m) for name, m in network.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def without_batchnorm(network: nn.Module) -> nn.Module:
    """A copy whose BatchNorm layers are identities (the reference code's `bn=False` copy)."""
    network = copy.deepcopy(network)
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return network


def log10_abs(value: float) -> float:
    """log10|value|: the decades a raw summed score spans (−inf for 0, NaN stays NaN)."""
    if math.isnan(value):
        return math.nan
    return math.log10(abs(value)) if value else -math.inf


def _network(ctx: EvalContext, settings) -> nn.Module:
    network = build_scoring_network(ctx, kind="cell", channels=settings.channels, cells=settings.cells,
                                    num_classes=settings.num_classes, init=settings.init,
                                    train_mode=getattr(settings, "train_mode", True))
    if not getattr(settings, "batchnorm", True):
        network = without_batchnorm(network)
    dtype = DTYPES[getattr(settings, "dtype", "float32")]
    return network.to(dtype=dtype)


def _batch(ctx: EvalContext, settings: GradientSettings, proxy: str):
    """The seed's training batch (the same for every architecture): images in the settings' dtype, labels."""
    data = ctx.require_data(proxy)
    images, labels, _ = data.batch(settings.batch_size, ctx.rng("data"), augment=settings.augment)
    return images.to(ctx.device, DTYPES[settings.dtype]), labels.to(ctx.device)


def _result(value: float, diagnostics: dict) -> ProxyResult:
    return classify(value, {"log10_abs": log10_abs(value), **diagnostics})


# ---------------------------------------------------------------------------------------------
# §G.1 the shared cross-entropy pass

class WeightGradients(NamedTuple):
    """Per scored layer: its name, weight (detached), ∂L/∂W (None where no gradient reaches it) and the
    Fisher channel saliencies ½·mean_n(Σ_xy a·∂L/∂a)² of its output a (None where no gradient reaches a)."""

    names: tuple[str, ...]
    weights: tuple[torch.Tensor, ...]
    grads: tuple[torch.Tensor | None, ...]
    saliencies: tuple[torch.Tensor | None, ...]
    loss: float


def weight_gradients(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> WeightGradients:
    """One forward of the batch, mean cross-entropy, one backward to the Conv/Linear weights; a hook on each
    layer's output collects its Fisher saliency in the same backward (§G.6)."""
    layers = scored_layers(network)
    saliencies: dict[str, torch.Tensor] = {}

    def keep(name: str, activation: torch.Tensor):
        def on_grad(grad: torch.Tensor):
            product = activation * grad
            per_channel = product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
            saliency = per_channel.pow(2).mean(0).mul(0.5)
            saliencies[name] = saliency if name not in saliencies else saliencies[name] + saliency
        return on_grad

    def hook(name):
        def forward_hook(_module, _inputs, output):
            if output.requires_grad:
                output.register_hook(keep(name, output.detach()))
        return forward_hook

    handles = [m.register_forward_hook(hook(name)) for name, m in layers]
    try:
        weights = [m.weight for _, m in layers]
        loss = F.cross_entropy(network(images).logits, labels)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    names = tuple(n for n, _ in layers)
    return WeightGradients(names, tuple(w.detach() for w in weights),
                           tuple(None if g is None else g.detach() for g in grads),
                           tuple(saliencies.get(n) for n in names), float(loss.detach()))


class _PassCache:
    """A small LRU of shared passes, so scoring grad_norm, snip, plain and fisher of one arch runs one backward."""

    def __init__(self, size: int):
        self.size, self.passes, self.hits, self.misses = size, OrderedDict(), 0, 0

    def get(self, key):
        if key in self.passes:
            self.hits += 1
            self.passes.move_to_end(key)
            return self.passes[key]
        self.misses += 1
        return None

    def put(self, key, value):
        self.passes[key] = value
        while len(self.passes) > self.size:
            self.passes.popitem(last=False)


_PASSES = _PassCache(PASS_CACHE_SIZE)


def run_cache_info() -> dict:
    return {"hits": _PASSES.hits, "misses": _PASSES.misses, "size": len(_PASSES.passes), "max_size": _PASSES.size}


def clear_run_cache() -> None:
    global _PASSES
    _PASSES = _PassCache(PASS_CACHE_SIZE)


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def shared_pass(ctx: EvalContext, settings: GradientSettings, proxy: str) -> tuple[WeightGradients, bool]:
    """The §G.1 pass for this arch, seed, settings and batch: (gradients, whether it came from the cache).

    Only the GradientSettings fields select the pass: fisher's `weighting` is applied after it."""
    settings = GradientSettings(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(GradientSettings)})
    images, labels = _batch(ctx, settings, proxy)
    key = (ctx.space.name, ctx.space.arch_id(ctx.arch), ctx.seed, str(ctx.device),
           dataclasses.astuple(settings), _digest(images, labels))
    if (cached := _PASSES.get(key)) is not None:
        return cached, True
    result = weight_gradients(_network(ctx, settings), images, labels)
    _PASSES.put(key, result)
    return result, False


def _pass_diagnostics(passed: WeightGradients, cached: bool) -> dict:
    return {"loss": passed.loss, "layers": len(passed.names),
            "layers_with_gradient": sum(g is not None for g in passed.grads), "cached_pass": cached}


def grad_norm_value(passed: WeightGradients) -> float:
    """Σ over layers of the Frobenius norm of ∂L/∂W (a layer without gradient adds 0), float64 sum."""
    return float(sum(float(g.norm()) for g in passed.grads if g is not None))


def snip_value(passed: WeightGradients) -> float:
    """Σ |W ⊙ ∂L/∂W| (= the gradient w.r.t. a multiplicative all-ones mask, in absolute value)."""
    return float(sum(float((w * g).abs().double().sum()) for w, g in zip(passed.weights, passed.grads)
                     if g is not None))


def plain_value(passed: WeightGradients) -> float:
    """Σ W ⊙ ∂L/∂W (signed: SNIP without the absolute value)."""
    return float(sum(float((w * g).double().sum()) for w, g in zip(passed.weights, passed.grads) if g is not None))


def grad_norm_score(ctx: EvalContext, settings: GradientSettings) -> ProxyResult:
    passed, cached = shared_pass(ctx, settings, "grad_norm")
    return _result(grad_norm_value(passed), _pass_diagnostics(passed, cached))


def snip_score(ctx: EvalContext, settings: GradientSettings) -> ProxyResult:
    passed, cached = shared_pass(ctx, settings, "snip")
    return _result(snip_value(passed), _pass_diagnostics(passed, cached))


def plain_score(ctx: EvalContext, settings: GradientSettings) -> ProxyResult:
    passed, cached = shared_pass(ctx, settings, "plain")
    return _result(plain_value(passed), _pass_diagnostics(passed, cached))


# ---------------------------------------------------------------------------------------------
# §G.5 GraSP

def grasp_value(network: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                temperature: float = 1.0) -> tuple[float, float]:
    """(Σ −W ⊙ (H g), loss) with g = ∂L/∂W at the Conv/Linear weights and H the Hessian of L there.

    H g = ∂(ḡ · g(W))/∂W with ḡ a detached copy of g. The reference code forwards the batch twice
    (once for ḡ, once with create_graph); a train-mode BN network gives the same outputs both times, so
    one forward with create_graph serves both (tested equal to the two-forward form).
    """
    weights = [m.weight for _, m in scored_layers(network)]
    loss = F.cross_entropy(network(images).logits / temperature, labels)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    live = [(w, g) for w, g in zip(weights, grads) if g is not None]
    if not live:
        return 0.0, float(loss.detach())
    z = sum((g.detach() * g).sum() for _, g in live)
    if not z.requires_grad:  # no second-order path (e.g. every gradient is a constant)
        return 0.0, float(loss.detach())
    hessian_grads = torch.autograd.grad(z, [w for w, _ in live], allow_unused=True)
    value = sum(float((-w.detach() * hg).double().sum()) for (w, _), hg in zip(live, hessian_grads)
                if hg is not None)
    return float(value), float(loss.detach())


def grasp_score(ctx: EvalContext, settings: GraspSettings) -> ProxyResult:
    images, labels = _batch(ctx, settings, "grasp")
    value, loss = grasp_value(_network(ctx, settings), images, labels, settings.temperature)
    return _result(value, {"loss": loss})


# ---------------------------------------------------------------------------------------------
# §G.6 Fisher

def fisher_value(passed: WeightGradients, weighting: str = "per_parameter") -> float:
    """Σ_layers Σ_k w_k · |saliency_k| over the pass's layer outputs (conv: before its BN), w_k = the weight
    entries of output channel k (`per_parameter`, as the reference code broadcasts before summing) or 1."""
    if weighting not in FISHER_WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; expected one of {FISHER_WEIGHTINGS}")
    value = 0.0
    for weight, saliency in zip(passed.weights, passed.saliencies):
        if saliency is not None:
            per_entry = weight[0].numel() if weighting == "per_parameter" else 1
            value += float(saliency.abs().double().sum()) * per_entry
    return value


def fisher_score(ctx: EvalContext, settings: FisherSettings) -> ProxyResult:
    passed, cached = shared_pass(ctx, settings, "fisher")
    reached = sum(s is not None for s in passed.saliencies)
    return _result(fisher_value(passed, settings.weighting),
                   {**_pass_diagnostics(passed, cached), "layers_with_gradient": reached})


# ---------------------------------------------------------------------------------------------
# §G.7 SynFlow and §G.8 L2 norm (data-free)

def synflow_value(network: nn.Module, input_size: int) -> float:
    """Σ |W ⊙ ∂R/∂W| over the Conv/Linear weights, R = Σ logits of the network with every parameter and
    buffer replaced by its absolute value, on one all-ones 3×size×size input in the network's dtype.

    Works on a copy: the caller's network keeps its signs."""
    network = copy.deepcopy(network)
    with torch.no_grad():
        for tensor in network.state_dict().values():
            tensor.abs_()
    dtype = next(network.parameters()).dtype
    ones = torch.ones(1, 3, input_size, input_size, dtype=dtype, device=next(network.parameters()).device)
    weights = [m.weight for _, m in scored_layers(network)]
    grads = torch.autograd.grad(network(ones).logits.sum(), weights, allow_unused=True)
    return float(sum(float((w.detach() * g).abs().double().sum()) for w, g in zip(weights, grads) if g is not None))


def synflow_score(ctx: EvalContext, settings: SynflowSettings) -> ProxyResult:
    if settings.input_size is None and ctx.dataset not in DATASET_INPUT_SIZE:
        raise ZcbenchError(f"no input size known for dataset {ctx.dataset!r}; set the synflow setting input_size")
    size = settings.input_size or DATASET_INPUT_SIZE[ctx.dataset]
    value = synflow_value(_network(ctx, settings), size)
    naslib = 0.0 if value == 0 else (math.log(value) if value > 0 else -math.log(-value))
    return _result(value, {"naslib_value": naslib, "input_size": size})


def l2_norm_value(network: nn.Module) -> float:
    """Σ over the Conv/Linear layers of the Frobenius norm of the weight."""
    return float(sum(float(m.weight.detach().norm()) for _, m in scored_layers(network)))


def l2_norm_score(ctx: EvalContext, settings: L2NormSettings) -> ProxyResult:
    network = _network(ctx, settings)
    return _result(l2_norm_value(network), {"layers": len(scored_layers(network))})


# ---------------------------------------------------------------------------------------------
# Registry entries

REFERENCE = "zero-cost-nas (Abdelfattah et al., ICLR'21) and NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS'22)"


# NAS-Bench-Suite-Zero's run used NASLib's zc_config.yaml, batch_size 32 (§G.1: its jacov scores prove it);
# zero-cost-nas's nasbench2_pred.py defaults to 64. Only the data-driven proxies have a batch.
SUITE_BATCH = 32


def _presets(code: Settings) -> dict:
    """`code` = zero-cost-nas; `naslib` = the same with the Suite's batch of 32 where there is a batch (equal to
    `code` for synflow and l2_norm); `nb101` = `naslib` on the §1.4 proxy network."""
    naslib = dataclasses.replace(code, batch_size=SUITE_BATCH) if hasattr(code, "batch_size") else code
    return {"naslib": naslib, "code": code, "nb101": dataclasses.replace(naslib, cells=3, init="naswot")}


def _spec(name, summary, paper, settings, compute, cost_class="backward", needs=("images", "labels", "gradients")):
    return ProxySpec(name=name, version=1, higher_is_better=True, cost_class=cost_class, needs=needs,
                     paper=f"{paper}; {REFERENCE}", summary=summary, settings_type=type(settings),
                     presets=_presets(settings), compute=compute, spaces=SPACES)


GRAD_NORM = _spec("grad_norm", "Σ_layers ‖∂L/∂W‖₂ over Conv/Linear weights after one cross-entropy backward",
                  "gradient norm baseline, Abdelfattah et al. §3", GradientSettings(), grad_norm_score)
SNIP = _spec("snip", "Σ |W ⊙ ∂L/∂W| over Conv/Linear weights (SNIP connection sensitivity)",
             "SNIP (Lee et al., ICLR'19)", GradientSettings(), snip_score)
PLAIN = _spec("plain", "Σ W ⊙ ∂L/∂W over Conv/Linear weights (signed SNIP)",
              "plain (Mozer & Smolensky 1989 via Abdelfattah et al.)", GradientSettings(), plain_score)
GRASP = _spec("grasp", "Σ −W ⊙ (H ∂L/∂W): GraSP gradient-flow preservation, Hessian-gradient product",
              "GraSP (Wang et al., ICLR'20)", GraspSettings(), grasp_score)
FISHER = _spec("fisher", "Σ channels ½·mean_n(Σ_xy a·∂L/∂a)² of every Conv/Linear output activation",
               "Fisher pruning (Theis et al. 2018; Turner et al., ICLR'20)", FisherSettings(), fisher_score)
SYNFLOW = _spec("synflow", "Σ |W ⊙ ∂R/∂W|, R = Σ logits of the |θ| network on an all-ones input (data-free)",
                "SynFlow (Tanaka et al., NeurIPS'20)", SynflowSettings(), synflow_score, needs=("gradients",))
L2_NORM = _spec("l2_norm", "Σ_layers ‖W‖₂ of the initialised Conv/Linear weights (data-free)",
                "L2 norm baseline (NAS-Bench-Suite-Zero)", L2NormSettings(), l2_norm_score,
                cost_class="forward", needs=())
