"""`zcbench score`: score architectures with one or more proxies; a table, or one JSON line per proxy
and arch with `--json`.

`--combination NAME` adds rank combinations (e.g. AngleLoss): ranks need a set, so they are computed
over the architectures given with repeated `--arch`, one extra row per arch and combination.

Works for every registered proxy (built-in or plugin): settings come from the proxy's named preset
plus `--set field=value` overrides (plain values, typed by the settings' annotations); images are
loaded only when a selected proxy needs them, and stderr says which images were used. No image
source → an error that says how to get one (never a silent fall-back to random images).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys

import pandas as pd
import torch

from zcbench.options import add_data_dir, add_trust_pickle, check_device, seed_value
from zcbench.proxies.combinations import STATUS_SUFFIX, combine, get_combination
from zcbench.proxies.registry import REGISTRY, settings_dict, settings_hash
from zcbench.proxies.settings import apply_overrides, split_overrides
from zcbench.spaces.catalog import DATASET_CLASSES, DATASET_INPUT_SIZE, get_space
from zcbench.spaces.datadir import data_relative
from zcbench.spaces.errors import DataNotFoundError, SettingsError, ZcbenchError
from zcbench.spaces.images import synthetic_imageset

SYNTHETIC = "synthetic"
# Synthetic images per class: enough for every built-in proxy's batch (NTK 72, NASWOT 128, MGM 50,
# 10 images × 10 classes for short training); LR1 crops are drawn with replacement.
SYNTHETIC_PER_CLASS = 52
VALUE_WIDTH = 12


def register(parser) -> None:
    parser.description = (
        "Prints one row per proxy and arch: a table by default, JSON lines (every field: settings, hash, "
        "diagnostics, images) with --json. Exit status 0 when every proxy produced a value or a flagged status "
        "(inf, nan, singular …), 1 when any proxy raised (status 'error:…'), 2 for bad arguments or missing data.")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--arch", action="append", required=True,
                        help="official index or arch string (repeatable: the set a combination ranks over)")
    parser.add_argument("--proxy", action="append", default=[], metavar="NAME",
                        help="proxy name (repeatable), or 'all' for every registered proxy")
    parser.add_argument("--combination", action="append", default=[], metavar="NAME",
                        help="rank combination over the given archs (repeatable), e.g. angleloss, tenas, "
                             "lr2+params; its component proxies are scored too")
    parser.add_argument("--setting", default="code", help="settings preset: code (authors' code) or paper")
    parser.add_argument("--dataset", default="cifar10", choices=sorted(DATASET_CLASSES))
    parser.add_argument("--split", default="train", help="image split read from the data directory (default train)")
    parser.add_argument("--seed", type=seed_value, default=0, help="integer in [0, 2**64) (default 0)")
    add_data_dir(parser)
    add_trust_pickle(parser)
    parser.add_argument("--images", default=None, metavar="synthetic|PATH",
                        help="'synthetic' for random images at the dataset's input size, or an image folder "
                             "(<class>/<image> layout); default: the dataset's files under --data-dir/$ZCBENCH_DATA")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override a settings field with a plain value, e.g. batch_size=8, "
                             "init=kaiming_normal_fanin, augment=false, widths=1,2; applied to every selected proxy "
                             "that has the field")
    parser.add_argument("--json", action="store_true", help="one JSON object per line, with every field")
    parser.set_defaults(func=run)


def selected_proxies(names: list[str]):
    """The ProxySpecs named on the command line ('all' = every registered proxy), in the given order."""
    if "all" in names:
        return list(REGISTRY)
    return [REGISTRY.get(name) for name in dict.fromkeys(names)]  # unknown name → did-you-mean error


def proxy_settings(spec, setting: str, overrides: dict[str, str]):
    """The preset with those overrides that name one of this proxy's settings fields."""
    fields = {f.name for f in dataclasses.fields(spec.settings_type)}
    return apply_overrides(spec.settings(setting), {k: v for k, v in overrides.items() if k in fields})


def check_overrides_used(specs, overrides: dict) -> None:
    known = {f.name for spec in specs for f in dataclasses.fields(spec.settings_type)}
    if unused := sorted(set(overrides) - known):
        raise SettingsError(f"--set field(s) {unused} belong to none of the selected proxies "
                            f"({', '.join(s.name for s in specs)}); their fields: {sorted(known)}")


