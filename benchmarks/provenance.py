"""Where a result came from: package version, git commit, torch version, host and device.

Every value is a plain string so that it can sit in a Parquet column; a value that cannot be
determined is the explicit string 'unknown', never an empty field.
"""
from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch

UNKNOWN = "unknown"
PACKAGE = "zcbench"
# The checkout this file lives in (benchmarks/provenance.py → repository root).
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def package_version(package: str = PACKAGE) -> str:
    """The installed distribution's version (importlib.metadata), or 'unknown' if not installed."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(path: str | os.PathLike = SOURCE_ROOT) -> str:
    """`git rev-parse HEAD` of the checkout at `path`; 'unknown' when not a checkout or git is absent."""
    return _git(["rev-parse", "HEAD"], Path(path)) or UNKNOWN


def git_dirty(path: str | os.PathLike = SOURCE_ROOT) -> str:
    """'yes' when tracked files differ from HEAD, 'no' when clean, 'unknown' without a checkout."""
    out = _git(["status", "--porcelain", "--untracked-files=no"], Path(path))
    return UNKNOWN if out is None else ("yes" if out else "no")


def device_name(device: str | torch.device) -> str:
    """A human-readable device description: the GPU model for CUDA devices; for the CPU, its architecture,
    cores and the kernel set torch dispatches to (AVX2 and AVX-512 kernels group float32 sums differently,
    so rows from the two differ at rounding level: docs/reliability.md)."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return (f"{device} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{torch.backends.cpu.get_cpu_capability()} kernels)")


def cpu_model() -> str:
    """The CPU's model name as `lscpu` reports it ('unknown' where lscpu is absent)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return UNKNOWN
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                UNKNOWN)


@functools.cache
def run_provenance() -> dict:
    """The facts shared by every row a process writes (computed once per process)."""
    return {
        "package_version": package_version(),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "executable": Path(sys.executable).name,  # the name only: result files carry no machine paths
    }


def script_environment() -> dict:
    """Sidecar fields for result files written by scripts: run provenance, library versions, CPU."""
    import numpy
    import pandas
    import scipy

    return {
        "provenance": run_provenance(),
        "versions": {"torch": torch.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
                     "pandas": pandas.__version__},
        "device": {"type": "cpu", "model": cpu_model(), "torch_threads": torch.get_num_threads(),
                   "cpu_count": os.cpu_count()},
    }
