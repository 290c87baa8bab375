"""Arguments shared by several commands, checked at the edge: a bad value is one named error (exit 2)
instead of a failure deep inside torch or numpy (or in every shard of a sweep)."""
from __future__ import annotations

import argparse
import os

from zcbench.spaces.errors import ZcbenchError

# torch.manual_seed takes seeds below 2**64; numpy's generators reject negative ones.
SEED_LIMIT = 2**64
COUNT_LIMIT = 4096  # workers or torch threads: far beyond any machine, well within a C int


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="directory holding benchmark/image files (default: $ZCBENCH_DATA)")


class _TrustPickle(argparse.Action):
    """Sets ZCBENCH_TRUST_PICKLE=1 when parsed, so this process and its sweep workers load pickles unrestricted."""

    def __call__(self, parser, namespace, values, option_string=None):
        from zcbench.spaces.integrity import TRUST_ENV

        os.environ[TRUST_ENV] = "1"
        setattr(namespace, self.dest, True)


def add_trust_pickle(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-pickle", action=_TrustPickle, nargs=0, default=False,
                        help="load pickled data files (CIFAR/ImageNet16 batches, NB201 .pth) without the allow-list "
                             "of safe types: only for files you trust, since a pickle can run code "
                             "(docs/reliability.md)")


def check_seed(seed: int, where: str = "seed") -> int:
    if not 0 <= seed < SEED_LIMIT:
        raise ZcbenchError(f"{where} {seed} is out of range: seeds are integers in [0, 2**64)")
    return seed


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def seed_value(text: str) -> int:
    """argparse `type` of a seed option: an integer in [0, 2**64)."""
    try:
        return check_seed(_integer(text))
    except ZcbenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    """argparse `type` of a count of workers or threads: 1 to COUNT_LIMIT."""
    if not 1 <= (value := _integer(text)) <= COUNT_LIMIT:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and {COUNT_LIMIT}")
    return value


def non_negative_int(text: str) -> int:
    """argparse `type` of a count where 0 means "none"."""
    if (value := _integer(text)) < 0:
        raise argparse.ArgumentTypeError(f"{value} is not ≥ 0")
    return value


def check_device(name: str) -> str:
    """`name` if this machine's torch can run on it (cpu, cuda, cuda:N, mps), else a named error."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ZcbenchError(f"unknown device {name!r}: expected cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
            raise ZcbenchError(f"device {name!r} requested but {why}; use cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ZcbenchError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) "
                               "are visible")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ZcbenchError(f"device {name!r} requested but MPS is not available on this machine; use cpu")
    elif device.type != "cpu":
        raise ZcbenchError(f"device {name!r} is not supported: expected cpu, cuda, cuda:N or mps")
    return name
