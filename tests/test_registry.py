"""The generic Registry and the proxy registry: lazy entries, load failures, lookup errors, duplicate
names, freezing, metadata of every entry against the papers, settings hashes, plugins.

The built-in proxies are checked against EXPECTED, written from the papers (direction, cost, inputs,
presets), not read back from the registry; a new proxy fails until it is added there.
"""
from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import json
import re
import subprocess
import sys

import pytest

from zcbench import cli
from zcbench.proxies.registry import (
    COST_CLASSES,
    ENTRY_POINT_GROUP,
    NEEDS,
    REGISTRY,
    ProxyResult,
    ProxySpec,
    proxy_registry,
    settings_hash,
)
from zcbench.spaces.errors import ZcbenchError
from zcbench.spaces.registry import Registry, RegistryError

NAMES = REGISTRY.names()
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.+-]*$")
SHORT_TRAIN_NEEDS = {"images", "labels", "gradients"}
# name → (higher is better, cost class, needs, presets), from the papers: κ, the training loss and θ_feat
# are lower-is-better (TE-NAS §3.1.1; Revisit Tab. 3); MGM and short training use labels (cross-entropy).
GRADIENT_NEEDS = {"images", "labels", "gradients"}
ZOO_PRESETS = {"code", "naslib", "nb101"}
EXPECTED = {
    "params": (True, "parameter-free", set(), {"code", "paper"}),
    "flops": (True, "parameter-free", set(), {"code", "paper"}),
    "lr1": (True, "forward", {"images"}, {"code", "paper", "nb101"}),
    "naswot": (True, "backward", {"images", "gradients"}, {"code", "paper", "naslib", "nb101"}),
    "naswot_v1": (True, "backward", {"images", "gradients"}, {"code", "paper", "nb101"}),
    "ntk": (False, "per-sample-backward", {"images", "gradients"}, {"code", "paper", "supernet", "nb101"}),
    "mgm": (True, "per-sample-backward", SHORT_TRAIN_NEEDS, {"code", "code64", "paper", "nb101"}),
    "angle": (True, "short-train", SHORT_TRAIN_NEEDS, {"code", "paper", "nb101"}),
    "angle_feat": (False, "short-train", SHORT_TRAIN_NEEDS, {"code", "paper", "nb101"}),
    "loss": (False, "short-train", SHORT_TRAIN_NEEDS, {"code", "paper", "nb101"}),
    # the zero-cost zoo (protocols §G)
    "grad_norm": (True, "backward", GRADIENT_NEEDS, ZOO_PRESETS),
    "snip": (True, "backward", GRADIENT_NEEDS, ZOO_PRESETS),
    "plain": (True, "backward", GRADIENT_NEEDS, ZOO_PRESETS),
    "grasp": (True, "backward", GRADIENT_NEEDS, ZOO_PRESETS),
    "fisher": (True, "backward", GRADIENT_NEEDS, ZOO_PRESETS),
    "synflow": (True, "backward", {"gradients"}, ZOO_PRESETS),  # data-free
    "l2_norm": (True, "forward", set(), ZOO_PRESETS),  # data-free, weights only
    "epe_nas": (True, "backward", GRADIENT_NEEDS, {"code", "paper", "naslib", "nb101"}),
    "zen": (True, "forward", set(), {"code", "paper", "nb101"}),  # Gaussian inputs
    "zico": (True, "backward", GRADIENT_NEEDS, {"code", "paper", "nb101"}),
    "meco": (True, "forward", {"images"}, {"code", "opt", "nb101"}),
    "swap": (True, "forward", {"images"}, {"code", "nb101"}),
}


@dataclasses.dataclass(frozen=True)
class ConstantSettings:
    value: float = 1.0


def constant_spec(name: str, summary: str = "a constant") -> ProxySpec:
    return ProxySpec(name=name, version=1, higher_is_better=True, cost_class="parameter-free", needs=(),
                     paper="test", summary=summary, settings_type=ConstantSettings,
                     presets={"code": ConstantSettings()},
                     compute=lambda ctx, s: ProxyResult(s.value, diagnostics={"arch": str(ctx.arch)}))


