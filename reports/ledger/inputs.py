"""What the compute functions read: ground truth, sweep results (per proxy seed), stored searches,
the Revisit groups; and the helpers that turn them into aligned tables.

Missing pieces are kept as reasons: a compute function that needs one raises `Missing`, naming the
file or sweep that would enable the claim.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.benchmarks.provenance import SOURCE_ROOT
from zcbench.reports import groups as groups_mod
from zcbench.reports.ledger.core import VERSION_PREFERENCE, Missing
from zcbench.reports.nb101_sample import NB101SampleTaus, load_nb101_sample_taus
from zcbench.reports.pruning import load_pruning_runs
from zcbench.reports.results import ProxyScores, load_results, proxy_scores, unmerged_sweeps
from zcbench.spaces import nb201
from zcbench.spaces.catalog import DATASET_CLASSES, get_space
from zcbench.spaces.datadir import data_relative
from zcbench.spaces.errors import DataNotFoundError, ZcbenchError

FULL_SPACE = nb201.NUM_ARCHS
PARAMS_NOTE = "#Param of the C=16, N=5 network with the dataset's head (analytic, protocols §1.1)"
# The authors sample TRAINING images; a data source that names another split is a substitute input.
SPLIT_PATTERN = re.compile(r"\[(\w+)\]")


def committed_results_dir() -> Path | None:
    """The checkout's own results/ (the project's committed results), wherever the command runs."""
    path = SOURCE_ROOT / "results"
    return path if path.is_dir() else None


@dataclass
class Inputs:
    """Everything the compute functions read; missing pieces hold the reason instead."""

    data_dir: Path | None
    results_dir: Path | None
    quick: bool
    seed: int
    truth: object = None  # spaces.groundtruth.GroundTruth
    truth_missing: str = ""
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    unmerged: list = field(default_factory=list)  # sweep folders without merged.parquet
    pruning_runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # stored `zcbench search prune` runs
    nb101_sample: NB101SampleTaus | None = None
    nb101_missing: str = ""
    revisit_groups: list | None = None
    groups_missing: str = ""
    memo: dict = field(default_factory=dict)  # pure memoisation of derived tables (order-independent)

    @property
    def bootstrap_reps(self) -> int:
        return 100 if self.quick else 1000

    @property
    def simulated_means(self) -> int:
        """How many simulated R-run means a search band is built from."""
        return 200 if self.quick else 2000


def load_inputs(data_dir=None, results_dir=None, quick=False, seed=0) -> Inputs:
    from zcbench.spaces.groundtruth import load_ground_truth

    inputs = Inputs(Path(data_dir) if data_dir else None, Path(results_dir) if results_dir else None, quick, seed)
    try:
        inputs.truth = load_ground_truth(data_dir=data_dir)
    except DataNotFoundError as exc:
        inputs.truth_missing = one_line(exc, data_dir)
    try:
        inputs.revisit_groups = groups_mod.load_revisit_groups(groups_mod.revisit_groups_path(data_dir))
    except DataNotFoundError as exc:
        inputs.groups_missing = one_line(exc, data_dir)
    if inputs.results_dir is not None:
        if not inputs.results_dir.is_dir():
            raise ZcbenchError(f"results directory {inputs.results_dir} does not exist")
        inputs.results = load_results(inputs.results_dir)
        inputs.unmerged = unmerged_sweeps(inputs.results_dir)
        inputs.pruning_runs = load_pruning_runs(inputs.results_dir)
        try:
            inputs.nb101_sample = load_nb101_sample_taus(inputs.results_dir, data_dir)
        except DataNotFoundError as exc:
            inputs.nb101_missing = one_line(exc, data_dir)
    return inputs


def one_line(exc: DataNotFoundError, data_dir=None) -> str:
    """The missing file, where it was looked for (relative to the data directory) and how to get it."""
    where = (", ".join(dict.fromkeys(f"<data-dir>/{portable(p, data_dir)}" for p in exc.searched)) if exc.searched
             else "nowhere: no --data-dir given and $ZCBENCH_DATA unset")
    return f"{exc.what} not found (looked in {where}); {exc.how_to_get}"


@functools.lru_cache(maxsize=1)
def _space_table() -> pd.DataFrame:
    table = groups_mod.op_count_table().set_index("index")
    extra = get_space("nb201").PARAMS_PER_CLASS
    for ds, classes in DATASET_CLASSES.items():
        table[f"params_{ds}"] = table["params_cifar10"] + extra * (classes - 10)
    return table


def space_table() -> pd.DataFrame:
    """index → n3, n1 and #Param per dataset head (no data file needed)."""
    return _space_table().copy()


def params_series(dataset: str) -> pd.Series:
    return _space_table()[f"params_{dataset}"]


def search_table(dataset: str, accuracy: pd.Series) -> pd.DataFrame:
    """The space table with `accuracy` and `params` = #Param with the dataset's head."""
    table = space_table().assign(accuracy=accuracy)
    table["params"] = table[f"params_{dataset}"]
    return table


