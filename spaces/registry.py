"""`Registry[T]`: the one name → object table behind proxies, spaces, combinations, claim kinds and rules.

Entries come from three places: objects registered directly (`register`), lazy `module:attr`
targets declared up front (`Registry(..., entries={name: "pkg.mod:ATTR"})`) and, optionally, an
entry-point group of installed distributions. Lazy targets are imported on the first lookup, each
one on its own: a target that fails to import, or that is not a `T`, is recorded against its name
(`failures()`, shown by `zcbench ls`) and the others still load. The registry then counts as loaded
and is frozen: a name is never replaced or removed, and no lazy target can be added; later
`register` calls (a sweep's plugin modules) may only add new names. Unknown names get a
did-you-mean suggestion.
"""
from __future__ import annotations

import difflib
from importlib import import_module, metadata
from types import MappingProxyType
from typing import Callable, Generic, Iterator, Mapping, TypeVar

from zcbench.spaces.errors import ZcbenchError

T = TypeVar("T")


class RegistryError(ZcbenchError):
    """A lookup of an unknown or broken name, or a registration that would replace an entry."""


def resolve_target(target: str):
    """The object a `module:attr` (or `module:attr.sub`) string names; ImportError/AttributeError if absent."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ZcbenchError(f"lazy registry target {target!r} is not of the form 'module:attr'")
    found = import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


class Registry(Generic[T]):
    """Name → T with lazy `module:attr` entries, per-entry load errors, did-you-mean and freezing."""

    def __init__(self, kind: str, item_type: type | None = None, *, entries: Mapping[str, str] | None = None,
                 entry_point_group: str | None = None, plural: str | None = None):
        """`kind` names one entry in messages ("proxy"), `plural` the list ("proxies"; default kind + "s");
        `item_type`, when given, is what every lazy target must be."""
        self.kind, self.plural, self.item_type = kind, plural or f"{kind}s", item_type
        self.entry_point_group = entry_point_group
        self._lazy: dict[str, str] = dict(entries or {})
        self._items: dict[str, T] = {}
        self._failures: dict[str, str] = {}
        self._state = "open"  # open → loading → loaded (frozen)

    # ------------------------------------------------------------------ filling

    def register(self, item: T, name: str | None = None) -> T:
        """Add `item` under `name` (default `item.name`); re-registering an equal item is harmless."""
        name = name if name is not None else item.name
        if name in self._items and self._items[name] is not item and self._items[name] != item:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def add_lazy(self, name: str, target: str) -> None:
        """Declare `name` to be the object at `target` ('module:attr'), imported on the first lookup."""
        if self._state == "loaded":
            raise RegistryError(f"the {self.kind} registry is frozen: cannot add lazy entry {name!r} = {target!r}")
        self._lazy[name] = target

    def _sources(self) -> list[tuple[str, str, Callable[[], object]]]:
        """(name, where it points, loader) of every lazy entry: the declared targets, then the entry points."""
        sources = [(name, repr(target), lambda target=target: resolve_target(target))
                   for name, target in self._lazy.items()]
        if self.entry_point_group:
            sources += [(entry.name, f"{entry.value!r} in group {self.entry_point_group!r}", entry.load)
                        for entry in metadata.entry_points(group=self.entry_point_group)]
        return sources

    def _load(self) -> None:
        """Import every lazy entry once; an entry that fails is recorded under its name, not raised."""
        if self._state != "open":
            return  # loaded, or a target's import is looking names up while the load runs
        self._state = "loading"
        try:
            for name, where, load in self._sources():
                if name in self._items:  # e.g. a plugin's entry point named like a built-in entry
                    self._failures[name] = f"{name!r} = {where} not loaded: the name is already taken"
                    continue
                try:
                    item = load()
                except Exception as exc:  # noqa: BLE001 — any plugin error is attributed to its entry
                    self._failures[name] = f"{name!r} = {where} failed to load: {type(exc).__name__}: {exc}"
                    continue
                if self.item_type is not None and not isinstance(item, self.item_type):
                    self._failures[name] = (f"{name!r} = {where} must point at a {self.item_type.__name__}, "
                                            f"got {type(item).__name__}")
                    continue
                self.register(item, name)
        finally:
            self._state = "loaded"

    # ------------------------------------------------------------------ lookup

    def get(self, name: str) -> T:
        """The entry `name`; an unknown name raises with close matches, a broken one with its load error."""
        self._load()
        if name in self._items:
            return self._items[name]
        if name in self._failures:
            raise RegistryError(f"{self.kind} {self._failures[name]}")
        close = difflib.get_close_matches(name, list(self._items), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise RegistryError(f"unknown {self.kind} {name!r}.{hint} Known {self.plural}: {', '.join(self.names())}")

    def names(self) -> list[str]:
        """Sorted names of the entries that loaded."""
        self._load()
        return sorted(self._items)

    def items(self) -> Mapping[str, T]:
        """A read-only view of name → entry (loaded entries only)."""
        self._load()
        return MappingProxyType(self._items)

    def failures(self) -> dict[str, str]:
        """Name → why that lazy entry did not load (empty when every entry loaded)."""
        self._load()
        return dict(self._failures)

    def __iter__(self) -> Iterator[T]:
        return iter([self._items[name] for name in self.names()])

    def __contains__(self, name) -> bool:
        self._load()
        return name in self._items

    def __len__(self) -> int:
        return len(self.names())
