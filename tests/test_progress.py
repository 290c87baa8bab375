"""Progress on stderr (benchmarks.progress): a tqdm bar on a terminal, one plain line per step when
piped, and the per-shard lines of `zcbench sweep run … 2>&1 | cat`."""
from __future__ import annotations

import io
import re
from pathlib import Path

from zcbench.benchmarks.progress import Progress, track
from zcbench.cli import main

REPO = Path(__file__).resolve().parent.parent


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_piped_progress_prints_one_line_per_step_with_eta_and_note():
    stream = io.StringIO()
    with Progress(4, "sweep demo", unit="shards", done=1, stream=stream) as progress:
        progress.update("shard-00001")
        progress.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"sweep demo: 2/4 shards \(50%\) elapsed \d\d:\d\d ETA \d\d:\d\d — shard-00001", lines[0])
    assert lines[1].startswith("sweep demo: 3/4 shards (75%)") and "—" not in lines[1]


def test_terminal_progress_is_a_tqdm_bar():
    stream = Terminal()
    with Progress(4, "search seed 1", unit="candidates", stream=stream) as progress:
        progress.update("round 1: skip_connect on edge 1->0")
    shown = stream.getvalue()
    assert "search seed 1" in shown and "1/4" in shown and "skip_connect" in shown and "\r" in shown


def test_inner_and_disabled_progress_stay_silent_when_piped():
    stream = io.StringIO()
    for options in ({"piped_lines": False}, {"enabled": False}):
        with Progress(3, "inner", stream=stream, **options) as progress:
            progress.update()
    with Progress(3, "off", stream=Terminal(), enabled=False) as progress:
        progress.update()
        assert progress.bar is None
    assert stream.getvalue() == ""


def test_track_yields_every_item_and_counts_them():
    stream = io.StringIO()
    items = list(track(["a", "b", "c"], "claims", unit="groups", stream=stream, describe=str.upper))
    assert items == ["a", "b", "c"]
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"claims: {n}/3 groups" for n in (1, 2, 3)]
    assert lines[-1].endswith("— C")
    assert list(track(iter(range(2)), "no length", stream=stream))[-1] == 1
    assert stream.getvalue().splitlines()[-1].startswith("no length: 2 it")


def test_sweep_run_prints_a_line_per_shard_when_stderr_is_not_a_terminal(tmp_path, capsys):
    assert main(["sweep", "run", str(REPO / "configs" / "demo_tiny.toml"), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [f"sweep demo_tiny: {n}/3 shards" for n in (1, 2, 3)]
    assert all("ETA" in line for line in err)
