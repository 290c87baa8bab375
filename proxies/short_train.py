"""Short-training proxies of Revisit (Yang et al., WACV'23; protocols §A6, §E.9, §F.8).

One short training run — a C=16, N=5 network with `classes` outputs, SGD (lr 0.2, momentum 0.9,
Nesterov, weight decay 5e-4, constant lr), 50 full-batch iterations over C × M images with NB201
train augmentation re-drawn every iteration, cross-entropy — yields three proxies:

* `angle` — θ_pred between the classifier weight (no bias) before and after training. Reported as
  cos θ (`code`) or −θ in radians (`paper`); both are higher-is-better (a small angle is good).
* `angle_feat` — θ_feat between the concatenated feature-extractor weights (the `weight` of every
  Conv2d/BatchNorm2d in stem + cells) before and after. Same measure as `angle`, but LOWER is
  better: Table 3 finds a LARGER θ_feat goes with higher accuracy.
* `loss` — the raw cross-entropy of the last iteration, computed before that iteration's update.
  Lower is better (`higher_is_better=False`); the authors' "Loss" metric is −loss.

The run depends only on (arch, training settings, seed, proxy set, device), so it is memoised in a
small per-process cache: a sweep asking for all three proxies trains once (`run_cache_info()`).

Revisit's code filters "trivial" networks (protocols §A6): a cell without Conv/BN/AvgPool (only
none/skip_connect) or a classifier cosine ≥ 0.95 gets angle score 0 and loss score −100. With
`trivial_filter=True` (`code`) such rows get status `trivial`, the authors' penalty as value
(cosine 0 → `angle` 0 or −π/2; `loss` 100) and the reason plus the measured value in diagnostics;
`angle_feat` is never filtered (the authors define no penalty for it). `paper` has no filter.

On NB101 (`nb101` preset, an assumption: Revisit's NB101 code is unreleased) the same training runs on
the §1.4 NB101 proxy network with `classes` outputs; its stem and cells give θ_feat.
"""
from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.proxies.networks import check_nb101_depth
from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec, classify
from zcbench.proxies.settings import Settings
from zcbench.spaces.errors import DataNotFoundError, SettingsError
from zcbench.spaces.images import ImageSet
from zcbench.spaces.init import INIT_SCHEMES, initialize
from zcbench.spaces.proxy_sets import is_cifar10_train, nb201_train_half, sample_proxy_set

ANGLE_MEASURES = ("cosine", "neg_angle")
SOURCE_SPLITS = ("nb201-train-half", "supplied")
STATUS_TRIVIAL = "trivial"
# The authors' penalties for trivial networks: angle score (a cosine) 0, loss score (−loss) −100.
TRIVIAL_COSINE = 0.0
TRIVIAL_LOSS = 100.0
RUN_CACHE_SIZE = 64


@dataclass(frozen=True)
class ShortTrainSettings(Settings):
    """Training fields (the Table 9 ablations are iterations, classes, images_per_class, init) and
    scoring fields (angle_measure, trivial_filter, trivial_cosine, feat_pool_pseudo_weights)."""

    CHOICES = {"init": INIT_SCHEMES, "angle_measure": ANGLE_MEASURES, "source_split": SOURCE_SPLITS}
    MINIMUM = {"classes": 1, "images_per_class": 1, "iterations": 0, "lr": 0.0, "momentum": 0.0, "weight_decay": 0.0,
               "channels": 1, "cells": 1}

    classes: int = 10
    images_per_class: int = 10
    iterations: int = 50
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    init: str = "kaiming_normal_fanin"
    augment: bool = True
    channels: int = 16
    cells: int = 5
    # "nb201-train-half": for the full CIFAR-10 train set, draw from the 25k train half of NB201's
    # cifar-split.txt (code); "supplied": draw from every image supplied.
    source_split: str = "nb201-train-half"
    angle_measure: str = "cosine"
    trivial_filter: bool = True
    trivial_cosine: float = 0.95
    # Revisit's weight helper adds a constant ones(c_in·c_out)/9 "weight" per AvgPool to θ_feat.
    feat_pool_pseudo_weights: bool = True


SCORING_FIELDS = ("angle_measure", "trivial_filter", "trivial_cosine", "feat_pool_pseudo_weights")
TRAINING_FIELDS = tuple(f.name for f in fields(ShortTrainSettings) if f.name not in SCORING_FIELDS)

