"""Markdown and HTML renderings of a reproduce `Report` (ledger, tables with their specs, figures).

The HTML file is self-contained: figures are embedded as base64 PNG data URIs. Every ledger row
carries its exact values as JSON in `data-our-value` / `data-paper-value` attributes, so tests
(and readers) can check that the page shows the numbers of ledger.json.
"""
from __future__ import annotations

import base64
import html as html_lib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.reports.ledger.core import PAPERS, VERDICTS


def json_safe(value):
    """Plain JSON types: numpy scalars → Python, NaN/±inf → None, tuples → lists, keys → str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def format_number(x: float) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{x:.2f}" if abs(x) >= 10 else f"{x:.3f}"


def format_value(value) -> str:
    """A compact human form of a paper or ledger value (numbers rounded for reading only)."""
    value = json_safe(value)
    if value is None:
        return "—"
    if isinstance(value, dict) and set(value) == {"mean", "std"}:
        std = value["std"]
        return f"{format_number(value['mean'])} ({'—' if std is None else f'{std:.2f}'})"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, (int, float, bool)):
        return format_number(value)
    return str(value)


def _cell(value) -> str:
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def format_interval(entry: dict) -> str:
    """Our interval (a seed/arch prediction interval or a search band) in reading form."""
    interval = entry.get("interval") or {}
    bounds = interval.get("interval") or interval.get("band")
    return f"{format_number(bounds[0])} – {format_number(bounds[1])}" if bounds else "—"


def verdict_label(entry: dict) -> str:
    """The verdict, with a visible mark when the inputs are not the authors' (substitute inputs)."""
    return entry["verdict"] + ("*" if entry.get("substitute_inputs") else "")


def evidence_text(entry: dict) -> str:
    inputs = entry.get("inputs") or {}
    if not inputs:
        return ""
    seeds = inputs.get("proxy_seeds") or []
    parts = [f"n={inputs['n_archs']:,}" if inputs.get("n_archs") else "",
             f"seeds {','.join(map(str, seeds))}" if seeds else "",
             inputs.get("images", ""), inputs.get("benchmark_file", "")]
    return "; ".join(p for p in parts if p)


def note_text(entry: dict) -> str:
    if entry["our_value"] is None:
        return entry["enable"]
    mark = f" *substitute inputs: {entry['substitute_inputs']}" if entry.get("substitute_inputs") else ""
    return (entry.get("why") or entry["explanation"]) + mark


def ledger_frame(entries: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"id": e["id"], "setting": e["setting"], "paper": format_value(e["paper_value"]),
                          "ours": format_value(e["our_value"]), "interval": format_interval(e),
                          "evidence": evidence_text(e), "verdict": verdict_label(e), "why": note_text(e)}
                         for e in entries])


def verdict_counts(entries: list[dict]) -> dict[str, int]:
    counts = pd.Series([e["verdict"] for e in entries]).value_counts()
    return {v: int(counts[v]) for v in VERDICTS if v in counts}


def _missing_inputs(entries: list[dict]) -> dict[str, list[str]]:
    """What would enable more claims → the ids waiting for it."""
    out: dict[str, list[str]] = {}
    for e in entries:
        if e["verdict"] in ("needs-data", "needs-results"):
            out.setdefault(f"[{e['verdict']}] {e['enable']}", []).append(e["id"])
    return out


def _meta_lines(meta: dict) -> list[str]:
    opts, inputs, run = meta["options"], meta["inputs"], meta["run"]
    truth = ", ".join(inputs["ground_truth"]) if inputs["ground_truth"] else "none — " + inputs["ground_truth_missing"]
    return [f"Options: {json.dumps(opts)}",
            f"Ground truth: {truth}",
            f"Revisit groups file: {inputs['revisit_groups']}",
            f"Results: {inputs['result_rows']} rows from sweeps {', '.join(inputs['result_sweeps']) or '(none)'}"
            + (f"; not merged yet, so not read: {', '.join(inputs['unmerged_sweeps'])} (`zcbench sweep merge`)"
               if inputs["unmerged_sweeps"] else ""),
            (f"Run: zcbench {run['package_version']} at {run['git_commit'][:12]} (dirty: {run['git_dirty']}), "
             f"torch {run['torch_version']}, {run['host']}; {meta['seconds']} s")]


