"""Markdown and HTML renderings of a reproduce `Report`, results first: verdict counts per paper, the
forest plot, one table of computed claims, the cost figures, what would enable the rest, then the
figures, the other tables, the full ledger per paper (collapsed) and the synthetic-demo appendix.

The HTML file is self-contained: figures are embedded as base64 PNG data URIs. Every ledger row (in
the computed-claims table and the full ledger) carries its exact values as JSON in `data-our-value` /
`data-paper-value` attributes, so tests (and readers) can check that the page shows the numbers of
ledger.json.
"""
from __future__ import annotations

import base64
import html as html_lib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.reports.ledger.core import COMPUTED, PAPERS, VERDICTS
from zcbench.reports.ledger.cost import is_cost
from zcbench.reports.ledger.enable import what_would_enable
from zcbench.reports.ledger.figures import FOREST_KEY, numeric


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


def format_delta(entry: dict) -> str:
    """ours − paper, when both are numbers (or means)."""
    ours, paper = numeric(entry["our_value"]), numeric(entry["paper_value"])
    if ours is None or paper is None:
        return "—"
    return f"{ours - paper:+.3f}" if abs(paper) < 10 else f"{ours - paper:+.2f}"


def format_tolerance(entry: dict) -> str:
    tolerance = entry["rule"].get("tolerance")
    return "—" if tolerance is None else f"±{tolerance:g}"


def inputs_text(entry: dict) -> str:
    """Dataset, benchmark file and images of an entry."""
    inputs = entry.get("inputs") or {}
    return " · ".join(p for p in (inputs.get("dataset", ""), inputs.get("benchmark_file", ""),
                                  inputs.get("images", "")) if p)


def substitute_notes(entries: list[dict]) -> list[str]:
    """One line per substitute-input reason, with the ids it marks (`*`)."""
    reasons: dict[str, list[str]] = {}
    for e in entries:
        if e.get("substitute_inputs"):
            reasons.setdefault(e["substitute_inputs"], []).append(e["id"])
    return [f"* {reason}: {', '.join(ids)}" for reason, ids in reasons.items()]


def computed(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["verdict"] in COMPUTED]


COMPUTED_COLUMNS = ("id", "claim", "paper", "ours", "Δ", "tolerance", "interval", "n archs", "seeds", "inputs",
                    "verdict", "why")


def claim_text(entry: dict) -> str:
    """Where in the paper and the setting, without repeating the table name the setting starts with."""
    where, setting = entry["where"], entry["setting"]
    return setting if setting.startswith(where) else f"{where}: {setting}"


def computed_cells(entry: dict) -> list[str]:
    inputs = entry.get("inputs") or {}
    seeds = inputs.get("proxy_seeds") or entry.get("seeds") or []
    return [entry["id"], claim_text(entry), format_value(entry["paper_value"]),
            format_value(entry["our_value"]), format_delta(entry), format_tolerance(entry), format_interval(entry),
            format_number(inputs["n_archs"]) if inputs.get("n_archs") else "—",
            ",".join(map(str, seeds)) or "—", inputs_text(entry), verdict_label(entry), entry.get("why", "")]


def cost_frame(entries: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"id": e["id"], "cost figure": claim_text(e),
                          "paper (s)": format_value(e["paper_value"]), "ours (s)": format_value(e["our_value"]),
                          "how we measured": e["explanation"]} for e in entries if is_cost(e)])


def verdicts_per_paper(entries: list[dict]) -> pd.DataFrame:
    """Entries per paper (rows, plus 'all') and verdict (columns, the ones that occur)."""
    frame = pd.crosstab(pd.Series([e["paper"] for e in entries], name="paper"),
                        pd.Series([e["verdict"] for e in entries], name="verdict"))
    frame = frame.reindex(index=[p for p in PAPERS if p in frame.index],
                          columns=[v for v in VERDICTS if v in frame.columns])
    frame.loc["all"] = frame.sum()
    frame["entries"] = frame.sum(axis=1)
    return frame.reset_index()


def needs_frame(entries: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"missing": n.what, "unlocks": ", ".join(n.ids), "how": n.how or "—"}
                         for n in what_would_enable(entries)])


def ledger_frame(entries: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"id": e["id"], "setting": e["setting"], "paper": format_value(e["paper_value"]),
                          "ours": format_value(e["our_value"]), "interval": format_interval(e),
                          "evidence": evidence_text(e), "verdict": verdict_label(e), "why": note_text(e)}
                         for e in entries])


