"""Weight initialisation schemes, named so each score can record which one it used (protocols §F.5)."""
from __future__ import annotations

from torch import nn

from zcbench.spaces.errors import SettingsError

INIT_SCHEMES = ("pytorch_default", "kaiming_normal_fanin", "kaiming_normal_fanout", "kaiming_uniform_fanin",
                "xavier_uniform", "naswot")


def initialize(network: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise Conv/Linear weights (bias 0) and BN (γ=1, β=0) in place; `pytorch_default` is a no-op.

    Draws from torch's global RNG: callers seed it (the proxy wrapper does, inside a forked RNG state).
    """
    if scheme not in INIT_SCHEMES:
        raise SettingsError(f"unknown init scheme {scheme!r}; expected one of {INIT_SCHEMES}")
    if scheme == "pytorch_default":
        return network
    if scheme == "naswot":  # the NASWOT NB101 model's explicit init (protocols §1.4)
        from zcbench.spaces.nb101_networks import naswot_init

        return naswot_init(network)
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if scheme == "kaiming_normal_fanin":
                nn.init.kaiming_normal_(module.weight, mode="fan_in")
            elif scheme == "kaiming_normal_fanout":
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif scheme == "kaiming_uniform_fanin":
                nn.init.kaiming_uniform_(module.weight, mode="fan_in")
            else:
                nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return network
