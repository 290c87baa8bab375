"""Proxies on NB101 cells: which are supported, the `nb101` presets' network (stem 16, one output,
NASWOT init), #Param = the records' stem-128 count, the assumed thin LR1 network, and clear refusals
(NB201 depth, the NB201 supernet)."""
from __future__ import annotations

import json

import pytest
import torch

from zcbench.proxies.networks import build_scoring_network
from zcbench.proxies.registry import REGISTRY, EvalContext, get_proxy
from zcbench.spaces.catalog import get_space

SPEC = "0110000" "0001000" "0001000" "0000100" "0000010" "0000001" "0000000"  # 7×7 rows
OPS = "input,conv3x3-bn-relu,conv1x1-bn-relu,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,output"
TINY = {"channels": 4, "cells": 1}


def test_every_registered_proxy_supports_nb101():
    assert [name for name in REGISTRY.names() if "nb101" not in REGISTRY.get(name).spaces] == []


def test_supernet_preset_is_refused_on_nb101(tiny_images):
    result = get_proxy("ntk").score((SPEC, OPS), space="nb101", data=tiny_images, setting="supernet",
                                    batch_size=4, repeats=1)
    assert result.status.startswith("error:") and "supernet exists only for space 'nb201'" in result.status


def test_bug_nb101_stack_maxpools_made_short_training_trivial(tiny_images):
    """The max-pools between NB101 stacks sit in `network.cells`; they are not empty cells."""
    result = get_proxy("angle").score((SPEC, OPS), space="nb101", data=tiny_images, setting="nb101",
                                      channels=4, cells=1, images_per_class=1, iterations=2)
    assert result.diagnostics["trivial"] is None
    assert result.status == "ok" and result.diagnostics["proxy_set"]["size"] == 10


def test_short_training_refuses_the_nb201_depth_on_nb101(tiny_images):
    result = get_proxy("loss").score((SPEC, OPS), space="nb101", data=tiny_images, setting="code", channels=4,
                                     images_per_class=1, iterations=1)
    assert result.status.startswith("error:") and "modules per stack" in result.status


def test_thin_nb101_network_has_one_channel_per_vertex_and_no_stem():
    thin = get_space("nb101").build_thin((SPEC, OPS))
    cell = thin.cell
    assert not hasattr(thin, "stem") and cell.channels == [1, 1, 1, 1, 1, 1, 1]
    assert thin(torch.randn(5, 1, 3, 3)).logits.shape == (5, 10)
    # Two vertices feed the output, plus the input→output projection: output width 2, projection 1→2.
    wide = "0110001" "0001000" "0001000" "0000101" "0000010" "0000001" "0000000"
    cell = get_space("nb101").build_thin((wide, OPS)).cell
    assert cell.channels[-1] == 2 and cell.projections["6"][0].out_channels == 2


def test_lr1_units_on_nb101_are_nine_per_relu_call(tiny_images):
    """Chain input→conv3x3→output: the input projection's ReLU and the conv's ReLU, 9 units each."""
    chain = "010" "001" "000"
    result = get_proxy("lr1").score((chain, "input,conv3x3-bn-relu,output"), space="nb101", data=tiny_images,
                                    setting="nb101", batches=2, batch_size=50, repeats=2)
    assert result.status == "ok", result.status
    assert result.diagnostics["units"] == 18 and result.diagnostics["samples"] == 100
    assert 1 <= result.value <= 100


@pytest.mark.parametrize("proxy", ["naswot", "naswot_v1", "ntk"])
def test_nb101_preset_builds_the_naswot_proxy_network(proxy, tiny_images):
    settings = get_proxy(proxy).settings("nb101")
    space = get_space("nb101")
    ctx = EvalContext(space, space.arch((SPEC, OPS)), tiny_images, "cifar10", 0, torch.device("cpu"))
    network = build_scoring_network(ctx, kind="cell", channels=settings.channels, cells=settings.cells,
                                    num_classes=settings.num_classes, init=settings.init, train_mode=True)
    assert network.stem[0].out_channels == 16 and network.classifier.out_features == 1
    assert sum(type(m).__name__ == "NB101Cell" for m in network.modules()) == 9  # 3 stacks × 3 modules
    assert settings.init == "naswot"


@pytest.mark.parametrize("proxy,overrides", [("naswot", {"batch_size": 8}), ("naswot_v1", {"batch_size": 8}),
                                             ("ntk", {"batch_size": 6, "repeats": 1}),
                                             ("mgm", {"samples": 4, "min_elements": 8, "entries": 4})])
def test_nb101_preset_scores_a_tiny_cell(proxy, overrides, tiny_images):
    result = get_proxy(proxy).score((SPEC, OPS), space="nb101", data=tiny_images, setting="nb101",
                                    **TINY, **overrides)
    assert result.status == "ok", result.status


def test_nb201_depth_default_is_refused_on_nb101(tiny_images):
    result = get_proxy("naswot").score((SPEC, OPS), space="nb101", data=tiny_images, setting="code",
                                       channels=4, batch_size=8)
    assert result.status.startswith("error:") and "modules per stack" in result.status


def test_params_equals_records_trainable_parameters(shared_data):
    records = json.loads((shared_data / "nb101" / "nb101_records30.json").read_text())
    params = get_proxy("params")
    got = [params.score((r["module_adjacency"], r["module_operations"]), space="nb101").diagnostics["params"]
           for r in records]
    assert got == [r["trainable_parameters"] for r in records]


def test_flops_on_nb101_count_the_stem_128_network_and_grow_with_convs():
    flops = get_proxy("flops")
    conv = flops.score((SPEC, OPS), space="nb101")
    pooled = flops.score((SPEC, OPS.replace("conv3x3-bn-relu", "maxpool3x3")), space="nb101")
    assert conv.status == pooled.status == "ok" and conv.value > pooled.value > 0
    assert conv.value == get_space("nb101").flops((SPEC, OPS))
