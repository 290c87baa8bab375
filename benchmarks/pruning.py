"""TE-NAS pruning-by-importance search on the NB201 supernet (protocols §B1, with §A1, §A2, §A7).

Start from the C=3, N=1 supernet with every op but `none` on each of the 6 edges. Each round scores
every op on every edge that still has more than one op: the relative change of the NTK condition
number κ and of the linear-region count R when that op alone is removed, paired (the pruned copy
shares the weights and the input batch of the unpruned "origin" network), averaged over repeats.
The ops are ranked by those changes; on each edge the `prune_number` lowest-scored ops are removed.
Three rounds (4 → 3 → 2 → 1 ops per edge) leave one op per edge: the searched cell.

What the authors' code does, and the `code` preset reproduces (TE-NAS `prune_tenas.py`):
* κ on one augmented batch of 72 training images, logits, BN in train mode, float32 eigen-solve,
  λ_max/λ_min as divided (NaN → 1e5); R from 3 × 1000 single-channel 3×3 crops through the thin
  supernet (C=1, one cell, no stem);
* no re-initialisation ever runs (the Kaiming call is a silent no-op, protocols §A1): the κ origin is
  built once per round and copied into every pruned candidate, so repeats differ only in the batch;
  the thin origin is built afresh (PyTorch default init) for every candidate;
* per repeat the change is rounded to 3 decimals; ranks are dense over the candidates sorted by the
  mean change rounded to 3 significant figures (κ: largest decrease first; R: smallest first), two
  neighbours share a rank when their unrounded means are equal; the op with the lowest rank sum on
  each edge is pruned, ties going to the earlier op in the κ order.

The `paper` preset follows the text instead: NTK batch 32, Kaiming-normal weights re-drawn for every
repeat, float64 eigen-solve with explicit statuses, 5 × 1000 crops ("5000 images"). `criterion`
selects the combination studied in TE-NAS App. D (only κ, only R, min/max of the two ranks, sum of
the raw changes, rank sum).

κ changes that are not finite (a singular kernel under the `paper` arithmetic) are recorded per
candidate, counted, and ranked after every finite change (never pruned ahead of a measured op).

AngleLoss pruning (Revisit Tab. 6, claims R19 and R21–R24; protocols §B3). The authors released no code
for it; the paper says only that TE-NAS's pruning procedure is kept and each candidate is judged by
AngleLoss after a 100-iteration short training of the supernet. Criteria `angleloss` and
`angleloss_params` (settings class `AngleLossPruningSettings`, built by `angleloss_settings`) replace
the κ and R measurements of a candidate by one short training of the pruned supernet (the supernet
without that op). The choices below are OURS, each a settings field:
* network: the κ supernet of the search (`channels`=3, `cells`=1, every op still on the edge mixed with
  equal softmax weights; architecture weights frozen, only the network weights train), with
  `train_classes` outputs;
* training: Revisit's short-training recipe (proxies/short_train.py, §A6): `train_classes` ×
  `train_images_per_class` images (10 × 10, on CIFAR-10 from NB201's train half), drawn once per search
  from the search seed; SGD lr `train_lr`=0.2, momentum 0.9, Nesterov, weight decay 5e-4; full batch;
  `train_iterations`=100; augmentation re-drawn every iteration (`augment`); init `train_init` =
  Kaiming-normal fan-in;
* pairing, as TE-NAS pairs κ: the round's origin supernet is initialised once and every candidate
  starts from its weights and sees the same augmentation stream, so candidates differ only by the op
  removed; `repeats` (1 in `angleloss_settings`) trainings per candidate with fresh augmentation, angle
  and loss averaged;
* angle = cosine between the classifier weights before and after training (higher = smaller angle),
  loss = the last iteration's cross-entropy (lower is better); no trivial-network filter;
* ranks over all candidates of the round: 0-based ordinal ranks by a stable sort (ties: the earlier
  candidate, in edge-then-op order, ranks lower), r_angle ascending in the cosine, r_loss ascending in
  −loss, AngleLoss = r_angle + r_loss; `angleloss_params` re-ranks that sum and adds the rank of the
  pruned supernet's parameter count (ops still on, at the training width), as Revisit's AngleLoss+#Param;
* a HIGH combined rank means the supernet trains well WITHOUT the op, so on each edge the candidate with
  the highest rank is pruned (ties: the earlier candidate); recorded `score` = −rank (low = pruned first);
* a candidate whose training raises or gives a non-finite angle or loss is recorded with its status and
  error, counted (`failed_candidates`) and never pruned ahead of a measured op.
Cost (measured once, one thread on the shared 2-core development CPU): 0.26 CPU s per iteration of the full
first-round supernet on 100 images of 32 px → ≈ 26 CPU s per first-round candidate, ≈ 20 CPU min per search.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from zcbench.benchmarks import library
from zcbench.benchmarks.progress import Progress
from zcbench.benchmarks.provenance import run_provenance
from zcbench.benchmarks.sweep.store import atomic_write_json
from zcbench.proxies.linear_regions import LinearRegionSettings, count_linear_regions
from zcbench.proxies.ntk import NTKSettings, ntk_condition_number
from zcbench.proxies.registry import settings_dict, settings_hash
from zcbench.proxies.settings import Settings
from zcbench.proxies.short_train import SOURCE_SPLITS, ShortTrainSettings, classifier_weight, cosine, train_network
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError, SettingsError
from zcbench.spaces.images import ImageSet, random_single_channel_crops
from zcbench.spaces.init import INIT_SCHEMES, initialize
from zcbench.spaces.nb201 import EDGES, OPS, NB201Arch
from zcbench.spaces.nb201_networks import SearchCell, build_supernet, supernet_mask
from zcbench.spaces.proxy_sets import is_cifar10_train, nb201_train_half, sample_proxy_set

TRAINING_CRITERIA = ("angleloss", "angleloss_params")  # a short training per candidate (Revisit; ours, §B3)
CRITERIA = ("rank_sum", "ntk", "lr", "min_rank", "max_rank", "value_sum", *TRAINING_CRITERIA)
PROXY_SET_STREAM = 7  # default_rng([seed, 7]) draws a search's training images, apart from its batches
Candidate = tuple[int, int]  # (edge index in EDGES, op index in OPS)


@dataclass(frozen=True)
class PruningSettings(Settings):
    """Every choice of one TE-NAS pruning search (defaults = the `code` preset)."""

    CHOICES = {"criterion": CRITERIA, "ntk_init": INIT_SCHEMES, "lr_init": INIT_SCHEMES}
    MINIMUM = {"ntk_batch": 2, "lr_batches": 1, "lr_batch_size": 1, "crop_size": 1, "repeats": 1, "prune_number": 1,
               "channels": 1, "cells": 1}

    ntk_batch: int = 72
    lr_batches: int = 3
    lr_batch_size: int = 1000
    crop_size: int = 3
    repeats: int = 3
    precision: int = 3  # decimals of each per-repeat change; significant figures of the sort key
    prune_number: int = 1  # ops removed per edge and round
    channels: int = 3  # κ supernet width (the R network is always the thin C=1 supernet)
    cells: int = 1  # κ supernet cells per stage
    augment: bool = True  # NB201 train transform on the κ batch
    ntk_init: str = "pytorch_default"
    lr_init: str = "pytorch_default"
    reinit_per_repeat: bool = False
    eig_dtype: str = "float32"
    authors_arithmetic: bool = True  # κ = λmax/λmin as divided, NaN → 1e5 (else: singular → inf)
    ntk_method: str = "loop"
    criterion: str = "rank_sum"

    def __post_init__(self):
        super().__post_init__()
        if self.criterion in TRAINING_CRITERIA and not isinstance(self, AngleLossPruningSettings):
            raise SettingsError(f"PruningSettings.criterion = {self.criterion!r} trains every candidate: build the "
                                "settings with angleloss_settings(preset, criterion) (AngleLossPruningSettings)")

    def ntk_settings(self) -> NTKSettings:
        return NTKSettings(batch_size=self.ntk_batch, eig_dtype=self.eig_dtype, nan_to_1e5=self.authors_arithmetic,
                           method=self.ntk_method)


@dataclass(frozen=True)
class AngleLossPruningSettings(PruningSettings):
    """A pruning search judged by short training (criteria `angleloss`, `angleloss_params`): the parent's
    fields plus the training recipe. A separate class so that the κ/R searches keep their settings hashes;
    the κ and R fields (ntk_*, lr_*, crop_size, eig_dtype, …) are recorded but not used."""

    CHOICES = {**PruningSettings.CHOICES, "train_init": INIT_SCHEMES, "train_source_split": SOURCE_SPLITS}
    MINIMUM = {**PruningSettings.MINIMUM, "train_iterations": 1, "train_classes": 1, "train_images_per_class": 1,
               "train_lr": 0.0}

    criterion: str = "angleloss"
    train_iterations: int = 100  # Revisit: the supernet is trained 100 iterations in the pruning search
    train_classes: int = 10
    train_images_per_class: int = 10
    train_lr: float = 0.2
    train_init: str = "kaiming_normal_fanin"
    train_source_split: str = "nb201-train-half"

    def __post_init__(self):
        super().__post_init__()
        if self.criterion not in TRAINING_CRITERIA:
            raise SettingsError(f"AngleLossPruningSettings.criterion = {self.criterion!r}: expected one of "
                                f"{', '.join(TRAINING_CRITERIA)} (use PruningSettings for the κ/R criteria)")

    def training(self) -> ShortTrainSettings:
        """The short-training recipe (proxies.short_train) on the search supernet."""
        return ShortTrainSettings(classes=self.train_classes, images_per_class=self.train_images_per_class,
                                  iterations=self.train_iterations, lr=self.train_lr, init=self.train_init,
                                  augment=self.augment, channels=self.channels, cells=self.cells,
                                  source_split=self.train_source_split)


CODE = PruningSettings()
PAPER = dataclasses.replace(CODE, ntk_batch=32, lr_batches=5, ntk_init="kaiming_normal_fanout",
                            lr_init="kaiming_normal_fanin", reinit_per_repeat=True, eig_dtype="float64",
                            authors_arithmetic=False)
PRESETS = {"code": CODE, "paper": PAPER}


def angleloss_settings(base: PruningSettings = CODE, criterion: str = "angleloss",
                       **changes) -> AngleLossPruningSettings:
    """`base` (a preset) judged by short training: one training per candidate (`repeats`=1) unless `changes`
    say otherwise; `changes` may set any field, the training ones included."""
    fields = {**settings_dict(base), "criterion": criterion, "repeats": 1, **changes}
    return AngleLossPruningSettings(**fields)


def criterion_settings(criterion: str, base: PruningSettings = CODE) -> PruningSettings:
    """The settings a search with `criterion` runs under on the `base` preset (the training criteria with
    one short training per candidate): the settings hash its stored runs carry."""
    if criterion in TRAINING_CRITERIA:
        return angleloss_settings(base, criterion)
    return dataclasses.replace(base, criterion=criterion)


def round_significant(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant figures (the authors' sort key; 1e-8 guards log10 of
    values just below a power of ten)."""
    if value == 0 or not math.isfinite(value):
        return value
    magnitude = abs(value) + 1e-8
    power = math.floor(math.log10(magnitude)) + 1
    return math.copysign(round(magnitude / 10 ** power, digits) * 10 ** power, value)


