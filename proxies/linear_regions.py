"""LR1: the number of linear regions the thin NB201 network cuts its inputs into (TE-NAS, protocols §A2).

A sample's activation pattern is the on/off state of every ReLU output unit it produces (ReLUs on 4-D
feature maps only, concatenated in call order). Samples with the same pattern lie in the same linear
region, so LR1 = the number of distinct patterns among S samples. Higher is better; bounded by S.

LR1 needs a stem-less 1-channel "thin" network on 1×3×3 crops. On NB101 no source defines one
(Revisit reports NB101 LR1 but its code is unreleased, protocols §E.6), so the `nb101` preset runs the
`code` recipe on OUR assumed thin NB101 network (`spaces.nb101_networks.NB101ThinNetwork`: one cell,
one channel per vertex, NASWOT init) — a transfer of TE-NAS's recipe, not a reproduction.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from zcbench.proxies.registry import EvalContext, ProxyResult, ProxySpec
from zcbench.proxies.settings import Settings
from zcbench.spaces.images import random_single_channel_crops
from zcbench.spaces.init import INIT_SCHEMES, initialize


@dataclass(frozen=True)
class LinearRegionSettings(Settings):
    """Inputs, initialisation and repeats of LR1 (protocols §A2, §E.2–3).

    code (TE-NAS `prune_tenas.py` + `linear_region_counter.py`): per repeat 3 batches × 1000 random
    single-channel 3×3 crops through the thin network (C=1, one cell, no stem) in train mode (BN
    batch statistics); PyTorch default init, because the authors' Kaiming re-init is never reached
    (§E.3); 3 repeats reuse the weights with new data; value = mean count over repeats.

    paper (TE-NAS §3.1.2): "5000 images" and Kaiming-normal init re-drawn per repeat. The paper
    defines no other network or input for the count, so we assume the code's thin network and 1×3×3
    crops (on whole 3×32×32 images the C16 N5 network gives every sample its own pattern unless the
    cell is degenerate, so the count could not rank cells) and keep the code's BN batch of 1000:
    5 batches × 1000 = 5000 samples; fan-in mode, BN γ=1, β=0 (spaces.init).
    """

    CHOICES = {"init": INIT_SCHEMES}
    MINIMUM = {"batches": 1, "batch_size": 1, "crop_size": 1, "repeats": 1}

    batches: int = 3
    batch_size: int = 1000
    crop_size: int = 3
    repeats: int = 3
    init: str = "pytorch_default"
    reinit_per_repeat: bool = False
    train_mode: bool = True  # network in train mode, as the authors' collector leaves it


class RegionCount(NamedTuple):
    regions: int
    samples: int
    units: int  # activation units per sample


def relu_patterns(network: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Boolean (B, units) pattern of one forward: every nn.ReLU call on a 4-D input, in call order."""
    codes = []

    def record(_module, args, output):
        if args[0].dim() == 4:
            codes.append((output > 0).flatten(1))  # ReLU outputs are ≥ 0: sign(output) == (output > 0)

    handles = [m.register_forward_hook(record) for m in network.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            network(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return torch.cat(codes, dim=1) if codes else torch.zeros(len(inputs), 0, dtype=torch.bool)


def count_unique_rows(codes: np.ndarray) -> int:
    """Distinct rows of a boolean matrix; equals the authors' Σ_i 1/m_i over the Hamming-distance matrix."""
    return len(np.unique(np.packbits(np.asarray(codes, dtype=bool), axis=1), axis=0))


def count_linear_regions(network: nn.Module, batches: Sequence[torch.Tensor],
                         settings: LinearRegionSettings) -> RegionCount:
    """Distinct activation patterns over all samples of `batches` (each batch is one forward).

    In train mode the forwards update the BN running buffers, as the authors' collector does; the
    patterns use batch statistics only, so they do not depend on those buffers.
    """
    network.train(settings.train_mode)
    codes = torch.cat([relu_patterns(network, batch) for batch in batches]).cpu().numpy()
    return RegionCount(count_unique_rows(codes), codes.shape[0], codes.shape[1])


def lr1_score(ctx: EvalContext, settings: LinearRegionSettings) -> ProxyResult:
    """Build the thin network once; per repeat (re-)initialise as configured, draw fresh crops, count."""
    data = ctx.require_data("lr1")
    rng = ctx.rng("data")
    network = ctx.space.build_thin(ctx.arch, num_classes=ctx.num_classes).to(ctx.device)
    counts = []
    for repeat in range(settings.repeats):
        if repeat == 0 or settings.reinit_per_repeat:
            initialize(network, settings.init)
        batches = [random_single_channel_crops(data, settings.batch_size, settings.crop_size, rng).to(ctx.device)
                   for _ in range(settings.batches)]
        counts.append(count_linear_regions(network, batches, settings))
    samples = settings.batches * settings.batch_size
    return ProxyResult(float(np.mean([c.regions for c in counts])), diagnostics={
        "counts": [c.regions for c in counts], "samples": samples, "units": counts[0].units,
        "saturated": any(c.regions == samples for c in counts), "init": settings.init})


LR1 = ProxySpec(
    name="lr1", version=1, higher_is_better=True, cost_class="forward", needs=("images",),
    paper="TE-NAS (Chen et al., ICLR'21) §3.1.2",
    summary="linear regions: distinct ReLU patterns of the thin network (on NB101 an assumed thin net)",
    settings_type=LinearRegionSettings,
    presets={"code": LinearRegionSettings(),
             "paper": LinearRegionSettings(batches=5, init="kaiming_normal_fanin", reinit_per_repeat=True),
             # `code` inputs; pytorch_default re-init is a no-op, so the thin NB101 net keeps its NASWOT init
             "nb101": LinearRegionSettings()},
    compute=lr1_score, spaces=("nb201", "nb101"))
