"""Errors at the edges of the CLI: every user error is one named message and exit 2, Ctrl-C is one line
and exit 130, a closed output pipe is quiet, a bug is one line with a ZCBENCH_DEBUG hint (exit 3),
`zcbench --help` imports no torch, and a hypothesis fuzz of argv and sweep-config values never lets a
traceback reach the user."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zcbench import cli
from zcbench.spaces.errors import CorruptDataError

REPO = Path(__file__).resolve().parent.parent
USER_EXITS = (0, 1, 2)  # success, a proxy raised, a user error: never 3 (a bug) for any argv
ERROR_LINE = re.compile(r"^zcbench[a-z ]*: error: ", re.MULTILINE)  # "zcbench: error: …", "zcbench score: error: …"


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_named_error(code, err, *needles):
    assert code == 2 and "Traceback" not in err
    assert len(ERROR_LINE.findall(err)) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


# ----------------------------------------------------------------------------------------- startup cost

def test_help_and_ls_spaces_import_no_torch():
    """`zcbench --help` and `zcbench ls spaces` must stay fast: only the command run imports its module."""
    code = ("import sys; from zcbench.cli import main; "
            "assert main(['--help']) == 0 and main(['ls', 'spaces']) == 0; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "torch" not in imported and "nb101" in done.stdout


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help(command, capsys):
    assert cli.main([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: zcbench {command}")


# ------------------------------------------------------------------------------------------ user errors

@pytest.mark.parametrize("argv,needles", [
    (["score", "--arch", "0", "--proxy", "params", "--seed", "-1"], ["--seed", "out of range"]),
    (["score", "--arch", "0", "--proxy", "params", "--seed", str(2**64)], ["--seed", "2**64"]),
    (["score", "--arch", "0", "--proxy", "params", "--seed", "one"], ["'one' is not an integer"]),
    (["score", "--arch", "0", "--proxy", "params", "--device", "bogus"], ["unknown device 'bogus'"]),
    (["score", "--arch", "0", "--proxy", "params", "--set", "unit=bogus"], ["ParamSettings.unit", "bogus"]),
    (["score", "--arch", "0", "--proxy", "params", "--set", "num_classes=abc"], ["num_classes", "'abc'"]),
    (["score", "--arch", "0", "--proxy", "params", "--set", "num_classes=-3"], ["num_classes", "≥ 1"]),
    (["search", "prune", "--seed", str(2**70), "--show-settings"], ["out of range"]),
    (["search", "prune", "--set", "ntk_batch=1", "--show-settings"], ["PruningSettings.ntk_batch", "≥ 2"]),
    (["sweep", "plan", "configs/demo_tiny.toml", "--workers", "0"], ["--workers", "not between 1 and 4096"]),
    (["scor"], ["invalid choice: 'scor'"]),
    (["space", "export", "nb201", "--out", "/nonexistent/dir/nb201.csv"],
     ["non-existent directory", "/nonexistent/dir"]),
])
def test_user_errors_are_one_named_message_and_exit_2(capsys, argv, needles):
    code, out, err = run(capsys, *argv)
    assert_one_named_error(code, err, *needles)
    assert out == ""


def test_cuda_on_a_cpu_only_torch_is_a_named_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = run(capsys, "score", "--arch", "0", "--proxy", "params", "--device", "cuda")
    assert_one_named_error(code, err, "device 'cuda' requested")


def sweep_config(tmp_path, **values) -> str:
    lines = [f"{key} = {value}" for key, value in {"name": '"edge"', "seeds": "[0]", **values}.items()]
    path = tmp_path / "edge.toml"
    path.write_text("\n".join(lines) + '\n[archs]\nselect = "sample"\nn = 2\n[[proxies]]\nname = "params"\n')
    return str(path)


@pytest.mark.parametrize("values,needles", [
    ({"device": '"bogus"'}, ["unknown device 'bogus'"]),
    ({"device": '"cuda:7"'}, ["device 'cuda:7' requested"]),
    ({"seeds": f"[0, {2**70}]"}, ["seeds", str(2**70), "out of range"]),
    ({"seeds": "[-1]"}, ["seeds", "-1", "out of range"]),
])
def test_sweep_validate_checks_device_and_seed_ranges(tmp_path, capsys, values, needles):
    code, _, err = run(capsys, "sweep", "validate", sweep_config(tmp_path, **values))
    assert_one_named_error(code, err, *needles)


def test_a_damaged_shard_on_merge_is_a_named_error(tmp_path, capsys, monkeypatch):
    def damaged(*args, **kwargs):
        raise CorruptDataError("shards/shard-00001.parquet: content differs from the sha256 recorded")

    monkeypatch.setattr("zcbench.commands.sweep.merge_sweep", damaged)
    code, _, err = run(capsys, "sweep", "merge", sweep_config(tmp_path))
    assert_one_named_error(code, err, "shard-00001.parquet", "sha256")


# --------------------------------------------------------------------------- interrupts, pipes and bugs

def raising(monkeypatch, exc: BaseException) -> None:
    def run_raising(args):
        raise exc

    monkeypatch.setattr("zcbench.commands.ls.run", run_raising)
    monkeypatch.setattr("zcbench.commands.ls.register",
                        lambda parser: (parser.add_argument("what"), parser.set_defaults(func=run_raising)))


def test_ctrl_c_is_one_line_and_exit_130(capsys, monkeypatch):
    raising(monkeypatch, KeyboardInterrupt())
    assert run(capsys, "ls", "spaces") == (130, "", "zcbench: interrupted\n")


def test_a_closed_output_pipe_exits_quietly(capsys, monkeypatch):
    raising(monkeypatch, BrokenPipeError(32, "Broken pipe"))
    assert run(capsys, "ls", "spaces") == (141, "", "")


def test_console_script_into_a_closed_pipe_prints_nothing():
    """`zcbench ls spaces | head -0`: the reader is gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    exe = os.path.join(os.path.dirname(sys.executable), "zcbench")
    done = subprocess.run([exe, "ls", "spaces"], stdout=write_end, stderr=subprocess.PIPE, text=True, check=False)
    os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


