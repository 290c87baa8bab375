"""MGM: mean of the Gram matrix of per-sample loss gradients at initialisation (KNAS, protocols §A4, §E.8).

Per-sample gradients come from batch-1 forwards of the train-mode C16 N5 network (BN statistics of
one sample), restricted to a few entries of a few parameter tensors. Two estimators:
`centred_halves` (the authors' code) and `gram_mean` (the paper's Eq. 16). Higher is better.

Fast paths live next to the authors' loop and are tested equal to it: per-sample gradients via
`torch.func.vmap` over batch-1 forwards (which keeps per-sample BN statistics), and for `gram_mean`
the identity mean_{i,j} ⟨g_i, g_j⟩ = ‖Σ_i g_i‖² / n², i.e. one backward of the summed loss.

Presets (protocols §A4): `code` = the authors' float32 loop (what their code computes under torch ≥ 2.0);
`code64` = the same statistic in float64 through the fast path (equal to the float64 loop to ~1e-14,
the numerically meaningful value the ledger reports); `paper` = Eq. 15–16; `nb101` = `code` on NB101.

A cell whose output is identically 0 (e.g. all `none`) scores exactly 0 unless the classifier bias
is selected: the logits are that bias, and the gradient stops at the final ReLU (ReLU′(0) = 0), so
every other gradient is 0. The bias is selected only when it has ≥ min_elements entries (100 or 120
classes) and the walk reaches it (the paper preset; not the code preset on the C16 N5 network).

NB101 (preset `nb101`, an assumption: KNAS scored only NB201): `code` on the stem-16, 3-modules-per-stack
NB101 proxy network with the NASWOT init (protocols §1.4) but the dataset's classes, not one output —
with one logit the cross-entropy is constant and every gradient 0.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, replace_all_batch_norm_modules_, vmap

from zcbench.proxies.networks import build_scoring_network
from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec
from zcbench.proxies.settings import Settings
from zcbench.spaces.errors import NotEnoughDataError, SettingsError
from zcbench.spaces.images import ImageSet
from zcbench.spaces.init import INIT_SCHEMES
from zcbench.spaces.loader_stream import loader_draws

ENTRY_SELECTIONS = ("first", "random")
ESTIMATORS = ("centred_halves", "gram_mean")
AGGREGATES = ("sum", "mean")
METHODS = ("loop", "vectorized")
GRAD_STORAGES = ("copied", "aliased_torch1")
SAMPLE_STREAMS = {"seeded": None, "knas_loader": "torch>=1.9", "knas_loader_torch18": "torch<=1.8"}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class MGMSettings(Settings):
    """Network, samples, gradient entries and estimator of MGM.

    code (KNAS `exps/NAS-Bench-201/functions.py::procedure`, §A4 steps 1–4): C16 N5 network with the
    dataset's classes, PyTorch default init, train mode; 50 augmented samples, each forwarded alone
    with cross-entropy; walking parameters in registration order, the first 11 tensors that have a
    gradient and ≥ 50 entries; their first 50 entries; per entry the dot product of the mean-centred
    gradients of samples 1–25 and 26–50, divided by 2500; summed over tensors and entries. Gradients
    in float32 as the authors'; the estimator accumulates in float64 (theirs in float32).

    paper (KNAS Eq. 15–16): the mean over layers of the mean of all n² dot products ⟨g_i, g_j⟩
    (i = j included, no centring) of per-sample gradients restricted to 50 sampled parameters per
    layer. Where the paper is silent we assume: the code's network, init, 50 augmented samples and
    batch-1 forwards (per-sample gradients of a train-mode BN network are defined that way); a
    "layer" is every parameter tensor that gets a gradient and has ≥ 50 entries (no limit of 11);
    its 50 entries are drawn uniformly without replacement, once, from the `entries` RNG stream.

    `method`: `loop` = one forward/backward per sample, as the authors do (the `code` default: in
    float32 it is what their code computes, to ~1e-6); `vectorized` = torch.func (see module
    docstring), faster, equal to the loop to ~1e-14 in float64 but up to a few per cent off it in
    float32 (batching changes the float32 summation order). `dtype` is the precision of the network
    and its gradients: deep conv-heavy C16 N5 cells are ill-conditioned at init, so float32 gradients
    carry errors of a few per cent, which the centred estimator amplifies; `code64` (float64) is the
    numerically meaningful value (protocols §A4).

    `sample_stream`: which samples and augmentations: `seeded` = zcbench's numpy stream of the proxy seed
    (distinct images, flips and crops drawn from the `data` stream); `knas_loader` = the stream of the
    authors' code for that seed: after the network, get_model_infos' probe input `torch.rand(1, 3, H, W)`,
    then the first samples of a shuffled batch-1 DataLoader with NB201's transform, all from torch's
    global RNG (spaces.loader_stream; the RandomSampler of torch ≥ 1.9); `knas_loader_torch18` = the same
    under torch ≤ 1.8's RandomSampler, which permuted with the global RNG. With the dataset's training
    images in their official order (`source = "dataset"`) and seed 777, `knas_loader*` draws the samples
    KNAS scored (protocols §A4.1); on other images it is the same mechanism on other images.

    `grad_storage` (loop only): `copied` = each sample's entries are read out of a fresh gradient,
    what the released code does under torch ≥ 2.0; `aliased_torch1` = the released code under
    torch < 2.0: `zero_grad()` zeroed `.grad` in place and the stored `copy.copy(grad.view(-1).data[…])`
    are views of it, so every stored row is the last sample's gradient and the centred score collapses
    to ~0 (protocols §E.8). Emulated with zero_grad(set_to_none=False) and stored views.
    """

    CHOICES = {"entry_selection": ENTRY_SELECTIONS, "estimator": ESTIMATORS, "aggregate": AGGREGATES,
               "method": METHODS, "init": INIT_SCHEMES, "dtype": tuple(DTYPES), "grad_storage": GRAD_STORAGES,
               "sample_stream": tuple(SAMPLE_STREAMS)}
    MINIMUM = {"samples": 2, "channels": 1, "cells": 1, "num_classes": 1, "max_tensors": 1, "min_elements": 1,
               "entries": 1}

    samples: int = 50
    channels: int = 16
    cells: int = 5  # cells per stage
    num_classes: int | str = "dataset"
    init: str = "pytorch_default"
    augment: bool = True
    max_tensors: int | None = 11
    min_elements: int = 50
    entries: int = 50
    entry_selection: str = "first"
    estimator: str = "centred_halves"
    halves_divisor: float = 2500.0  # centred_halves only: the authors' constant 1/2500
    aggregate: str = "sum"
    method: str = "loop"
    dtype: str = "float32"
    grad_storage: str = "copied"
    sample_stream: str = "seeded"

    def __post_init__(self):
        super().__post_init__()
        if self.estimator == "centred_halves" and self.samples % 2:
            raise SettingsError(f"MGMSettings.samples = {self.samples}: centred_halves needs an even number")
        if self.entries > self.min_elements:
            raise SettingsError(f"MGMSettings.entries = {self.entries}: must be ≤ min_elements = {self.min_elements}")
        if self.grad_storage != "copied" and self.method != "loop":
            raise SettingsError(f"MGMSettings.grad_storage = {self.grad_storage!r} emulates the authors' per-sample "
                                f"loop: it needs method='loop', not {self.method!r}")


class Selection(NamedTuple):
    name: str
    entries: np.ndarray  # flat indices into the parameter tensor


class MGMValue(NamedTuple):
    value: float
    per_tensor: np.ndarray  # float64, one contribution per selected tensor
    selection: list[Selection]


def select_entries(named_sizes: Sequence[tuple[str, int]], settings: MGMSettings,
                   rng: np.random.Generator) -> list[Selection]:
    """The authors' walk over (name, numel) of the parameters that have a gradient, in registration order."""
    chosen = []
    for name, numel in named_sizes:
        if settings.max_tensors is not None and len(chosen) == settings.max_tensors:
            break
        if numel < settings.min_elements:
            continue
        entries = (np.arange(settings.entries) if settings.entry_selection == "first"
                   else rng.choice(numel, size=settings.entries, replace=False))
        chosen.append(Selection(name, entries))
    if not chosen:
        raise ValueError(f"no parameter tensor with a gradient has ≥ {settings.min_elements} entries")
    return chosen