def test_unknown_name_suggests_the_close_registered_name():
    with pytest.raises(ZcbenchError, match=r"unknown proxy 'parms'.*Did you mean 'params'"):
        REGISTRY.get("parms")


@pytest.mark.parametrize("name", NAMES)
def test_typo_of_each_proxy_name_suggests_it(name):
    with pytest.raises(ZcbenchError) as err:
        REGISTRY.get(name + "x")
    assert "Did you mean" in str(err.value) and repr(name) in str(err.value)


def test_unknown_name_without_close_match_lists_known_proxies():
    with pytest.raises(ZcbenchError) as err:
        REGISTRY.get("qqqqqqqqqq")
    assert "Did you mean" not in str(err.value)
    assert all(name in str(err.value) for name in NAMES)


def test_builtin_proxies_are_the_expected_ones():
    assert NAMES == sorted(EXPECTED)
    assert REGISTRY.failures() == {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_proxy_metadata_matches_the_papers(name):
    spec = REGISTRY.get(name)
    assert (spec.higher_is_better, spec.cost_class, set(spec.needs), set(spec.presets)) == EXPECTED[name]
    assert spec.spaces == ("nb201", "nb101")


def test_registering_a_second_proxy_under_a_taken_name_fails():
    registry = proxy_registry()
    first = registry.register(constant_spec("const"))
    with pytest.raises(ZcbenchError, match="'const' is already registered"):
        registry.register(constant_spec("const", summary="another"))
    assert registry.get("const") is first
    registry.register(first)  # re-registering the same object (module re-import) is harmless


def test_builtin_name_cannot_be_taken_over():
    taken = REGISTRY.get(NAMES[0])
    with pytest.raises(ZcbenchError, match="already registered"):
        REGISTRY.register(dataclasses.replace(taken, summary="impostor"))
    assert REGISTRY.get(NAMES[0]) is taken


def test_spec_rejects_bad_metadata():
    with pytest.raises(ValueError, match="cost class"):
        dataclasses.replace(constant_spec("c"), cost_class="cheap")
    with pytest.raises(ValueError, match="unknown needs"):
        dataclasses.replace(constant_spec("c"), needs=("pixels",))
    with pytest.raises(ValueError, match="'code' preset"):
        dataclasses.replace(constant_spec("c"), presets={"paper": ConstantSettings()})


@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete(name):
    spec = REGISTRY.get(name)
    assert spec.name == name and NAME_PATTERN.match(name), name
    assert isinstance(spec.version, int) and not isinstance(spec.version, bool) and spec.version >= 1
    assert isinstance(spec.higher_is_better, bool)
    assert spec.cost_class in COST_CLASSES
    assert isinstance(spec.needs, tuple) and set(spec.needs) <= set(NEEDS)
    assert isinstance(spec.paper, str) and spec.paper.strip()
    assert isinstance(spec.summary, str) and spec.summary.strip()
    assert spec.spaces and all(isinstance(s, str) for s in spec.spaces)
    assert callable(spec.compute)
    assert "code" in spec.presets


@pytest.mark.parametrize("name", NAMES)
def test_settings_are_frozen_dataclasses(name):
    spec = REGISTRY.get(name)
    assert dataclasses.is_dataclass(spec.settings_type) and spec.settings_type.__dataclass_params__.frozen
    settings = spec.settings("code")
    field = dataclasses.fields(settings)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, field, getattr(settings, field))
    json.dumps(spec.metadata())  # presets are plain data


@pytest.mark.parametrize("name", NAMES)
def test_settings_override_of_unknown_field_names_the_fields(name):
    with pytest.raises(ZcbenchError, match="no settings field"):
        REGISTRY.get(name).settings("code", no_such_field=1)