def test_a_bug_is_one_line_with_the_debug_hint_and_debug_shows_the_traceback(capsys, monkeypatch):
    raising(monkeypatch, TypeError("unsupported operand"))
    code, _, err = run(capsys, "ls", "spaces")
    assert code == 3 and err == ("zcbench: internal error: TypeError: unsupported operand "
                                 "(rerun with ZCBENCH_DEBUG=1 for the traceback)\n")
    monkeypatch.setenv("ZCBENCH_DEBUG", "1")
    with pytest.raises(TypeError, match="unsupported operand"):
        cli.main(["ls", "spaces"])


def test_score_prints_a_table_by_default_and_json_lines_with_json(capsys):
    code, out, _ = run(capsys, "score", "--arch", "0", "--arch", "1234", "--proxy", "params", "--proxy", "flops")
    header, *rows = out.splitlines()
    assert code == 0 and header.split() == ["arch", "proxy", "value", "seconds", "status"]
    assert [row.split()[:2] for row in rows] == [["0", "params"], ["0", "flops"], ["1234", "params"],
                                                 ["1234", "flops"]]
    assert all(row.split()[-1] == "ok" for row in rows)
    code, out, _ = run(capsys, "score", "--arch", "0", "--proxy", "params", "--json")
    assert code == 0 and out.startswith('{"proxy": "params"')


# ----------------------------------------------------------------------------------------------- fuzz

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
NUMBER = st.one_of(st.integers(-3, 3), st.integers(-2**70, 2**70), st.sampled_from([2**64 - 1, 2**64]))
VALUE = st.one_of(NUMBER.map(str), TEXT, st.sampled_from(["", "none", "true", "1,2", "1e400", "nan", "x=y", "-0"]))
CHEAP_PROXIES = st.sampled_from(["params", "flops", "parms", "ntk_", ""])
SETTINGS_FIELDS = st.sampled_from(["unit", "num_classes", "input_size", "batch_size", "ntk_batch", "criterion",
                                   "repeats", "lr_batches", "bogus", ""])
PAIRS = st.lists(st.one_of(st.tuples(SETTINGS_FIELDS, VALUE).map("=".join), TEXT), max_size=3)
ARCHS = st.one_of(st.sampled_from(["0", "15624", "15625", "-1", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|"
                                   "none~2|", "|bogus~0|"]), NUMBER.map(str), TEXT)
DEVICES = st.one_of(st.sampled_from(["cpu", "cuda", "cuda:3", "mps", "meta", "bogus", "cpu:0"]), TEXT)
OPTION_VALUES = st.one_of(NUMBER.map(str), TEXT)


def _flags(name: str, values) -> st.SearchStrategy:
    return st.lists(values, max_size=2).map(lambda vs: [part for v in vs for part in (name, v)])


