"""Data files that cannot run code and cannot be silently corrupted.

* Safe loading — the CIFAR / ImageNet16 batch files and the NB201 `.pth` are pickles, and a pickle
  can run any code while it loads. `load_pickle` reads them with an unpickler that only resolves an
  allow-list of the numpy types those files contain; `torch_load` reads `.pth` files with
  `torch.load(weights_only=True)` (torch's own restricted unpickler) plus the numpy scalar types.
  Anything else is an `UnsafePickleError`, raised before the object is built. Files the user vouches
  for are read unrestricted with `--trust-pickle` (environment variable `ZCBENCH_TRUST_PICKLE=1`,
  inherited by sweep workers).
* Checksums — `write_checksum` stamps a table with a `sha256sum`-format sibling `<file>.sha256`
  (verifiable with `sha256sum -c`); `verify_checksum` checks it on read.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
from pathlib import Path

import numpy as np

from zcbench.spaces.errors import CorruptDataError, UnsafePickleError

TRUST_ENV = "ZCBENCH_TRUST_PICKLE"
# (module, name) pairs a CIFAR / ImageNet16 batch pickle refers to: numpy arrays (both numpy 1 and 2
# module paths, as Python 2 and 3 writers name them), dtypes, numpy scalars, and the bytes codec
# that protocol-2 pickles written by Python 3 use for byte strings.
SAFE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
})
CHECKSUM_SUFFIX = ".sha256"


def pickles_trusted() -> bool:
    """True when the user opted out of restricted unpickling (`--trust-pickle`)."""
    return os.environ.get(TRUST_ENV, "") == "1"


@contextlib.contextmanager
def trust_pickles(enabled: bool = True):
    """Within the block (and in worker processes started in it) pickles are loaded unrestricted."""
    old = os.environ.get(TRUST_ENV)
    if enabled:
        os.environ[TRUST_ENV] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(TRUST_ENV, None)
        else:
            os.environ[TRUST_ENV] = old


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only SAFE_GLOBALS; any other class or function named by the pickle is refused."""

    def find_class(self, module, name):
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(f"{module}.{name}")


def _unsafe(path, what: str, name: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"{path}: refused to load the {what}: it names {name}, which such a file never holds (a crafted or "
        "foreign file?); nothing in it was run. If you trust the file, pass --trust-pickle "
        f"(or set {TRUST_ENV}=1)")


def load_pickle(path, what: str = "pickle file", **options):
    """Unpickle `path` with the allow-list (unrestricted with --trust-pickle); `options` go to the
    Unpickler (e.g. encoding='latin1' for Python 2 files). Raises UnsafePickleError or lets the
    unpickler's own errors (truncated file …) through for the caller to name."""
    with open(path, "rb") as f:
        if pickles_trusted():
            return pickle.load(f, **options)
        try:
            return _RestrictedUnpickler(f, **options).load()
        except UnsafePickleError as exc:
            raise _unsafe(path, what, str(exc)) from None


# torch's wording: "Unsupported global: GLOBAL m.f …" or "… unsupported GLOBAL m.f whose module m is blocked"
_UNSUPPORTED_GLOBAL = re.compile(r"unsupported (?:global: )?GLOBAL ([\w.]+)", re.IGNORECASE)


def torch_load(path, what: str = "checkpoint"):
    """`torch.load` on CPU with torch's weights-only unpickler (plus numpy scalars); unrestricted with
    --trust-pickle. Raises UnsafePickleError for a refused global, else torch's own error."""
    import torch

    if pickles_trusted():
        return torch.load(path, map_location="cpu", weights_only=False)
    numpy_scalars = [np.dtype, np._core.multiarray.scalar, *{type(np.dtype(c)) for c in "?bhilqBHILQefdg"}]
    try:
        with torch.serialization.safe_globals(numpy_scalars):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" not in str(exc):
            raise
        found = _UNSUPPORTED_GLOBAL.search(str(exc))
        raise _unsafe(path, what, found.group(1) if found else "a type outside torch's weights-only allow-list") \
            from None


# ------------------------------------------------------------------------------------------ checksums

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def checksum_path(path) -> Path:
    path = Path(path)
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def write_checksum(path) -> str:
    """Write `<path>.sha256` (`sha256sum` format) for a table just written; returns the digest."""
    digest = sha256_file(path)
    checksum_path(path).write_text(f"{digest}  {Path(path).name}\n")
    return digest


def verify_checksum(path) -> bool:
    """Check `path` against its `<path>.sha256`: True when it matches, False when there is none
    (a table from elsewhere: the reader's row checks apply); CorruptDataError on a mismatch."""
    stamp = checksum_path(path)
    if not stamp.is_file():
        return False
    recorded = stamp.read_text().split()[:1]
    if not recorded or not re.fullmatch(r"[0-9a-f]{64}", recorded[0]):
        raise CorruptDataError(f"{stamp}: not a sha256 checksum line")
    actual = sha256_file(path)
    if actual != recorded[0]:
        raise CorruptDataError(f"{path}: content changed since it was written (sha256 {actual[:16]}…, "
                               f"{stamp.name} records {recorded[0][:16]}…): damaged or edited; "
                               "re-create it (e.g. `zcbench data convert`)")
    return True