def _different(value):
    """A value of the same kind that differs from `value` (to perturb one settings field)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, tuple):
        return value + (value[-1],) if value else (1,)
    if value is None:
        return 1
    raise TypeError(f"settings field of unexpected type {type(value).__name__}: {value!r}")


@pytest.mark.parametrize("name", NAMES)
def test_settings_hash_changes_when_any_field_changes(name):
    spec = REGISTRY.get(name)
    for preset, settings in spec.presets.items():
        base = settings_hash(settings)
        assert base == settings_hash(copy.deepcopy(settings))
        for field in dataclasses.fields(settings):
            changed = copy.copy(settings)
            object.__setattr__(changed, field.name, _different(getattr(settings, field.name)))
            assert settings_hash(changed) != base, f"{name}/{preset}: field {field.name} not in the hash"


def test_settings_hash_is_stable_across_processes():
    """Same hash in a fresh interpreter with another PYTHONHASHSEED (result rows are named by it)."""
    script = ("import json; from zcbench.proxies.registry import REGISTRY, settings_hash; "
              "print(json.dumps({f'{s.name}/{p}': settings_hash(v) for s in REGISTRY for p, v in s.presets.items()}))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    here = {f"{s.name}/{p}": settings_hash(v) for s in REGISTRY for p, v in s.presets.items()}
    assert json.loads(out) == here


class FakeEntryPoint:
    """Stands in for an installed distribution's `[project.entry-points."zcbench.proxies"]` entry."""

    def __init__(self, name, group, target):
        self.name, self.group, self.value, self._target = name, group, f"fake_plugin:{name}", target

    def load(self):
        return self._target


def test_third_party_plugin_is_found_through_its_entry_point(monkeypatch, capsys):
    plugin = constant_spec("third_party_const", summary="plugin from another package")
    entries = [FakeEntryPoint("third_party_const", ENTRY_POINT_GROUP, plugin),
               FakeEntryPoint("unrelated", "console_scripts", constant_spec("not_a_proxy"))]

    def fake_entry_points(*, group=None, **_):
        return [e for e in entries if group is None or e.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    registry = proxy_registry()
    assert registry.get("third_party_const") is plugin
    assert "not_a_proxy" not in registry
    assert plugin.score(0).value == 1.0

    monkeypatch.setattr("zcbench.proxies.registry.REGISTRY", registry)
    assert cli.main(["ls", "proxies", "--json"]) == 0
    listed = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert "third_party_const" in listed


def test_plugin_entry_point_that_is_not_a_proxy_spec_is_named_and_spares_the_others(monkeypatch):
    bad = FakeEntryPoint("broken", ENTRY_POINT_GROUP, object())
    good = FakeEntryPoint("third_party_const", ENTRY_POINT_GROUP, constant_spec("third_party_const"))
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda *, group=None, **_: [bad, good] if group in (None, ENTRY_POINT_GROUP) else [])
    registry = proxy_registry()
    assert registry.names() == ["third_party_const"]
    message = "'broken' = 'fake_plugin:broken' in group 'zcbench.proxies' must point at a ProxySpec, got object"
    assert registry.failures() == {"broken": message}
    with pytest.raises(RegistryError, match=re.escape(message)):
        registry.get("broken")


# ---------------------------------------------------------------------------------- generic Registry