def load_imageset(args):
    """The ImageSet for proxies that need images, and a one-line description of where it came from."""
    classes = DATASET_CLASSES[args.dataset]
    if args.images == SYNTHETIC:
        size = DATASET_INPUT_SIZE[args.dataset]
        n = SYNTHETIC_PER_CLASS * classes
        data = dataclasses.replace(synthetic_imageset(n, size, classes, args.seed, name=f"synthetic-{args.dataset}"),
                                   stats=args.dataset)
        return data, (f"SYNTHETIC random images: {n} uint8 {size}x{size} images, {classes} classes, seed {args.seed}, "
                      f"{args.dataset} normalisation (not natural images; for smoke tests only)")
    try:
        from zcbench.spaces import image_files
    except ImportError as exc:
        raise ZcbenchError(f"image file readers are not available ({exc}); pass --images synthetic "
                           "for random images") from None
    if args.images is not None:
        data = image_files.load_image_folder(args.images, stats=args.dataset, data_dir=args.data_dir)
        return data, (f"{len(data)} {data.image_size}x{data.image_size} images ({data.num_classes} classes, "
                      f"{data.stats} normalisation) from image folder {data_relative(args.images, args.data_dir)}")
    try:
        data = image_files.load_images(args.dataset, args.split, args.data_dir)
    except DataNotFoundError as exc:
        raise DataNotFoundError(exc.what, exc.searched, f"{exc.how_to_get} Or pass --images PATH (an image folder, "
                                "e.g. <data>/images/cifar10-test-jpg) or --images synthetic.") from None
    return data, f"{len(data)} {args.dataset} {args.split} images ({data.name})"


def finite_or_none(value):
    """JSON has no NaN/inf: non-finite floats become null (the status field says which it was)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


class ScoreTable:
    """Human-readable rows printed as they come: arch, proxy or combination, value, seconds, status."""

    def __init__(self, arch_ids: list[str], names: list[str]):
        self.arch_width = max([4, *map(len, arch_ids)])
        self.name_width = max([11, *map(len, names)])
        self.header_printed = False

    def _print(self, arch: str, name: str, value: str, seconds: str, status: str) -> None:
        print(f"{arch:<{self.arch_width}}  {name:<{self.name_width}}  {value:>{VALUE_WIDTH}}  {seconds:>8}  {status}",
              flush=True)

    def row(self, arch: str, name: str, value: float, seconds: float | None = None, status: str = "") -> None:
        if not self.header_printed:
            self._print("arch", "proxy", "value", "seconds", "status")
            self.header_printed = True
        shown = f"{value:.6g}" if math.isfinite(value) else "-"
        self._print(arch, name, shown, "" if seconds is None else f"{seconds:.3f}", status)


def run(args) -> int:
    space = get_space(args.space)
    archs = [space.arch(ref) for ref in args.arch]
    combinations = [get_combination(name) for name in dict.fromkeys(args.combination)]
    names = args.proxy + [c for comb in combinations for c in comb.columns()]
    if not names:
        raise ZcbenchError("give at least one --proxy or --combination")
    specs = selected_proxies(names)
    overrides = split_overrides(args.overrides)
    check_overrides_used(specs, overrides)
    settings = {spec.name: proxy_settings(spec, args.setting, overrides) for spec in specs}
    device = torch.device(check_device(args.device))
    data = None
    if any("images" in spec.needs for spec in specs):
        data, described = load_imageset(args)
        print(f"zcbench score: images: {described}", file=sys.stderr)
    arch_ids = [space.arch_id(a) for a in archs]
    table = ScoreTable(arch_ids, [s.name for s in specs] + [c.name for c in combinations])
    failed = False
    values = pd.DataFrame(index=arch_ids)
    for arch, arch_id in zip(archs, arch_ids):
        for spec in specs:
            result = spec.score(arch, space=space, data=data, settings=settings[spec.name], seed=args.seed,
                                device=device, dataset=args.dataset)
            failed |= result.status.startswith("error:")
            values.loc[arch_id, [spec.name, spec.name + STATUS_SUFFIX]] = [result.value, result.status]
            if not args.json:
                table.row(arch_id, spec.name, result.value, result.seconds, result.status)
                continue
            row = {"proxy": spec.name, "version": spec.version, "setting": args.setting,
                   "settings": settings_dict(settings[spec.name]), "settings_hash": settings_hash(settings[spec.name]),
                   "space": space.name, "arch": arch_id, "arch_str": str(arch), "dataset": args.dataset,
                   "seed": args.seed, "value": result.value, "status": result.status,
                   "diagnostics": result.diagnostics, "seconds": result.seconds, "device": str(device),
                   "images": data.name if data is not None and "images" in spec.needs else None}
            print(json.dumps(finite_or_none(row), default=str), flush=True)
    for comb in combinations:
        for arch_id, value in combine(values, comb).items():
            if not args.json:
                table.row(arch_id, comb.name, float(value), status=f"rank combination over {len(values)} archs")
                continue
            print(json.dumps(finite_or_none({
                "combination": comb.name, "arch": arch_id, "value": float(value), "archs_in_set": len(values),
                "higher_is_better": comb.higher_is_better, "rule": comb.rule, "components": comb.columns(),
                "setting": args.setting, "dataset": args.dataset, "seed": args.seed})), flush=True)
    return 1 if failed else 0
