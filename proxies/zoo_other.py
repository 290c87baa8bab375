"""Five later zero-cost proxies: EPE-NAS, Zen-score, ZiCo, MeCo, SWAP (protocols §G.10–G.14).

Each proxy has a pure computation on (network, inputs) that the tests check against independent
formulas, and a score function that builds the network the preset names (proxies.networks, the
same `channels`/`cells`/`init`/`batch_size` fields as NASWOT and MGM) and draws its inputs from
the seeded `data` stream. All five are higher-is-better. Non-finite values are recorded with their
status (registry.classify), never replaced.

* `epe_nas` (protocols §G.10): per-class Pearson correlations of the input Jacobians.
* `zen` (§G.11): log of the feature change under a Gaussian input perturbation plus the log BN scales;
  data-free (Gaussian inputs), N(0, 1) weights.
* `zico` (§G.12): Σ over conv/linear layers of log Σ_θ mean|g_θ| / std g_θ over batches.
* `meco` (§G.13): Σ over every module of λ_min of the channel × channel Pearson correlation of the
  first sample's feature map.
* `swap` (§G.14): number of distinct per-neuron sign patterns over a batch, optionally times a
  parameter-count Gaussian.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.proxies.naswot import input_jacobian
from zcbench.proxies.networks import build_scoring_network
from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec, classify
from zcbench.proxies.settings import Settings
from zcbench.spaces.catalog import DATASET_INPUT_SIZE
from zcbench.spaces.errors import SettingsError
from zcbench.spaces.init import INIT_SCHEMES
from zcbench.spaces.nb201_networks import NetOutput

GAUSSIAN_INIT = "gaussian"  # Zen-NAS / SWAP: conv and linear weights N(0, 1), biases 0, BN γ=1 β=0
ZOO_INITS = (*INIT_SCHEMES, GAUSSIAN_INIT)
EPE_K = 1e-5  # EPE-NAS: log(|corr| + k)
EPE_CLASS_RULES = ("sum", "pairwise", "by_head")
EPE_MANY_CLASSES = 100  # NASLib/paper: more classes than this → the normalised pairwise rule
ZEN_NORMS = ("l1", "frobenius")
ZEN_BN_VARIANCES = ("running_var", "batch_var")
MECO_LAYER_SETS = ("all_modules", "conv")


# ---------------------------------------------------------------------------------------------
# Shared pieces

def gaussian_init(network: nn.Module) -> nn.Module:
    """The Zen-NAS / SWAP re-initialisation: Conv2d and Linear weights N(0, 1), biases 0, BN/GN γ=1, β=0.
    BN running buffers are left as they are (the authors' function leaves them too)."""
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and module.weight is not None:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    return network


def _network(ctx: EvalContext, settings, train_mode: bool) -> nn.Module:
    """The scoring network of the preset; `init='gaussian'` is applied on top of the builder's default."""
    init = "pytorch_default" if settings.init == GAUSSIAN_INIT else settings.init
    network = build_scoring_network(ctx, kind="cell", channels=settings.channels, cells=settings.cells,
                                    num_classes=settings.num_classes, init=init, train_mode=train_mode)
    return gaussian_init(network) if settings.init == GAUSSIAN_INIT else network


def _tensor_output(output):
    """The tensor a module returns (a network's NetOutput → its logits, as the authors' nets return)."""
    if isinstance(output, NetOutput):
        return output.logits
    return output if torch.is_tensor(output) else None


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


# ---------------------------------------------------------------------------------------------
# EPE-NAS (protocols §G.10)

@dataclass(frozen=True)
class EpeNasSettings(Settings):
    """EPE-NAS (defaults = `code`: the authors' search.py, a fork of NASWOT v1's)."""

    CHOICES = {"init": INIT_SCHEMES, "class_rule": EPE_CLASS_RULES}
    MINIMUM = {"batch_size": 2, "channels": 1, "cells": 1, "num_classes": 1, "k": 0.0}

    batch_size: int = 256
    augment: bool = True  # one shuffled batch of the NB201 training transform
    train_mode: bool = True  # search.py never calls .eval()
    init: str = "pytorch_default"
    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    k: float = EPE_K
    class_rule: str = "sum"  # search.py never passes n_classes, so its default 10 always picks the sum


def class_correlation_scores(jacobian: np.ndarray, labels: np.ndarray, k: float = EPE_K):
    """Per class (in order of first appearance): Σ log(|ρ| + k) over the class's Pearson matrix of Jacobian
    rows, and the class size. A class with one sample has ρ = [[1]]; a constant row gives NaN entries."""
    J = np.asarray(jacobian, dtype=np.float64)
    scores, sizes = {}, {}
    for label in dict.fromkeys(labels.tolist()):
        rows = J[labels == label]
        centred = rows - rows.mean(axis=1, keepdims=True)
        norms = np.sqrt((centred ** 2).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.clip((centred @ centred.T) / np.outer(norms, norms), -1.0, 1.0)
        scores[label] = float(np.sum(np.log(np.abs(corr) + k)))
        sizes[label] = len(rows)
    return scores, sizes


def epe_nas_value(jacobian: np.ndarray, labels: np.ndarray, head_classes: int, class_rule: str,
                  k: float = EPE_K) -> ProxyResult:
    """Rule `sum`: Σ_c |s_c|. Rule `pairwise`: s_c / n_c over the classes with ≥ 2 samples, then
    Σ_c Σ_c' |s_c − s_c'| / (number of those classes); NaN when no class has 2 (the references' per-class
    step fails on a one-sample class and skips it, protocols §G.10). `by_head`: pairwise when the network
    has more than 100 outputs, else sum (NASLib; the paper)."""
    scores, sizes = class_correlation_scores(jacobian, labels, k)
    rule = class_rule if class_rule != "by_head" else ("pairwise" if head_classes > EPE_MANY_CLASSES else "sum")
    if rule == "sum":
        value = sum(abs(s) for s in scores.values())
    else:
        normalised = np.array([scores[c] / sizes[c] for c in scores if sizes[c] >= 2])
        value = (float(np.abs(normalised[:, None] - normalised[None, :]).sum() / len(normalised))
                 if len(normalised) else math.nan)
    diagnostics = {"rule": rule, "classes_seen": len(scores),
                   "single_sample_classes": int(sum(n < 2 for n in sizes.values())),
                   "nan_classes": int(sum(math.isnan(s) for s in scores.values())),
                   "zero_jacobian_rows": int((np.abs(jacobian).max(axis=1) == 0).sum())}
    return classify(float(value), diagnostics)


def epe_nas_score(ctx: EvalContext, settings: EpeNasSettings) -> ProxyResult:
    data = ctx.require_data("epe_nas")
    network = _network(ctx, settings, settings.train_mode)
    images, labels, indices = data.batch(settings.batch_size, ctx.rng("data"), augment=settings.augment)
    jacobian = input_jacobian(network, images.to(ctx.device), "logits").double().cpu().numpy()
    head = network.classifier.out_features
    result = epe_nas_value(jacobian, labels.numpy(), head, settings.class_rule, settings.k)
    result.diagnostics.update(batch_size=len(indices), head_classes=head)
    return result


EPE_CODE = EpeNasSettings()
EPE_NAS = ProxySpec(
    name="epe_nas", version=1, higher_is_better=True, cost_class="backward",
    needs=("images", "labels", "gradients"),
    paper="EPE-NAS (Lopes et al., ICANN'21, arXiv 2102.08099); NASLib `epe_nas`",
    summary="EPE-NAS: Σ over classes of |Σ log(|ρ|+k)| of the per-class input-Jacobian correlations",
    settings_type=EpeNasSettings,
    presets={"code": EPE_CODE, "paper": dataclasses.replace(EPE_CODE, class_rule="by_head"),
             "naslib": dataclasses.replace(EPE_CODE, batch_size=32, class_rule="by_head"),
             "nb101": dataclasses.replace(EPE_CODE, cells=3, init="naswot")},
    compute=epe_nas_score, spaces=("nb201", "nb101"))


# ---------------------------------------------------------------------------------------------
# Zen-score (protocols §G.11)

@dataclass(frozen=True)
class ZenSettings(Settings):
    """Zen-score (defaults = `code`: ZenNAS `compute_zen_score.py` as `evolution_search.py` calls it)."""

    CHOICES = {"init": ZOO_INITS, "norm": ZEN_NORMS, "bn_variance": ZEN_BN_VARIANCES}
    MINIMUM = {"batch_size": 1, "repeats": 1, "channels": 1, "cells": 1, "num_classes": 1, "mixup_gamma": 0.0}

    batch_size: int = 64
    input_size: int | str = "dataset"  # 'dataset': the given images' size, else the dataset's (32 / 16 px)
    mixup_gamma: float = 1e-2
    repeats: int = 1  # each repeat: new N(0,1) weights, new Gaussian inputs; the score is the mean
    train_mode: bool = True
    init: str = GAUSSIAN_INIT
    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    norm: str = "l1"  # code: Σ|Δ| per sample; paper: Frobenius norm
    bn_variance: str = "running_var"  # code: running_var after both forwards; paper: the batch variance

    def __post_init__(self):
        super().__post_init__()
        size = self.input_size
        if size != "dataset" and not (isinstance(size, int) and not isinstance(size, bool) and size >= 1):
            raise SettingsError(f"ZenSettings.input_size = {size!r}: expected a positive int or 'dataset'")


def _feature_site(network: nn.Module):
    """(module, 'input' | 'output') whose tensor is the pre-global-pooling feature map."""
    if isinstance(getattr(network, "global_pooling", None), nn.Module):
        return network.global_pooling, "input"
    return network.cells, "output"  # NB101: cells → spatial mean


def pre_pool_features(network: nn.Module, x: torch.Tensor, on_forward=None) -> torch.Tensor:
    """The feature map before global pooling for input x (one forward, no grad)."""
    module, where = _feature_site(network)
    captured = []
    handle = (module.register_forward_pre_hook(lambda _m, inputs: captured.append(inputs[0])) if where == "input"
              else module.register_forward_hook(lambda _m, _i, output: captured.append(output)))
    try:
        with torch.no_grad():
            network(x)
    finally:
        handle.remove()
    return captured[0]


def zen_repeat(network: nn.Module, x: torch.Tensor, noise: torch.Tensor, settings: ZenSettings) -> dict:
    """One Zen-score: log Δ + Σ_BN log sqrt(mean_channels var), Δ = mean over samples of ‖f(x) − f(x+γε)‖."""
    batch_vars = []
    hooks = []
    if settings.bn_variance == "batch_var":
        hooks = [m.register_forward_pre_hook(
            lambda _m, inputs: batch_vars.append(inputs[0].detach().double().var(dim=(0, 2, 3), unbiased=False)))
            for m in network.modules() if isinstance(m, nn.BatchNorm2d)]
    try:
        clean = pre_pool_features(network, x)
    finally:
        for h in hooks:
            h.remove()
    perturbed = pre_pool_features(network, x + settings.mixup_gamma * noise)
    diff = (clean - perturbed).flatten(1)
    per_sample = diff.abs().sum(dim=1) if settings.norm == "l1" else diff.pow(2).sum(dim=1).sqrt()
    delta = float(per_sample.mean())
    if settings.bn_variance == "running_var":
        variances = [m.running_var.double() for m in network.modules() if isinstance(m, nn.BatchNorm2d)]
    else:
        variances = batch_vars
    log_bn = float(sum(torch.log(torch.sqrt(v.mean())) for v in variances)) if variances else 0.0
    with np.errstate(divide="ignore"):
        log_delta = float(np.log(delta))
    return {"value": log_delta + log_bn, "log_delta": log_delta, "log_bn": log_bn, "bn_layers": len(variances)}


def zen_score(ctx: EvalContext, settings: ZenSettings) -> ProxyResult:
    network = _network(ctx, settings, settings.train_mode)
    size = settings.input_size
    if size == "dataset":
        size = ctx.data.image_size if ctx.data is not None else DATASET_INPUT_SIZE.get(ctx.dataset, 32)
    shape = (settings.batch_size, 3, size, size)
    repeats = []
    for _ in range(settings.repeats):
        if settings.init == GAUSSIAN_INIT:
            gaussian_init(network)
        x = torch.randn(shape, device=ctx.device)
        noise = torch.randn(shape, device=ctx.device)
        repeats.append(zen_repeat(network, x, noise, settings))
    value = float(np.mean([r["value"] for r in repeats]))
    diagnostics = {"log_delta": [r["log_delta"] for r in repeats], "log_bn": [r["log_bn"] for r in repeats],
                   "bn_layers": repeats[0]["bn_layers"], "input_size": size}
    if len(repeats) > 1:
        diagnostics["per_repeat"] = [r["value"] for r in repeats]
    return classify(value, diagnostics)


ZEN_CODE = ZenSettings()
ZEN = ProxySpec(
    name="zen", version=1, higher_is_better=True, cost_class="forward", needs=(),
    paper="Zen-NAS (Lin et al., ICCV'21) Eq. 4–6; code idstcv/ZenNAS compute_zen_score.py",
    summary="Zen-score: log E‖f(x) − f(x+γε)‖ + Σ log BN scale, Gaussian inputs and N(0,1) weights",
    settings_type=ZenSettings,
    presets={"code": ZEN_CODE,
             "paper": dataclasses.replace(ZEN_CODE, norm="frobenius", bn_variance="batch_var"),
             "nb101": dataclasses.replace(ZEN_CODE, cells=3)},
    compute=zen_score, spaces=("nb201", "nb101"))


# ---------------------------------------------------------------------------------------------
# ZiCo (protocols §G.12)

@dataclass(frozen=True)
class ZicoSettings(Settings):
    """ZiCo (defaults = `code`: SLDGroup/ZiCo `compute_zico.py` as `evolution_search.py` calls it)."""

    CHOICES = {"init": ZOO_INITS}
    MINIMUM = {"batch_size": 1, "batches": 2, "channels": 1, "cells": 1, "num_classes": 1}

    batch_size: int = 64
    batches: int = 2  # `--maxbatch 2`
    augment: bool = True
    train_mode: bool = True
    init: str = "pytorch_default"
    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    accumulate_gradients: bool = True  # code: no zero_grad between batches, so batch b records g_1 + … + g_b


def weight_layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Conv2d and Linear modules whose weight gradients ZiCo reads, in registration order."""
    return [(name, m) for name, m in network.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def recorded_gradients(network: nn.Module, batches, accumulate: bool) -> dict[str, np.ndarray]:
    """Per layer, the weight .grad read after each batch's CE backward: float64 (batches, numel)."""
    layers = weight_layers(network)
    rows: dict[str, list[np.ndarray]] = {name: [] for name, _ in layers}
    network.zero_grad(set_to_none=True)
    for images, labels in batches:
        if not accumulate:
            network.zero_grad(set_to_none=True)
        F.cross_entropy(network(images).logits, labels).backward()
        for name, module in layers:
            grad = module.weight.grad
            if grad is not None:
                rows[name].append(grad.detach().double().cpu().numpy().ravel().copy())
    return {name: np.stack(r) for name, r in rows.items() if len(r) == len(batches)}


def zico_from_gradients(gradients: dict[str, np.ndarray]) -> tuple[float, dict]:
    """Σ over layers of log Σ_θ mean_b|g| / std_b g (population std), over entries with std > 0; a layer
    whose sum is 0 (no such entry) is skipped, as in the authors' code."""
    total, per_layer, skipped = 0.0, {}, 0
    for name, g in gradients.items():
        std = g.std(axis=0)
        nonzero = std != 0
        ratio_sum = float(np.sum(np.abs(g).mean(axis=0)[nonzero] / std[nonzero]))
        if ratio_sum == 0:
            skipped += 1
            continue
        per_layer[name] = math.log(ratio_sum)
        total += per_layer[name]
    return total, {"layers": len(per_layer), "skipped_layers": skipped}


def zico_score(ctx: EvalContext, settings: ZicoSettings) -> ProxyResult:
    data = ctx.require_data("zico")
    network = _network(ctx, settings, settings.train_mode)
    rng = ctx.rng("data")
    indices = data.sample_indices(settings.batch_size * settings.batches, rng)  # disjoint batches
    images, labels = data.tensors(indices, rng, augment=settings.augment)
    batches = [(images[b * settings.batch_size:(b + 1) * settings.batch_size].to(ctx.device),
                labels[b * settings.batch_size:(b + 1) * settings.batch_size].to(ctx.device))
               for b in range(settings.batches)]
    value, diagnostics = zico_from_gradients(recorded_gradients(network, batches, settings.accumulate_gradients))
    return classify(value, diagnostics)


ZICO_CODE = ZicoSettings()
ZICO = ProxySpec(
    name="zico", version=1, higher_is_better=True, cost_class="backward", needs=("images", "labels", "gradients"),
    paper="ZiCo (Li et al., ICLR'23) Eq. 9; code SLDGroup/ZiCo compute_zico.py",
    summary="ZiCo: Σ_layers log Σ_θ mean|∇θ L| / std ∇θ L over batches (conv and linear weights)",
    settings_type=ZicoSettings,
    presets={"code": ZICO_CODE, "paper": dataclasses.replace(ZICO_CODE, accumulate_gradients=False),
             "nb101": dataclasses.replace(ZICO_CODE, cells=3, init="naswot")},
    compute=zico_score, spaces=("nb201", "nb101"))


# ---------------------------------------------------------------------------------------------
# MeCo (protocols §G.13)

@dataclass(frozen=True)
class MecoSettings(Settings):
    """MeCo (defaults = `code`: HamsterMimi/MeCo `correlation/NAS_Bench_201.py`)."""

    CHOICES = {"init": ZOO_INITS, "layer_set": MECO_LAYER_SETS}
    MINIMUM = {"batch_size": 1, "channels": 1, "cells": 1, "num_classes": 1, "channel_sample": 2}

    batch_size: int = 1  # `--batch_size 1`: one training image
    augment: bool = True
    train_mode: bool = True
    init: str = "pytorch_default"
    channels: int = 16
    cells: int = 5
    num_classes: int | str = "dataset"
    layer_set: str = "all_modules"  # code: a forward hook on every module (named_modules, root included)
    channel_sample: int | None = None  # MeCo_opt: 8 random channels per layer, λ_min scaled by C/8


def min_correlation_eigenvalue(feature: torch.Tensor) -> float:
    """λ_min of the row × row Pearson matrix of a (rows, …) tensor, NaN/inf entries set to 0 (as the
    authors'), float64, symmetric eigen-solver."""
    rows = feature.reshape(feature.shape[0], -1).double()
    centred = rows - rows.mean(dim=1, keepdim=True)
    scale = centred.pow(2).sum(dim=1).sqrt()
    corr = ((centred @ centred.T) / (scale[:, None] * scale[None, :])).clamp(-1.0, 1.0)  # 0/0 → NaN, as corrcoef
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def meco_terms(network: nn.Module, x: torch.Tensor, settings: MecoSettings, rng: np.random.Generator) -> dict:
    """Per hooked module call: λ_min of the channel correlation of the FIRST sample's output (C × H·W)."""
    terms, under_sampled = [], 0

    def hook(_module, _inputs, output):
        nonlocal under_sampled
        out = _tensor_output(output)
        if out is None or out.dim() < 2:
            return
        feature = out[0].detach()
        rows = feature.reshape(feature.shape[0], -1)
        scale = 1.0
        if settings.channel_sample is not None:
            if rows.shape[0] >= settings.channel_sample:
                chosen = torch.as_tensor(rng.choice(rows.shape[0], size=settings.channel_sample, replace=False))
                scale = rows.shape[0] / settings.channel_sample
                rows = rows[chosen]
            else:
                under_sampled += 1  # the authors' random.sample would raise here; we use every channel
        terms.append(scale * min_correlation_eigenvalue(rows))

    wanted = (lambda m: True) if settings.layer_set == "all_modules" else (lambda m: isinstance(m, nn.Conv2d))
    handles = [m.register_forward_hook(hook) for m in network.modules() if wanted(m)]
    try:
        with torch.no_grad():
            network(x)
    finally:
        for h in handles:
            h.remove()
    return {"terms": terms, "under_sampled_layers": under_sampled}


def meco_score(ctx: EvalContext, settings: MecoSettings) -> ProxyResult:
    data = ctx.require_data("meco")
    network = _network(ctx, settings, settings.train_mode)
    images, _, _ = data.batch(settings.batch_size, ctx.rng("data"), augment=settings.augment)
    found = meco_terms(network, images.to(ctx.device), settings, ctx.rng("channels"))
    terms = np.asarray(found["terms"], dtype=np.float64)
    finite = terms[np.isfinite(terms)]  # the authors drop NaN and inf terms
    return classify(float(finite.sum()), {"layers": len(terms), "dropped_terms": int(len(terms) - len(finite)),
                                          "under_sampled_layers": found["under_sampled_layers"]})


MECO_CODE = MecoSettings()
MECO = ProxySpec(
    name="meco", version=1, higher_is_better=True, cost_class="forward", needs=("images",),
    paper="MeCo (Jiang et al., NeurIPS'23) Eq. 8 and MeCo_opt; code HamsterMimi/MeCo",
    summary="MeCo: Σ over layers of λ_min of the channel Pearson correlation of one sample's feature map",
    settings_type=MecoSettings,
    presets={"code": MECO_CODE, "opt": dataclasses.replace(MECO_CODE, channel_sample=8),
             "nb101": dataclasses.replace(MECO_CODE, cells=3, init="naswot")},
    compute=meco_score, spaces=("nb201", "nb101"))


# ---------------------------------------------------------------------------------------------
# SWAP (protocols §G.14)

@dataclass(frozen=True)
class SwapSettings(Settings):
    """SWAP (defaults = `code`: pym1024/SWAP `correlation.py` + `src/metrics/swap.py`)."""

    CHOICES = {"init": ZOO_INITS}
    MINIMUM = {"batch_size": 1, "repeats": 1, "channels": 1, "cells": 1, "num_classes": 1, "reg_sigma": 0.0}

    batch_size: int = 16  # `--input_samples 16`
    repeats: int = 32  # `--repeats 32`: new N(0,1) weights each time, same inputs; the score is the mean
    augment: bool = True
    train_mode: bool = True
    init: str = GAUSSIAN_INIT
    channels: int = 3  # the released script's network is DARTS `Network(C=3, layers=1)`: see protocols §G.14
    cells: int = 1
    num_classes: int | str = "dataset"
    reg_mu_k: float | None = None  # regularised SWAP: × exp(−(#params/1e3 − μ)² / σ); None = plain SWAP
    reg_sigma: float | None = None

    def __post_init__(self):
        super().__post_init__()
        if (self.reg_mu_k is None) != (self.reg_sigma is None):
            raise SettingsError(f"SwapSettings: reg_mu_k = {self.reg_mu_k!r} and reg_sigma = {self.reg_sigma!r}: "
                                "set both (regularised SWAP) or neither")
        if self.reg_sigma is not None and self.reg_sigma <= 0:
            raise SettingsError(f"SwapSettings.reg_sigma = {self.reg_sigma!r}: must be > 0")


def relu_sign_patterns(network: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """sign of every nn.ReLU output whose input is 4-D, flattened per sample and concatenated: (B, N)."""
    outputs = []

    def hook(_module, inputs, output):
        if inputs[0].dim() == 4:
            outputs.append(torch.sign(output.detach()).flatten(1))

    handles = [m.register_forward_hook(hook) for m in network.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            network(x)
    finally:
        for h in handles:
            h.remove()
    if not outputs:
        raise ValueError("the network has no nn.ReLU on a 4-D input: SWAP has no activation pattern")
    return torch.cat(outputs, dim=1)


def swap_cardinality(patterns: torch.Tensor) -> int:
    """Number of distinct columns (one per neuron, its signs over the samples)."""
    return int(torch.unique(patterns.T, dim=0).shape[0])


def swap_regulariser(params: int, mu_k: float, sigma: float) -> float:
    return math.exp(-((params / 1e3 - mu_k) ** 2) / sigma)


def swap_score(ctx: EvalContext, settings: SwapSettings) -> ProxyResult:
    data = ctx.require_data("swap")
    network = _network(ctx, settings, settings.train_mode)
    images, _, _ = data.batch(settings.batch_size, ctx.rng("data"), augment=settings.augment)
    x = images.to(ctx.device)
    counts, neurons = [], 0
    for _ in range(settings.repeats):
        if settings.init == GAUSSIAN_INIT:
            gaussian_init(network)
        patterns = relu_sign_patterns(network, x)
        counts.append(swap_cardinality(patterns))
        neurons = patterns.shape[1]
    params = parameter_count(network)
    factor = 1.0 if settings.reg_mu_k is None else swap_regulariser(params, settings.reg_mu_k, settings.reg_sigma)
    diagnostics = {"cardinality": counts, "params": params, "regular_factor": factor, "neurons": neurons}
    return classify(float(np.mean([c * factor for c in counts])), diagnostics)


SWAP_CODE = SwapSettings()
SWAP = ProxySpec(
    name="swap", version=1, higher_is_better=True, cost_class="forward", needs=("images",),
    paper="SWAP-NAS (Peng et al., ICLR'24) §3; code pym1024/SWAP",
    summary="SWAP: number of distinct per-neuron ReLU sign patterns over a batch (optionally × #param Gaussian)",
    settings_type=SwapSettings,
    presets={"code": SWAP_CODE, "nb101": dataclasses.replace(SWAP_CODE, channels=16, cells=3)},
    compute=swap_score, spaces=("nb201", "nb101"))