def markdown(report) -> str:
    lines = ["# zcbench reproduce — claims ledger", ""]
    lines += [f"- {line}" for line in _meta_lines(report.meta)] + [""]
    lines += ["## Verdicts", ""] + [f"- **{v}** ({VERDICTS[v]}): {n}" for v, n in
                                   verdict_counts(report.ledger).items()] + [""]
    for paper, title in PAPERS.items():
        entries = [e for e in report.ledger if e["paper"] == paper]
        if entries:
            lines += [f"## {paper}: {title}", "", markdown_table(ledger_frame(entries)), ""]
    missing = _missing_inputs(report.ledger)
    if missing:
        lines += ["## Skipped, and what would enable it", ""]
        lines += [f"- {what}: {', '.join(ids)}" for what, ids in missing.items()] + [""]
    for table in report.tables:
        lines += [f"## {table.title}", ""] + [f"- {h}" for h in table.header()] + ["", markdown_table(table.frame), ""]
    for fig in report.figures:
        lines += [f"## Figure: {fig['title']}", "", f"![{fig['title']}]({fig['file']})", "", fig["caption"], ""]
    if report.appendix:
        lines += ["## Appendix: synthetic demo (a pipeline check, not a result)", ""]
        for table in report.appendix:
            lines += [f"### {table.title}", ""] + [f"- {h}" for h in table.header()]
            lines += ["", markdown_table(table.frame), ""]
    return "\n".join(lines)


def _esc(text) -> str:
    return html_lib.escape(str(text), quote=True)


def html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_esc(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ledger_html(entries: list[dict]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("id", "setting", "paper", "ours", "interval", "evidence", "verdict",
                                             "why"))
    rows = []
    for e in entries:
        rows.append(
            f"<tr class='{_esc(e['verdict'])}' data-id='{_esc(e['id'])}' data-verdict='{_esc(e['verdict'])}' "
            f"data-our-value='{_esc(json.dumps(json_safe(e['our_value'])))}' "
            f"data-paper-value='{_esc(json.dumps(json_safe(e['paper_value'])))}'>"
            f"<td>{_esc(e['id'])}</td><td>{_esc(e['where'])}: {_esc(e['setting'])}</td>"
            f"<td class='paper'>{_esc(format_value(e['paper_value']))}</td>"
            f"<td class='ours'>{_esc(format_value(e['our_value']))}</td><td>{_esc(format_interval(e))}</td>"
            f"<td>{_esc(evidence_text(e))}</td><td class='verdict'>{_esc(verdict_label(e))}</td>"
            f"<td>{_esc(note_text(e))}</td></tr>")
    return f"<table class='ledger'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;font-size:14px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#eee}tr.reproduced td.verdict{background:#d9f2d9}tr.deviates td.verdict{background:#f9d6d5}
tr.indicative td.verdict,tr.consistent td.verdict{background:#fff2cc}.spec{color:#444;font-size:12px}img{max-width:100%}"""


def html(report, out_dir) -> str:
    out_dir = Path(out_dir)
    parts = [(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>zcbench reproduce</title>"
              f"<style>{STYLE}</style></head><body><h1>zcbench reproduce — claims ledger</h1><ul>")]
    parts += [f"<li>{_esc(line)}</li>" for line in _meta_lines(report.meta)] + ["</ul><h2>Verdicts</h2><ul>"]
    parts += [f"<li><b>{_esc(v)}</b> ({_esc(VERDICTS[v])}): {n}</li>" for v, n in verdict_counts(report.ledger).items()]
    parts.append("</ul>")
    for paper, title in PAPERS.items():
        entries = [e for e in report.ledger if e["paper"] == paper]
        if entries:
            parts += [f"<h2>{_esc(paper)}: {_esc(title)}</h2>", _ledger_html(entries)]
    missing = _missing_inputs(report.ledger)
    if missing:
        parts.append("<h2>Skipped, and what would enable it</h2><ul>")
        parts += [f"<li>{_esc(what)}: {_esc(', '.join(ids))}</li>" for what, ids in missing.items()]
        parts.append("</ul>")
    for table in report.tables:
        parts += [f"<h2 id='{_esc(table.key)}'>{_esc(table.title)}</h2><ul class='spec'>"]
        parts += [f"<li>{_esc(h)}</li>" for h in table.header()] + ["</ul>", html_table(table.frame)]
    for fig in report.figures:
        data = base64.b64encode((out_dir / fig["file"]).read_bytes()).decode("ascii")
        parts.append(f"<h2>Figure: {_esc(fig['title'])}</h2><figure><img alt='{_esc(fig['title'])}' "
                     f"src='data:image/png;base64,{data}'><figcaption>{_esc(fig['caption'])}</figcaption></figure>")
    if report.appendix:
        parts.append("<h2 id='appendix'>Appendix: synthetic demo (a pipeline check, not a result)</h2>")
        for table in report.appendix:
            parts += [f"<h3 id='{_esc(table.key)}'>{_esc(table.title)}</h3><ul class='spec'>"]
            parts += [f"<li>{_esc(h)}</li>" for h in table.header()] + ["</ul>", html_table(table.frame)]
    parts.append("</body></html>")
    return "\n".join(parts)
