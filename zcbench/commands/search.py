"""`zcbench search prune`: TE-NAS pruning-by-importance searches on NB201, one JSON file per seed.

Finished seeds are read back, not recomputed, and an interrupted search resumes at its next round
(rerun the same command; the finished rounds wait in `seed-<seed>.rounds.json`). Each run prints one
JSON line (dataset, setting, criterion, seed, cell found, seconds, file); `zcbench reproduce` reads the
files from the results directory (T6, T8, T9, R19). `--criterion angleloss` / `angleloss_params` judge
each candidate by a short training of the pruned supernet instead (our reconstruction of Revisit's
AngleLoss pruning, protocols §B3; `--set train_iterations=…` etc.), stored under their own default
folder, results/searches/angleloss_prune.
"""
from __future__ import annotations

import json
import sys

import torch

from zcbench.benchmarks.pruning import CRITERIA, PRESETS, TRAINING_CRITERIA, angleloss_settings, run_searches
from zcbench.commands.score import load_imageset
from zcbench.options import add_data_dir, check_device, positive_int, seed_value
from zcbench.proxies.registry import settings_dict, settings_hash
from zcbench.proxies.settings import apply_overrides, split_overrides
from zcbench.spaces.catalog import DATASET_CLASSES

DEFAULT_OUT = "results/searches/tenas_prune"
# Searches that short-train every candidate keep their own folder: the reports read κ and R from tenas_prune.
ANGLELOSS_OUT = "results/searches/angleloss_prune"


def register(parser) -> None:
    sub = parser.add_subparsers(dest="search_command", required=True)
    prune = sub.add_parser("prune", help="TE-NAS pruning search on the NB201 supernet (protocols §B1)",
                           description="Runs one search per seed; finished seeds under --out are skipped and an "
                                       "interrupted search resumes at its next round.")
    prune.add_argument("--dataset", default="cifar10", choices=sorted(DATASET_CLASSES))
    prune.add_argument("--split", default="train", help="image split read from the data directory (default train)")
    prune.add_argument("--seed", type=seed_value, action="append", dest="seeds", metavar="S",
                       help="search seed (repeatable; default 1 2 3 4, the paper's 4 seeds)")
    prune.add_argument("--setting", default="code", choices=sorted(PRESETS),
                       help="code: the authors' released search; paper: the text's batch 32 and Kaiming re-init")
    prune.add_argument("--criterion", default=None, choices=CRITERIA,
                       help="how κ and R changes combine (TE-NAS App. D; default: the preset's rank_sum), or "
                            "angleloss / angleloss_params: short-train the supernet without each candidate op "
                            "(Revisit Tab. 6, our reconstruction, protocols §B3)")
    prune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                       help="override a settings field with a plain value, e.g. ntk_batch=16; with an angleloss "
                            "criterion also train_iterations, train_classes, train_images_per_class, train_lr, "
                            "train_init, train_source_split (see --show-settings)")
    add_data_dir(prune)
    prune.add_argument("--images", default=None, metavar="synthetic|PATH",
                       help="'synthetic' or an image folder; default: the dataset's files under --data-dir")
    prune.add_argument("--out", default=None,
                       help=f"results directory (default {DEFAULT_OUT}; {ANGLELOSS_OUT} for the angleloss criteria)")
    prune.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    prune.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    prune.add_argument("--quiet", action="store_true",
                       help="no per-candidate progress on stderr (a bar with ETA on a terminal, else one line "
                            "per candidate)")
    prune.add_argument("--show-settings", action="store_true",
                       help="print the resolved settings (preset + --criterion + --set) and their hash, run nothing")
    prune.set_defaults(func=run_prune)


def pruning_settings(setting: str, criterion: str | None, overrides: dict[str, str]):
    """The preset with the `--set` overrides and `--criterion` (typed and validated by PruningSettings; a
    training criterion turns the preset into AngleLossPruningSettings first)."""
    overrides = dict(overrides)
    criterion = criterion or overrides.pop("criterion", None)
    if criterion in TRAINING_CRITERIA:
        return apply_overrides(angleloss_settings(PRESETS[setting], criterion), overrides)
    if criterion is not None:
        overrides["criterion"] = criterion
    return apply_overrides(PRESETS[setting], overrides)


def run_prune(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = pruning_settings(args.setting, args.criterion, split_overrides(args.overrides))
    if args.show_settings:
        print(json.dumps({"setting": args.setting, "settings": settings_dict(settings),
                          "settings_hash": settings_hash(settings)}, indent=2))
        return 0
    args.seed = 0  # synthetic images (if asked for) are drawn with seed 0, independent of the search seeds
    data, described = load_imageset(args)
    print(f"zcbench search: images: {described}", file=sys.stderr)
    out = args.out or (ANGLELOSS_OUT if settings.criterion in TRAINING_CRITERIA else DEFAULT_OUT)
    runs = run_searches(data, out, seeds=args.seeds or [1, 2, 3, 4], dataset=args.dataset, setting=args.setting,
                        settings=settings, images=described, device=check_device(args.device),
                        show_progress=not args.quiet)
    for path, record, computed in runs:
        print(json.dumps({"dataset": args.dataset, "setting": args.setting, "criterion": record["criterion"],
                          "seed": record["seed"], "arch": record["arch"], "arch_str": record["arch_str"],
                          "seconds": round(record["seconds"], 1), "computed": computed, "file": str(path)}),
              flush=True)
    return 0