def dense_ranks(values: dict[Candidate, float], descending: bool, digits: int) -> dict[Candidate, int]:
    """0-based dense ranks in the order the authors sort: by the value rounded to `digits` significant
    figures (stable: equal keys keep insertion order); a neighbour with an EXACTLY equal unrounded value
    shares the rank, anything else takes the next rank. Non-finite values go last, sharing one rank."""
    finite = [c for c in values if math.isfinite(values[c])]
    order = sorted(finite, key=lambda c: round_significant(values[c], digits), reverse=descending)
    order += [c for c in values if not math.isfinite(values[c])]
    ranks: dict[Candidate, int] = {}
    for position, cand in enumerate(order):
        if position == 0:
            ranks[cand] = 0
            continue
        previous = order[position - 1]
        same = values[cand] == values[previous] or not (math.isfinite(values[cand]) or math.isfinite(values[previous]))
        ranks[cand] = ranks[previous] if same else ranks[previous] + 1
    return ranks


def prune_scores(ntk_change: dict[Candidate, float], lr_change: dict[Candidate, float],
                 criterion: str, digits: int) -> tuple[dict[Candidate, float], list[Candidate]]:
    """Score every candidate (LOW = least important = pruned first) and return the scores with the
    candidates in pruning order (ascending score, ties by the κ ranking order, as the authors' stable sort).

    κ rank: largest relative decrease of κ when the op is removed first (removing it helps
    trainability → prune it); R rank: smallest relative decrease of R first (removing it costs little
    expressivity). `value_sum` adds the raw changes with the same orientation: ΔR − Δκ.
    """
    ntk_rank = dense_ranks(ntk_change, descending=True, digits=digits)
    lr_rank = dense_ranks(lr_change, descending=False, digits=digits)
    kappa_order = list(ntk_rank)  # insertion order = the κ sort order
    if criterion == "rank_sum":
        score = {c: ntk_rank[c] + lr_rank[c] for c in kappa_order}
    elif criterion == "ntk":
        score = {c: ntk_rank[c] for c in kappa_order}
    elif criterion == "lr":
        score = {c: lr_rank[c] for c in kappa_order}
    elif criterion == "min_rank":
        score = {c: min(ntk_rank[c], lr_rank[c]) for c in kappa_order}
    elif criterion == "max_rank":
        score = {c: max(ntk_rank[c], lr_rank[c]) for c in kappa_order}
    elif criterion == "value_sum":
        score = {c: lr_change[c] - ntk_change[c] for c in kappa_order}
    elif criterion in TRAINING_CRITERIA:
        raise ValueError(f"criterion {criterion!r} ranks angle and loss, not κ and R changes: use angleloss_scores")
    else:
        raise ValueError(f"unknown pruning criterion {criterion!r}; expected one of {CRITERIA}")
    finite_score = {c: (s if math.isfinite(s) else math.inf) for c, s in score.items()}
    return score, sorted(kappa_order, key=finite_score.get)


