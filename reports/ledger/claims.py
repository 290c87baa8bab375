"""Every ledger claim, gathered from the paper modules in claims.md order (TE-NAS, KNAS, Revisit,
EnTranNAS); each module defines its claims next to its own compute functions."""
from __future__ import annotations

from zcbench.reports.ledger import entrannas, knas, revisit, tenas
from zcbench.reports.ledger.core import PAPERS, Claim
from zcbench.spaces.errors import ZcbenchError


def all_claims() -> list[Claim]:
    claims = tenas.claims() + knas.claims() + revisit.claims() + entrannas.claims()
    ids = [c.id for c in claims]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ZcbenchError(f"duplicate claim ids: {sorted(duplicated)}")
    return claims


def select(claims: list[Claim], paper: str | None = None) -> list[Claim]:
    if paper is None:
        return claims
    names = {p.lower(): p for p in PAPERS}
    if paper.lower() not in names:
        raise ZcbenchError(f"unknown paper {paper!r}; choose from {', '.join(PAPERS)}")
    return [c for c in claims if c.paper == names[paper.lower()]]