def target(inputs: Inputs, paper: str, dataset: str, split: str = "test"):
    """(TargetSpec, accuracy Series, note) for the paper's preferred benchmark version that is present."""
    from zcbench.spaces.groundtruth import TargetSpec

    if inputs.truth is None:
        raise Missing("needs-data", inputs.truth_missing)
    preference = VERSION_PREFERENCE[paper]
    for version in preference:
        spec = TargetSpec.paper_valid(dataset, version) if split == "valid" else TargetSpec(dataset, split, version)
        if spec.column in inputs.truth.target_columns:
            note = "" if version == preference[0] else (
                f"{paper}'s code reads {preference[0]}, which the ground truth lacks for this target; used {version}")
            return spec, inputs.truth.values(spec), note
    raise Missing("needs-data", f"{dataset} {split} accuracy (versions {', '.join(preference)}) is not in the "
                                f"ground truth {', '.join(truth_sources(inputs))}; convert the official NB201 .pth "
                                f"with `zcbench data convert nb201`")


# The image folder the shipped CIFAR-10 sweep configs read when the official batches are absent.
SUBSTITUTE_IMAGE_FOLDERS = {"cifar10": "images/cifar10-test-jpg"}


def missing_images(inputs: Inputs, dataset: str) -> DataNotFoundError | None:
    """Why no sweep of `dataset` can run here (neither its official batches nor, for CIFAR-10, the
    substitute test-JPEG folder under the data roots), or None when images are there."""
    from zcbench.spaces.datadir import find_data_file
    from zcbench.spaces.image_files import find_image_batches

    try:
        find_image_batches(dataset, inputs.data_dir)
        return None
    except DataNotFoundError as missing:
        batches_missing = missing
    if folder := SUBSTITUTE_IMAGE_FOLDERS.get(dataset):
        try:
            find_data_file([folder], f"{dataset} substitute images", "", inputs.data_dir)
            return None
        except DataNotFoundError:
            pass
    return batches_missing


def _needs_sweep(inputs: Inputs, name: str, dataset: str) -> Missing:
    """needs-results naming the sweep; needs-data naming the images first when the proxy reads images
    and the dataset has none here."""
    from zcbench.proxies.registry import REGISTRY

    where = f" under {inputs.results_dir.name}/" if inputs.results_dir else " (no --results directory given)"
    sweep = (f"a sweep of proxy '{name}' on {dataset} over the NB201 archs (<results>/sweeps/<name>/merged.parquet)"
             f"{where}")
    reads_images = name not in REGISTRY or "images" in REGISTRY.get(name).needs
    if reads_images and (no_images := needs_images(inputs, dataset, sweep)):
        return no_images
    return Missing("needs-results", sweep)


def needs_images(inputs: Inputs, dataset: str, then: str) -> Missing | None:
    """needs-data naming `dataset`'s image files when they are absent (then what else is needed), else None."""
    missing = missing_images(inputs, dataset)
    if missing is None:
        return None
    return Missing("needs-data", f"{dataset} images for the proxies: {one_line(missing, inputs.data_dir)}; then {then}")


# Tables whose archs were chosen by #Param group (the Revisit groups): a biased subset of the space that
# only the group experiment may read; mixed into a correlation's seeds they would bias its arch sample.
GROUP_SELECTION = "param_group"


def without_group_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of sweeps over whole spaces or samples, without those of #Param-group sweeps."""
    return results[results["arch_select"] != GROUP_SELECTION] if "arch_select" in results.columns else results


def seed_scores(inputs: Inputs, name: str, dataset: str, groups: bool = False) -> dict[int, ProxyScores]:
    """Proxy `name` on `dataset`, one ProxyScores per proxy seed (same settings hash for every seed); rows
    of #Param-group sweeps only with `groups` (the group experiment)."""
    key = ("seed_scores", name, dataset, groups)
    if key not in inputs.memo:
        results = inputs.results if groups else without_group_rows(inputs.results)
        found = proxy_scores(results, name, dataset) if not results.empty else None
        per_seed = {}
        if found is not None:
            rows = results[results["settings_hash"] == found.provenance["settings_hash"]]
            for seed in found.provenance["seeds"]:
                per_seed[seed] = proxy_scores(rows[rows["seed"] == seed], name, dataset)
        inputs.memo[key] = per_seed
    if not inputs.memo[key]:
        raise _needs_sweep(inputs, name, dataset)
    return inputs.memo[key]


OTHER_SETTING_MIN_ARCHS = 30  # fewer cells under another setting say nothing beside the chosen one


def other_setting_scores(inputs: Inputs, name: str, dataset: str, chosen_hash: str) -> list[ProxyScores]:
    """`name` on `dataset` under each stored setting other than `chosen_hash` (e.g. κ's `code` preset beside
    the `supernet` one the claim reads), lowest proxy seed only, when it scored enough cells to compare."""
    results = inputs.results
    if results.empty:
        return []
    results = without_group_rows(results)
    rows = results[(results["space"] == "nb201") & (results["proxy"] == name) & (results["dataset"] == dataset)
                   & (results["settings_hash"] != chosen_hash)]
    out = []
    for _, setting_rows in rows.groupby("settings_hash", sort=True):
        found = proxy_scores(setting_rows[setting_rows["seed"] == setting_rows["seed"].min()], name, dataset)
        if found is not None and len(found.values) >= OTHER_SETTING_MIN_ARCHS:
            out.append(found)
    return out


