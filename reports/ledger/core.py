"""The ledger's vocabulary: verdicts, papers, the `Claim` record, claim kinds, and what a compute
function returns.

A `Claim` is data: paper, where, setting, published value, how we compute our value (`kind` +
`params`, a registered compute function), and the verdict rule that turns our value and its
uncertainty into a verdict (`rule`, see `rules`). Claims with one value per dataset are split into
entries `R1/cifar10`, `R1/cifar100`, … (`claim` keeps the paper's id). Kinds are registered by the
paper modules with `claim_kind`; a claim naming an unknown kind or undeclared params is refused when
it is built.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zcbench.spaces.errors import ZcbenchError

VERDICTS = {
    "reproduced": "computed with ≥ 3 proxy seeds (or exactly, for lookups); the paper's value lies inside our "
                  "interval widened by the claim's declared tolerance, and a search test has ≥ 80 % power",
    "consistent": "the paper's value lies inside our interval, but the test lacks power (stated): a proxy-free "
                  "random pick would often pass it too",
    "deviates": "computed; the paper's value lies outside our interval (partial data included, when it already "
                "excludes the paper's value)",
    "indicative": "computed on a subset, a sample, one seed or substitute inputs that leave the question open",
    "paper-check": "the paper checked against its own numbers (internal consistency), not against ours",
    "not-implemented": "the method has no released code and is not implemented here",
    "needs-data": "a benchmark or data file is missing (named in `enable`)",
    "needs-results": "proxy or search results are missing (the sweep or search named in `enable`)",
    "needs-training": "needs full training of networks (out of scope for a training-free suite)",
    "out-of-scope": "not on NB201/NB101 (DARTS, ImageNet, NLP)",
    "context": "a number the paper quotes from other work, or a cost figure; listed, not checked",
}
COMPUTED = ("reproduced", "consistent", "deviates", "indicative", "paper-check")
PAPERS = {
    "TE-NAS": "Chen et al., Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically "
              "Inspired Perspective (ICLR 2021)",
    "KNAS": "Xu et al., KNAS: Green Neural Architecture Search (ICML 2021)",
    "Revisit": "Yang et al., Revisiting Training-free NAS Metrics: An Efficient Training-based Method (WACV 2023)",
    "EnTranNAS": "Yang et al., Towards Improving the Consistency, Efficiency, and Flexibility of "
                 "Differentiable NAS (CVPR 2021)",
    "ZiCo": "Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients (ICLR 2023), "
            "Tab. 1: the τ of the zero-cost zoo on NB201, quoted as context beside ours (not one of the four "
            "papers: nothing here is judged)",
}
# Claims name proxies by their registry names: κ = `ntk`, R = `lr1`, Revisit's LR2 = `naswot`,
# NASWOT v1 = `naswot_v1`, KNAS MGM = `mgm`, Revisit's angle / loss = `angle` / `loss`.
# Which benchmark file each paper's code reads, most faithful first (protocols §D.1, §E.11).
VERSION_PREFERENCE = {"TE-NAS": ("v1_0", "v1_1", "nats"), "KNAS": ("v1_0", "v1_1", "nats"),
                      "Revisit": ("v1_1", "nats", "v1_0"), "ZiCo": ("nats", "v1_1", "v1_0")}
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16")
SHORT = {"cifar10": "C10", "cifar100": "C100", "imagenet16": "IN16", "nb101": "NB101"}


def ms(mean: float, std: float) -> dict:
    return {"mean": mean, "std": std}


@dataclass(frozen=True)
class ClaimKind:
    """A registered way of computing our value: the function and the params a claim must give it."""

    name: str
    compute: Callable
    params: tuple[str, ...]
    optional: tuple[str, ...] = ()


KINDS: dict[str, ClaimKind] = {}


def claim_kind(name: str, params: tuple[str, ...] = (), optional: tuple[str, ...] = ()):
    """Decorator: register `compute(claim, inputs) -> Outcome` as claim kind `name`."""
    def register(compute):
        if name in KINDS and KINDS[name].compute is not compute:
            raise ZcbenchError(f"claim kind {name!r} is already registered")
        KINDS[name] = ClaimKind(name, compute, tuple(params), tuple(optional))
        return compute
    return register


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    paper: str
    where: str
    setting: str
    paper_value: object  # float, {"mean", "std"}, {name: value}, or a qualitative statement
    method: str  # how we compute our value, in words
    kind: str  # a registered claim kind; "static" = fixed verdict from `rule`
    rule: object  # a verdict rule from `rules`
    params: dict = field(default_factory=dict)
    enable: str = ""  # what would make a static/needs claim computable
    training: str = "none"  # none / short / full

    def __post_init__(self):
        if self.paper not in PAPERS:
            raise ZcbenchError(f"{self.id}: unknown paper {self.paper!r}")
        if self.kind == "static":
            if getattr(self.rule, "verdict", None) not in VERDICTS:
                raise ZcbenchError(f"{self.id}: a static claim needs a Fixed rule with a verdict from "
                                   f"{sorted(VERDICTS)}")
            return
        if self.kind not in KINDS:
            raise ZcbenchError(f"{self.id}: unknown claim kind {self.kind!r}; registered: {', '.join(sorted(KINDS))}")
        kind = KINDS[self.kind]
        missing = [p for p in kind.params if p not in self.params]
        unknown = [p for p in self.params if p not in kind.params + kind.optional]
        if missing or unknown:
            raise ZcbenchError(f"{self.id}: kind {self.kind!r} needs params {list(kind.params)} (optional "
                               f"{list(kind.optional)}); missing {missing}, unknown {unknown}")


class Missing(Exception):
    """A claim cannot be computed: `verdict` is needs-data or needs-results, `enable` says what would."""

    def __init__(self, verdict: str, enable: str):
        super().__init__(enable)
        self.verdict, self.enable = verdict, enable


@dataclass
class Outcome:
    """What a compute function found, with its evidence; the claim's rule turns it into a verdict.

    `interval` (uncertainty.SeedInterval), `band` + `power` (search claims), `welch` (few-seed means)
    and `holds` (qualitative statements) are what the rules read; `partial` names why the inputs
    leave the question open; `inputs` is the evidence block shown on every ledger row; `tables` and
    `figures` are the report pieces this claim produced.
    """

    our_value: object
    explanation: str = ""
    spec: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    partial: str = ""
    interval: object = None
    band: object = None
    power: float | None = None
    welch: object = None
    holds: bool | None = None
    seeds: tuple = ()
    inputs: dict = field(default_factory=dict)
    substitute: str = ""  # non-empty: inputs the authors did not use (shown as a mark on the verdict)
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)  # (key, title, matplotlib figure, caption)
