"""Shared fixtures: the reference data directory (ZCBENCH_DATA or --data-dir) and tiny inputs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from golden import kernels  # noqa: F401 — pins the golden values' CPU kernels before torch is imported

# The phrase every allowed skip reason contains (see pytest_runtest_makereport).
DATA_MISSING = "reference data not available"


def pytest_addoption(parser):
    parser.addoption("--data-dir", default=None, help="reference data directory (default: $ZCBENCH_DATA)")


@pytest.fixture(scope="session")
def shared_data(request) -> Path:
    """The reference data directory; tests that need it are skipped, with the reason, when absent."""
    root = request.config.getoption("--data-dir") or os.environ.get("ZCBENCH_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip(f"{DATA_MISSING}: set ZCBENCH_DATA or pass --data-dir (e.g. ../shared/data)")
    return Path(root)


@pytest.fixture
def tiny_images():
    from zcbench.spaces.images import synthetic_imageset

    return synthetic_imageset(n=64, size=8, num_classes=10, seed=0)


@pytest.fixture(autouse=True)
def single_thread_torch():
    """One torch thread in every test: small forwards/backwards on a shared 2-core machine run many times
    faster without OpenMP oversubscription (tests/test_pruning.py once took > 10 min on 8 threads).
    Set per test, because a test may change it (`--threads`), and float32 sums, hence short-training
    goldens, depend on it."""
    import torch

    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip is allowed only when reference data is missing (its reason says DATA_MISSING); any other
    skip — a renamed proxy, a missing test dependency — is turned into a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if DATA_MISSING not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped without missing data (only '{DATA_MISSING}' skips are allowed): {reason}"