def stable_ranks(values: dict[Candidate, float]) -> dict[Candidate, int]:
    """0-based ordinal ranks, ascending (the largest value gets the highest rank); equal values in
    insertion order, the earlier ranking lower (Revisit's argsort(argsort(x)) with a fixed tie rule)."""
    order = sorted(values, key=values.get)  # sorted() is stable
    return {cand: rank for rank, cand in enumerate(order)}


def angleloss_scores(angle: dict[Candidate, float], loss: dict[Candidate, float],
                     params: dict[Candidate, float] | None = None
                     ) -> tuple[dict[Candidate, float], list[Candidate], dict[Candidate, dict]]:
    """Score every candidate from the short training of the supernet WITHOUT it (LOW = pruned first):
    (scores, candidates in pruning order, per-candidate ranks).

    AngleLoss = rank(angle cosine) + rank(−loss) over the candidates whose training measured both; with
    `params`, AngleLoss+#Param = rank(AngleLoss) + rank(#Param) (Revisit's two-level combination). A high
    rank = the supernet does well without the op = the op matters least, so score = −rank. A candidate
    without a finite angle and loss scores +inf (pruned after every measured one). Ties keep the
    candidates' insertion order, in the ranks and in the pruning order.
    """
    measured = [c for c in angle if math.isfinite(angle[c]) and math.isfinite(loss[c])]
    r_angle = stable_ranks({c: angle[c] for c in measured})
    r_loss = stable_ranks({c: -loss[c] for c in measured})
    combined = {c: r_angle[c] + r_loss[c] for c in measured}
    ranks = {c: {"angle_rank": r_angle[c], "loss_rank": r_loss[c], "angleloss": combined[c]} for c in measured}
    if params is not None:
        r_combined, r_params = stable_ranks(combined), stable_ranks({c: params[c] for c in measured})
        combined = {c: r_combined[c] + r_params[c] for c in measured}
        for c in measured:
            ranks[c].update(angleloss_rank=r_combined[c], params_rank=r_params[c], angleloss_params=combined[c])
    score = {c: (-float(combined[c]) if c in combined else math.inf) for c in angle}
    return score, sorted(angle, key=score.get), ranks


