"""Cost claims: the papers' seconds (per 100 nets, per search) next to this suite's measured ones.

A cost depends on the hardware, so it is never judged (`Fixed("context")`); the entry carries our
measured value on the named device: the mean wall `seconds` per arch of the sweep rows (× 100), or
the mean `seconds` of the stored pruning searches. Without a measurement our value stays empty and
the explanation says which sweep or search would give one.
"""
from __future__ import annotations

import numpy as np

from zcbench.benchmarks.pruning import criterion_settings
from zcbench.proxies.registry import settings_hash
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import Claim, Missing, Outcome, claim_kind
from zcbench.reports.ledger.rules import Fixed

COST_RULE = Fixed("context", "a cost figure on other hardware: listed next to ours, not judged")
REVISIT_GPU = "s per 100 nets, GTX 1080Ti"


def is_cost(entry: dict) -> bool:
    """A ledger entry of a cost claim (its rule is the cost rule)."""
    return entry["rule"].get("rule") == "Fixed" and entry["rule"].get("reason") == COST_RULE.reason


def proxy_seconds(inputs, name: str, dataset: str) -> dict:
    """{device: {"seconds_per_100": …, "rows": n}} over the rows of the chosen settings of `name` (all seeds)."""
    found = ins.seed_scores(inputs, name, dataset)
    chosen = next(iter(found.values())).provenance["settings_hash"]
    rows = inputs.results
    rows = rows[(rows["proxy"] == name) & (rows["dataset"] == dataset) & (rows["settings_hash"] == chosen)]
    if "seconds" not in rows.columns:
        raise Missing("needs-results", f"the {name} rows carry no `seconds` column")
    devices = rows["device"].fillna("unknown device") if "device" in rows.columns else "unknown device"
    per = rows.assign(device=devices).groupby("device")["seconds"].agg(["mean", "size"])
    return {str(d): {"seconds_per_100": float(r["mean"]) * 100, "rows": int(r["size"])} for d, r in per.iterrows()}


def _measured(device: str, per_proxy: dict) -> tuple[float, int]:
    """(sum over the proxies of their seconds per 100 nets on `device`, the fewest rows behind one of them)."""
    return (sum(p[device]["seconds_per_100"] for p in per_proxy.values()),
            min(p[device]["rows"] for p in per_proxy.values()))


@claim_kind("proxy_cost", params=("proxies",), optional=("datasets",))
def compute_proxy_cost(claim, inputs) -> Outcome:
    """Seconds per 100 nets of one proxy, or of several computed for each net (a combination), per dataset."""
    proxies, datasets = claim.params["proxies"], claim.params.get("datasets", ("cifar10",))
    values, details, missing = {}, {}, []
    for dataset in datasets:
        try:
            per_proxy = {name: proxy_seconds(inputs, name, dataset) for name in proxies}
        except Missing:
            missing.append(f"no sweep of {' + '.join(proxies)} on {dataset}")
            continue
        shared = set.intersection(*(set(p) for p in per_proxy.values()))
        if not shared:
            missing.append(f"no device ran all of {', '.join(proxies)} on {dataset}")
            continue
        device = max(shared, key=lambda d: _measured(d, per_proxy)[1])
        values[dataset], n = _measured(device, per_proxy)
        details[dataset] = {"device": device, "rows": n, "per_proxy": per_proxy}
    return _cost_outcome(claim, values, details, missing, f"{' + '.join(proxies)}: mean wall seconds per arch × 100 "
                                                          "(the sweep rows' `seconds`)")


@claim_kind("search_cost", params=("criterion",))
def compute_search_cost(claim, inputs) -> Outcome:
    """Mean wall seconds of one stored TE-NAS pruning search (`code` preset, the claim's criterion), per dataset."""
    wanted = settings_hash(criterion_settings(claim.params["criterion"]))
    runs = inputs.pruning_runs
    runs = runs[runs["settings_hash"] == wanted] if not runs.empty else runs
    values, details = {}, {}
    for dataset, group in (runs.groupby("dataset", sort=True) if not runs.empty else []):
        values[dataset] = float(np.mean(group["seconds"]))
        details[dataset] = {"device": f"host {', '.join(sorted(set(group['host'])))}, torch "
                                      f"{', '.join(sorted(set(group['torch_version'])))}",
                            "rows": len(group), "per_seed": dict(zip(group["seed"].astype(int), group["seconds"]))}
    missing = [] if values else [f"no stored pruning search (`zcbench search prune`, criterion "
                                 f"{claim.params['criterion']})"]
    return _cost_outcome(claim, values, details, missing, "mean wall seconds of one pruning search")


def _cost_outcome(claim, values: dict, details: dict, missing: list, how: str) -> Outcome:
    devices = "; ".join(f"{ds}: {d['device']}, n = {d['rows']:,}" for ds, d in details.items())
    our = (next(iter(values.values())) if len(values) == 1 and not isinstance(claim.paper_value, dict)
           else values or None)
    explanation = f"{how}; measured on {devices}" if values else "not measured here: " + "; ".join(missing)
    return Outcome(our, explanation, details=details,
                   inputs={"dataset": ", ".join(details), "target": "wall seconds", "benchmark_file": "",
                           "images": "", "proxy_seeds": [], "arch_set": how, "n_archs": sum(d["rows"] for d in
                                                                                           details.values()),
                           "settings_hash": {}, "device": devices})


def proxy_cost_claim(cid: str, paper: str, where: str, setting: str, value, proxies, **params) -> Claim:
    return Claim(cid, cid.split("/")[0], paper, where, setting, value,
                 "mean wall seconds per arch of our sweep rows × 100, on the device named", "proxy_cost", COST_RULE,
                 {"proxies": tuple(proxies), **params})


def search_cost_claim(cid: str, paper: str, where: str, setting: str, value, criterion: str = "rank_sum") -> Claim:
    return Claim(cid, cid.split("/")[0], paper, where, setting, value,
                 f"mean wall seconds of our stored pruning searches (code preset, criterion {criterion}), on the "
                 "host named", "search_cost", COST_RULE, {"criterion": criterion})
