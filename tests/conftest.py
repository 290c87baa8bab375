"""Shared fixtures: the reference data directory (ZCBENCH_DATA or --data-dir) and tiny inputs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--data-dir", default=None, help="reference data directory (default: $ZCBENCH_DATA)")


@pytest.fixture(scope="session")
def shared_data(request) -> Path:
    """The reference data directory; tests that need it are skipped, with the reason, when absent."""
    root = request.config.getoption("--data-dir") or os.environ.get("ZCBENCH_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("reference data not available: set ZCBENCH_DATA or pass --data-dir (e.g. ../shared/data)")
    return Path(root)


@pytest.fixture
def tiny_images():
    from zcbench.spaces.images import synthetic_imageset

    return synthetic_imageset(n=64, size=8, num_classes=10, seed=0)


@pytest.fixture(scope="module")
def single_thread_torch():
    """One torch thread for a module's tests: small forwards/backwards on a shared 2-core machine run
    many times faster without OpenMP oversubscription. Opt in with
    `pytestmark = pytest.mark.usefixtures("single_thread_torch")`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