def choose_pruned(order: list[Candidate], mask: torch.Tensor, prune_number: int) -> list[Candidate]:
    """On each edge, the first `prune_number` candidates of `order`, leaving at least one op."""
    chosen: list[Candidate] = []
    taken = dict.fromkeys(range(len(EDGES)), 0)
    for edge, op in order:
        if taken[edge] < min(prune_number, int(mask[edge].sum()) - 1):
            chosen.append((edge, op))
            taken[edge] += 1
    return chosen


def _without(mask: torch.Tensor, cand: Candidate) -> torch.Tensor:
    pruned = mask.clone()
    pruned[cand] = False
    return pruned


def _copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Same parameters in the pruned copy (the op masks differ, so whole state dicts cannot be copied)."""
    with torch.no_grad():
        for p_src, p_dst in zip(source.parameters(), target.parameters(), strict=True):
            p_dst.copy_(p_src)


def relative_change(origin: float, pruned: float, precision: int) -> float:
    """(origin − pruned) / origin rounded to `precision` decimals; NaN when undefined."""
    change = (origin - pruned) / origin if origin != 0 else math.nan  # inf/inf → nan, no exception
    return round(change, precision) if math.isfinite(change) else math.nan


@dataclass
class SearchContext:
    data: ImageSet
    settings: PruningSettings
    rng: np.random.Generator
    num_classes: int
    device: torch.device
    train_images: ImageSet | None = None  # the short-training images (training criteria only)

    def supernet(self, mask: torch.Tensor, thin: bool = False) -> nn.Module:
        channels, cells = (1, 1) if thin else (self.settings.channels, self.settings.cells)
        net = build_supernet(mask, channels=channels, cells_per_stage=cells, num_classes=self.num_classes, thin=thin)
        return net.to(self.device).train()

    def kappa(self, network: nn.Module, images: torch.Tensor) -> tuple[float, str]:
        """κ as the preset computes it, with the status of the checked computation."""
        result = ntk_condition_number(network, images, self.settings.ntk_settings())
        if self.settings.authors_arithmetic:
            value = 1e5 if result.diagnostics["nan_rule_fired"] else result.diagnostics["raw_ratio"]
            return value, result.status
        return result.value, result.status


def _ntk_changes(ctx: SearchContext, origin: nn.Module, cand_mask: torch.Tensor) -> dict:
    s = ctx.settings
    pruned = ctx.supernet(cand_mask)
    record = {"kappa_origin": [], "kappa_pruned": [], "kappa_status": [], "ntk_change": []}
    for _ in range(s.repeats):
        if s.reinit_per_repeat:
            initialize(origin, s.ntk_init)
        _copy_weights(origin, pruned)
        images, _, _ = ctx.data.batch(s.ntk_batch, ctx.rng, augment=s.augment)
        images = images.to(ctx.device)
        (k_origin, st_origin), (k_pruned, st_pruned) = ctx.kappa(origin, images), ctx.kappa(pruned, images)
        record["kappa_origin"].append(k_origin)
        record["kappa_pruned"].append(k_pruned)
        record["kappa_status"].append([st_origin, st_pruned])
        record["ntk_change"].append(relative_change(k_origin, k_pruned, s.precision))
    return record


def _lr_changes(ctx: SearchContext, mask: torch.Tensor, cand_mask: torch.Tensor) -> dict:
    s = ctx.settings
    thin_origin, thin_pruned = ctx.supernet(mask, thin=True), ctx.supernet(cand_mask, thin=True)
    count = LinearRegionSettings(batches=s.lr_batches, batch_size=s.lr_batch_size, crop_size=s.crop_size)
    record = {"regions_origin": [], "regions_pruned": [], "lr_change": []}
    for repeat in range(s.repeats):
        if repeat == 0 or s.reinit_per_repeat:
            initialize(thin_origin, s.lr_init)  # `pytorch_default` keeps the fresh build's init
        _copy_weights(thin_origin, thin_pruned)
        batches = [random_single_channel_crops(ctx.data, s.lr_batch_size, s.crop_size, ctx.rng).to(ctx.device)
                   for _ in range(s.lr_batches)]
        r_origin = count_linear_regions(thin_origin, batches, count).regions
        r_pruned = count_linear_regions(thin_pruned, batches, count).regions
        record["regions_origin"].append(r_origin)
        record["regions_pruned"].append(r_pruned)
        record["lr_change"].append(relative_change(r_origin, r_pruned, s.precision))
    return record


def measure_candidate(ctx: SearchContext, origin: nn.Module, mask: torch.Tensor, cand: Candidate) -> dict:
    """Per-repeat κ and R of the supernet with and without op `cand`, and their relative changes."""
    cand_mask = _without(mask, cand)
    return {"edge": f"{EDGES[cand[0]][1]}->{EDGES[cand[0]][0]}", "op": OPS[cand[1]],
            **_ntk_changes(ctx, origin, cand_mask), **_lr_changes(ctx, mask, cand_mask)}


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if all(math.isfinite(v) for v in values) else math.nan


# ------------------------------------------------------------------- AngleLoss: short-trained candidates

def training_images(data: ImageSet, settings: AngleLossPruningSettings, seed: int) -> tuple[ImageSet, str]:
    """The C × M short-training images of one search (drawn once, from the search seed) and where they came
    from: NB201's CIFAR-10 train half when `data` is the CIFAR-10 train set and the split file is found."""
    pool, source = None, f"all {len(data)} supplied images of {data.name!r}"
    if settings.train_source_split == "nb201-train-half" and is_cifar10_train(data):
        try:
            pool, path = nb201_train_half()
            source = f"nb201 train half ({len(pool)} images) from {path}"
        except DataNotFoundError as exc:
            source = f"nb201-train-half UNAVAILABLE ({exc.what} not found); drew from all {len(data)} images"
    subset, _ = sample_proxy_set(data, settings.train_classes, settings.train_images_per_class,
                                 np.random.default_rng([seed, PROXY_SET_STREAM]), pool)
    return subset, source


