"""`zcbench score`: score architectures with one or more proxies, one JSON line per proxy and arch.

`--combination NAME` adds rank combinations (e.g. AngleLoss): ranks need a set, so they are computed
over the architectures given with repeated `--arch`, one extra JSON line per arch and combination.

Works for every registered proxy (built-in or plugin): settings come from the proxy's named preset
plus `--set field=value` overrides; images are loaded only when a selected proxy needs them, and
stderr says which images were used. No image source → an error that says how to get one (never a
silent fall-back to random images).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys

import pandas as pd
import torch

from zcbench.proxies.combinations import STATUS_SUFFIX, combine, get_combination
from zcbench.proxies.registry import REGISTRY, settings_dict, settings_hash
from zcbench.spaces.catalog import DATASET_CLASSES, DATASET_INPUT_SIZE, get_space
from zcbench.spaces.errors import DataNotFoundError, ZcbenchError
from zcbench.spaces.images import synthetic_imageset

SYNTHETIC = "synthetic"
# Synthetic images per class: enough for every built-in proxy's batch (NTK 72, NASWOT 128, MGM 50,
# 10 images × 10 classes for short training); LR1 crops are drawn with replacement.
SYNTHETIC_PER_CLASS = 52


def register(subparsers) -> None:
    from zcbench.cli import add_data_dir

    p = subparsers.add_parser(
        "score", help="score one architecture with one or more proxies (one JSON line per proxy)",
        description="Prints one JSON object per proxy. Exit status 0 when every proxy produced a value or a "
                    "flagged status (inf, nan, singular …), 1 when any proxy raised (status 'error:…'), "
                    "2 for bad arguments or missing data.")
    p.add_argument("--space", default="nb201")
    p.add_argument("--arch", action="append", required=True,
                   help="official index or arch string (repeatable: the set a combination ranks over)")
    p.add_argument("--proxy", action="append", default=[], metavar="NAME",
                   help="proxy name (repeatable), or 'all' for every registered proxy")
    p.add_argument("--combination", action="append", default=[], metavar="NAME",
                   help="rank combination over the given archs (repeatable), e.g. angleloss, tenas, lr2+params; "
                        "its component proxies are scored too")
    p.add_argument("--setting", default="code", help="settings preset: code (authors' code) or paper")
    p.add_argument("--dataset", default="cifar10", choices=sorted(DATASET_CLASSES))
    p.add_argument("--split", default="train", help="image split read from the data directory (default train)")
    p.add_argument("--seed", type=int, default=0)
    add_data_dir(p)
    p.add_argument("--images", default=None, metavar="synthetic|PATH",
                   help="'synthetic' for random images at the dataset's input size, or an image folder "
                        "(<class>/<image> layout); default: the dataset's files under --data-dir/$ZCBENCH_DATA")
    p.add_argument("--device", default="cpu")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a settings field (JSON value, e.g. batch_size=8, init=\"kaiming_normal_fanin\"); "
                        "applied to every selected proxy that has the field")
    p.set_defaults(func=run)


def selected_proxies(names: list[str]):
    """The ProxySpecs named on the command line ('all' = every registered proxy), in the given order."""
    if "all" in names:
        return list(REGISTRY)
    specs = []
    for name in dict.fromkeys(names):
        specs.append(REGISTRY.get(name))  # unknown name → did-you-mean error
    return specs


def parse_overrides(pairs: list[str]) -> dict:
    """`key=value` strings → dict; values are JSON when they parse as JSON, plain strings otherwise."""
    overrides = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ZcbenchError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides[key.strip()] = value
    return overrides


def _coerce(value, like):
    """Match a parsed override to the preset's type where JSON loses it (int → float, list → tuple)."""
    if isinstance(like, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(like, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def proxy_settings(spec, setting: str, overrides: dict):
    """The preset with those overrides that name one of this proxy's settings fields."""
    base = spec.settings(setting)
    fields = {f.name for f in dataclasses.fields(base)}
    own = {k: _coerce(v, getattr(base, k)) for k, v in overrides.items() if k in fields}
    return spec.settings(setting, **own)


def check_overrides_used(specs, overrides: dict) -> None:
    known = {f.name for spec in specs for f in dataclasses.fields(spec.settings_type)}
    if unused := sorted(set(overrides) - known):
        raise ZcbenchError(f"--set field(s) {unused} belong to none of the selected proxies "
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
                      f"{data.stats} normalisation) from image folder {args.images}")
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


def run(args) -> int:
    space = get_space(args.space)
    archs = [space.arch(ref) for ref in args.arch]
    combinations = [get_combination(name) for name in dict.fromkeys(args.combination)]
    names = args.proxy + [c for comb in combinations for c in comb.columns()]
    if not names:
        raise ZcbenchError("give at least one --proxy or --combination")
    specs = selected_proxies(names)
    overrides = parse_overrides(args.overrides)
    check_overrides_used(specs, overrides)
    settings = {spec.name: proxy_settings(spec, args.setting, overrides) for spec in specs}
    data = None
    if any("images" in spec.needs for spec in specs):
        data, described = load_imageset(args)
        print(f"zcbench score: images: {described}", file=sys.stderr)
    device = torch.device(args.device)
    failed = False
    table = pd.DataFrame(index=[space.arch_id(a) for a in archs])
    for arch in archs:
        for spec in specs:
            result = spec.score(arch, space=space, data=data, settings=settings[spec.name], seed=args.seed,
                                device=device, dataset=args.dataset)
            failed |= result.status.startswith("error:")
            table.loc[space.arch_id(arch), [spec.name, spec.name + STATUS_SUFFIX]] = [result.value, result.status]
            row = {"proxy": spec.name, "version": spec.version, "setting": args.setting,
                   "settings": settings_dict(settings[spec.name]), "settings_hash": settings_hash(settings[spec.name]),
                   "space": space.name, "arch": space.arch_id(arch), "arch_str": str(arch), "dataset": args.dataset,
                   "seed": args.seed, "value": result.value, "status": result.status,
                   "diagnostics": result.diagnostics, "seconds": result.seconds, "device": str(device),
                   "images": data.name if data is not None and "images" in spec.needs else None}
            print(json.dumps(finite_or_none(row), default=str), flush=True)
    for comb in combinations:
        values = combine(table, comb)
        for arch_id, value in values.items():
            print(json.dumps(finite_or_none({
                "combination": comb.name, "arch": arch_id, "value": float(value), "archs_in_set": len(table),
                "higher_is_better": comb.higher_is_better, "rule": comb.rule, "components": comb.columns(),
                "setting": args.setting, "dataset": args.dataset, "seed": args.seed})), flush=True)
    return 1 if failed else 0