@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """An importable, not yet imported module `zcbench_test_plugin` with GOOD = "good" and NUMBER = 3."""
    (tmp_path / "zcbench_test_plugin.py").write_text('GOOD = "good"\nNUMBER = 3\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "zcbench_test_plugin", raising=False)
    yield "zcbench_test_plugin"
    sys.modules.pop("zcbench_test_plugin", None)


def test_lazy_entries_import_on_first_lookup(plugin_module):
    registry = Registry("thing", str, entries={"good": f"{plugin_module}:GOOD"})
    assert plugin_module not in sys.modules
    assert registry.get("good") == "good" and plugin_module in sys.modules


def test_a_failing_lazy_entry_is_attributed_and_the_rest_loads(plugin_module):
    registry = Registry("thing", str, entries={"missing": "zcbench_no_such_module:X", "typo": f"{plugin_module}:GOD",
                                               "number": f"{plugin_module}:NUMBER", "good": f"{plugin_module}:GOOD"})
    assert registry.names() == ["good"]
    failures = registry.failures()
    assert sorted(failures) == ["missing", "number", "typo"]
    assert "ModuleNotFoundError" in failures["missing"] and "zcbench_no_such_module" in failures["missing"]
    assert "AttributeError" in failures["typo"] and "GOD" in failures["typo"]
    assert failures["number"].endswith("must point at a str, got int")
    with pytest.raises(RegistryError, match="thing 'typo' = 'zcbench_test_plugin:GOD' failed to load: AttributeError"):
        registry.get("typo")
    assert registry.names() == ["good"]  # loaded once: a failure does not leave a half registry to retry


def test_unknown_name_suggests_close_names_of_any_registry():
    registry = Registry("colour", entries={})
    for name in ("red", "green"):
        registry.register(name.upper(), name)
    expected = "unknown colour 'gren'. Did you mean 'green'? Known colours: green, red"
    with pytest.raises(RegistryError, match=re.escape(expected)):
        registry.get("gren")


def test_registry_is_frozen_after_load(plugin_module):
    registry = Registry("thing", str, entries={"good": f"{plugin_module}:GOOD"})
    assert "good" in registry
    with pytest.raises(RegistryError, match="frozen"):
        registry.add_lazy("late", f"{plugin_module}:GOOD")
    with pytest.raises(RegistryError, match="'good' is already registered"):
        registry.register("other", "good")
    with pytest.raises(TypeError):
        registry.items()["good"] = "replaced"  # type: ignore[index]
    registry.register("new", "extra")  # an explicit plugin may still add a name
    assert registry.names() == ["extra", "good"]


def test_an_entry_point_cannot_take_a_builtin_name(monkeypatch):
    impostor = FakeEntryPoint("params", ENTRY_POINT_GROUP, constant_spec("params", summary="impostor"))
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda *, group=None, **_: [impostor] if group in (None, ENTRY_POINT_GROUP) else [])
    registry = proxy_registry({"params": "zcbench.proxies.params:PARAMS"})
    assert registry.get("params") is REGISTRY.get("params")
    assert "already taken" in registry.failures()["params"]


def test_lookup_during_a_lazy_import_does_not_reenter_the_load(tmp_path, monkeypatch):
    """A target module that looks its registry up while being imported sees the partial table."""
    (tmp_path / "zcbench_host.py").write_text(
        "from zcbench.spaces.registry import Registry\n"
        "REGISTRY = Registry('thing', str, entries={'v': 'zcbench_target:VALUE'})\nSEEN = []\n")
    (tmp_path / "zcbench_target.py").write_text(
        "import zcbench_host\nzcbench_host.SEEN.append(zcbench_host.REGISTRY.names())\nVALUE = 'v'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import zcbench_host

    try:
        assert zcbench_host.REGISTRY.names() == ["v"] and zcbench_host.SEEN == [[]]
    finally:
        for module in ("zcbench_host", "zcbench_target"):
            sys.modules.pop(module, None)


def test_ls_proxies_json_carries_every_metadata_field(capsys):
    assert cli.main(["ls", "proxies", "--json"]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert sorted(listed) == sorted(EXPECTED)
    for name, (higher, cost, needs, presets) in EXPECTED.items():
        row = listed[name]
        assert set(row) >= {"name", "version", "higher_is_better", "cost_class", "needs", "paper", "summary",
                            "spaces", "settings"}
        assert (row["higher_is_better"], row["cost_class"], set(row["needs"]), set(row["settings"])) == \
            (higher, cost, needs, presets)
        assert row["settings"]["code"] == json.loads(json.dumps(dataclasses.asdict(REGISTRY.get(name).presets["code"])))


def test_ls_proxies_table_lists_every_proxy(capsys):
    assert cli.main(["ls", "proxies"]) == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^{re.escape(n)}\s", out, re.MULTILINE) for n in NAMES)
