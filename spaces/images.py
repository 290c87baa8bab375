"""Images as arrays, NB201's normalisation and train augmentation, seeded batch sampling.

No torchvision: an `ImageSet` holds uint8 images (N, H, W, 3) and int64 labels; batches are drawn
with a numpy Generator so the same seed gives the same batch on every machine. File readers
(CIFAR / ImageNet16 batches, image folders) live in `spaces.image_files` and return ImageSets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from zcbench.spaces.errors import CorruptDataError, NotEnoughDataError, SettingsError

# Per-channel mean/std in 0..255 units (protocols §1.3).
NORMALIZATION = {
    "cifar10": ((125.3, 123.0, 113.9), (63.0, 62.1, 66.7)),
    "cifar100": ((129.3, 124.1, 112.4), (68.2, 65.4, 70.4)),
    "imagenet16": ((122.68, 116.66, 104.01), (63.22, 61.26, 65.09)),
}
# RandomCrop padding of the NB201 train transform (32 px CIFAR: 4; 16 px ImageNet16: 2).
CROP_PADDING = {"cifar10": 4, "cifar100": 4, "imagenet16": 2}


@dataclass
class ImageSet:
    """A labelled image collection; `stats` names the NORMALIZATION entry used for it."""

    name: str
    images: np.ndarray  # uint8 (N, H, W, 3)
    labels: np.ndarray  # int64 (N,)
    num_classes: int
    stats: str = "cifar10"

    def __post_init__(self):
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise CorruptDataError(f"{self.name}: images must be uint8 (N, H, W, 3), got {self.images.dtype} "
                                   f"{self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise CorruptDataError(f"{self.name}: {len(self.images)} images but labels of shape {self.labels.shape}")
        if self.stats not in NORMALIZATION:
            raise SettingsError(f"{self.name}: unknown normalisation {self.stats!r}; known: {sorted(NORMALIZATION)}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> int:
        return self.images.shape[1]

    @property
    def crop_padding(self) -> int:
        """The zero padding of NB201's train-time random crop for these images (CROP_PADDING)."""
        return CROP_PADDING.get(self.stats, 4)

    def subset(self, indices) -> "ImageSet":
        idx = np.asarray(indices, dtype=np.int64)
        return ImageSet(self.name, self.images[idx], self.labels[idx], self.num_classes, self.stats)

    def sample_indices(self, n: int, rng: np.random.Generator, replace: bool = False) -> np.ndarray:
        if not replace and n > len(self):
            raise NotEnoughDataError(f"{self.name}: cannot draw {n} distinct images from {len(self)}")
        return rng.choice(len(self), size=n, replace=replace)

    def tensors(self, indices, rng: np.random.Generator | None = None, augment: bool = False):
        """Float images (B, 3, H, W) normalised with `stats`, and labels; `augment` applies flip + crop."""
        raw = self.images[np.asarray(indices, dtype=np.int64)]
        if augment:
            if rng is None:
                raise ValueError("augmentation needs a numpy Generator")
            raw = random_flip_crop(raw, self.crop_padding, rng)
        return normalize(raw, self.stats), torch.as_tensor(self.labels[np.asarray(indices)], dtype=torch.int64)

    def augmented(self, indices, flips, tops, lefts):
        """Like `tensors(indices, augment=True)`, with the flip and crop draws given instead of drawn."""
        idx = np.asarray(indices, dtype=np.int64)
        raw = flip_crop(self.images[idx], flips, tops, lefts, self.crop_padding)
        return normalize(raw, self.stats), torch.as_tensor(self.labels[idx], dtype=torch.int64)

    def batch(self, n: int, rng: np.random.Generator, augment: bool = False):
        """Draw n distinct images with the given Generator: (images, labels, indices)."""
        idx = self.sample_indices(n, rng)
        images, labels = self.tensors(idx, rng, augment)
        return images, labels, idx


def normalize(raw: np.ndarray, stats: str) -> torch.Tensor:
    """uint8 (B, H, W, 3) → float32 (B, 3, H, W): x/255 then (x − mean)/std, as ToTensor+Normalize."""
    mean, std = (np.asarray(v, dtype=np.float32) / 255.0 for v in NORMALIZATION[stats])
    x = raw.astype(np.float32) / 255.0
    x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def random_flip_crop(raw: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
    """NB201 train augmentation on uint8 images: horizontal flip (p=0.5), zero-pad, random crop back."""
    b = len(raw)
    flips = rng.random(b) < 0.5
    tops = rng.integers(0, 2 * padding + 1, size=b)
    lefts = rng.integers(0, 2 * padding + 1, size=b)
    return flip_crop(raw, flips, tops, lefts, padding)


def flip_crop(raw: np.ndarray, flips, tops, lefts, padding: int) -> np.ndarray:
    """The NB201 train augmentation with given draws: flip where `flips`, zero-pad by `padding`, then
    crop back to the original size at (top, left) of the padded image."""
    _, h, w, _ = raw.shape
    flips = np.asarray(flips, dtype=bool)
    out = np.where(flips[:, None, None, None], raw[:, :, ::-1, :], raw)
    padded = np.pad(out, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    return np.stack([padded[i, t:t + h, s:s + w] for i, (t, s) in enumerate(zip(tops, lefts))])


def random_single_channel_crops(imageset: ImageSet, n: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """TE-NAS LR1 inputs: n random size×size crops (no padding, no flip) of random images, normalised,
    each reduced to one randomly chosen colour channel → (n, 1, size, size)."""
    idx = imageset.sample_indices(n, rng, replace=n > len(imageset))
    h, w = imageset.images.shape[1:3]
    tops = rng.integers(0, h - size + 1, size=n)
    lefts = rng.integers(0, w - size + 1, size=n)
    crops = np.stack([imageset.images[i, t:t + size, s:s + size] for i, t, s in zip(idx, tops, lefts)])
    x = normalize(crops, imageset.stats)
    channels = torch.from_numpy(rng.integers(0, 3, size=n))
    return x[torch.arange(n), channels].unsqueeze(1)


def synthetic_imageset(n: int = 256, size: int = 16, num_classes: int = 10, seed: int = 0,
                       name: str = "synthetic") -> ImageSet:
    """Random uint8 images with balanced labels: for tests and runs without image data."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    labels = np.arange(n, dtype=np.int64) % num_classes
    return ImageSet(name, images, labels, num_classes, "cifar10")
