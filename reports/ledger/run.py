"""`zcbench reproduce`: evaluate every claim the available data and results allow, write the report.

Inputs, each optional: a data directory (NB201 ground truth, the Revisit groups file) and a results
directory (default: the checkout's committed results/, wherever the command runs). What cannot be
computed gets a verdict that names the missing file or sweep. Outputs in `out_dir`: ledger.json,
report.md, report.html (self-contained) and figures/*.png; the one-line summary is returned.
"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zcbench.benchmarks.progress import track
from zcbench.reports import plots, render
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger import knas, nb101, revisit, sections, zoo
from zcbench.reports.ledger.claims import all_claims, select
from zcbench.reports.ledger.core import KINDS, VERDICTS, Missing
from zcbench.reports.ledger.figures import report_figures
from zcbench.reports.ledger.rules import Fixed, describe, judge
from zcbench.reports.tables import ReportTable


@dataclass
class Report:
    ledger: list[dict]
    tables: list[ReportTable]
    figures: list[dict]  # key, title, file (relative to the output dir), caption
    meta: dict
    appendix: list[ReportTable]


def evaluate(claim, inputs) -> tuple[dict, list, list]:
    """(one ledger entry, the tables and figures its computation produced)."""
    entry = {"id": claim.id, "claim": claim.claim, "paper": claim.paper, "where": claim.where,
             "setting": claim.setting, "paper_value": claim.paper_value, "our_value": None,
             "verdict": None, "why": "", "rule": describe(claim.rule), "explanation": "", "method": claim.method,
             "training": claim.training, "interval": None, "seeds": [], "inputs": {}, "substitute_inputs": "",
             "spec": {}, "provenance": {}, "details": {}, "enable": claim.enable}
    if claim.kind == "static":
        entry.update(verdict=claim.rule.verdict, explanation=VERDICTS[claim.rule.verdict])
        return entry, [], []
    try:
        outcome = KINDS[claim.kind].compute(claim, inputs)
    except Missing as missing:  # a Fixed verdict (context) stands; our value is then missing, `enable` says why
        verdict = claim.rule.verdict if isinstance(claim.rule, Fixed) else missing.verdict
        entry.update(verdict=verdict, enable=missing.enable, explanation=VERDICTS[verdict])
        return entry, [], []
    verdict, why = judge(claim, outcome)
    shown = next((x for x in (outcome.interval, outcome.band, outcome.welch) if x is not None), None)
    interval = shown.as_dict() if shown is not None else None
    entry.update(our_value=outcome.our_value, verdict=verdict, why=why, explanation=outcome.explanation,
                 interval=interval, seeds=list(outcome.seeds), inputs=outcome.inputs,
                 substitute_inputs=outcome.substitute, spec=outcome.spec, provenance=outcome.provenance,
                 details=outcome.details)
    if outcome.power is not None:
        entry["power"] = outcome.power
    return entry, outcome.tables, outcome.figures


@contextlib.contextmanager
def single_torch_thread():
    """Run torch single-threaded, then restore: the demo's networks are tiny, and on a shared CPU
    intra-op threads oversubscribe the cores (measured here: 30 s vs 0.3 s per short-train arch)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resolve_results_dir(results_dir) -> tuple[Path | None, str]:
    """(the results directory, how it was found): explicit, else the checkout's committed results/."""
    if results_dir is not None:
        return Path(results_dir), f"results from {Path(results_dir).name}/"  # no machine-specific path
    found = ins.committed_results_dir()
    if found is not None:
        return found, "the project's committed results/"
    return None, f"no results found (looked for {ins.SOURCE_ROOT.name}/results beside the installed package)"


def run(out_dir, data_dir=None, results_dir=None, paper=None, quick=False, seed=0) -> tuple[Report, str]:
    """Compute the ledger and write ledger.json, report.md, report.html and figures/ to `out_dir`."""
    with single_torch_thread():
        return _run(out_dir, data_dir, results_dir, paper, quick, seed)


