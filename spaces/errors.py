"""Exceptions shared by every layer; each message names the offending thing."""


class ZcbenchError(Exception):
    """Base class for errors raised by zcbench."""


class InvalidArchError(ZcbenchError, ValueError):
    """An architecture string, index or cell spec that does not describe a member of the space."""


class UnknownOperationError(InvalidArchError):
    """An operation name that the space does not define."""


class SettingsError(ZcbenchError, ValueError):
    """A settings value (preset field, `--set key=value`, sweep-config override) of the wrong type, out of
    range or not among the declared choices; the message names the settings class, field and value."""


class NotEnoughDataError(ZcbenchError, ValueError):
    """The images supplied are too few (or cover too few classes) for what the settings ask to draw."""


class DataNotFoundError(ZcbenchError, FileNotFoundError):
    """A data file needed for a computation is absent; says where it was looked for and how to get it."""

    def __init__(self, what: str, searched: list, how_to_get: str):
        self.what, self.searched, self.how_to_get = what, [str(p) for p in searched], how_to_get
        places = "\n  ".join(self.searched) or "(no candidate location: pass --data-dir or set ZCBENCH_DATA)"
        super().__init__(f"{what} not found. Looked in:\n  {places}\nHow to get it: {how_to_get}")

    def __reduce__(self):
        """Rebuild from the three fields: a sweep worker's error must cross the process boundary intact."""
        return type(self), (self.what, self.searched, self.how_to_get)


class CorruptDataError(ZcbenchError, ValueError):
    """A data file exists but its content is truncated, malformed or inconsistent."""


class UnsafePickleError(CorruptDataError):
    """A pickled data file that names a class or function outside the loader's allow-list; refused
    before anything in it runs (`--trust-pickle` lifts the restriction for files the user vouches for)."""
