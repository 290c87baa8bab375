"""Image file readers (no torchvision) returning `spaces.images.ImageSet`.

- CIFAR-10/100 python batches (`cifar-10-batches-py/`, `cifar-100-python/`): pickled dicts with
  `data` (N, 3072) uint8 — the R, G, B 32×32 planes of each image, row-major — and `labels` /
  `fine_labels`.
- ImageNet16-120 as NB201 reads it (`ImageNet16/train_data_batch_1..10`, `val_data`): pickled dicts
  with `data` (N, 768) (three 16×16 planes) and 1-based `labels` over 1000 classes.
- Image folders: `root/<class>/*.png|jpg` (classes sorted by name → 0..K−1, files sorted), and flat
  folders of `cifar10_<testindex>_<label>.png` / `cifar100_...` files (label from the name).
- NB201 split files (`cifar-split.txt`, JSON {"train": ["int", [...]], "valid": [...]}).

`load_images(dataset, split)` finds the official files under --data-dir / $ZCBENCH_DATA and never
substitutes anything else; other image sources are loaded explicitly with `load_image_folder`.
The batch files are pickles: they are read with an allow-list of numpy types
(`spaces.integrity.load_pickle`); anything else is refused unless `--trust-pickle` is given.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from zcbench.spaces.datadir import find_data_file
from zcbench.spaces.errors import CorruptDataError, DataNotFoundError, UnsafePickleError, ZcbenchError
from zcbench.spaces.images import ImageSet
from zcbench.spaces.integrity import load_pickle

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
IMAGENET16_CLASSES = 120

# dataset → (directory candidates under the data roots, {split: batch files}, label key, classes, side)
_BATCHES = {
    "cifar10": (["cifar-10-batches-py", "cifar.python/cifar-10-batches-py"],
                {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
                "labels", 10, 32),
    "cifar100": (["cifar-100-python", "cifar.python/cifar-100-python"],
                 {"train": ["train"], "test": ["test"]}, "fine_labels", 100, 32),
    "imagenet16": (["ImageNet16", "cifar.python/ImageNet16"],
                   {"train": [f"train_data_batch_{i}" for i in range(1, 11)], "test": ["val_data"]},
                   "labels", IMAGENET16_CLASSES, 16),
}
_SPLIT_ALIASES = {"valid": "test", "val": "test"}  # ImageNet16's val_data is its held-out (test) set

HOW_TO_GET = {
    "cifar10": "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and unpack "
               "it in the data directory (--data-dir or $ZCBENCH_DATA) to get cifar-10-batches-py/; a JPEG "
               "copy of the CIFAR-10 test set is read explicitly with "
               "load_image_folder(DATA/images/cifar10-test-jpg)",
    "cifar100": "download cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and "
                "unpack it in the data directory to get cifar-100-python/",
    "imagenet16": "download the 16x16 downsampled ImageNet (Imagenet16_train.zip, Imagenet16_val.zip; "
                  "https://image-net.org/download-images, Chrabaszcz et al. 2017) and unpack both into "
                  "DATA/ImageNet16/ (train_data_batch_1..10, val_data), as NB201 expects",
}


def _load_pickle(path: Path) -> dict:
    """A pickled batch dict with str keys (the CIFAR files are Python 2 pickles with byte-string keys)."""
    try:
        entry = load_pickle(path, "image batch file", encoding="latin1")
    except UnsafePickleError:
        raise
    except Exception as exc:  # EOFError, UnpicklingError, ValueError… for truncated or foreign files
        raise CorruptDataError(f"{path}: cannot unpickle the batch file (truncated or damaged?): "
                               f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(entry, dict):
        raise CorruptDataError(f"{path}: expected a pickled dict, got {type(entry).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _batch_arrays(path: Path, label_key: str, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, side, side, 3), raw labels int64) of one batch file; data rows are R, G, B planes."""
    entry = _load_pickle(path)
    for key in ("data", label_key):
        if key not in entry:
            raise CorruptDataError(f"{path}: no {key!r} entry; has {', '.join(map(str, entry))}")
    data = np.asarray(entry["data"])
    labels = np.asarray(entry[label_key])
    if data.ndim != 2 or data.shape[1] != 3 * side * side:
        raise CorruptDataError(f"{path}: 'data' has shape {data.shape}, expected (N, {3 * side * side})")
    if data.dtype != np.uint8:
        if not np.issubdtype(data.dtype, np.integer) or data.min() < 0 or data.max() > 255:
            raise CorruptDataError(f"{path}: 'data' must hold bytes 0..255, got {data.dtype}")
        data = data.astype(np.uint8)
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise CorruptDataError(f"{path}: {len(data)} images but {label_key!r} has shape {labels.shape} "
                               f"and dtype {labels.dtype}")
    images = data.reshape(-1, 3, side, side).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _read_batches(root, dataset: str, split: str) -> ImageSet:
    root = Path(root)
    _, files, label_key, classes, side = _BATCHES[dataset]
    split = _canonical_split(dataset, split)
    parts = []
    for name in files[split]:
        path = root / name
        if not path.is_file():
            raise DataNotFoundError(f"{dataset} batch file {name}", [path], HOW_TO_GET[dataset])
        parts.append((path, *_batch_arrays(path, label_key, side)))
    images = np.concatenate([p[1] for p in parts])
    labels = np.concatenate([p[2] for p in parts])
    if dataset == "imagenet16":
        # NB201 `ImageNet16(..., use_num_of_class_only=120)`: keep images whose 1-based label L has
        # 1 <= L <= 120, then use L - 1 as the class (protocols §1.3).
        if labels.min() < 1:
            raise CorruptDataError(f"{root}: ImageNet16 labels must be 1-based, found {labels.min()}")
        keep = labels <= IMAGENET16_CLASSES
        images, labels = images[keep], labels[keep] - 1
    for path, _, raw in parts:
        if dataset != "imagenet16" and (raw.min() < 0 or raw.max() >= classes):
            raise CorruptDataError(f"{path}: labels outside 0..{classes - 1} ({raw.min()}..{raw.max()})")
    return ImageSet(f"{dataset}-{split}", images, labels, classes, dataset)


