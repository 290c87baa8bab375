"""Proxy-set sampling (C classes × M images, relabelled) and the NB201 CIFAR-10 split reader."""
from __future__ import annotations

import json

import numpy as np
import pytest

from zcbench.spaces.errors import DataNotFoundError
from zcbench.spaces.images import ImageSet
from zcbench.spaces.proxy_sets import find_nb201_cifar_split, is_cifar10_train, nb201_train_half, sample_proxy_set


def labelled_set(labels, size=4, name="toy") -> ImageSet:
    """Images whose first pixel encodes the image's index, so a subset can be traced back."""
    labels = np.asarray(labels, dtype=np.int64)
    images = np.zeros((len(labels), size, size, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(len(labels)) % 256
    images[:, 0, 0, 1] = np.arange(len(labels)) // 256
    return ImageSet(name, images, labels, int(labels.max()) + 1)


def traced_indices(subset: ImageSet) -> np.ndarray:
    return subset.images[:, 0, 0, 0].astype(np.int64) + 256 * subset.images[:, 0, 0, 1].astype(np.int64)


def test_all_classes_first_m_per_class_in_shuffled_order_like_revisit_loop():
    data = labelled_set(np.random.default_rng(5).integers(0, 10, size=600))
    subset, info = sample_proxy_set(data, classes=10, per_class=10, rng=np.random.default_rng(42))
    # Reference: the authors' loop over a shuffled index list with one counter per class.
    shuffled = np.random.default_rng(42).permutation(len(data))
    counts, expected = np.zeros(10, dtype=int), []
    for i in shuffled:
        if counts[data.labels[i]] < 10:
            counts[data.labels[i]] += 1
            expected.append(i)
    assert info["indices"] == [int(i) for i in expected]
    assert np.array_equal(traced_indices(subset), expected)
    assert np.array_equal(subset.labels, data.labels[expected])  # all 10 classes: labels unchanged
    assert subset.num_classes == 10 and len(subset) == 100


def test_fewer_classes_are_relabelled_to_their_sorted_position():
    data = labelled_set(np.arange(400) % 20)
    subset, info = sample_proxy_set(data, classes=5, per_class=3, rng=np.random.default_rng(1))
    chosen = info["classes"]
    assert len(chosen) == 5 and chosen == sorted(chosen) and len(set(chosen)) == 5
    original = data.labels[traced_indices(subset)]
    assert np.array_equal(np.asarray(chosen)[subset.labels], original)
    assert sorted(np.bincount(subset.labels).tolist()) == [3] * 5
    assert subset.num_classes == 5 and set(subset.labels.tolist()) == set(range(5))


def test_same_seed_same_set_and_different_seed_different_set():
    data = labelled_set(np.arange(500) % 10)
    first, _ = sample_proxy_set(data, 10, 10, np.random.default_rng(3))
    again, _ = sample_proxy_set(data, 10, 10, np.random.default_rng(3))
    other, _ = sample_proxy_set(data, 10, 10, np.random.default_rng(4))
    assert np.array_equal(first.images, again.images) and np.array_equal(first.labels, again.labels)
    assert not np.array_equal(traced_indices(first), traced_indices(other))


def test_pool_restricts_the_images_drawn():
    data = labelled_set(np.arange(400) % 4)
    pool = np.arange(0, 400, 2)
    subset, info = sample_proxy_set(data, 2, 5, np.random.default_rng(0), pool=pool)
    assert set(traced_indices(subset).tolist()) <= set(pool.tolist())
    assert info["pool_size"] == 200
    assert set(info["classes"]) <= {0, 2}  # the even pool holds only labels 0 and 2


def test_class_with_too_few_images_is_named():
    data = labelled_set([0] * 12 + [1] * 3)
    with pytest.raises(ValueError, match=r"fewer than 10 images.*\{1: 3\}"):
        sample_proxy_set(data, 2, 10, np.random.default_rng(0))


def test_more_classes_than_present_is_an_error():
    with pytest.raises(ValueError, match="asked for 5 classes.*only 3"):
        sample_proxy_set(labelled_set(np.arange(30) % 3), 5, 2, np.random.default_rng(0))


def test_pool_index_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="pool indices"):
        sample_proxy_set(labelled_set(np.arange(30) % 3), 3, 2, np.random.default_rng(0), pool=[0, 30])


def test_train_half_is_read_from_the_split_file_in_the_data_dir(tmp_path, monkeypatch):
    order = np.random.default_rng(1021).permutation(50_000)
    split = {"train": ["int", order[:25_000].tolist()], "valid": ["int", order[25_000:].tolist()]}
    (tmp_path / "cifar-split.txt").write_text(json.dumps(split))
    monkeypatch.setenv("ZCBENCH_DATA", str(tmp_path))
    train, path = nb201_train_half()
    assert path == tmp_path / "cifar-split.txt" and np.array_equal(train, order[:25_000])


def test_missing_split_file_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("ZCBENCH_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        find_nb201_cifar_split()
    assert str(tmp_path / "cifar-split.txt") in info.value.searched


def test_cifar10_train_detection_needs_the_full_train_set():
    small = labelled_set(np.arange(100) % 10)
    assert not is_cifar10_train(small)
    big = ImageSet("c10", np.zeros((50_000, 1, 1, 3), dtype=np.uint8), np.arange(50_000) % 10, 10)
    assert is_cifar10_train(big)
