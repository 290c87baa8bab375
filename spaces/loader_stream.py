"""The sample stream of a shuffled batch-1 torch DataLoader with NB201's train transform, replayed.

Research code that draws "the first n samples" of `DataLoader(train_data, batch_size=1, shuffle=True,
num_workers=0)` gets samples and augmentations from torch's global RNG, in this order (protocols §A4.1):

1. the iterator's base seed: one int64 `random_()` (drawn even with num_workers=0);
2. the RandomSampler, at the first `next`: one int64 `random_()`, then the permutation. From torch 1.9
   the permutation comes from a private generator seeded with that int64 (`torch>=1.9`); up to 1.8 the
   private generator is seeded but unused and `randperm` draws from the global RNG (`torch<=1.8`,
   pytorch/pytorch#52568, fixed by #52956);
3. per sample, in loader order, the transforms: RandomHorizontalFlip `torch.rand(1) < 0.5`, then
   RandomCrop(size, padding) `torch.randint(0, 2·padding + 1, (1,))` for the top, then for the left
   (torchvision ≥ 0.8; older torchvision drew from Python's `random`).

`loader_draws` consumes the global torch RNG exactly so (tests/test_loader_stream.py checks it against a
real DataLoader of the installed torch, and the `torch<=1.8` rule against a sampler with the pre-1.9
code), so a caller that seeds and builds what the authors' code seeds and builds first gets their samples.
The permutation itself is the installed torch's `randperm`; whether older torch builds permuted with the
same algorithm is not checked here.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

SAMPLER_RULES = ("torch>=1.9", "torch<=1.8")


class LoaderDraws(NamedTuple):
    indices: np.ndarray  # int64, dataset positions in loader order
    flips: np.ndarray  # bool
    tops: np.ndarray  # int64, crop offsets into the padded image
    lefts: np.ndarray


def _int64_draw() -> int:
    return int(torch.empty((), dtype=torch.int64).random_().item())


def loader_draws(dataset_size: int, samples: int, padding: int, sampler_rule: str = "torch>=1.9") -> LoaderDraws:
    """The first `samples` (index, flip, top, left) of a shuffled batch-1 loader, from the global torch RNG."""
    if sampler_rule not in SAMPLER_RULES:
        raise ValueError(f"unknown sampler rule {sampler_rule!r}; expected one of {SAMPLER_RULES}")
    if not 0 < samples <= dataset_size:
        raise ValueError(f"cannot take {samples} samples from a loader over {dataset_size} images")
    _int64_draw()  # the iterator's base seed
    sampler_seed = _int64_draw()
    if sampler_rule == "torch>=1.9":
        permutation = torch.randperm(dataset_size, generator=torch.Generator().manual_seed(sampler_seed))
    else:
        permutation = torch.randperm(dataset_size)
    flips, tops, lefts = [], [], []
    for _ in range(samples):
        flips.append(bool(torch.rand(1) < 0.5))
        tops.append(int(torch.randint(0, 2 * padding + 1, (1,))))
        lefts.append(int(torch.randint(0, 2 * padding + 1, (1,))))
    return LoaderDraws(permutation[:samples].numpy().astype(np.int64), np.array(flips),
                       np.array(tops, dtype=np.int64), np.array(lefts, dtype=np.int64))