def verdict_counts(entries: list[dict]) -> dict[str, int]:
    counts = pd.Series([e["verdict"] for e in entries]).value_counts()
    return {v: int(counts[v]) for v in VERDICTS if v in counts}


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


def summary_text(report) -> str:
    """One sentence: how many entries, how many computed, the verdicts of those."""
    done = verdict_counts(computed(report.ledger))
    return (f"{len(report.ledger)} ledger entries, {sum(done.values())} computed ("
            + ", ".join(f"{n} {v}" for v, n in done.items()) + "); `*` = substitute inputs (e.g. test-split images)"
            "; tolerance = the claim's declared protocol tolerance; Δ = ours − paper.")


def _split_figures(report) -> tuple[dict | None, list[dict]]:
    forest = next((f for f in report.figures if f["key"] == FOREST_KEY), None)
    return forest, [f for f in report.figures if f["key"] != FOREST_KEY]


def markdown(report) -> str:
    forest, figures = _split_figures(report)
    lines = ["# zcbench reproduce — claims ledger", "", summary_text(report), "",
             "## Verdicts per paper", "", markdown_table(verdicts_per_paper(report.ledger)), ""]
    if forest:
        lines += [f"![{forest['title']}]({forest['file']})", "", forest["caption"], ""]
    rows = pd.DataFrame([computed_cells(e) for e in computed(report.ledger)], columns=COMPUTED_COLUMNS)
    lines += ["## Computed claims", "", markdown_table(rows), ""] + substitute_notes(report.ledger) + [""]
    costs = cost_frame(report.ledger)
    if not costs.empty:
        lines += ["## Cost: the papers' figures next to this suite's", "", markdown_table(costs), ""]
    needs = needs_frame(report.ledger)
    if not needs.empty:
        lines += ["## Not computed: what would enable it", "", markdown_table(needs), ""]
    lines += ["## Inputs and run", ""] + [f"- {line}" for line in _meta_lines(report.meta)] + [""]
    for fig in figures:
        lines += [f"## Figure: {fig['title']}", "", f"![{fig['title']}]({fig['file']})", "", fig["caption"], ""]
    for table in report.tables:
        lines += [f"## {table.title}", ""] + [f"- {h}" for h in table.header()] + ["", markdown_table(table.frame), ""]
    lines += ["## Full ledger per paper", ""]
    for paper, title in PAPERS.items():
        entries = [e for e in report.ledger if e["paper"] == paper]
        if entries:
            lines += [f"<details><summary>{paper}: {title} ({len(entries)} entries)</summary>", "",
                      markdown_table(ledger_frame(entries)), "", "</details>", ""]
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
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _row_attributes(e: dict) -> str:
    return (f"class='{_esc(e['verdict'])}' data-id='{_esc(e['id'])}' data-verdict='{_esc(e['verdict'])}' "
            f"data-our-value='{_esc(json.dumps(json_safe(e['our_value'])))}' "
            f"data-paper-value='{_esc(json.dumps(json_safe(e['paper_value'])))}'")


# The cell classes of the computed-claims table (tests read `paper`, `ours`, `delta`, `verdict`).
COMPUTED_CLASSES = ("id", "claim", "paper", "ours", "delta", "num", "num", "num", "num", "inputs", "verdict", "why")


