"""Image file readers: CIFAR / ImageNet16 pickled batches, image folders, named PNGs, NB201 split
files — on tiny files written by the tests, and on the reference image folders."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from PIL import Image

from zcbench.spaces import image_files as imf
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError, ZcbenchError


def planar_rows(images: np.ndarray) -> np.ndarray:
    """The documented batch layout: each row = R plane, G plane, B plane, each row-major."""
    return np.concatenate([images[..., c].reshape(len(images), -1) for c in range(3)], axis=1)


def write_batch(path, images, labels, label_key="labels", byte_keys=True):
    """A batch file like the official ones (CIFAR: Python-2 pickles with byte-string keys)."""
    entry = {"data": planar_rows(images), label_key: list(labels), "batch_label": "fake"}
    if byte_keys:
        entry = {k.encode(): v for k, v in entry.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=2)


def random_images(rng, n, side):
    return rng.integers(0, 256, size=(n, side, side, 3), dtype=np.uint8)


@pytest.fixture
def no_env_data(monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)


@pytest.fixture
def cifar10_dir(tmp_path):
    """cifar-10-batches-py with 2 images per train batch and 3 test images; returns (data root, truth)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "cifar-10-batches-py"
    truth = {"train": ([], []), "test": ([], [])}
    batches = [(f"data_batch_{i}", "train", 2) for i in range(1, 6)] + [("test_batch", "test", 3)]
    for name, split, n in batches:
        images, labels = random_images(rng, n, 32), rng.integers(0, 10, n)
        write_batch(root / name, images, labels)
        truth[split][0].append(images)
        truth[split][1].append(labels)
    return tmp_path, {k: (np.concatenate(v[0]), np.concatenate(v[1])) for k, v in truth.items()}


# ------------------------------------------------------------------------------------------- batches

@pytest.mark.parametrize("split,n", [("train", 10), ("test", 3)])
def test_cifar10_batches_decode_planar_rgb_rows(cifar10_dir, split, n):
    data_dir, truth = cifar10_dir
    images = imf.load_images("cifar10", split, data_dir=data_dir)
    assert (images.name, len(images), images.num_classes) == (f"cifar10-{split}", n, 10)
    assert images.stats == "cifar10"
    np.testing.assert_array_equal(images.images, truth[split][0])
    np.testing.assert_array_equal(images.labels, truth[split][1])


def test_cifar_pixel_layout_is_red_plane_first(tmp_path):
    row = np.zeros((1, 3072), dtype=np.uint8)
    row[0, 0], row[0, 1024 + 32 + 2], row[0, 2048 + 1023] = 200, 100, 50  # R(y0,x0), G(y1,x2), B(y31,x31)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": row, b"labels": [0]}, f, protocol=2)
    image = imf.read_cifar_batches(tmp_path, "cifar10", "test").images[0]
    assert (image[0, 0, 0], image[1, 2, 1], image[31, 31, 2]) == (200, 100, 50)
    assert int(image.sum()) == 350


def test_cifar100_uses_fine_labels(tmp_path):
    rng = np.random.default_rng(1)
    images = random_images(rng, 4, 32)
    entry = {b"data": planar_rows(images), b"fine_labels": [5, 99, 0, 42], b"coarse_labels": [1, 19, 0, 2]}
    (tmp_path / "cifar-100-python").mkdir()
    for name in ("train", "test"):
        with open(tmp_path / "cifar-100-python" / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    got = imf.load_images("cifar100", "test", data_dir=tmp_path)
    assert got.labels.tolist() == [5, 99, 0, 42] and got.num_classes == 100 and got.stats == "cifar100"
    np.testing.assert_array_equal(got.images, images)


def test_imagenet16_keeps_labels_1_to_120_and_shifts_to_0_based(tmp_path):
    rng = np.random.default_rng(2)
    root = tmp_path / "ImageNet16"
    for i in range(1, 11):
        write_batch(root / f"train_data_batch_{i}", random_images(rng, 1, 16), [i], byte_keys=False)
    images = random_images(rng, 5, 16)
    write_batch(root / "val_data", images, [1, 121, 120, 1000, 60], byte_keys=False)
    valid = imf.load_images("imagenet16", "valid", data_dir=tmp_path)
    assert valid.labels.tolist() == [0, 119, 59] and valid.num_classes == 120 and valid.stats == "imagenet16"
    np.testing.assert_array_equal(valid.images, images[[0, 2, 4]])
    assert valid.images.shape[1:] == (16, 16, 3)
    train = imf.read_imagenet16_batches(root, "train")
    assert train.labels.tolist() == list(range(10))


def test_imagenet16_zero_label_means_a_wrong_file(tmp_path):
    root = tmp_path / "ImageNet16"
    write_batch(root / "val_data", random_images(np.random.default_rng(3), 2, 16), [0, 5], byte_keys=False)
    with pytest.raises(CorruptDataError, match="1-based"):
        imf.read_imagenet16_batches(root, "test")


def test_truncated_batch_names_the_file(cifar10_dir):
    data_dir, _ = cifar10_dir
    path = data_dir / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CorruptDataError, match="test_batch: cannot unpickle"):
        imf.load_images("cifar10", "test", data_dir=data_dir)