PRESETS = {
    "code": ShortTrainSettings(),
    # Paper: Table 9(c) lists the default under Kaiming_uniform; −θ; no filter (protocols §E.9).
    "paper": ShortTrainSettings(init="kaiming_uniform_fanin", source_split="supplied", angle_measure="neg_angle",
                                trivial_filter=False, feat_pool_pseudo_weights=False),
    # NB101 (Revisit's NB101 code is unreleased, so an assumption): the `code` training on the NB101 proxy
    # network of protocols §1.4 (stem 16, 3 modules per stack) with its own init and `classes` outputs;
    # images drawn from all supplied ones (NB201's train half means nothing for NB101).
    "nb101": ShortTrainSettings(cells=3, init="naswot", source_split="supplied"),
}


@dataclass(frozen=True)
class ShortTrainRun:
    """What one training run measured; weight statistics are float64."""

    losses: tuple[float, ...]  # one per iteration, each computed before that iteration's update
    last_accuracy: float  # training accuracy of the last iteration's (pre-update) logits
    classifier_cosine: float
    feat_dot: float  # ⟨w0, wT⟩ over the real feature-extractor weights
    feat_sq_before: float
    feat_sq_after: float
    feat_pool_sq: float  # squared norm of the constant AvgPool pseudo-weights (same before/after)
    empty_cells: tuple[int, ...]  # cells without Conv/BN/AvgPool (only none/skip_connect)
    proxy_set: dict = field(default_factory=dict)
    seconds: float = 0.0

    def feature_cosine(self, pool_pseudo_weights: bool) -> float:
        k = self.feat_pool_sq if pool_pseudo_weights else 0.0
        return (self.feat_dot + k) / math.sqrt((self.feat_sq_before + k) * (self.feat_sq_after + k))


def measure_angle(cosine: float, measure: str) -> float:
    """cos θ as is (`cosine`) or −θ = −arccos(cos θ) in radians (`neg_angle`); both higher = smaller angle."""
    return cosine if measure == "cosine" else -math.acos(min(1.0, max(-1.0, cosine)))


def train_network(network: nn.Module, data: ImageSet, settings: ShortTrainSettings, rng: np.random.Generator,
                  device: torch.device) -> tuple[list[float], float]:
    """Full-batch SGD on all of `data` for `settings.iterations` steps, augmentation re-drawn each step.

    Returns the per-iteration losses and the last iteration's training accuracy. The image order
    within the batch is fixed (the authors' loader shuffles, which only reorders a full batch).
    """
    optimizer = torch.optim.SGD(network.parameters(), lr=settings.lr, momentum=settings.momentum,
                                nesterov=settings.nesterov, weight_decay=settings.weight_decay)
    network.train()
    indices = np.arange(len(data))
    losses, accuracy = [], float("nan")
    for _ in range(settings.iterations):
        images, labels = data.tensors(indices, rng, augment=settings.augment)
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = network(images).logits
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracy = (logits.argmax(dim=1) == labels).double().mean().item()
    return losses, accuracy


def classifier_weight(network: nn.Module) -> torch.Tensor:
    return network.classifier.weight.detach().flatten().double().clone()


def _cell_widths(network: nn.Module) -> list[tuple[int, int]]:
    """(c_in, c_out) of every entry of `network.cells`, walked from the stem width."""
    width = network.stem[0].out_channels
    widths = []
    for cell in network.cells:
        convs = [m for m in cell.modules() if isinstance(m, nn.Conv2d) and m.stride != (1, 1)]
        c_in, c_out = (convs[0].in_channels, convs[0].out_channels) if convs else (width, width)
        widths.append((c_in, c_out))
        width = c_out
    return widths


