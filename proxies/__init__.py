"""Proxy plugins and their registry (`proxies.registry.REGISTRY`).

Each proxy family has a module with a pure score function (network, inputs, settings → value), a
settings dataclass (validated by `proxies.settings`) and a `ProxySpec` whose wrapper builds the
network, draws the data and seeds the RNG; the registry lists the specs as lazy `module:attr` entries
(`registry.BUILTIN_PROXIES`) and imports them on first use. Imports only from spaces/.
"""
from zcbench.proxies.registry import REGISTRY, ProxyResult, ProxySpec, get_proxy  # noqa: F401
