"""Every "protocols §X" the repository cites resolves to a heading of docs/protocols.md.

A citation is any `§` followed by a protocol identifier — `1.4`, `A3`, `E.10` — including the
shorthand lists and ranges the docstrings use (`§E.1/3/4/6` = E.1, E.3, E.4, E.6; `§E.2–3` = E.2,
E.3; `§D.2/F.1`). Paper sections (`Revisit §3`, `TE-NAS §3.1.2`) start with another digit and are
not protocol citations.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "protocols.md"
SOURCE_SUFFIXES = {".py", ".md", ".toml", ".sh", ".txt"}
SKIPPED_FOLDERS = {".venv", ".git", "__pycache__", "results", "zcbench.egg-info", ".import_linter_cache"}
CITATION = re.compile(r"§((?:[A-H]\.?|1\.)\d+)((?:[/–-](?:[A-H]\.?)?\d+)*)")
HEADING = re.compile(r"^#+ §(\S+)", re.MULTILINE)


def expand(first: str, rest: str) -> list[str]:
    """`E.1` + `/3/4` → E.1, E.3, E.4; `E.2` + `–3` → E.2, E.3; `D.2` + `/F.1` → D.2, F.1."""
    ids = [first]
    prefix = re.match(r"\D*\.?", first).group()
    for separator, item in re.findall(r"([/–-])((?:[A-H]\.?)?\d+)", rest):
        if not item[0].isdigit():
            ids.append(item)
            prefix = re.match(r"\D*\.?", item).group()
        elif separator == "/":
            ids.append(prefix + item)
        else:
            start = int(re.search(r"\d+$", ids[-1]).group())
            ids += [f"{prefix}{n}" for n in range(start + 1, int(item) + 1)]
    return ids


def citations() -> dict[str, set[str]]:
    """Identifier → files citing it, over the repository's text sources."""
    found: dict[str, set[str]] = {}
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for path in (Path(folder) / name for name in files):
            if path.suffix not in SOURCE_SUFFIXES or path == DOC:
                continue
            for match in CITATION.finditer(path.read_text(errors="replace")):
                for ident in expand(*match.groups()):
                    found.setdefault(ident, set()).add(str(path.relative_to(REPO)))
    return found


def test_expand_reads_the_shorthands():
    assert expand("E.1", "/3/4/6") == ["E.1", "E.3", "E.4", "E.6"]
    assert expand("F.8", "–9") == ["F.8", "F.9"]
    assert expand("D.2", "/F.1") == ["D.2", "F.1"]
    assert expand("A4", "") == ["A4"]


def test_every_protocol_citation_has_a_heading():
    headings = set(HEADING.findall(DOC.read_text()))
    cited = citations()
    assert len(cited) >= 30, sorted(cited)  # the scan finds the citations (a broken pattern finds none)
    missing = {ident: sorted(files) for ident, files in cited.items() if ident not in headings}
    assert not missing, f"cited in the code but no '§' heading in docs/protocols.md: {missing}"