def feature_weights(network: nn.Module) -> tuple[torch.Tensor, float]:
    """The Conv2d/BatchNorm2d `weight`s of stem + cells (float64, flattened) and the squared norm of
    Revisit's constant AvgPool pseudo-weights (ones(c_in·c_out)/9 per AvgPool in a cell)."""
    parts = [m.weight.detach().flatten() for m in network.stem.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    pool_sq = 0.0
    for cell, (c_in, c_out) in zip(network.cells, _cell_widths(network)):
        for module in cell.modules():
            if isinstance(module, (nn.Conv2d, nn.BatchNorm2d)):
                parts.append(module.weight.detach().flatten())
            elif isinstance(module, nn.AvgPool2d):
                pool_sq += c_in * c_out / 81.0
    return torch.cat(parts).double().clone(), pool_sq


def empty_cells(network: nn.Module) -> tuple[int, ...]:
    """Indices of cells with no Conv/BN/AvgPool module: Revisit's "trivial network" test. The max-pools
    between NB101 stacks are not cells (an NB101 cell always has its input projection's conv)."""
    return tuple(i for i, cell in enumerate(network.cells) if not isinstance(cell, nn.MaxPool2d)
                 and not any(isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.AvgPool2d)) for m in cell.modules()))


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def proxy_set_for(ctx: EvalContext, settings: ShortTrainSettings, proxy: str) -> tuple[ImageSet, dict]:
    """The C × M training images for this context; the description says where they were drawn from."""
    data = ctx.require_data(proxy)
    pool, source = None, f"all {len(data)} supplied images of {data.name!r}"
    if settings.source_split == "nb201-train-half":
        if not is_cifar10_train(data):
            source = (f"nb201-train-half not applicable ({data.name!r} is not the 50,000-image CIFAR-10 train "
                      f"set); drew from all {len(data)} supplied images")
        else:
            try:
                pool, path = nb201_train_half()
            except DataNotFoundError as exc:
                source = (f"nb201-train-half UNAVAILABLE ({exc.what} not found in {exc.searched}); drew from all "
                          f"{len(data)} supplied images of {data.name!r}")
            else:
                source = f"nb201 train half ({len(pool)} images) from {path}"
    subset, description = sample_proxy_set(data, settings.classes, settings.images_per_class,
                                           ctx.rng("proxy-set"), pool)
    description["drawn_from"] = source
    return subset, description


def fingerprint(data: ImageSet) -> str:
    digest = hashlib.sha256()
    for part in (data.images, data.labels):
        digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(f"{data.num_classes}:{data.stats}".encode())
    return digest.hexdigest()[:16]


class _RunCache:
    """Least-recently-used memo of training runs (floats only, no networks) within a process."""

    def __init__(self, size: int):
        self.size, self.runs, self.hits, self.misses = size, OrderedDict(), 0, 0

    def get(self, key):
        run = self.runs.get(key)
        if run is None:
            self.misses += 1
        else:
            self.hits += 1
            self.runs.move_to_end(key)
        return run

    def put(self, key, run):
        self.runs[key] = run
        while len(self.runs) > self.size:
            self.runs.popitem(last=False)


_RUNS = _RunCache(RUN_CACHE_SIZE)


def run_cache_info() -> dict:
    return {"hits": _RUNS.hits, "misses": _RUNS.misses, "size": len(_RUNS.runs), "max_size": _RUNS.size}


def clear_run_cache() -> None:
    global _RUNS
    _RUNS = _RunCache(RUN_CACHE_SIZE)


def short_train_run(ctx: EvalContext, settings: ShortTrainSettings,
                    proxy: str = "short-train") -> tuple[ShortTrainRun, bool]:
    """The training run for this context and settings, from the cache when already done: (run, cached).

    Init draws from torch's RNG seeded with `ctx.seed` inside a forked RNG state; augmentation from
    the numpy stream `ctx.rng('augment')`; the proxy set from `ctx.rng('proxy-set')`.
    """
    data, description = proxy_set_for(ctx, settings, proxy)
    description["sha256"] = fingerprint(data)
    key = (ctx.space.name, ctx.space.arch_id(ctx.arch), tuple(getattr(settings, f) for f in TRAINING_FIELDS),
           ctx.seed, description["sha256"], str(ctx.device))
    if (run := _RUNS.get(key)) is not None:
        return run, True
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[ctx.device] if ctx.device.type == "cuda" else []):
        torch.manual_seed(ctx.seed)
        check_nb101_depth(ctx.space, settings.cells)
        network = ctx.space.build(ctx.arch, channels=settings.channels, cells=settings.cells,
                                  num_classes=settings.classes)
        initialize(network, settings.init)
    network.to(ctx.device)
    classifier_before = classifier_weight(network)
    features_before, pool_sq = feature_weights(network)
    losses, accuracy = train_network(network, data, settings, ctx.rng("augment"), ctx.device)
    features_after, _ = feature_weights(network)
    run = ShortTrainRun(
        losses=tuple(losses), last_accuracy=accuracy,
        classifier_cosine=cosine(classifier_before, classifier_weight(network)),
        feat_dot=float(features_before @ features_after), feat_sq_before=float(features_before @ features_before),
        feat_sq_after=float(features_after @ features_after), feat_pool_sq=pool_sq,
        empty_cells=empty_cells(network), proxy_set=description, seconds=time.perf_counter() - start)
    _RUNS.put(key, run)
    return run, False


