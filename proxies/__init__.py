"""Proxy plugins and their registry (`proxies.registry.REGISTRY`).

Each proxy family has a module with a pure score function (network, inputs, settings → value) and
registers a `ProxySpec` whose wrapper builds the network, draws the data and seeds the RNG.
Imports only from spaces/.
"""
from zcbench.proxies.registry import REGISTRY, ProxyResult, ProxySpec, get_proxy  # noqa: F401