def _argv(*parts: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(*parts).map(lambda groups: [arg for group in groups for arg in group])


SCORE = _argv(st.sampled_from([["score"], ["score", "--arch", "1234", "--proxy", "params"]]),
              _flags("--arch", ARCHS), _flags("--proxy", CHEAP_PROXIES),
              _flags("--set", PAIRS.map(",".join)), _flags("--seed", OPTION_VALUES), _flags("--device", DEVICES),
              _flags("--dataset", st.sampled_from(["cifar10", "imagenet16", "svhn"])),
              _flags("--setting", st.sampled_from(["code", "paper", "papr"])),
              _flags("--combination", st.sampled_from(["nope", "angle loss"])),
              st.sampled_from([[], ["--json"], ["--space", "nb101"], ["--space", "nb301"]]))
PRUNE = _argv(st.just(["search", "prune", "--show-settings"]), _flags("--set", PAIRS.map(",".join)),
              _flags("--seed", OPTION_VALUES), _flags("--criterion", st.sampled_from(["ntk", "best", ""])),
              _flags("--setting", st.sampled_from(["code", "paper", "x"])), _flags("--threads", OPTION_VALUES))
OTHER = st.one_of(
    st.lists(st.sampled_from(["ls", "spaces", "proxies", "--json", "-x", "space", "export", "data", "convert",
                              "nb201", "nats", "reproduce", "--seed", "sweep", "search", "prune", "results",
                              "index", "--check"]),
             max_size=4),
    _argv(st.just(["data", "convert"]), st.sampled_from([["nb201"], ["nats"], ["nb101"], ["bogus"]]),
          st.sampled_from([["/nonexistent/file.pth"], [str(REPO / "README.md")], []]), _flags("--out", TEXT)),
    _argv(st.just(["reproduce"]), _flags("--seed", OPTION_VALUES), st.sampled_from([[], ["--quick"]])),
)
VALID_SWEEP = {"name": "fuzz", "space": "nb201", "datasets": ["cifar10"], "seeds": [0], "device": "cpu",
               "archs_per_shard": 4, "archs": {"select": "sample", "n": 4},
               "data": {"source": "synthetic", "n": 16, "size": 8}, "proxies": [{"name": "params"}]}
SWEEP_FUZZ = {
    "name": st.one_of(TEXT, st.just("a/b")),
    "space": st.sampled_from(["nb101", "nb999", ""]),
    "datasets": st.lists(st.sampled_from(["cifar10", "cifar100", "imagenet16", "svhn"]), max_size=3),
    "seeds": st.lists(NUMBER, max_size=3),
    "device": DEVICES,
    "archs_per_shard": NUMBER,
    "archs": st.fixed_dictionaries({"select": st.sampled_from(["sample", "indices", "bogus"])},
                                   optional={"n": NUMBER, "refs": st.lists(ARCHS, max_size=2)}),
    "data": st.fixed_dictionaries({"source": st.sampled_from(["synthetic", "folder", "bogus"])},
                                  optional={"n": NUMBER, "size": NUMBER, "path": TEXT}),
    "proxies": st.lists(st.fixed_dictionaries({"name": CHEAP_PROXIES}, optional={
        "setting": st.sampled_from(["code", "paper", "nope"]),
        "overrides": st.dictionaries(SETTINGS_FIELDS, st.one_of(NUMBER, TEXT, st.booleans()), max_size=2)}),
        max_size=2),
}


@st.composite
def sweep_values(draw) -> dict:
    """A valid config with one or two keys replaced by fuzzed values or dropped, so that most examples
    get past the first check."""
    values = dict(VALID_SWEEP)
    for key in draw(st.sets(st.sampled_from(sorted(VALID_SWEEP)), max_size=2)):
        fuzzed = draw(st.one_of(st.none(), SWEEP_FUZZ[key]))
        if fuzzed is None:
            del values[key]
        else:
            values[key] = fuzzed
    return values


def toml_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"


def assert_no_traceback(argv, code, err):
    assert "Traceback" not in err, (argv, err)
    assert code in USER_EXITS, (argv, code, err)
    if code == 2:
        assert len(ERROR_LINE.findall(err)) == 1, (argv, err)


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=st.one_of(SCORE, PRUNE, OTHER))
def test_fuzzed_argv_never_shows_a_traceback(argv, capsys, in_empty_folder):
    code = cli.main(argv)
    assert_no_traceback(argv, code, capsys.readouterr().err)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=sweep_values(), action=st.sampled_from(["validate", "plan", "status"]))
def test_fuzzed_sweep_configs_never_show_a_traceback(values, action, capsys):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_text("\n".join(f"{key} = {toml_value(value)}" for key, value in values.items()) + "\n")
        argv = ["sweep", action, str(path), "--out", str(Path(folder) / "out")]
        code = cli.main(argv)
        assert_no_traceback([*argv, values], code, capsys.readouterr().err)


@pytest.fixture
def in_empty_folder(monkeypatch, tmp_path):
    """No data directory, and a scratch working directory for whatever a fuzzed command writes."""
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("action", ["validate", "plan", "status"])
@pytest.mark.parametrize("archs", ['{select = "indices", refs = []}', '{select = "indices", file = "none.txt"}'])
def test_a_sweep_that_selects_no_architectures_is_a_named_error(capsys, tmp_path, action, archs):
    """Found by the fuzz above: an empty list of cells once divided by zero in `sweep status`."""
    (tmp_path / "none.txt").write_text("")
    path = tmp_path / "empty.toml"
    path.write_text(f'name = "empty"\nspace = "nb201"\ndatasets = ["cifar10"]\nseeds = [0]\narchs = {archs}\n'
                    'data = {source = "synthetic", n = 16, size = 8}\nproxies = [{name = "params"}]\n')
    code, _, err = run(capsys, "sweep", action, str(path), "--out", str(tmp_path / "out"))
    assert_one_named_error(code, err, "selects no architectures")
