"""Images for a sweep, loaded once per worker process (not once per architecture)."""
from __future__ import annotations

import functools

from zcbench.benchmarks.sweep.config import DataSource
from zcbench.spaces.catalog import DATASET_CLASSES
from zcbench.spaces.images import NORMALIZATION, ImageSet, synthetic_imageset


@functools.lru_cache(maxsize=8)
def load_data(dataset: str, source: DataSource, data_dir: str | None = None) -> ImageSet:
    """The ImageSet of one dataset's data source; cached per process (the sweep's workers reuse it)."""
    if source.source == "synthetic":
        return synthetic_imageset(n=source.n, size=source.size, num_classes=DATASET_CLASSES[dataset],
                                  seed=source.seed, name=f"synthetic-{dataset}")
    from zcbench.spaces import image_files  # file readers (PIL) are needed only for real images

    if source.source == "folder":
        return image_files.load_image_folder(source.path, stats=dataset if dataset in NORMALIZATION else None,
                                             max_per_class=source.max_per_class, data_dir=data_dir)
    return image_files.load_images(dataset, source.split, data_dir)


def check_data_present(dataset: str, source: DataSource, data_dir: str | None = None) -> None:
    """Raise the named DataNotFoundError when a dataset's image files are absent, before any shard is
    dispatched: one message for the run, not one per shard (and none lost in a worker process)."""
    if source.source == "synthetic":
        return
    from zcbench.spaces import image_files

    if source.source == "folder":
        image_files.find_image_folder(source.path, data_dir)
    else:
        image_files.find_image_batches(dataset, data_dir)
