"""Tiny versions of every proxy's presets, for contract tests and golden files (fast on a CPU).

Derived from the settings dataclass by field NAME, so a new proxy whose settings use these names
runs tiny with no test change: network width/depth (`channels`, `cells` per stage),
images per batch (`batch_size`), per-sample-gradient samples (`samples`), short-training length
(`iterations`, `images_per_class`), repeats (`repeats`). A proxy that builds a network but has no width field cannot be
shrunk: `tiny_settings` returns None and a reason, and the tests xfail with that reason.
"""
from __future__ import annotations

import dataclasses

from zcbench.spaces.images import synthetic_imageset

IMAGE_SIZE = 8
NUM_IMAGES = 64
NUM_CLASSES = 10

TINY_FIELDS = {
    "channels": 4,
    "cells": 1,
    "batch_size": 16,
    "samples": 10,
    "iterations": 10,  # short training: enough for some cells to move past Revisit's trivial-cosine filter
    "images_per_class": 2,
    "repeats": 2,  # keeps the mean over repeats, at two thirds of the usual three
}
# Field names that say how large a network the proxy builds.
WIDTH_FIELDS = ("channels",)
# Proxies whose network has a fixed, already tiny size (no width field needed), with the reason.
FIXED_TINY_NETWORKS = {
    "lr1": "TE-NAS thin network: C=1, one cell, no stem, 1×3×3 inputs (protocols §A2)",
}


# Diagnostics that vary between identical runs (wall time, cache hits) are not compared.
UNCOMPARED_DIAGNOSTICS = ("seconds", "cached")


def comparable_diagnostics(diagnostics: dict, prefix: str = "") -> dict[str, list[float]]:
    """The numeric content of a result's diagnostics, flattened: 'a.b' → list of numbers (a scalar as
    a one-element list); booleans, strings and timings are left out. Golden files record these and
    tests/test_goldens.py compares them with the value's rule."""
    flat = {}
    for key, value in diagnostics.items():
        name = f"{prefix}{key}"
        if any(word in key for word in UNCOMPARED_DIAGNOSTICS):
            continue
        if isinstance(value, dict):
            flat.update(comparable_diagnostics(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = [float(value)]
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            flat[name] = [float(v) for v in value]
    return flat


def tiny_images(seed: int = 0):
    """Synthetic 8×8 images with 10 balanced classes (enough for every tiny batch)."""
    return synthetic_imageset(n=NUM_IMAGES, size=IMAGE_SIZE, num_classes=NUM_CLASSES, seed=seed)


def tiny_overrides(spec, preset: str) -> dict:
    """The TINY_FIELDS this proxy's settings have, where they make the preset smaller (never larger)."""
    settings = spec.settings(preset)
    overrides = {}
    for field in dataclasses.fields(settings):
        if field.name in TINY_FIELDS:
            current = getattr(settings, field.name)
            if isinstance(current, int) and not isinstance(current, bool) and current > TINY_FIELDS[field.name]:
                overrides[field.name] = TINY_FIELDS[field.name]
    return overrides


def tiny_settings(spec, preset: str):
    """(settings, None) for a tiny run of this proxy and preset, or (None, why it cannot run tiny)."""
    fields = {f.name for f in dataclasses.fields(spec.settings_type)}
    builds_network = spec.cost_class != "parameter-free"
    if builds_network and not fields & set(WIDTH_FIELDS) and spec.name not in FIXED_TINY_NETWORKS:
        return None, (f"proxy {spec.name!r} builds a network but its settings ({spec.settings_type.__name__}) "
                      f"have no width field {WIDTH_FIELDS}: cannot run it on a tiny network")
    return spec.settings(preset, **tiny_overrides(spec, preset)), None


def _nb101(edges: list[tuple[int, int]], interior: list[str]) -> str:
    from zcbench.spaces.nb101 import make_arch

    ops = ["input", *interior, "output"]
    n = len(ops)
    return str(make_arch([[int((i, j) in edges) for j in range(n)] for i in range(n)], ops))


# Cells the tests score in each space: `conv` (conv-rich, an easy case for every proxy), `mixed`
# (pooling, skips, few convs) and, where the space has one, `dead` (output identically zero).
TEST_CELLS = {
    "nb201": {
        "conv": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "mixed": "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
        "dead": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    },
    "nb101": {
        "conv": _nb101([(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (1, 3)],
                       ["conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu"]),
        "mixed": _nb101([(0, 1), (0, 2), (1, 3), (2, 3)], ["conv1x1-bn-relu", "maxpool3x3"]),
    },
}


def preset_space(spec, preset: str) -> str:
    """The space a preset is meant for: a preset named after one of the proxy's spaces (e.g. `nb101`)
    belongs to that space; every other preset (`code`, `paper`, `supernet` …) to the proxy's first,
    home space. ProxySpec declares no preset → space map, so this naming rule stands in for one."""
    return preset if preset in spec.spaces else spec.spaces[0]