def _loss(network: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(network(x).logits, y)


def _take(gradient: torch.Tensor, selection: Selection) -> np.ndarray:
    """The selected entries of a flattened gradient (…, numel) as float64."""
    return gradient[..., torch.as_tensor(selection.entries)].double().cpu().numpy()


def per_sample_gradients_loop(network: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                              settings: MGMSettings, rng: np.random.Generator):
    """The authors' loop: each sample alone through the train-mode network, backward, read the entries.

    Returns (selection, float64 array (samples, tensors, entries)). Updates the BN running buffers
    (unused by train-mode outputs) and leaves the network's .grad fields set, as their loop does.
    With grad_storage='aliased_torch1' the gradients are zeroed in place and each sample's row is
    stored as a view of the live `.grad` (what `copy.copy` of a slice is), read only after the loop.
    """
    network.train()
    aliased = settings.grad_storage == "aliased_torch1"
    selection, rows = None, []
    for x, y in zip(images, labels):
        network.zero_grad(set_to_none=not aliased)
        _loss(network, x[None], y[None]).backward()
        with_grad = {name: p.grad for name, p in network.named_parameters() if p.grad is not None}
        if selection is None:
            selection = select_entries([(n, g.numel()) for n, g in with_grad.items()], settings, rng)
        if aliased:
            rows.append([copy.copy(with_grad[s.name].view(-1).data) for s in selection])
        else:
            rows.append([_take(with_grad[s.name].reshape(-1), s) for s in selection])
    if aliased:
        rows = [[_take(view, s) for view, s in zip(row, selection)] for row in rows]
    return selection, np.asarray(rows)


def _per_sample_copy(network: nn.Module) -> nn.Module:
    """A train-mode copy whose BNs keep no running buffers, so vmap can run batch-1 forwards on it.

    Train-mode BN outputs use batch statistics only, so the function computed is unchanged.
    """
    model = copy.deepcopy(network).train()
    replace_all_batch_norm_modules_(model)
    return model


def _parameters_with_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[str, int]]:
    """(name, numel) of the parameters a backward would reach, found by walking one sample's autograd graph."""
    pending, seen, reached = [_loss(model, x[:1], y[:1]).grad_fn], set(), set()
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):  # AccumulateGrad: a leaf tensor the backward writes .grad to
            reached.add(id(node.variable))
        pending.extend(parent for parent, _ in node.next_functions)
    return [(name, p.numel()) for name, p in model.named_parameters() if id(p) in reached]


