"""The settings validator and the `key=value` override parser (zcbench.proxies.settings)."""
from __future__ import annotations

import dataclasses

import pytest

from zcbench.benchmarks.pruning import PruningSettings
from zcbench.proxies.mgm import MGMSettings
from zcbench.proxies.naswot import NaswotSettings
from zcbench.proxies.registry import REGISTRY, settings_hash
from zcbench.proxies.settings import Settings, parse_overrides, split_overrides
from zcbench.spaces.errors import SettingsError, ZcbenchError


@dataclasses.dataclass(frozen=True)
class ExampleSettings(Settings):
    CHOICES = {"mode": ("fast", "exact")}
    MINIMUM = {"size": 1, "limit": 0}

    size: int = 4
    rate: float = 0.5
    flag: bool = True
    mode: str = "fast"
    limit: int | None = None
    head: int | str = "dataset"
    widths: tuple[int, ...] = (1, 2)


def test_settings_error_is_a_named_zcbench_error():
    assert issubclass(SettingsError, ZcbenchError) and issubclass(SettingsError, ValueError)


@pytest.mark.parametrize("proxy,override,message", [
    ("ntk", {"batch_size": -3}, "NTKSettings.batch_size = -3: must be ≥ 2"),
    ("ntk", {"batch_size": "-3"}, "NTKSettings.batch_size = -3: must be ≥ 2"),
    ("ntk", {"batch_size": "abc"}, "NTKSettings.batch_size: 'abc' is not int"),
    ("params", {"unit": "bogus"}, "ParamSettings.unit = 'bogus': expected one of millions, count"),
    ("naswot", {"method": "slow"}, "NaswotSettings.method = 'slow': expected one of backward_armed, single_forward"),
    ("mgm", {"max_tensors": 0}, "MGMSettings.max_tensors = 0: must be ≥ 1"),
    ("lr1", {"train_mode": "maybe"}, "LinearRegionSettings.train_mode: 'maybe' is not bool"),
    ("angle", {"lr": True}, "ShortTrainSettings.lr = True: expected float"),
])
def test_bad_overrides_of_registered_proxies_are_named(proxy, override, message):
    with pytest.raises(SettingsError) as err:
        REGISTRY.get(proxy).settings("code", **override)
    assert message in str(err.value)


def test_plain_values_are_typed_by_the_annotations():
    parsed = parse_overrides(["size=64", "rate=1", "flag=false", "mode=exact", "limit=none", "head=10",
                              "widths=3,4,5"], ExampleSettings)
    assert parsed == {"size": 64, "rate": 1.0, "flag": False, "mode": "exact", "limit": None, "head": 10,
                      "widths": (3, 4, 5)}
    assert type(parsed["rate"]) is float
    assert parse_overrides(["head=dataset", "widths=(7,)", "flag=YES"], ExampleSettings) == \
        {"head": "dataset", "widths": (7,), "flag": True}
    assert parse_overrides(["method=single_forward", "batch_size=64"], NaswotSettings) == \
        {"method": "single_forward", "batch_size": 64}
    assert parse_overrides(["dtype=float64", "max_tensors=None"], MGMSettings) == {"dtype": "float64",
                                                                                   "max_tensors": None}


@pytest.mark.parametrize("pairs,message", [
    (["size"], "expected KEY=VALUE, got 'size'"),
    (["=3"], "expected KEY=VALUE"),
    (["sise=3"], "ExampleSettings has no settings field(s) ['sise']"),
    (["size=3.5"], "ExampleSettings.size: '3.5' is not int"),
    (["limit=lots"], "ExampleSettings.limit: 'lots' is not int or none"),
    (["widths=1,x"], "ExampleSettings.widths: 'x' is not int"),
])
def test_malformed_overrides_are_settings_errors(pairs, message):
    with pytest.raises(SettingsError) as err:
        parse_overrides(pairs, ExampleSettings)
    assert message in str(err.value)


def test_validator_checks_construction_and_normalises():
    with pytest.raises(SettingsError, match="ExampleSettings.mode = 'slow'"):
        ExampleSettings(mode="slow")
    with pytest.raises(SettingsError, match="ExampleSettings.size = 0: must be ≥ 1"):
        ExampleSettings(size=0)
    with pytest.raises(SettingsError, match="ExampleSettings.size = True: expected int"):
        ExampleSettings(size=True)
    made = ExampleSettings(rate=1, widths=[5])
    assert made == ExampleSettings(rate=1.0, widths=(5,)) and type(made.rate) is float
    assert settings_hash(made) == settings_hash(ExampleSettings(rate=1.0, widths=(5,)))


def test_split_keeps_the_text_after_the_first_equals_sign():
    assert split_overrides(["note=a=b", " size =3"]) == {"note": "a=b", "size": "3"}


def test_every_preset_and_the_pruning_presets_pass_the_validator():
    for spec in REGISTRY:
        for preset in spec.presets.values():
            dataclasses.replace(preset)  # re-runs the validation on the preset's values
    with pytest.raises(SettingsError, match="PruningSettings.criterion = 'best'"):
        PruningSettings(criterion="best")