def trivial_reason(run: ShortTrainRun, settings: ShortTrainSettings) -> str | None:
    """Why Revisit's code would call this network trivial, or None."""
    if run.empty_cells:
        return f"cells {list(run.empty_cells)} have no Conv/BN/AvgPool (only none/skip_connect)"
    if run.classifier_cosine >= settings.trivial_cosine:
        return f"classifier cosine {run.classifier_cosine:.6f} >= {settings.trivial_cosine}"
    return None


def _diagnostics(run: ShortTrainRun, cached: bool, reason: str | None) -> dict:
    set_info = run.proxy_set
    return {"classifier_cosine": run.classifier_cosine, "loss_first": run.losses[0] if run.losses else None,
            "loss_last": run.losses[-1] if run.losses else None, "last_accuracy": run.last_accuracy,
            "iterations_run": len(run.losses), "train_seconds": run.seconds, "cached_run": cached,
            "trivial": reason, "proxy_set": {"drawn_from": set_info["drawn_from"], "classes": set_info["classes"],
                                              "size": len(set_info["indices"]), "sha256": set_info["sha256"]}}


def _filtered(value: float, penalty: float, diagnostics: dict, settings: ShortTrainSettings) -> ProxyResult:
    """Apply Revisit's trivial-network rule when the setting asks for it and the run is trivial."""
    reason = diagnostics["trivial"]
    if not (settings.trivial_filter and reason):
        return classify(value, diagnostics)
    rule = "Revisit code: trivial network → angle score cosine 0, loss score −100 (raw loss 100)"
    return ProxyResult(penalty, STATUS_TRIVIAL,
                       {**diagnostics, "trivial_filter": {"rule": rule, "reason": reason, "measured": value}})


def angle_score(ctx: EvalContext, settings: ShortTrainSettings) -> ProxyResult:
    run, cached = short_train_run(ctx, settings, "angle")
    diagnostics = _diagnostics(run, cached, trivial_reason(run, settings))
    return _filtered(measure_angle(run.classifier_cosine, settings.angle_measure),
                     measure_angle(TRIVIAL_COSINE, settings.angle_measure), diagnostics, settings)


def angle_feat_score(ctx: EvalContext, settings: ShortTrainSettings) -> ProxyResult:
    run, cached = short_train_run(ctx, settings, "angle_feat")
    feature_cos = run.feature_cosine(settings.feat_pool_pseudo_weights)
    diagnostics = {**_diagnostics(run, cached, trivial_reason(run, settings)), "feature_cosine": feature_cos}
    return classify(measure_angle(feature_cos, settings.angle_measure), diagnostics)


def loss_score(ctx: EvalContext, settings: ShortTrainSettings) -> ProxyResult:
    if settings.iterations == 0:
        raise SettingsError("the loss proxy needs iterations ≥ 1 (it reports the last iteration's loss)")
    run, cached = short_train_run(ctx, settings, "loss")
    return _filtered(run.losses[-1], TRIVIAL_LOSS, _diagnostics(run, cached, trivial_reason(run, settings)), settings)


_COMMON = {"version": 1, "cost_class": "short-train", "needs": ("images", "labels", "gradients"),
           "paper": "Revisit (Yang et al., WACV'23) §4, Tab. 3-5, 9", "settings_type": ShortTrainSettings,
           "presets": PRESETS, "spaces": ("nb201", "nb101")}

ANGLE = ProxySpec(
    name="angle", higher_is_better=True, compute=angle_score,
    summary="θ_pred of the classifier weights after a 50-iteration short training (cos θ in code, −θ in paper)",
    **_COMMON)
ANGLE_FEAT = ProxySpec(
    name="angle_feat", higher_is_better=False, compute=angle_feat_score,
    summary="θ_feat of the stem+cell Conv/BN weights after the short training (cos θ / −θ: lower is better)",
    **_COMMON)
LOSS = ProxySpec(
    name="loss", higher_is_better=False, compute=loss_score,
    summary="raw cross-entropy of the last short-training iteration (lower is better; Revisit uses −loss)",
    **_COMMON)
