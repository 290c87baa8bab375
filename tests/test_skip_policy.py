"""The suite's skip policy (tests/conftest.py): only a skip for missing reference data passes."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import DATA_MISSING

HERE = Path(__file__).resolve().parent


def test_a_skip_without_missing_data_fails_and_data_skips_are_listed(tmp_path):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "golden").mkdir()
    shutil.copy(HERE / "golden" / "kernels.py", tmp_path / "golden" / "kernels.py")  # conftest imports it
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n"
        f"def test_data_missing():\n    pytest.skip({DATA_MISSING + ': set ZCBENCH_DATA'!r})\n\n"
        "def test_renamed_proxy():\n    pytest.skip('unknown proxy paramz')\n\n"
        "@pytest.mark.xfail(reason='known gap')\ndef test_known_gap():\n    assert False\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "1 failed, 1 skipped, 1 xfailed" in result.stdout, result.stdout
    assert "skipped without missing data" in result.stdout and "unknown proxy paramz" in result.stdout
    assert f"SKIPPED [1] test_skips.py:4: {DATA_MISSING}" in result.stdout
