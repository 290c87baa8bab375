"""Settings dataclasses: one validator and one `key=value` override parser, both driven by the annotations.

Every settings class derives from `Settings` and declares, besides its annotated fields, which
string fields take a fixed set of values (`CHOICES`) and which numbers have a lower bound
(`MINIMUM`). Construction then checks each field against its annotation, choices and bound and
raises a `SettingsError` naming the class, the field and the value — so `batch_size=-3`,
`batch_size=abc` and `unit=bogus` fail the same way whether they come from a preset, `--set`, a
sweep config or Python. Cross-field rules stay in the class's own `__post_init__`.

`parse_overrides` turns the command line's plain `key=value` strings into typed field values:
`method=single_forward`, `batch_size=64`, `lr=0.1`, `augment=false`, `max_tensors=none`,
`widths=1,2,3` (a tuple).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Iterable, Mapping

from zcbench.spaces.errors import SettingsError

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
NONE_WORDS = ("none", "null")


class Settings:
    """Base of the settings dataclasses: validates every field when an instance is made."""

    CHOICES: ClassVar[Mapping[str, tuple]] = {}
    MINIMUM: ClassVar[Mapping[str, float]] = {}

    def __post_init__(self):
        validate_settings(self)


def field_types(settings_type: type) -> dict[str, Any]:
    """Field name → resolved annotation of a settings dataclass."""
    hints = typing.get_type_hints(settings_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(settings_type)}


def _alternatives(hint) -> tuple:
    """The members of a union annotation (`int | None` → (int, NoneType)); a plain type alone."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _describe(hint) -> str:
    names = []
    for option in _alternatives(hint):
        if option is type(None):
            names.append("none")
        elif typing.get_origin(option) is tuple:
            names.append("a tuple of " + _describe(typing.get_args(option)[0]))
        else:
            names.append(getattr(option, "__name__", str(option)))
    return " or ".join(names)


def _conforms(value, hint) -> bool:
    for option in _alternatives(hint):
        if option is type(None) and value is None:
            return True
        if option is bool and isinstance(value, bool):
            return True
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if option is str and isinstance(value, str):
            return True
        if typing.get_origin(option) is tuple and isinstance(value, tuple):
            return all(_conforms(item, typing.get_args(option)[0]) for item in value)
    return False


def validate_settings(settings) -> None:
    """Check every field of a settings dataclass: annotation, declared choices, lower bound.

    Normalises in place what the annotation makes unambiguous (an int for a float field becomes a
    float, so `lr=1` and `lr=1.0` hash alike; a list for a tuple field becomes a tuple).
    """
    cls = type(settings)
    choices, minimum = getattr(cls, "CHOICES", {}), getattr(cls, "MINIMUM", {})
    for name, hint in field_types(cls).items():
        value = getattr(settings, name)
        if isinstance(value, list):
            value = tuple(value)
        if float in _alternatives(hint) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        object.__setattr__(settings, name, value)
        where = f"{cls.__name__}.{name} = {value!r}"
        if not _conforms(value, hint):
            raise SettingsError(f"{where}: expected {_describe(hint)}")
        if name in choices and isinstance(value, str) and value not in choices[name]:
            raise SettingsError(f"{where}: expected one of {', '.join(map(str, choices[name]))}")
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if name in minimum and is_number and value < minimum[name]:
            raise SettingsError(f"{where}: must be ≥ {minimum[name]}")


def _from_text(text: str, hint, where: str):
    """A command-line string as a value of the annotated type (first alternative that parses)."""
    word = text.strip()
    for option in _alternatives(hint):
        if option is type(None) and word.lower() in NONE_WORDS:
            return None
        if option is bool and word.lower() in TRUE_WORDS + FALSE_WORDS:
            return word.lower() in TRUE_WORDS
        if option in (int, float):
            try:
                return option(word)
            except ValueError:
                continue
        if typing.get_origin(option) is tuple:
            parts = [p for p in word.strip("()[]").split(",") if p.strip()]
            return tuple(_from_text(p, typing.get_args(option)[0], where) for p in parts)
    if str in _alternatives(hint):
        return word
    raise SettingsError(f"{where}: {text!r} is not {_describe(hint)}")


def coerce_overrides(settings_type: type, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides keyed by field name, converted to the fields' annotated types.

    Strings are parsed (`parse_overrides` rules) unless the field is a plain str; other values (TOML,
    JSON, Python) pass through to the validator. An unknown field name is a SettingsError listing the fields.
    """
    types_ = field_types(settings_type)
    if unknown := sorted(set(overrides) - set(types_)):
        raise SettingsError(f"{settings_type.__name__} has no settings field(s) {unknown}; fields: {sorted(types_)}")
    return {name: _from_text(value, types_[name], f"{settings_type.__name__}.{name}")
            if isinstance(value, str) and _alternatives(types_[name]) != (str,) else value
            for name, value in overrides.items()}


def split_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`key=value` strings → {key: value text}; a pair without '=' or key is a SettingsError."""
    overrides = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"expected KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = text
    return overrides


def parse_overrides(pairs: Iterable[str], settings_type: type) -> dict[str, Any]:
    """`key=value` strings → field values of `settings_type`, typed by its annotations."""
    return coerce_overrides(settings_type, split_overrides(pairs))


def apply_overrides(settings, overrides: Mapping[str, Any]):
    """A copy of `settings` with `overrides` (coerced, then validated by the class)."""
    return dataclasses.replace(settings, **coerce_overrides(type(settings), overrides))
