"""Verdict rules: data on each claim that turn an `Outcome` into (verdict, why).

Every rule states its tolerance and the reason for it; `why` is the sentence the report prints, so
a reader sees the numbers the verdict rests on. The rules (see docs/reproduce.md):

* `Interval` (correlations): the paper's value inside our prediction interval for one new draw
  (`uncertainty.seed_interval`) widened by the declared protocol tolerance → reproduced, else
  deviates; fewer than `min_seeds` proxy seeds → indicative.
* `Band` (random search, a mean of R runs): the paper's mean inside the central 95 % band of our
  simulated R-run means (± tolerance) → reproduced when the test has ≥ `min_power` power against a
  proxy-free random pick, consistent when it has less; outside → deviates.
* `Welch` (few-seed search means, e.g. pruning searches): Welch's t-test of our runs against the
  paper's mean/std/runs; rejected → deviates (also with fewer seeds than the paper: partial data
  that already excludes the paper's value); not rejected → reproduced with all the paper's seeds,
  indicative with fewer.
* `Exact` (benchmark lookups, no randomness): |ours − paper| ≤ tolerance (the paper's rounding).
* `Statement` (qualitative claims): the compute function decides whether the statement holds.
* `PaperCheck`: the paper against its own numbers; always the verdict `paper-check`.
* `Fixed`: a verdict that needs no computation (needs-training, out-of-scope, context, …).
"""
from __future__ import annotations

from dataclasses import dataclass

TAU_TOLERANCE_REASON = "the papers state neither network width, batch, image split nor dataset for this τ"


def _mean(value):
    return value["mean"] if isinstance(value, dict) else value


def _fmt(x: float) -> str:
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.2f}"


@dataclass(frozen=True)
class Interval:
    tolerance: float
    reason: str = TAU_TOLERANCE_REASON
    min_seeds: int = 3

    def judge(self, claim, outcome) -> tuple[str, str]:
        iv, paper = outcome.interval, _mean(claim.paper_value)
        where = (f"paper {_fmt(paper)} vs our {iv.level:.0%} prediction interval [{_fmt(iv.low)}, {_fmt(iv.high)}] "
                 f"({iv.seeds} seed{'s' if iv.seeds != 1 else ''}) ± tolerance {self.tolerance}")
        if iv.seeds < self.min_seeds:
            return "indicative", f"{where}; fewer than {self.min_seeds} proxy seeds: one seed is one draw"
        inside = iv.covers(paper, self.tolerance)
        return ("reproduced" if inside else "deviates"), f"{where}: {'inside' if inside else 'outside'}"


@dataclass(frozen=True)
class Band:
    tolerance: float = 0.0
    reason: str = "the simulated runs follow the paper's protocol exactly (N, sampler, tie rule)"
    min_power: float = 0.8
    min_seeds: int = 3  # for rules that use a proxy (#Param alone has no seed)

    def judge(self, claim, outcome) -> tuple[str, str]:
        band, paper = outcome.band, _mean(claim.paper_value)
        inside = band.low - self.tolerance <= paper <= band.high + self.tolerance
        where = (f"paper {_fmt(paper)} vs the {band.level:.0%} band [{_fmt(band.low)}, {_fmt(band.high)}] of "
                 f"{band.means:,} simulated {band.runs_per_mean}-run means ± {self.tolerance}; power against a "
                 f"proxy-free random pick {outcome.power:.0%}")
        if outcome.seeds and len(outcome.seeds) < self.min_seeds:
            return "indicative", (f"{where}: {'inside' if inside else 'outside'}, but with {len(outcome.seeds)} "
                                  f"proxy seed{'s' if len(outcome.seeds) != 1 else ''} (fewer than {self.min_seeds})")
        if not inside:
            return "deviates", f"{where}: outside"
        if outcome.power < self.min_power:
            return "consistent", f"{where}: inside, but the power is below {self.min_power:.0%}"
        return "reproduced", f"{where}: inside"


@dataclass(frozen=True)
class Welch:
    reason: str = "a few searches per seed; their spread is the only uncertainty we know"

    def judge(self, claim, outcome) -> tuple[str, str]:
        w, runs = outcome.welch, claim.params["runs"]
        have = len(outcome.seeds)
        where = (f"Welch's t-test, our {have} run{'s' if have != 1 else ''} vs the paper's {runs}: t = "
                 f"{w.statistic:.2f}, dof {w.dof:.1f}, p = {w.p_value:.3f}")
        where += (f"; paper means it accepts: [{_fmt(w.low)}, {_fmt(w.high)}] (paper "
                  f"{_fmt(_mean(claim.paper_value))})")
        if w.rejects:
            return "deviates", f"{where}: different means" + (f" already with {have} of {runs} seeds"
                                                               if have < runs else "")
        if have < runs:
            return "indicative", f"{where}: not rejected, with {have} of the paper's {runs} seeds"
        return "reproduced", f"{where}: not rejected"


@dataclass(frozen=True)
class Exact:
    tolerance: float
    reason: str = "the papers round benchmark values to 2 decimals"

    def judge(self, claim, outcome) -> tuple[str, str]:
        ours, paper = _mean(outcome.our_value), _mean(claim.paper_value)
        inside = abs(ours - paper) <= self.tolerance
        return ("reproduced" if inside else "deviates"), (f"|{_fmt(ours)} − {_fmt(paper)}| "
                                                          f"{'≤' if inside else '>'} {self.tolerance}")


@dataclass(frozen=True)
class Statement:
    reason: str = "a qualitative statement; the compute function states the test"
    min_seeds: int = 3

    def judge(self, claim, outcome) -> tuple[str, str]:
        """`outcome.holds` None means the evidence cannot decide (the proxy seeds disagree, or a band of
        replications straddles the statement's threshold): indicative, whatever the number of seeds."""
        if outcome.holds is None:
            return "indicative", f"undecided: {outcome.explanation}"
        verdict = "reproduced" if outcome.holds else "deviates"
        if outcome.seeds and len(outcome.seeds) < self.min_seeds:
            verdict = "indicative"
        return verdict, f"the statement {'holds' if outcome.holds else 'does not hold'}: {outcome.explanation}"


@dataclass(frozen=True)
class PaperCheck:
    reason: str = "checks the paper's numbers against each other; nothing of ours is compared"

    def judge(self, claim, outcome) -> tuple[str, str]:
        return "paper-check", f"internally {'consistent' if outcome.holds else 'INCONSISTENT'}: {outcome.explanation}"


@dataclass(frozen=True)
class Fixed:
    verdict: str
    reason: str = ""

    def judge(self, claim, outcome) -> tuple[str, str]:
        return self.verdict, self.reason


def judge(claim, outcome) -> tuple[str, str]:
    """(verdict, why): inputs with a caveat (`outcome.partial`: synthetic images, rows of a partial merge,
    one search) make any would-be `reproduced`, `consistent` or `deviates` indicative — more or real data
    could move the number either way. Fewer seeds than the paper's is the rule's own business (Welch lets
    a rejection stand: more seeds cannot undo it)."""
    verdict, why = claim.rule.judge(claim, outcome)
    if outcome.partial and verdict in ("reproduced", "consistent", "deviates"):
        return "indicative", f"{why}; but {outcome.partial}"
    return verdict, f"{why}; {outcome.partial}" if outcome.partial else why


def describe(rule) -> dict:
    """The rule as data for ledger.json."""
    return {"rule": type(rule).__name__, **{k: v for k, v in vars(rule).items()}}
