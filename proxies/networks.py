"""Building the network a proxy scores: arch → (evaluation net | TE-NAS supernet) → init → device → mode.

Shared by the proxies that score a freshly initialised network, so each one declares the same
choices (width, depth, head, init scheme, BN mode) as settings fields instead of hiding them.
"""
from __future__ import annotations

from torch import nn

from zcbench.proxies.registry import EvalContext
from zcbench.spaces import nb201_networks
from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.init import initialize

NETWORK_KINDS = ("cell", "supernet")


def head_size(ctx: EvalContext, num_classes: int | str) -> int:
    """`num_classes` is an int, or 'dataset' for the dataset's number of classes (10/100/120)."""
    if num_classes == "dataset":
        return ctx.num_classes
    if isinstance(num_classes, int) and not isinstance(num_classes, bool) and num_classes >= 1:
        return num_classes
    raise ZcbenchError(f"num_classes must be a positive int or 'dataset', got {num_classes!r}")


def build_scoring_network(ctx: EvalContext, *, kind: str, channels: int, cells: int, num_classes: int | str,
                          init: str, train_mode: bool) -> nn.Module:
    """A new network for `ctx.arch`, initialised with `init` (draws from torch's seeded RNG), on ctx.device.

    kind='cell': the space's evaluation network (NB201 C=16, N=5 by default); kind='supernet': the
    TE-NAS NB201 search supernet restricted to this cell by a single-path op mask (TE-NAS uses C=3, N=1).
    On NB101 `channels` is the stem width and `cells` the modules per stack (the proxy code's network,
    protocols §1.4: stem 16, 3 modules, one output — each proxy's `nb101` preset). NB101Space.build
    already applies the NASWOT init, so `pytorch_default` (no re-init) keeps that init on NB101.
    """
    classes = head_size(ctx, num_classes)
    if kind == "cell":
        check_nb101_depth(ctx.space, cells)
        network = ctx.space.build(ctx.arch, channels=channels, cells=cells, num_classes=classes)
    elif kind == "supernet":
        if ctx.space.name != "nb201":
            raise ZcbenchError(f"the TE-NAS supernet exists only for space 'nb201', not {ctx.space.name!r}")
        network = nb201_networks.build_supernet(nb201_networks.arch_mask(ctx.arch), channels=channels,
                                                cells_per_stage=cells, num_classes=classes)
    else:
        raise ZcbenchError(f"unknown network kind {kind!r}; expected one of {NETWORK_KINDS}")
    initialize(network, init)
    return network.to(ctx.device).train(train_mode)


def check_nb101_depth(space, cells: int) -> None:
    """NB101 stacks hold at most 3 modules: a larger `cells` is NB201's cells-per-stage default (5), which
    would silently build a deeper network than any NB101 code does."""
    modules = getattr(space, "MODULES_PER_STACK", None)
    if space.name == "nb101" and not 1 <= cells <= modules:
        raise ZcbenchError(f"on NB101 `cells` is modules per stack (1..{modules}), got {cells} (the NB201 "
                           f"default?); use the proxy's 'nb101' setting")