def _canonical_split(dataset: str, split: str) -> str:
    canonical = _SPLIT_ALIASES.get(split, split) if dataset == "imagenet16" else split
    if canonical not in _BATCHES[dataset][1]:
        hint = " (valid = val_data, NB201's ImageNet16-120 held-out set)" if dataset == "imagenet16" else ""
        raise ZcbenchError(f"unknown {dataset} split {split!r}; expected train or test{hint}")
    return canonical


def read_cifar_batches(root, dataset: str = "cifar10", split: str = "train") -> ImageSet:
    """CIFAR-10 (`cifar-10-batches-py/`) or CIFAR-100 (`cifar-100-python/`, fine labels) train/test."""
    if dataset not in ("cifar10", "cifar100"):
        raise ZcbenchError(f"read_cifar_batches reads cifar10 or cifar100, not {dataset!r}")
    return _read_batches(root, dataset, split)


def read_imagenet16_batches(root, split: str = "train") -> ImageSet:
    """ImageNet16-120 as NB201 uses it: train = train_data_batch_1..10, test (alias valid) = val_data;
    only the images of the first 120 classes, with labels shifted to 0..119."""
    return _read_batches(root, "imagenet16", split)


def find_image_batches(dataset: str, data_dir=None) -> Path:
    """The folder of `dataset`'s official batches under --data-dir / $ZCBENCH_DATA; DataNotFoundError
    (what, where, how to get it) when absent."""
    if dataset not in _BATCHES:
        raise ZcbenchError(f"unknown image dataset {dataset!r}; expected one of {', '.join(_BATCHES)}")
    return find_data_file(_BATCHES[dataset][0], f"{dataset} image batches", HOW_TO_GET[dataset], data_dir)


def load_images(dataset: str, split: str, data_dir=None) -> ImageSet:
    """The official image files of `dataset` ('cifar10', 'cifar100', 'imagenet16'), found under
    --data-dir / $ZCBENCH_DATA; DataNotFoundError (what, where, how to get it) when absent."""
    return _read_batches(find_image_batches(dataset, data_dir), dataset, split)


# ---------------------------------------------------------------------------------------------
# Image folders

