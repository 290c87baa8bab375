"""spaces.loader_stream replays a real torch DataLoader's samples and transform draws (protocols §A4.1)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from zcbench.spaces.images import synthetic_imageset
from zcbench.spaces.loader_stream import loader_draws

SIZE, PADDING, SAMPLES = 37, 4, 12


class DrawRecordingDataset(Dataset):
    """Each item draws what NB201's train transform draws (flip, then crop top and left) and returns them."""

    def __len__(self):
        return SIZE

    def __getitem__(self, index):
        flip = bool(torch.rand(1) < 0.5)
        top = int(torch.randint(0, 2 * PADDING + 1, (1,)))
        left = int(torch.randint(0, 2 * PADDING + 1, (1,)))
        return index, flip, top, left


class PreFixRandomSampler(Sampler):
    """RandomSampler as in torch ≤ 1.8: seeds a private generator from the global RNG, then permutes
    with the global RNG anyway (pytorch/pytorch#52568)."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        torch.Generator().manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
        yield from torch.randperm(len(self.data_source)).tolist()

    def __len__(self):
        return len(self.data_source)


def first_items(loader, n):
    items = []
    for index, flip, top, left in loader:
        items.append((int(index), bool(flip), int(top), int(left)))
        if len(items) == n:
            return items


def replayed(draws):
    return [(int(i), bool(f), int(t), int(s)) for i, f, t, s in zip(*draws)]


@pytest.mark.parametrize("seed", [0, 777])
def test_draws_equal_a_shuffled_dataloader_of_the_installed_torch(seed):
    torch.manual_seed(seed)
    torch.rand(5)  # whatever the caller drew before (network init …) is part of the state
    real = first_items(DataLoader(DrawRecordingDataset(), batch_size=1, shuffle=True, num_workers=0), SAMPLES)
    torch.manual_seed(seed)
    torch.rand(5)
    assert replayed(loader_draws(SIZE, SAMPLES, PADDING, "torch>=1.9")) == real


def test_pre_1_9_rule_equals_a_loader_with_the_pre_fix_sampler_and_differs_from_the_current_one():
    torch.manual_seed(3)
    real = first_items(DataLoader(DrawRecordingDataset(), batch_size=1,
                                  sampler=PreFixRandomSampler(range(SIZE)), num_workers=0), SAMPLES)
    torch.manual_seed(3)
    old = replayed(loader_draws(SIZE, SAMPLES, PADDING, "torch<=1.8"))
    torch.manual_seed(3)
    new = replayed(loader_draws(SIZE, SAMPLES, PADDING, "torch>=1.9"))
    assert old == real and old != new


def test_bad_requests_are_named_errors():
    with pytest.raises(ValueError, match="sampler rule"):
        loader_draws(SIZE, 3, PADDING, "torch-1.4")
    with pytest.raises(ValueError, match="cannot take"):
        loader_draws(SIZE, SIZE + 1, PADDING)


def test_given_draws_reproduce_the_seeded_augmentation():
    """ImageSet.augmented with the draws random_flip_crop makes equals tensors(…, augment=True)."""
    data = synthetic_imageset(n=20, size=8, seed=1)
    idx = np.arange(6)
    rng = np.random.default_rng(4)
    expected, labels = data.tensors(idx, np.random.default_rng(4), augment=True)
    flips = rng.random(6) < 0.5
    tops, lefts = rng.integers(0, 9, size=6), rng.integers(0, 9, size=6)
    got, got_labels = data.augmented(idx, flips, tops, lefts)
    assert torch.equal(got, expected) and torch.equal(got_labels, labels)
