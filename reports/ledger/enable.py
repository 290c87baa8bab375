"""What would enable the claims not computed: one short line per missing sweep, search or data file,
with the claim ids it unlocks and the command to run, derived from the entries' `enable` texts.

A missing proxy sweep is mapped to the shipped sweep config (configs/*.toml) that covers its proxy and
dataset; sweeps no config covers are grouped per dataset. Pruning searches keep their own command.
Missing images come first: every claim whose sweep or search waits for a dataset's images is listed
under that one data need. Any other text is shortened to its first clause, with the first `command`
it names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import tomllib

from zcbench.benchmarks.provenance import SOURCE_ROOT

SWEEP = re.compile(r"a sweep of proxy '(?P<proxy>\w+)' on (?P<dataset>\w+)")
IMAGES = re.compile(r"^(?P<dataset>\w+) images for the proxies: .*? not found \(looked in [^)]*\); (?P<how>.+?); "
                    r"then ")
SEARCH = re.compile(r"none found for (?P<dataset>\w+), criterion (?P<criterion>\w+): run `(?P<command>[^`]+)`")
COMMAND = re.compile(r"`(zcbench [^`]+)`")
TEMPLATE_CONFIG = "configs/nb201_full_cifar10.toml"


@dataclass
class Need:
    """One missing input: what it is, how to get it, and the claim ids waiting for it."""

    kind: str  # sweep / search / data / results
    what: str
    how: str
    ids: list[str] = field(default_factory=list)


def shipped_configs() -> dict[tuple[str, str], str]:
    """(proxy, dataset) → the shipped NB201 sweep config over all archs that computes it."""
    covered = {}
    for path in sorted((SOURCE_ROOT / "configs").glob("*.toml")):
        config = tomllib.loads(path.read_text())
        if config.get("space") != "nb201" or config.get("archs", {}).get("select") != "all":
            continue
        for proxy in config.get("proxies", []):
            for dataset in config.get("datasets", []):
                covered.setdefault((proxy["name"], dataset), f"configs/{path.name}")
    return covered


def _sweep_command(config: str) -> str:
    return f"zcbench sweep run {config} --data-dir <data-dir> && zcbench sweep merge {config} --data-dir <data-dir>"


def first_clause(text: str) -> str:
    """The text up to the first '; ' outside parentheses."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith("; ", i):
            return text[:i]
    return text


def _key_and_need(entry: dict, configs: dict) -> tuple[tuple, Need]:
    text = entry["enable"]
    if images := IMAGES.search(text):
        return ("images", images["dataset"]), Need("data", f"{images['dataset']} images", images["how"])
    if sweep := SWEEP.search(text):
        proxy, dataset = sweep["proxy"], sweep["dataset"]
        config = configs.get((proxy, dataset))
        if config:
            return ("sweep", config), Need("sweep", f"sweep {config}", _sweep_command(config))
        return ("sweep", dataset), Need("sweep", f"sweep on {dataset} (no shipped config)",
                                        f"copy {TEMPLATE_CONFIG}, set datasets = [\"{dataset}\"] and these proxies, "
                                        f"then `zcbench sweep run` and `zcbench sweep merge` it")
    if search := SEARCH.search(text):
        return (("search", search["dataset"], search["criterion"]),
                Need("search", f"pruning searches, {search['dataset']}, criterion {search['criterion']}",
                     search["command"]))
    first = first_clause(text)
    command = COMMAND.search(text)
    kind = "data" if entry["verdict"] == "needs-data" else "results"
    return (kind, first), Need(kind, first, command.group(1) if command else "")


def _last_seed(command: str) -> int:
    seeds = re.findall(r"--seed (\d+)", command)
    return int(seeds[-1]) if seeds else 0


def what_would_enable(entries: list[dict]) -> list[Need]:
    """The needs of every needs-data / needs-results entry, deduplicated, sweeps first; a sweep line
    names the proxies it lacks."""
    configs, needs, proxies = shipped_configs(), {}, {}
    for entry in entries:
        if entry["verdict"] not in ("needs-data", "needs-results") or not entry["enable"]:
            continue
        key, need = _key_and_need(entry, configs)
        if key in needs and need.kind == "search" and _last_seed(need.how) > _last_seed(needs[key].how):
            needs[key].how = need.how  # the search command that runs every seed any claim wants
        needs.setdefault(key, need).ids.append(entry["id"])
        if sweep := SWEEP.search(entry["enable"]):
            proxies.setdefault(key, {})[sweep["proxy"] if key[1] == sweep["dataset"] else
                                        f"{sweep['proxy']} on {sweep['dataset']}"] = None
    for key, names in proxies.items():
        needs[key].what += f": {', '.join(names)}"
    order = ("sweep", "search", "results", "data")
    return sorted(needs.values(), key=lambda n: order.index(n.kind))
