"""Fast paths of the expensive proxies, each tested equal to its reference path (docs/benchmarks.md,
"Expensive proxies: fast paths and FLOP/s"). Tiny networks (C=4, N=1, 8–16 px), float64 where the
quantity allows it: in float32 every path carries its own rounding, which these deep, badly conditioned
networks amplify (protocols §A4), so float32 agreement is a speed-suite diagnostic, not a test.

Kept: MGM `method='vectorized'` (the `code64` preset's path), equal to the authors' loop to 1e-12.
Measured but not kept (benchmarks/speed/): NTK on a channels_last network (no speed-up on this CPU),
short training on a channels_last network (1.15× faster, but selecting it needs a new settings field,
which changes every short-training preset's settings hash). Their float64 equality is tested here so
that promoting one later needs no new test. One short training serves angle, angle_feat and loss.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from zcbench.proxies import ntk
from zcbench.proxies import short_train as st
from zcbench.proxies.mgm import MGM, mgm
from zcbench.proxies.registry import get_proxy
from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.init import initialize
from zcbench.spaces.nb201 import resolve_arch
from zcbench.spaces.nb201_networks import build_network

CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
TOLERANCE = 1e-12  # float64 paths that differ only in summation order


def tiny_network(arch, dtype=torch.float64, num_classes=10):
    torch.manual_seed(0)
    return build_network(resolve_arch(arch), channels=4, cells_per_stage=1, num_classes=num_classes).to(dtype)


@pytest.fixture(scope="module")
def images():
    return synthetic_imageset(n=64, size=8, num_classes=10, seed=3)


# --- MGM: the code64 fast path -----------------------------------------------------------------------

@pytest.mark.parametrize("arch", [CONV, MIXED, 4321])
def test_mgm_code64_fast_path_equals_the_float64_authors_loop(images, arch):
    rng = np.random.default_rng(5)
    x, y = images.tensors(images.sample_indices(50, rng), rng, augment=True)
    fast_settings = MGM.presets["code64"]
    loop_settings = dataclasses.replace(fast_settings, method="loop")
    fast = mgm(tiny_network(arch), x.double(), y, fast_settings, None)
    loop = mgm(tiny_network(arch), x.double(), y, loop_settings, None)
    assert [s.name for s in fast.selection] == [s.name for s in loop.selection]
    np.testing.assert_allclose(fast.per_tensor, loop.per_tensor, rtol=TOLERANCE,
                               atol=TOLERANCE * np.abs(loop.per_tensor).max())
    assert loop.value != 0 and fast.value == pytest.approx(loop.value, rel=TOLERANCE)


def test_registered_code64_preset_scores_the_float64_loop(images):
    fast = MGM.score(CONV, data=images, setting="code64", channels=4, cells=1)
    loop = MGM.score(CONV, data=images, setting="code", dtype="float64", channels=4, cells=1)
    assert fast.ok and fast.diagnostics["method"] == "vectorized" and loop.diagnostics["method"] == "loop"
    assert fast.diagnostics["image_indices"] == loop.diagnostics["image_indices"]
    assert fast.value == pytest.approx(loop.value, rel=TOLERANCE)


# --- NTK: channels_last candidate ---------------------------------------------------------------------

def test_ntk_kernel_on_a_channels_last_network_equals_the_reference_loop(images):
    x, _, _ = images.batch(8, np.random.default_rng(1), augment=True)
    x = x.double()
    reference = ntk.gram(ntk.per_sample_gradients(tiny_network(CONV).train(), x), torch.float64)
    network = tiny_network(CONV).train().to(memory_format=torch.channels_last)
    channels_last = ntk.gram(ntk.per_sample_gradients(network, x.contiguous(memory_format=torch.channels_last)),
                             torch.float64)
    assert network.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(channels_last, reference, rtol=TOLERANCE, atol=TOLERANCE * reference.abs().max().item())


# --- short training: one run for three proxies; channels_last candidate --------------------------------

def test_one_network_build_and_one_training_serve_angle_angle_feat_and_loss(images, monkeypatch):
    st.clear_run_cache()
    calls = {"initialize": 0, "train_network": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(st, "initialize", counted("initialize", st.initialize))
    monkeypatch.setattr(st, "train_network", counted("train_network", st.train_network))
    tiny = {"channels": 4, "cells": 1, "iterations": 3, "images_per_class": 2}
    results = [get_proxy(name).score(CONV, data=images, **tiny) for name in ("angle", "angle_feat", "loss")]
    assert all(r.status in ("ok", st.STATUS_TRIVIAL) for r in results)
    assert calls == {"initialize": 1, "train_network": 1}
    assert [r.diagnostics["cached_run"] for r in results] == [False, True, True]
    st.clear_run_cache()


class Float64Images:
    """An ImageSet view whose batches come out in float64 (the trainer takes the dataset's dtype)."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def tensors(self, indices, rng, augment):
        x, y = self.data.tensors(indices, rng, augment=augment)
        return x.double(), y


def test_short_training_on_a_channels_last_network_equals_the_reference_in_float64():
    data = Float64Images(synthetic_imageset(n=20, size=16, num_classes=10, seed=0))
    settings = dataclasses.replace(st.PRESETS["code"], iterations=10)

    def train(memory_format):
        torch.manual_seed(0)
        network = initialize(tiny_network(CONV, torch.float32), settings.init).double()
        network = network.to(memory_format=memory_format)
        losses, _ = st.train_network(network, data, settings, np.random.default_rng(0), torch.device("cpu"))
        return np.array(losses), st.classifier_weight(network), st.feature_weights(network)[0]

    reference, channels_last = train(torch.contiguous_format), train(torch.channels_last)
    assert reference[0][-1] < reference[0][0]  # it trained
    np.testing.assert_allclose(channels_last[0], reference[0], rtol=TOLERANCE)
    for got, want in zip(channels_last[1:], reference[1:]):
        torch.testing.assert_close(got, want, rtol=TOLERANCE, atol=TOLERANCE * want.abs().max().item())