def active_parameter_count(network: nn.Module) -> int:
    """Parameters of a supernet that its op mask keeps (masked ops and architecture weights excluded)."""
    total = sum(p.numel() for name, p in network.named_parameters() if name != "arch_parameters")
    for cell in network.cells:
        if isinstance(cell, SearchCell):
            for k, edge in enumerate(cell.edges):
                for o, op in enumerate(edge.ops):
                    if not network.op_mask[k, o]:
                        total -= sum(p.numel() for p in op.parameters())
    return int(total)


def training_supernet(ctx: SearchContext, mask: torch.Tensor) -> nn.Module:
    """The search supernet with `train_classes` outputs; architecture weights frozen (equal mix)."""
    s = ctx.settings
    net = build_supernet(mask, channels=s.channels, cells_per_stage=s.cells, num_classes=s.train_classes)
    net.arch_parameters.requires_grad_(False)
    return net.to(ctx.device).train()


def short_train_candidate(ctx: SearchContext, origin: nn.Module, cand_mask: torch.Tensor,
                          augment_seeds: list[int]) -> dict:
    """Short-train the supernet without the candidate (from the origin's weights), once per augmentation
    seed: per-training classifier cosine and last loss, the kept parameter count, status and error."""
    s = ctx.settings
    record = {"angle": [], "loss": [], "loss_first": [], "train_seconds": [], "status": "ok", "error": None}
    try:
        network = training_supernet(ctx, cand_mask)
        record["params"] = active_parameter_count(network)
        for augment_seed in augment_seeds:
            _copy_weights(origin, network)
            start = time.perf_counter()
            before = classifier_weight(network)
            losses, _ = train_network(network, ctx.train_images, s.training(), np.random.default_rng(augment_seed),
                                      ctx.device)
            record["angle"].append(cosine(before, classifier_weight(network)))
            record["loss"].append(losses[-1])
            record["loss_first"].append(losses[0])
            record["train_seconds"].append(time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 — recorded per candidate, never dropped (e.g. CUDA out of memory)
        record.update(status=f"error:{type(exc).__name__}", error=str(exc)[:500])
        return record
    if not all(math.isfinite(v) for v in record["angle"] + record["loss"]):
        record.update(status="nonfinite", error="angle or loss is not finite")
    return record


def _measure_round(ctx: SearchContext, mask: torch.Tensor, candidates: list[Candidate], progress):
    """Per-candidate records and the round's (scores, pruning order) under the settings' criterion."""
    s = ctx.settings
    records = {}
    if s.criterion in TRAINING_CRITERIA:
        origin = initialize(training_supernet(ctx, mask), s.train_init)  # once per round: paired candidates
        augment_seeds = [int(x) for x in ctx.rng.integers(0, 2**63 - 1, size=s.repeats)]
        for cand in candidates:
            records[cand] = {"edge": f"{EDGES[cand[0]][1]}->{EDGES[cand[0]][0]}", "op": OPS[cand[1]],
                             **short_train_candidate(ctx, origin, _without(mask, cand), augment_seeds)}
            if progress:
                progress(f"{OPS[cand[1]]} on edge {records[cand]['edge']}")
        angle = {c: (_mean(r["angle"]) if r["status"] == "ok" else math.nan) for c, r in records.items()}
        loss = {c: (_mean(r["loss"]) if r["status"] == "ok" else math.nan) for c, r in records.items()}
        params = ({c: float(r.get("params", math.nan)) for c, r in records.items()}
                  if s.criterion == "angleloss_params" else None)
        score, order, ranks = angleloss_scores(angle, loss, params)
        for c, r in records.items():
            r.update(angle_mean=angle[c], loss_mean=loss[c], **ranks.get(c, {}))
        return records, score, order
    origin = initialize(ctx.supernet(mask), s.ntk_init)  # once per round (re-drawn per repeat if configured)
    for cand in candidates:
        records[cand] = measure_candidate(ctx, origin, mask, cand)
        if progress:
            progress(f"{OPS[cand[1]]} on edge {records[cand]['edge']}")
    ntk_change = {c: _mean(r["ntk_change"]) for c, r in records.items()}
    lr_change = {c: _mean(r["lr_change"]) for c, r in records.items()}
    score, order = prune_scores(ntk_change, lr_change, s.criterion, s.precision)
    for c, r in records.items():
        r.update(ntk_change_mean=ntk_change[c], lr_change_mean=lr_change[c])
    return records, score, order


def prune_round(ctx: SearchContext, mask: torch.Tensor, progress: Callable[[str], None] | None = None
                ) -> tuple[torch.Tensor, list[dict]]:
    """One round: measure every removable op, prune the lowest-scored op(s) per edge. Returns the new
    mask and one record per candidate (per-repeat κ, R and changes — or angle and loss of the short
    training — ranks, score, pruned or not); `progress` is told each measured candidate."""
    s = ctx.settings
    candidates = [(e, o) for e in range(len(EDGES)) if mask[e].sum() > 1 for o in range(len(OPS)) if mask[e, o]]
    records, score, order = _measure_round(ctx, mask, candidates, progress)
    chosen = set(choose_pruned(order, mask, s.prune_number))
    new_mask = mask.clone()
    for cand in chosen:
        new_mask[cand] = False
    out = []
    for position, cand in enumerate(order):
        out.append({**records[cand], "score": score[cand], "order": position, "pruned": cand in chosen})
    return new_mask, out


@dataclass
class PruningRun:
    arch: NB201Arch
    setting: str
    settings: PruningSettings
    dataset: str
    seed: int
    rounds: list[list[dict]]
    seconds: float
    nonfinite_ntk_changes: int
    failed_candidates: int = 0  # training criteria: candidates whose short training failed
    train_images: str | None = None  # training criteria: where the short-training images came from


def searched_arch(mask: torch.Tensor) -> NB201Arch:
    if not bool((mask.sum(dim=1) == 1).all()):
        raise ValueError(f"not a single-path mask: ops per edge {mask.sum(dim=1).tolist()}")
    return NB201Arch(tuple(OPS[int(row.nonzero())] for row in mask))


def candidate_count(mask: torch.Tensor, prune_number: int) -> int:
    """Candidates a search measures from `mask` on: each round measures every op of the edges with
    more than one op, then removes min(prune_number, ops − 1) of them per edge."""
    ops, total = mask.sum(dim=1).tolist(), 0
    while any(n > 1 for n in ops):
        total += sum(n for n in ops if n > 1)
        ops = [n - min(prune_number, n - 1) for n in ops]
    return total


@dataclass
class RoundState:
    """A search between two rounds: the rounds done, the mask they left and both RNG states, saved
    after every round so that an interrupted search resumes at the next round with the same result."""

    rounds: list[list[dict]]
    mask: torch.Tensor
    numpy_rng: dict
    torch_rng: torch.Tensor
    seconds: float

    def to_json(self, settings: PruningSettings, seed: int) -> dict:
        return {"settings_hash": settings_hash(settings), "seed": seed, "rounds": self.rounds,
                "mask": self.mask.tolist(), "numpy_rng": self.numpy_rng, "seconds": self.seconds,
                "torch_rng": base64.b64encode(self.torch_rng.numpy().tobytes()).decode()}

    @classmethod
    def read(cls, path: Path, settings: PruningSettings, seed: int) -> RoundState:
        try:
            saved = json.loads(path.read_text())
            if (saved["settings_hash"], saved["seed"]) != (settings_hash(settings), seed):
                raise CorruptDataError(f"{path} holds the rounds of another search (settings hash "
                                       f"{saved['settings_hash']}, seed {saved['seed']}); delete it to start afresh")
            torch_rng = torch.frombuffer(bytearray(base64.b64decode(saved["torch_rng"])), dtype=torch.uint8)
            return cls(saved["rounds"], torch.tensor(saved["mask"], dtype=torch.bool), saved["numpy_rng"], torch_rng,
                       saved["seconds"])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise CorruptDataError(f"{path}: unreadable saved rounds of a pruning search ({type(exc).__name__}: "
                                   f"{exc}); delete it to start the search afresh") from None


def prune_search(data: ImageSet, *, setting: str = "code", settings: PruningSettings | None = None, seed: int = 0,
                 dataset: str = "cifar10", device: str | torch.device = "cpu", show_progress: bool = False,
                 state_file: Path | None = None) -> PruningRun:
    """Run one TE-NAS pruning search; deterministic for a given seed on CPU (torch RNG forked and seeded
    for the network inits, a numpy Generator seeded from `seed` for batches and crops).

    With `state_file`, the state after each round is saved there and a search found there resumes at
    its next round (same result as an uninterrupted search). `show_progress`: a per-candidate bar."""
    settings = settings or PRESETS[setting]
    ctx = SearchContext(data, settings, np.random.default_rng(seed), data.num_classes, torch.device(device))
    train_source = None
    if settings.criterion in TRAINING_CRITERIA:
        ctx.train_images, train_source = training_images(data, settings, seed)
    mask, rounds, seconds_before = supernet_mask(), [], 0.0
    total = candidate_count(mask, settings.prune_number)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if state_file is not None and state_file.exists():
            state = RoundState.read(state_file, settings, seed)
            mask, rounds, seconds_before = state.mask, state.rounds, state.seconds
            ctx.rng.bit_generator.state = state.numpy_rng
            torch.set_rng_state(state.torch_rng)
        with Progress(total, f"search seed {seed}", unit="candidates", enabled=show_progress,
                      done=total - candidate_count(mask, settings.prune_number)) as bar:
            while bool((mask.sum(dim=1) > 1).any()):
                this_round = f"round {len(rounds) + 1}"
                mask, records = prune_round(ctx, mask, lambda note, prefix=this_round: bar.update(f"{prefix}: {note}"))
                rounds.append(records)
                if state_file is not None:
                    state = RoundState(rounds, mask, ctx.rng.bit_generator.state, torch.get_rng_state(),
                                       seconds_before + time.perf_counter() - start)
                    atomic_write_json(state_file, state.to_json(settings, seed))
    nonfinite = sum(not math.isfinite(r.get("ntk_change_mean", 0.0)) for rnd in rounds for r in rnd)
    failed = sum(r.get("status", "ok") != "ok" for rnd in rounds for r in rnd)
    return PruningRun(searched_arch(mask), setting, settings, dataset, seed, rounds,
                      seconds_before + time.perf_counter() - start, nonfinite, failed, train_source)


# ------------------------------------------------------------------------ stored runs (one JSON each)
RECORD_NAME = re.compile(r"seed-\d+\.json")  # not `seed-<s>.rounds.json`, the state of an unfinished search


def run_name(dataset: str, setting: str, settings: PruningSettings, seed: int) -> str:
    """`<dataset>/<preset>-<criterion>-<settings hash>/seed-<seed>.json`: any override gets its own folder,
    so resuming never mixes runs of different settings."""
    return f"{dataset}/{setting}-{settings.criterion}-{settings_hash(settings)}/seed-{seed}.json"


def run_record(run: PruningRun, images: str) -> dict:
    """The JSON object stored for one search: the cell found, every round's measurements, provenance.
    Non-finite κ values are written as JSON NaN/Infinity (Python's json reads them back)."""
    return {"search": "tenas-prune", "space": "nb201", "dataset": run.dataset, "seed": run.seed,
            "setting": run.setting, "criterion": run.settings.criterion, "settings": settings_dict(run.settings),
            "settings_hash": settings_hash(run.settings), "arch": run.arch.index, "arch_str": str(run.arch),
            "seconds": run.seconds, "nonfinite_ntk_changes": run.nonfinite_ntk_changes, "images": images,
            **({"failed_candidates": run.failed_candidates, "train_images": run.train_images}
               if run.settings.criterion in TRAINING_CRITERIA else {}),
            "rounds": run.rounds, **run_provenance()}


def run_searches(data: ImageSet, out_dir, *, seeds, dataset: str, setting: str, settings: PruningSettings,
                 images: str, device: str = "cpu", show_progress: bool = False):
    """Run the searches whose JSON is not yet under `out_dir` (resume = rerun the same command); yields
    (path, record, computed) per seed, finished ones read back instead of recomputed. An unfinished
    search keeps its finished rounds beside it (`seed-<seed>.rounds.json`) and resumes from them."""
    for seed in seeds:
        path = Path(out_dir) / run_name(dataset, setting, settings, seed)
        if path.exists():
            yield path, json.loads(path.read_text()), False
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        state_file = path.with_suffix(".rounds.json")
        run = prune_search(data, setting=setting, settings=settings, seed=seed, dataset=dataset, device=device,
                           show_progress=show_progress, state_file=state_file)
        record = run_record(run, images)
        atomic_write_json(path, record)
        state_file.unlink()
        write_search_manifest(out_dir)
        yield path, record, True


def write_search_manifest(out_dir) -> dict:
    """The results-library manifest of a folder of search records (benchmarks.library, kind `searches`):
    each record is a table of one row; rewritten after every finished search."""
    out_dir = Path(out_dir)
    records = {str(p.relative_to(out_dir)): json.loads(p.read_text()) for p in sorted(out_dir.glob("*/*/seed-*.json"))
               if RECORD_NAME.fullmatch(p.name)}
    kinds = Counter((r["dataset"], r["setting"], r["criterion"], r["settings_hash"]) for r in records.values())
    settings = [{"dataset": ds, "setting": setting, "criterion": criterion, "settings_hash": digest, "rows": n}
                for (ds, setting, criterion, digest), n in sorted(kinds.items())]
    what = "TE-NAS pruning searches on nb201: " + "; ".join(
        f"{s['dataset']} {s['setting']}/{s['criterion']} × {s['rows']} seeds" for s in settings)
    return library.write_manifest(
        out_dir, "searches", what=what, tables={name: 1 for name in records}, config=None, rows=len(records),
        space="nb201", datasets=sorted({r["dataset"] for r in records.values()}),
        seeds=sorted({r["seed"] for r in records.values()}), settings=settings,
        git_commits=sorted({r["git_commit"] for r in records.values()}),
        inputs={ds: {"source": " | ".join(sorted({r["images"] for r in records.values() if r["dataset"] == ds}))}
                for ds in sorted({r["dataset"] for r in records.values()})})
