"""Tiny versions of every proxy's presets, for contract tests and golden files (fast on a CPU).

Derived from the settings dataclass by field NAME, so a new proxy whose settings use these names
runs tiny with no test change: network width/depth (`channels`, `cells` per stage),
images per batch (`batch_size`), per-sample-gradient samples (`samples`), short-training length
(`iterations`, `images_per_class`), repeats (`repeats`). A proxy that builds a network but has no width field cannot be
shrunk: `tiny_settings` returns None and a reason, and the tests xfail with that reason.
"""
from __future__ import annotations

import dataclasses

from spaces.images import synthetic_imageset

IMAGE_SIZE = 8
NUM_IMAGES = 64
NUM_CLASSES = 10

TINY_FIELDS = {
    "channels": 4,
    "cells": 1,
    "batch_size": 16,
    "samples": 10,
    "iterations": 3,
    "images_per_class": 2,
    "repeats": 2,  # keeps the mean over repeats, at two thirds of the usual three
}
# Field names that say how large a network the proxy builds.
WIDTH_FIELDS = ("channels",)
# Proxies whose network has a fixed, already tiny size (no width field needed), with the reason.
FIXED_TINY_NETWORKS = {
    "lr1": "TE-NAS thin network: C=1, one cell, no stem, 1×3×3 inputs (protocols §A2)",
}


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
