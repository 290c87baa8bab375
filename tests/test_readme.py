"""The README's results table is generated from the committed ledger (docs/report/ledger.json): they
must agree, and every computed entry of the ledger must be in the table."""
from pathlib import Path

import pytest

from zcbench.reports.readme import END, START, load_ledger, readme_block, table_markdown, update_readme
from zcbench.spaces.errors import ZcbenchError

ROOT = Path(__file__).resolve().parent.parent


def test_readme_table_equals_the_committed_ledger():
    ledger = load_ledger(ROOT / "docs" / "report" / "ledger.json")
    assert readme_block(ROOT / "README.md") == table_markdown(ledger), (
        "README.md and docs/report/ledger.json disagree: rerun `zcbench reproduce --data-dir ../shared/data "
        "--out docs/report --readme README.md`")


def test_update_rewrites_only_the_block(tmp_path):
    ledger = {"claims": [{"id": "X1", "paper": "KNAS", "where": "Tab. 1", "verdict": "deviates",
                          "paper_value": 0.5, "our_value": 0.25, "interval": {"interval": [0.2, 0.3]},
                          "inputs": {"proxy_seeds": [0, 1, 2], "n_archs": 15625}, "substitute_inputs": "test split"},
                         {"id": "X2", "paper": "KNAS", "where": "§1", "verdict": "needs-data", "paper_value": 1,
                          "our_value": None}]}
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold\n{END}\noutro\n")
    update_readme(readme, ledger)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n")
    assert "| X1 (KNAS Tab. 1) | 0.500 | 0.250 | 0.200 – 0.300 | 0,1,2 | 15,625 | deviates* |" in text
    assert "X2" not in text and "old" not in text
    readme.write_text("no block")
    with pytest.raises(ZcbenchError):
        update_readme(readme, ledger)


def test_claims_doc_is_current():
    from zcbench.reports.ledger.claims import claims_markdown

    assert (ROOT / "docs" / "claims.md").read_text() == claims_markdown(), (
        "docs/claims.md is stale: regenerate it with write_claims_doc (command in its header)")
