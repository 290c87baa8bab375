"""The import-linter layers contract of pyproject.toml (spaces → proxies → benchmarks → reports → CLI).

`lint-imports` reads packages from the file system under `zcbench/`, but the lower layers live in
top-level folders mapped into the namespace by setuptools' package-dir. The test therefore copies
the Python files into the layout the wheel installs and lints that copy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def source_folder(package: str, package_dir: dict[str, str]) -> Path:
    """Where setuptools takes `package` from: the longest mapped prefix, then the remaining parts."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in package_dir:
            return REPO / package_dir[prefix] / Path(*parts[cut:])
    return REPO / Path(*parts)


def installed_layout(target: Path) -> Path:
    """Copy every installed package's .py files to `target/<package as path>`; returns `target`."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package in setuptools["packages"]:
        destination = target / Path(*package.split("."))
        destination.mkdir(parents=True, exist_ok=True)
        for module in source_folder(package, setuptools.get("package-dir", {})).glob("*.py"):
            shutil.copy2(module, destination / module.name)
    return target


def lint(layout: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(layout)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(REPO / "pyproject.toml")], cwd=layout, env=env,
                          capture_output=True, text=True, timeout=300)


def test_layers_contract_is_kept(tmp_path):
    result = lint(installed_layout(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    layout = installed_layout(tmp_path)
    with open(layout / "zcbench" / "spaces" / "errors.py", "a") as module:
        module.write("\nfrom zcbench.reports import stats  # noqa: E402,F401  (planted back-arrow)\n")
    result = lint(layout)
    assert result.returncode != 0
    assert "zcbench.spaces.errors -> zcbench.reports.stats" in result.stdout
