"""EnTranNAS (Yang et al., CVPR 2021): its claims; only Tab. 2 can be checked here, and only against
itself (the attainable Kendall τ values of six items)."""
from __future__ import annotations

from itertools import permutations

from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import Claim, Outcome, claim_kind
from zcbench.reports.ledger.rules import Fixed, PaperCheck

ENTRANNAS_TABLE2 = {"DARTS": -0.47, "P-DARTS": 0.20, "PC-DARTS": -0.07, "EnTranNAS": 0.33, "EnTranNAS-DST": 0.60}


def attainable_kendall(n: int) -> set[float]:
    """Every Kendall τ value of two rankings of n items without ties (brute force over permutations)."""
    values = set()
    for perm in permutations(range(n)):
        discordant = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        values.add(1 - 4 * discordant / (n * (n - 1)))
    return values


@claim_kind("kendall_consistency", params=("n",))
def compute_kendall_consistency(claim, inputs) -> Outcome:
    attainable = sorted(attainable_kendall(claim.params["n"]))
    nearest = {k: min(attainable, key=lambda t: abs(t - v)) for k, v in claim.paper_value.items()}
    bad = [k for k, v in claim.paper_value.items() if round(nearest[k], 2) != v]
    pairs = claim.params["n"] * (claim.params["n"] - 1) // 2
    value = {k: f"{round(t * pairs)}/{pairs}" for k, t in nearest.items()}
    return Outcome(value, f"every value is an attainable τ for n = {claim.params['n']} without ties" if not bad else
                   f"not attainable: {', '.join(bad)}",
                   ins.spec("none (paper table)", "paper table", len(claim.paper_value), 0),
                   {"source": "EnTranNAS Tab. 2"}, holds=not bad)


def claims() -> list[Claim]:
    return [
        Claim("E1", "E1", "EnTranNAS", "Tab. 2", "Kendall τ between super-net and retrained accuracy over 6 search "
              "seeds, C10", ENTRANNAS_TABLE2,
              "consistency check: with n = 6 and no ties, τ = (C − D)/15 with C + D = 15, so 15·τ must be an "
              "odd integer; each value must be one of the attainable τ rounded to 2 decimals",
              "kendall_consistency", PaperCheck(), {"n": 6}, training="full"),
        Claim("E2", "E2", "EnTranNAS", "Tab. 1", "super-net / child-net accuracy by Engine-cell placement",
              "all 88.29/63.97; half 87.45/65.51; last 84.02/83.35; first 86.68/86.24", "DARTS searches",
              "static", Fixed("out-of-scope")),
        Claim("E3", "E3", "EnTranNAS", "Tab. 3", "memory / batch / cost", "9.0/4.5/2.6/1.5 GB; 0.73–0.06 GPU-day",
              "DARTS searches", "static", Fixed("out-of-scope")),
        Claim("E4", "E4", "EnTranNAS", "Tab. 4–7", "C10 / ImageNet / VOC results", "2.53±0.06 % C10 error, …",
              "DARTS search + retraining", "static", Fixed("out-of-scope"), training="full"),
    ]