def _functional_setup(network, images, labels, settings, rng):
    model = _per_sample_copy(network)
    selection = select_entries(_parameters_with_gradient(model, images, labels), settings, rng)
    params = {name: p.detach() for name, p in model.named_parameters()}

    def sample_loss(selected, x, y):
        return F.cross_entropy(functional_call(model, {**params, **selected}, (x[None],)).logits, y[None])

    return selection, {s.name: params[s.name] for s in selection}, sample_loss


def per_sample_gradients_vectorized(network: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                              settings: MGMSettings, rng: np.random.Generator):
    """Same result as `per_sample_gradients_loop`, from one vmapped forward/backward over the samples."""
    selection, selected, sample_loss = _functional_setup(network, images, labels, settings, rng)
    grads = vmap(grad(sample_loss), in_dims=(None, 0, 0))(selected, images, labels)
    return selection, np.stack([_take(grads[s.name].reshape(len(images), -1), s) for s in selection], axis=1)


def summed_gradients_vectorized(network: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                          settings: MGMSettings, rng: np.random.Generator):
    """Σ_i g_i over the samples (batch-1 BN semantics kept by vmap): (selection, float64 (tensors, entries))."""
    selection, selected, sample_loss = _functional_setup(network, images, labels, settings, rng)
    total = grad(lambda sel: vmap(sample_loss, in_dims=(None, 0, 0))(sel, images, labels).sum())(selected)
    return selection, np.stack([_take(total[s.name].reshape(-1), s) for s in selection])