def partial_sweeps(inputs: Inputs) -> set[str]:
    """Names of the library entries read that are partial merges of unfinished sweeps (memoised)."""
    if "partial_sweeps" not in inputs.memo:
        results = inputs.results
        inputs.memo["partial_sweeps"] = (set(results.loc[results["partial"].astype(bool), "sweep"])
                                         if "partial" in results else set())
    return inputs.memo["partial_sweeps"]


def partial_sources(inputs: Inputs, scores: ProxyScores) -> list[str]:
    """The partial merges (finished shards, not a sample) among `scores`' sweeps, when the scores miss part
    of the space; none otherwise (rows of a partial merge that complete sweeps cover for every cell — e.g.
    the #Param and LR1 rows of an unfinished κ sample — change nothing)."""
    if len(scores.archs) >= FULL_SPACE:
        return []
    return sorted(partial_sweeps(inputs) & set(scores.provenance["sweeps"]))


def from_partial(inputs: Inputs, scores: ProxyScores) -> bool:
    return bool(partial_sources(inputs, scores))


def has_scores(inputs: Inputs, name: str, dataset: str) -> bool:
    try:
        seed_scores(inputs, name, dataset)
        return True
    except Missing:
        return False


def oriented(name: str, values: pd.Series) -> pd.Series:
    """Values flipped so that higher is better (the registry's `higher_is_better`)."""
    from zcbench.proxies.registry import REGISTRY

    return values if REGISTRY.get(name).higher_is_better else -values


def image_inputs(found: list[ProxyScores]) -> tuple[str, str]:
    """(the images the proxies saw, a substitute-input note when they are not the authors' split)."""
    sources = sorted({s for f in found for s in f.provenance.get("data_source", [])})
    splits = {m.group(1) for s in sources for m in [SPLIT_PATTERN.search(s)] if m}
    substitute = ""
    if any(s.startswith("synthetic") for s in sources):
        substitute = "synthetic images"
    elif splits - {"train"}:
        substitute = f"{'/'.join(sorted(splits - {'train'}))}-split images where the authors sample training images"
    return " | ".join(sources) or "none (parameter-free)", substitute


def caveats(inputs: Inputs, found: list[ProxyScores]) -> str:
    """Why these scores cannot settle a claim (empty when they can): synthetic images, or a partial merge
    of an unfinished sweep (its finished shards are the lowest indices of the planned cells, so the
    archs are not the uniform sample the interval assumes). A rule turns such a verdict into indicative."""
    reasons = [f"{f.proxy} was computed on synthetic images" for f in found if f.synthetic]
    reasons += [f"{f.proxy} is read from a partial merge of an unfinished sweep ({', '.join(names)}: the "
                f"finished shards, not a uniform sample)" for f in found if (names := partial_sources(inputs, f))]
    return "; ".join(dict.fromkeys(reasons))


def spec(target_text: str, arch_set: str, n: int, excluded: int, **extra) -> dict:
    return {"target": target_text, "arch_set": arch_set, "n": int(n), "excluded": int(excluded), **extra}


def evidence(*, dataset: str, target_text: str, arch_set: str, n: int, seeds, found: list[ProxyScores] = (),
             truth_version: str = "") -> dict:
    """The inputs block of a ledger entry: what a reader needs to judge the evidence."""
    images, _ = image_inputs(list(found))
    return {"dataset": dataset, "target": target_text, "benchmark_file": truth_version, "images": images,
            "proxy_seeds": [int(s) for s in seeds], "arch_set": arch_set, "n_archs": int(n),
            "settings_hash": {f.proxy: f.provenance.get("settings_hash") for f in found}}


def portable(path, data_dir) -> str:
    """A data file named relative to the data directory (or by its file name): reports carry no
    machine-specific absolute paths."""
    named = data_relative(path, data_dir)
    return Path(named).name if Path(named).is_absolute() else named


def truth_sources(inputs: Inputs) -> list[str]:
    return [portable(s, inputs.data_dir) for s in inputs.truth.sources] if inputs.truth is not None else []


def truth_provenance(inputs: Inputs) -> dict:
    return {"ground_truth": truth_sources(inputs)} if inputs.truth is not None else {}


def common_seeds(per_proxy: list[dict[int, ProxyScores]]) -> list[int]:
    """The proxy seeds every one of the proxies has."""
    seeds = set(per_proxy[0])
    for found in per_proxy[1:]:
        seeds &= set(found)
    return sorted(seeds)


def finite_archs(series_list: list[pd.Series]) -> pd.Index:
    """Archs where every series has a finite value."""
    index = series_list[0].index
    for s in series_list:
        index = index.intersection(s.index[np.isfinite(s.to_numpy(dtype=np.float64))])
    return index.sort_values()
