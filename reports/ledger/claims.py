"""Every ledger claim, gathered from the paper modules in claims.md order (TE-NAS, KNAS, Revisit,
EnTranNAS, then ZiCo's zoo τ as context); each module defines its claims next to its own compute functions."""
from __future__ import annotations

from zcbench.reports.ledger import entrannas, knas, revisit, tenas, zoo
from zcbench.reports.ledger.core import PAPERS, Claim
from zcbench.spaces.errors import ZcbenchError


def all_claims() -> list[Claim]:
    claims = tenas.claims() + knas.claims() + revisit.claims() + entrannas.claims() + zoo.claims()
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


def claims_markdown() -> str:
    """docs/claims.md: every claim the ledger checks, in the project's words (generated; tested current)."""
    from zcbench.reports.ledger.rules import describe
    from zcbench.reports.render import format_value

    lines = ["# The claims ledger", "",
             "Every quantitative claim of the four papers that zcbench tracks (and, last, the zoo τ ZiCo reports, as "
             "context), with the paper's value, how we "
             "compute ours and the verdict rule (docs/reproduce.md explains the rules and intervals). Generated "
             "from `reports/ledger/` by `python -c \"from zcbench.reports.ledger.claims import write_claims_doc; "
             "write_claims_doc('docs/claims.md')\"`; do not edit by hand.", ""]
    for paper, title in PAPERS.items():
        lines += [f"## {paper}", "", title, "", "| id | where | setting | paper | how we compute ours | rule |",
                  "|---|---|---|---|---|---|"]
        for c in all_claims():
            if c.paper != paper:
                continue
            rule = describe(c.rule)
            rule_text = rule["rule"] + "".join(f", {k}={v}" for k, v in rule.items() if k not in ("rule", "reason"))
            cells = (c.id, c.where, c.setting, format_value(c.paper_value), c.method, rule_text)
            lines.append("| " + " | ".join(str(x).replace("|", "\\|").replace("\n", " ") for x in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_claims_doc(path) -> None:
    from pathlib import Path

    Path(path).write_text(claims_markdown())