def test_batch_with_wrong_shape_or_labels_names_the_problem(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 768), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(CorruptDataError, match=r"shape \(2, 768\), expected \(N, 3072\)"):
        imf.read_cifar_batches(root, "cifar10", "test")
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, f)
    with pytest.raises(CorruptDataError, match="2 images but 'labels'"):
        imf.read_cifar_batches(root, "cifar10", "test")
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, f)
    with pytest.raises(CorruptDataError, match=r"labels outside 0..9"):
        imf.read_cifar_batches(root, "cifar10", "test")


def test_missing_batch_file_is_named(cifar10_dir):
    data_dir, _ = cifar10_dir
    (data_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataNotFoundError, match="data_batch_3"):
        imf.load_images("cifar10", "train", data_dir=data_dir)


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, no_env_data):
    with pytest.raises(DataNotFoundError) as err:
        imf.load_images("cifar100", "train", data_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "cifar-100-python") in message and "cs.toronto.edu" in message


def test_unknown_dataset_or_split_is_named(tmp_path):
    with pytest.raises(ZcbenchError, match="unknown image dataset 'svhn'"):
        imf.load_images("svhn", "train", data_dir=tmp_path)
    with pytest.raises(ZcbenchError, match="unknown cifar10 split 'valid'"):
        imf.read_cifar_batches(tmp_path, "cifar10", "valid")


# ------------------------------------------------------------------------------------------- folders

@pytest.fixture
def class_folder(tmp_path):
    """root/<class>/ with PNGs (one grayscale) and a JPEG; classes created out of order."""
    rng = np.random.default_rng(4)
    root = tmp_path / "folder"
    pngs = {}
    for cls, names in (("zebra", ["b.png", "a.png"]), ("ant", ["x.png"])):
        (root / cls).mkdir(parents=True)
        for name in names:
            array = random_images(rng, 1, 8)[0]
            Image.fromarray(array).save(root / cls / name)
            pngs[(cls, name)] = array
    gray = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
    Image.fromarray(gray, mode="L").save(root / "ant" / "y.png")
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(root / "zebra" / "c.jpg", quality=95)
    (root / "zebra" / "notes.txt").write_text("not an image")
    return root, pngs, gray


