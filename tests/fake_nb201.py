"""Small fake NAS-Bench-201 `.pth` files and NATS-Bench `tss` archives, built with the official classes.

The ArchResults / ResultsCount states come from `nas_201_api` (or `nats_bench`) objects' own
`state_dict()`, so the layout is the one the official generators wrote (protocols §D.1); only a
few archs have results, with 1–3 seeds and made-up per-epoch accuracies.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zcbench.spaces import nb201

SEEDS = (777, 888, 999)
EVAL_SETS = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
             "cifar100": ("ori-test", "x-valid", "x-test"),
             "ImageNet16-120": ("ori-test", "x-valid", "x-test")}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
# 12-epoch ('less') runs: v1_0 has cifar10-valid only; v1_1 and NATS have every dataset (cifar10-valid twice).
LESS_SEEDS = {"v1_0": {"cifar10-valid": (111,)},
              "v1_1": {"cifar10-valid": (111, 777), "cifar10": (111,), "cifar100": (111,),
                       "ImageNet16-120": (111,)}}


def _curve(rng, epochs: int) -> dict:
    """Increasing accuracies (%) per epoch with noise."""
    top = rng.uniform(40, 95)
    return {e: float(top * (1 - np.exp(-(e + 1) / (epochs / 5))) + rng.normal(0, 0.3)) for e in range(epochs)}


def _result(classes_module, rng, index: int, dataset: str, seed: int, epochs: int):
    arch_str = str(nb201.index_to_arch(index))
    config = {"channel": 16, "num_cells": 5, "arch_str": arch_str, "class_num": CLASSES[dataset]}
    train = _curve(rng, epochs)
    losses = {e: 3.0 - a / 50 for e, a in train.items()}
    result = classes_module.ResultsCount(dataset, None, train, losses, 0.5, 80.0, config, seed, epochs,
                                         [0.01])
    times = {e: 5.0 for e in range(epochs)}
    result.update_train_info(train, {e: min(100.0, a + 10) for e, a in train.items()}, losses, times)
    accs, eval_losses, eval_times = {}, {}, {}
    for name in EVAL_SETS[dataset]:
        for e, a in _curve(rng, epochs).items():
            accs[f"{name}@{e}"], eval_losses[f"{name}@{e}"], eval_times[f"{name}@{e}"] = a, 3.0 - a / 50, 1.0
    result.update_eval(accs, eval_losses, eval_times)
    return result


def arch_results_state(classes_module, rng, index: int, epochs: int, dataset_seeds: dict) -> dict:
    """One ArchResults state: `dataset_seeds` {NB201 dataset name → seeds}."""
    results = classes_module.ArchResults(index, str(nb201.index_to_arch(index)))
    for dataset, seeds in dataset_seeds.items():
        for seed in seeds:
            results.update(dataset, seed, _result(classes_module, rng, index, dataset, seed, epochs))
    return results.state_dict()


def full_seeds(index: int) -> dict:
    """1, 2 or 3 seeds per arch (by index), as in the official files."""
    return {ds: SEEDS[: 1 + index % 3] for ds in EVAL_SETS}


def fake_nb201_dict(indices=(0, 1, 6111), version: str = "v1_0", seed: int = 0) -> dict:
    """The dict an official `.pth` holds, with results for `indices` only."""
    import nas_201_api

    rng = np.random.default_rng(seed)
    arch2infos = {i: {"full": arch_results_state(nas_201_api, rng, i, 200, full_seeds(i)),
                      "less": arch_results_state(nas_201_api, rng, i, 12, LESS_SEEDS[version])}
                  for i in indices}
    return {"meta_archs": [str(a) for a in nb201.all_archs()], "arch2infos": arch2infos,
            "evaluated_indexes": set(indices)}


def write_fake_pth(directory: Path, version: str = "v1_0", indices=(0, 1, 6111), legacy: bool = False):
    """Save a fake under the official file name; returns (path, dict)."""
    import torch

    name = {"v1_0": "NAS-Bench-201-v1_0-e61699.pth", "v1_1": "NAS-Bench-201-v1_1-096897.pth"}[version]
    data = fake_nb201_dict(indices, version)
    path = Path(directory) / name
    torch.save(data, path, _use_new_zipfile_serialization=not legacy)
    return path, data


def fake_nats_dict(indices=(0, 2, 9930), seed: int = 1) -> dict:
    import nats_bench

    rng = np.random.default_rng(seed)
    arch2infos = {i: {"200": arch_results_state(nats_bench, rng, i, 200, full_seeds(i)),
                      "12": arch_results_state(nats_bench, rng, i, 12, LESS_SEEDS["v1_1"])} for i in indices}
    return {"meta_archs": [str(a) for a in nb201.all_archs()], "arch2infos": arch2infos,
            "evaluated_indexes": set(indices)}


def write_fake_nats(directory: Path, fast_mode: bool, indices=(0, 2, 9930)):
    """A single `NATS-tss-v1_0-3ffb9.pickle.pbz2`, or the `-simple` directory (meta + one file per arch)."""
    from nats_bench import pickle_save

    data = fake_nats_dict(indices)
    directory = Path(directory)
    if not fast_mode:
        pickle_save(data, directory / "NATS-tss-v1_0-3ffb9.pickle")
        return directory / "NATS-tss-v1_0-3ffb9.pickle.pbz2", data
    root = directory / "NATS-tss-v1_0-3ffb9-simple"
    root.mkdir()
    pickle_save({"meta_archs": data["meta_archs"]}, root / "meta.pickle")
    for i, infos in data["arch2infos"].items():
        pickle_save(infos, root / f"{i:06d}.pickle")
    return root, data
