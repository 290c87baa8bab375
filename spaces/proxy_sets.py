"""Small class-balanced "proxy sets" drawn from an ImageSet (Revisit's short-training data, protocols §A6).

The Revisit code trains every candidate on C classes × M images (default 10 × 10). For CIFAR-10 it
draws them from the 25k train half of NB201's `cifar-split.txt`: shuffle that index list with the
run seed and keep the first M images of each class in shuffled order. `sample_proxy_set` does the
same with a numpy Generator on any ImageSet (optionally restricted to a pool of indices) and
relabels the chosen classes to 0…C−1. `nb201_train_half` finds and reads the split file (with
`spaces.image_files.read_cifar_split`); the split is never re-generated here.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import NotEnoughDataError, SettingsError
from zcbench.spaces.image_files import read_cifar_split
from zcbench.spaces.images import ImageSet

CIFAR10_TRAIN_SIZE = 50_000
CIFAR_SPLIT_CANDIDATES = ["cifar-split.txt", "nb201/cifar-split.txt"]
CIFAR_SPLIT_HOW_TO_GET = ("copy `cifar-split.txt` from the NAS-Bench-201 / AutoDL-Projects repository "
                          "(configs/nas-benchmark/cifar-split.txt) into the data directory")


def sample_proxy_set(data: ImageSet, classes: int, per_class: int, rng: np.random.Generator,
                     pool: np.ndarray | None = None) -> tuple[ImageSet, dict]:
    """C classes × M images from `data` (or from its `pool` indices), relabelled to 0…C−1.

    Classes: all of them (in label order) when C equals the number of classes present in the pool,
    otherwise C drawn at random. Images: the first M of each chosen class in a random permutation of
    the pool. New label = position of the old label among the chosen labels sorted ascending.
    Returns the subset (in the permuted order) and a description (chosen original labels, indices).
    """
    if classes < 1 or per_class < 1:
        raise SettingsError(f"a proxy set needs ≥1 class and ≥1 image per class, got {classes} × {per_class}")
    pool = np.arange(len(data)) if pool is None else np.asarray(pool, dtype=np.int64)
    if pool.size and (pool.min() < 0 or pool.max() >= len(data)):
        raise ValueError(f"{data.name}: pool indices must lie in [0, {len(data)}), got "
                         f"[{pool.min()}, {pool.max()}]")
    present, counts = np.unique(data.labels[pool], return_counts=True)
    if classes > len(present):
        raise NotEnoughDataError(f"{data.name}: asked for {classes} classes but the pool of {len(pool)} images "
                                 f"has only {len(present)}")
    chosen = present if classes == len(present) else np.sort(rng.permutation(present)[:classes])
    short = {int(c): int(n) for c, n in zip(present, counts) if c in chosen and n < per_class}
    if short:
        raise NotEnoughDataError(f"{data.name}: classes with fewer than {per_class} images in the pool "
                                 f"(label: count): {short}")
    shuffled = rng.permutation(pool)
    shuffled_labels = data.labels[shuffled]
    positions = np.sort(np.concatenate([np.flatnonzero(shuffled_labels == c)[:per_class] for c in chosen]))
    indices = shuffled[positions]  # the picked images in the order the shuffle met them
    labels = np.searchsorted(chosen, data.labels[indices]).astype(np.int64)  # `chosen` is sorted
    subset = ImageSet(f"{data.name}[{classes}x{per_class}]", data.images[indices], labels, classes, data.stats)
    return subset, {"source": data.name, "source_size": len(data), "pool_size": len(pool),
                    "classes": [int(c) for c in chosen], "indices": [int(i) for i in indices]}


def find_nb201_cifar_split(data_dir: str | os.PathLike | None = None) -> Path:
    """Locate `cifar-split.txt` under --data-dir / $ZCBENCH_DATA (DataNotFoundError lists where it looked)."""
    return find_data_file(CIFAR_SPLIT_CANDIDATES, "NB201 CIFAR-10 train/valid split (cifar-split.txt)",
                          CIFAR_SPLIT_HOW_TO_GET, data_dir)


def nb201_train_half(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, Path]:
    """The 25k train-half indices of NB201's CIFAR-10 split and the file they came from."""
    path = find_nb201_cifar_split(data_dir)
    return read_cifar_split(path)[0], path


def is_cifar10_train(data: ImageSet) -> bool:
    """Whether `data` looks like the full CIFAR-10 train set in file order (what the split indexes)."""
    return len(data) == CIFAR10_TRAIN_SIZE and data.num_classes == 10 and data.stats == "cifar10"