def test_image_folder_labels_follow_sorted_class_names_and_files(class_folder):
    root, pngs, gray = class_folder
    images = imf.load_image_folder(root)
    assert (images.num_classes, images.stats, images.labels.tolist()) == (2, "cifar10", [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(images.images[0], pngs[("ant", "x.png")])
    np.testing.assert_array_equal(images.images[1], np.repeat(gray[..., None], 3, axis=2))
    np.testing.assert_array_equal(images.images[2], pngs[("zebra", "a.png")])
    np.testing.assert_array_equal(images.images[3], pngs[("zebra", "b.png")])
    assert np.abs(images.images[4].astype(int) - 128).max() <= 2  # the JPEG, lossy


def test_image_folder_max_per_class(class_folder):
    images = imf.load_image_folder(class_folder[0], stats="cifar100", max_per_class=1)
    assert images.labels.tolist() == [0, 1] and images.stats == "cifar100"


def test_corrupt_or_odd_sized_image_names_the_file(class_folder):
    root = class_folder[0]
    bad = root / "ant" / "x.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(CorruptDataError, match="x.png: cannot decode"):
        imf.load_image_folder(root)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(bad)
    Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(root / "zebra" / "a.png")
    with pytest.raises(CorruptDataError, match="a.png: image is 8×9, but x.png is 8×8"):
        imf.load_image_folder(root)


def test_empty_class_folder_is_an_error(class_folder):
    (class_folder[0] / "empty").mkdir()
    with pytest.raises(CorruptDataError, match="empty: class folder holds no"):
        imf.load_image_folder(class_folder[0])


def test_named_png_folder_orders_by_test_index_and_reads_labels(tmp_path):
    rng = np.random.default_rng(5)
    arrays = random_images(rng, 3, 8)
    for array, name in zip(arrays, ["cifar100_10_99.png", "cifar100_02_7.png", "cifar100_00_0.png"]):
        Image.fromarray(array).save(tmp_path / name)
    (tmp_path / "LICENSE").write_text("MIT")
    images = imf.load_image_folder(tmp_path)
    assert images.labels.tolist() == [0, 7, 99] and (images.num_classes, images.stats) == (100, "cifar100")
    np.testing.assert_array_equal(images.images, arrays[::-1])
    Image.fromarray(arrays[0]).save(tmp_path / "cat.png")
    with pytest.raises(CorruptDataError, match="cat.png: cannot read a label"):
        imf.load_image_folder(tmp_path)


def test_missing_folder_is_data_not_found(tmp_path, no_env_data):
    with pytest.raises(DataNotFoundError, match="image folder"):
        imf.load_image_folder(tmp_path / "nope")


# ------------------------------------------------------------------------------------------- split files

def test_cifar_split_file_reads_both_halves(tmp_path):
    order = np.random.default_rng(6).permutation(100)
    path = tmp_path / "cifar-split.txt"
    path.write_text(json.dumps({"train": ["int", order[:50].tolist()],
                                "valid": ["int", order[50:].tolist()]}))
    train, valid = imf.read_cifar_split(path, train_size=100)
    assert train.tolist() == order[:50].tolist() and valid.tolist() == order[50:].tolist()


def test_bad_split_files_are_named(tmp_path):
    path = tmp_path / "cifar-split.txt"
    path.write_text(json.dumps({"train": ["int", [0, 1]], "valid": ["int", [1, 2]]}))
    with pytest.raises(CorruptDataError, match="disjoint halves"):
        imf.read_cifar_split(path, train_size=4)
    path.write_text('{"train": ["int", [0, 1')
    with pytest.raises(CorruptDataError, match="cifar-split.txt: not valid JSON"):
        imf.read_cifar_split(path)
    with pytest.raises(DataNotFoundError, match="missing.txt"):
        imf.read_split_file(tmp_path / "missing.txt")


# ------------------------------------------------------------------------------------------- reference images

def test_reference_png20_labels_come_from_the_names(shared_data):
    root = shared_data / "images" / "cifar10-test-png20"
    images = imf.load_image_folder(root)
    names = sorted(p.name for p in root.glob("*.png"))
    assert images.labels.tolist() == [int(n.split("_")[2].split(".")[0]) for n in names]
    assert images.labels.tolist()[:10] == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]  # CIFAR-10 test set's first labels
    assert images.images.shape == (20, 32, 32, 3) and images.num_classes == 10
    c100 = imf.load_image_folder(shared_data / "images" / "cifar100-test-png20")
    assert (len(c100), c100.num_classes, c100.stats) == (20, 100, "cifar100")


def test_reference_jpeg_folder_has_10_classes_of_1000(shared_data):
    files, labels, classes = imf.image_folder_files(shared_data / "images" / "cifar10-test-jpg")
    assert classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                       "truck"]
    assert np.bincount(labels).tolist() == [1000] * 10
    cats = imf.read_images([f for f, label in zip(files, labels) if label == 3])
    assert cats.shape == (1000, 32, 32, 3) and cats.dtype == np.uint8


def test_reference_jpeg_and_png_readers_agree_on_the_same_picture(shared_data):
    """cat/0000.jpg is CIFAR-10 test image 0 (a cat): same orientation and channel order in both readers."""
    pngs = imf.load_image_folder(shared_data / "images" / "cifar10-test-png20")
    jpgs = imf.load_image_folder(shared_data / "images" / "cifar10-test-jpg", max_per_class=1)
    cat = jpgs.images[jpgs.labels.tolist().index(3)].astype(int)
    diffs = [np.abs(cat - png.astype(int)).mean() for png in pngs.images]
    assert diffs[0] < 12 and min(diffs[1:]) > 2 * diffs[0]
    assert np.abs(cat - pngs.images[0][..., ::-1].astype(int)).mean() > diffs[0]  # BGR would be worse
