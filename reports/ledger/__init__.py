"""The claims ledger: the four papers' numbers, ours with their uncertainty, and the verdict rules.

`core` holds the vocabulary, `rules` the verdict rules, `inputs` what compute functions read,
`kinds` the claim kinds the papers share, one module per paper (`tenas`, `knas`, `revisit`,
`entrannas`) its claims and own analyses, `sections` the non-claim report parts, and `run` the
driver behind `zcbench reproduce`.
"""
from zcbench.reports.ledger.claims import all_claims, select
from zcbench.reports.ledger.core import PAPERS, VERDICTS, Claim
from zcbench.reports.ledger.run import Report, run

__all__ = ["PAPERS", "VERDICTS", "Claim", "Report", "all_claims", "run", "select"]