def centred_halves(grads: np.ndarray, divisor: float) -> np.ndarray:
    """Per tensor: Σ_entries ⟨a − ā, b − b̄⟩ / divisor, a = samples of the first half, b = of the second."""
    half = grads.shape[0] // 2
    first, second = grads[:half], grads[half:2 * half]
    return ((first - first.mean(axis=0)) * (second - second.mean(axis=0))).sum(axis=(0, 2)) / divisor


def gram_mean(grads: np.ndarray) -> np.ndarray:
    """Per tensor: the mean of all n² entries of the Gram matrix ⟨g_i, g_j⟩ (reference form)."""
    return np.einsum("ite,jte->t", grads, grads) / grads.shape[0] ** 2


def mgm(network: nn.Module, images: torch.Tensor, labels: torch.Tensor, settings: MGMSettings,
        rng: np.random.Generator) -> MGMValue:
    """MGM of `network` on (images, labels); `rng` draws the entries when entry_selection is 'random'."""
    n = len(images)
    if n != settings.samples:
        raise NotEnoughDataError(f"MGM settings ask for {settings.samples} samples, got {n} images")
    if settings.estimator == "gram_mean" and settings.method == "vectorized":
        selection, sums = summed_gradients_vectorized(network, images, labels, settings, rng)
        per_tensor = (sums ** 2).sum(axis=1) / n ** 2
    else:
        gradients = per_sample_gradients_vectorized if settings.method == "vectorized" else per_sample_gradients_loop
        selection, grads = gradients(network, images, labels, settings, rng)
        per_tensor = (centred_halves(grads, settings.halves_divisor) if settings.estimator == "centred_halves"
                      else gram_mean(grads))
    value = per_tensor.sum() if settings.aggregate == "sum" else per_tensor.mean()
    return MGMValue(float(value), per_tensor, selection)


def knas_loader_samples(data: ImageSet, settings: MGMSettings):
    """(images, labels, indices) as the authors' code draws them after building the network (§A4.1)."""
    torch.rand(1, 3, data.image_size, data.image_size)  # get_model_infos' probe input, on the global RNG
    draws = loader_draws(len(data), settings.samples, data.crop_padding,
                         SAMPLE_STREAMS[settings.sample_stream])
    if settings.augment:
        images, labels = data.augmented(draws.indices, draws.flips, draws.tops, draws.lefts)
    else:
        images, labels = data.tensors(draws.indices)
    return images, labels, draws.indices


def mgm_score(ctx: EvalContext, settings: MGMSettings) -> ProxyResult:
    """Build and initialise the network, draw `samples` (augmented) training images, compute MGM."""
    data = ctx.require_data("mgm")
    network = build_scoring_network(ctx, kind="cell", channels=settings.channels, cells=settings.cells,
                                    num_classes=settings.num_classes, init=settings.init, train_mode=True)
    if settings.sample_stream == "seeded":
        rng = ctx.rng("data")
        indices = data.sample_indices(settings.samples, rng)
        images, labels = data.tensors(indices, rng, augment=settings.augment)
    else:
        images, labels, indices = knas_loader_samples(data, settings)
    dtype = DTYPES[settings.dtype]
    result = mgm(network.to(dtype=dtype), images.to(ctx.device, dtype), labels.to(ctx.device), settings,
                 ctx.rng("entries"))
    return ProxyResult(result.value, diagnostics={
        "tensors": [s.name for s in result.selection], "per_tensor": result.per_tensor.tolist(),
        "image_indices": indices.tolist(), "method": settings.method, "grad_storage": settings.grad_storage,
        "sample_stream": settings.sample_stream})


MGM = ProxySpec(
    name="mgm", version=1, higher_is_better=True, cost_class="per-sample-backward",
    needs=("images", "labels", "gradients"), paper="KNAS (Xu et al., ICML'21) Eq. 15–16",
    summary="mean of the per-sample gradient Gram matrix at init", settings_type=MGMSettings,
    presets={"code": MGMSettings(),
             "code64": MGMSettings(method="vectorized", dtype="float64"),
             "paper": MGMSettings(max_tensors=None, entry_selection="random", estimator="gram_mean",
                                  aggregate="mean", method="vectorized"),
             "nb101": MGMSettings(cells=3, init="naswot")},
    compute=mgm_score, spaces=("nb201", "nb101"))