_NAMED_FILE = re.compile(r"^(?P<dataset>cifar10|cifar100)_(?P<index>\d+)_(?P<label>\d+)\.png$")
_NAMED_CLASSES = {"cifar10": 10, "cifar100": 100}


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _read_image(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # PIL raises UnidentifiedImageError / OSError ("truncated") / SyntaxError
        raise CorruptDataError(f"{path}: cannot decode the image: {type(exc).__name__}: {exc}") from exc


def read_images(paths: list[Path]) -> np.ndarray:
    """Image files → uint8 (N, H, W, 3) RGB; all must have one size."""
    arrays = [_read_image(p) for p in paths]
    for path, array in zip(paths, arrays):
        if array.shape != arrays[0].shape:
            raise CorruptDataError(f"{path}: image is {array.shape[1]}×{array.shape[0]}, but "
                                   f"{paths[0].name} is {arrays[0].shape[1]}×{arrays[0].shape[0]}; "
                                   "a folder must hold one size")
    return np.stack(arrays)


def image_folder_files(root, max_per_class: int | None = None) -> tuple[list[Path], np.ndarray, list[str]]:
    """ImageFolder layout `root/<class>/<file>`: (files, labels, class names), all sorted by name."""
    root = Path(root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise CorruptDataError(f"{root}: no class sub-directories (expected root/<class>/*.png|jpg)")
    files, labels = [], []
    for label, name in enumerate(classes):
        members = sorted(p for p in (root / name).iterdir() if _is_image(p))
        if not members:
            raise CorruptDataError(f"{root / name}: class folder holds no {'/'.join(IMAGE_EXTENSIONS)} files")
        members = members[:max_per_class]
        files += members
        labels += [label] * len(members)
    return files, np.asarray(labels, dtype=np.int64), classes


def read_image_folder(root, stats: str = "cifar10", max_per_class: int | None = None) -> ImageSet:
    """`root/<class>/*.png|jpg` as RGB uint8, label = position of the class name in sorted order."""
    files, labels, classes = image_folder_files(root, max_per_class)
    return ImageSet(Path(root).name, read_images(files), labels, len(classes), stats)


def read_named_png_folder(root, stats: str | None = None) -> ImageSet:
    """A flat folder of `cifar10_<testindex>_<label>.png` (or `cifar100_...`), ordered by test index."""
    root = Path(root)
    entries = []
    for path in sorted(p for p in root.iterdir() if _is_image(p)):
        m = _NAMED_FILE.match(path.name)
        if not m:
            raise CorruptDataError(f"{path}: cannot read a label from the file name "
                                   "(expected cifar10_<testindex>_<label>.png or cifar100_...)")
        entries.append((int(m["index"]), int(m["label"]), m["dataset"], path))
    if not entries:
        raise CorruptDataError(f"{root}: no cifar10_<testindex>_<label>.png files")
    datasets = {e[2] for e in entries}
    if len(datasets) > 1:
        raise CorruptDataError(f"{root}: mixes files of {', '.join(sorted(datasets))}")
    dataset = datasets.pop()
    entries.sort()
    labels = np.asarray([e[1] for e in entries], dtype=np.int64)
    bad = [e[3].name for e in entries if e[1] >= _NAMED_CLASSES[dataset]]
    if bad:
        raise CorruptDataError(f"{root / bad[0]}: label outside 0..{_NAMED_CLASSES[dataset] - 1}")
    images = read_images([e[3] for e in entries])
    return ImageSet(root.name, images, labels, _NAMED_CLASSES[dataset], stats or dataset)


def find_image_folder(path, data_dir=None) -> Path:
    """Where an image folder given by path (absolute, or relative to the working directory or the data
    roots) lies; DataNotFoundError when it is nowhere, ZcbenchError when it is not a directory."""
    path = Path(path)
    candidates = [str(path)] if path.is_absolute() else [str(path.absolute()), str(path)]
    root = find_data_file(candidates, "image folder", "pass an existing folder (root/<class>/*.jpg or "
                          "cifar10_<index>_<label>.png files)", data_dir)
    if not root.is_dir():
        raise ZcbenchError(f"{root} is not a directory")
    return root


def load_image_folder(path, stats: str | None = None, max_per_class: int | None = None,
                      data_dir=None) -> ImageSet:
    """An image folder given by path (or relative to the data roots): class sub-directories, or a flat
    folder of named CIFAR PNGs. `stats` (normalisation) defaults to the named files' dataset, else cifar10."""
    root = find_image_folder(path, data_dir)
    if any(d.is_dir() and not d.name.startswith(".") for d in root.iterdir()):
        return read_image_folder(root, stats or "cifar10", max_per_class)
    images = read_named_png_folder(root, stats)
    return images if max_per_class is None else images.subset(_first_per_class(images.labels, max_per_class))


def _first_per_class(labels: np.ndarray, limit: int) -> np.ndarray:
    counts: dict[int, int] = {}
    keep = []
    for i, label in enumerate(labels.tolist()):
        counts[label] = counts.get(label, 0) + 1
        if counts[label] <= limit:
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# NB201 split files

def read_split_file(path) -> dict[str, np.ndarray]:
    """An NB201 split file (`cifar-split.txt`, `cifar100-test-split.txt`, …):
    JSON {name: ["int", [indices]]}."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"NB201 split file {path.name}", [path],
                                "it ships with NB201 / AutoDL-Projects under configs/nas-benchmark/")
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptDataError(f"{path}: not valid JSON (truncated?): {exc}") from exc
    if not isinstance(content, dict):
        raise CorruptDataError(f"{path}: expected a JSON object, got {type(content).__name__}")
    splits = {}
    for name, value in content.items():
        well_formed = isinstance(value, list) and len(value) == 2 and value[0] == "int"
        if not (well_formed and isinstance(value[1], list)):
            raise CorruptDataError(f"{path}: entry {name!r} must be [\"int\", [indices...]]")
        indices = np.asarray(value[1], dtype=np.int64)
        if len(np.unique(indices)) != len(indices) or (len(indices) and indices.min() < 0):
            raise CorruptDataError(f"{path}: entry {name!r} has repeated or negative indices")
        splits[name] = indices
    return splits


def read_cifar_split(path, train_size: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    """NB201's `cifar-split.txt`: (train half, valid half) as indices into the 50k CIFAR-10 training set."""
    splits = read_split_file(path)
    missing = [k for k in ("train", "valid") if k not in splits]
    if missing:
        raise CorruptDataError(f"{path}: no {', '.join(missing)} entry; has {', '.join(splits)}")
    train, valid = splits["train"], splits["valid"]
    if np.intersect1d(train, valid).size or len(train) + len(valid) != train_size \
            or max(train.max(initial=0), valid.max(initial=0)) >= train_size:
        raise CorruptDataError(f"{path}: train ({len(train)}) and valid ({len(valid)}) must be disjoint "
                               f"halves of range({train_size})")
    return train, valid