def _computed_html(entries: list[dict]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in COMPUTED_COLUMNS)
    rows = ["<tr " + _row_attributes(e) + ">" + "".join(f"<td class='{c}'>{_esc(v)}</td>" for c, v in
                                                        zip(COMPUTED_CLASSES, computed_cells(e))) + "</tr>"
            for e in entries]
    return (f"<div class='scroll'><table class='ledger computed'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _ledger_html(entries: list[dict]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("id", "setting", "paper", "ours", "interval", "evidence", "verdict",
                                             "why"))
    rows = []
    for e in entries:
        rows.append(
            f"<tr {_row_attributes(e)}>"
            f"<td>{_esc(e['id'])}</td><td>{_esc(e['where'])}: {_esc(e['setting'])}</td>"
            f"<td class='paper'>{_esc(format_value(e['paper_value']))}</td>"
            f"<td class='ours'>{_esc(format_value(e['our_value']))}</td><td>{_esc(format_interval(e))}</td>"
            f"<td>{_esc(evidence_text(e))}</td><td class='verdict'>{_esc(verdict_label(e))}</td>"
            f"<td class='why'>{_esc(note_text(e))}</td></tr>")
    return (f"<div class='scroll'><table class='ledger full'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


STYLE = """body{font-family:system-ui,sans-serif;max-width:1360px;margin:auto;padding:0.3em 1em;font-size:13px}
h1{font-size:20px;margin:0.2em 0}h2{font-size:16px;margin:1.2em 0 0.3em}p.lead{margin:0.2em 0 0.5em}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:0.3em 0 1em}
td,th{border:1px solid #ccc;padding:2px 5px;vertical-align:top;overflow-wrap:break-word}th{background:#eee}
table.computed td{font-size:12px}td.num,td.delta{white-space:nowrap}td.paper,td.ours{max-width:16em}
td.claim{min-width:12em;max-width:20em}td.inputs{font-size:11px;min-width:12em;max-width:18em}
td.why{font-size:11px;color:#333;min-width:18em}table.full td.why{max-width:40em}
tr.reproduced td.verdict{background:#d9f2d9}tr.deviates td.verdict{background:#f9d6d5}
tr.indicative td.verdict,tr.consistent td.verdict{background:#fff2cc}.spec{color:#444;font-size:12px}
img{max-width:100%}figure{margin:0.3em 0 1em}figcaption{font-size:12px;color:#444;max-width:1100px}
details{margin:0.3em 0}summary{cursor:pointer;font-weight:600}"""


def _figure_html(fig: dict, out_dir: Path) -> str:
    data = base64.b64encode((out_dir / fig["file"]).read_bytes()).decode("ascii")
    return (f"<figure id='fig-{_esc(fig['key'])}'><img alt='{_esc(fig['title'])}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{_esc(fig['caption'])}</figcaption></figure>")


def html(report, out_dir) -> str:
    out_dir = Path(out_dir)
    forest, figures = _split_figures(report)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>zcbench reproduce</title>"
             f"<style>{STYLE}</style></head><body><h1>zcbench reproduce — claims ledger</h1>"
             f"<p class='lead'>{_esc(summary_text(report))} <a href='#inputs'>Inputs and run</a></p>",
             "<div class='scroll'>" + html_table(verdicts_per_paper(report.ledger)) + "</div>"]
    if forest:
        parts.append(_figure_html(forest, out_dir))
    done = computed(report.ledger)
    parts += [f"<h2 id='computed'>Computed claims ({len(done)})</h2>", _computed_html(done), "<ul class='spec'>"]
    parts += [f"<li>{_esc(line)}</li>" for line in substitute_notes(done)] + ["</ul>"]
    costs = cost_frame(report.ledger)
    if not costs.empty:
        parts += ["<h2 id='cost'>Cost: the papers' figures next to this suite's</h2>", html_table(costs)]
    needs = needs_frame(report.ledger)
    if not needs.empty:
        parts += ["<h2 id='enable'>Not computed: what would enable it</h2>", html_table(needs)]
    parts.append("<h2 id='figures'>Figures</h2>")
    for fig in figures:
        parts += [f"<h3>{_esc(fig['title'])}</h3>", _figure_html(fig, out_dir)]
    for table in report.tables:
        parts += [f"<h2 id='{_esc(table.key)}'>{_esc(table.title)}</h2><ul class='spec'>"]
        parts += [f"<li>{_esc(h)}</li>" for h in table.header()] + ["</ul>", html_table(table.frame)]
    parts.append("<h2 id='ledger'>Full ledger per paper</h2>")
    for paper, title in PAPERS.items():
        entries = [e for e in report.ledger if e["paper"] == paper]
        if entries:
            parts += [f"<details><summary>{_esc(paper)}: {_esc(title)} ({len(entries)} entries)</summary>",
                      _ledger_html(entries), "</details>"]
    parts.append("<details id='inputs' open><summary>Inputs and run</summary><ul>")
    parts += [f"<li>{_esc(line)}</li>" for line in _meta_lines(report.meta)] + ["</ul></details>"]
    if report.appendix:
        parts.append("<h2 id='appendix'>Appendix: synthetic demo (a pipeline check, not a result)</h2>")
        for table in report.appendix:
            parts += [f"<h3 id='{_esc(table.key)}'>{_esc(table.title)}</h3><ul class='spec'>"]
            parts += [f"<li>{_esc(h)}</li>" for h in table.header()] + ["</ul>", html_table(table.frame)]
    parts.append("</body></html>")
    return "\n".join(parts)
