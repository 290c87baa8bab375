"""Proxies on NB101 cells: which are supported, the `nb101` presets' network (stem 16, one output,
NASWOT init), #Param = the records' stem-128 count, and clear refusals (NB201 depth, LR1)."""
from __future__ import annotations

import json

import pytest
import torch

from proxies.networks import build_scoring_network
from proxies.registry import EvalContext, get_proxy
from spaces.catalog import get_space
from spaces.errors import ZcbenchError

pytestmark = pytest.mark.usefixtures("single_thread_torch")
SPEC = "0110000" "0001000" "0001000" "0000100" "0000010" "0000001" "0000000"  # 7×7 rows
OPS = "input,conv3x3-bn-relu,conv1x1-bn-relu,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,output"
TINY = {"channels": 4, "cells": 1}


def test_nb101_supported_by_every_proxy_but_lr1_and_short_training():
    supported = {p: "nb101" in get_proxy(p).spaces for p in
                 ("params", "naswot", "naswot_v1", "ntk", "mgm", "lr1", "angle", "angle_feat", "loss")}
    assert supported == {"params": True, "naswot": True, "naswot_v1": True, "ntk": True, "mgm": True,
                         "lr1": False, "angle": False, "angle_feat": False, "loss": False}
    with pytest.raises(ZcbenchError, match="does not support space 'nb101'"):
        get_proxy("lr1").score((SPEC, OPS), space="nb101")


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