def _run(out_dir, data_dir, results_dir, paper, quick, seed) -> tuple[Report, str]:
    from zcbench.benchmarks.provenance import run_provenance

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path, results_how = resolve_results_dir(results_dir)
    selected = select(all_claims(), paper)
    inputs = ins.load_inputs(data_dir, results_path, quick, seed)
    entries, tables, figures = [], [], []
    by_paper: dict[str, list] = {}
    for claim in selected:
        by_paper.setdefault(claim.paper, []).append(claim)
    for name in track(list(by_paper), "reproduce: claims", unit="paper",
                      describe=lambda p: f"{p}: {len(by_paper[p])} claims"):
        for claim in by_paper[name]:
            entry, claim_tables, claim_figures = evaluate(claim, inputs)
            entries.append(entry)
            tables += claim_tables
            figures += claim_figures
    space_tables, space_figures = sections.space_section()
    fig1_tables, fig1_figures = revisit.fig1_section(inputs)
    nb101_tables, nb101_figures = nb101.nb101_section(inputs, entries)
    zoo_tables, zoo_figures = zoo.concordance_section(inputs)
    zoo_tables += zoo.accuracy_section(inputs)
    tables = (space_tables + sections.groups_section(inputs) + revisit.table5_section(entries)
              + sections.correlation_section(inputs) + sections.pruning_section(inputs)
              + nb101.nb101_sample_section(inputs) + nb101_tables + fig1_tables + zoo_tables
              + knas.mgm_stream_section(inputs) + knas.mgm_precision_section(inputs) + tables)
    figures = (report_figures(entries, inputs) + space_figures + nb101_figures + fig1_figures + zoo_figures
               + figures)
    appendix, demo = sections.synthetic_demo(inputs)
    figure_refs = []
    for key, title, fig, caption in figures:
        path = plots.save_png(fig, out_dir / "figures" / f"{key}.png")
        figure_refs.append({"key": key, "title": title, "file": str(path.relative_to(out_dir)), "caption": caption})
    meta = {"options": {"data_dir": Path(data_dir).name if data_dir else None, "results": results_how,
                        "paper": paper, "quick": quick, "seed": seed},
            "inputs": {"ground_truth": ins.truth_sources(inputs) or None,
                       "ground_truth_missing": inputs.truth_missing,
                       "revisit_groups": inputs.groups_missing or "found",
                       "result_rows": len(inputs.results),
                       "result_sweeps": sorted(set(inputs.results["sweep"])) if len(inputs.results) else [],
                       "unmerged_sweeps": inputs.unmerged, "pruning_runs": len(inputs.pruning_runs),
                       "nb101_sample": inputs.nb101_sample.folder.name if inputs.nb101_sample else None},
            "demo": demo, "run": run_provenance(), "seconds": round(time.perf_counter() - started, 1),
            "verdicts": VERDICTS}
    report = Report(entries, tables, figure_refs, meta, appendix)
    write(report, out_dir)
    print(f"zcbench reproduce: {meta['seconds']} s", file=sys.stderr)
    return report, summary_line(report, out_dir, results_how)


def write(report: Report, out_dir: Path) -> None:
    ledger_doc = {"meta": report.meta, "claims": report.ledger}
    (out_dir / "ledger.json").write_text(json.dumps(render.json_safe(ledger_doc), indent=2, ensure_ascii=False))
    (out_dir / "report.md").write_text(render.markdown(report))
    (out_dir / "report.html").write_text(render.html(report, out_dir))


def summary_line(report: Report, out_dir: Path, results_how: str) -> str:
    counts = pd.Series([e["verdict"] for e in report.ledger]).value_counts()
    parts = ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if v in counts)
    return (f"zcbench reproduce: {len(report.ledger)} ledger entries — {parts}; {results_how}; "
            f"report {out_dir / 'report.html'}")
