"""User-side proxy functions for the `zcbench verify` tests, each with the verify signature
`fn(network, images, labels) -> float`.

`naswot_copy` and `naswot_v1_copy` are written from the definitions (protocols §A3), not by calling
zcbench: the NASWOT v2 `code` recipe (modules whose class name contains "ReLU", a forward+backward
that arms the hooks, K counted on a second forward, log|det K| in float64) and the v1 Jacobian
covariance score. The others are deliberately altered copies that verify must catch.
"""
from __future__ import annotations

import torch


def _relu_like(network):
    return [m for m in network.modules() if "ReLU" in type(m).__name__]


def _naswot_kernel(network, images, skip_first_layer: bool = False):
    modules = _relu_like(network)
    if skip_first_layer:
        modules = modules[1:]
    armed, kernels, handles = set(), [], []

    def forward_hook(module, inputs, _output):
        if module in armed:
            codes = (inputs[0].detach().flatten(1) > 0).double()
            kernels.append(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    def backward_hook(module, _grad_input, _grad_output):
        armed.add(module)

    for module in modules:
        handles.append(module.register_forward_hook(forward_hook))
        handles.append(module.register_full_backward_hook(backward_hook))
    try:
        x = images.clone().requires_grad_(True)
        network(x).logits.sum().backward()
        with torch.no_grad():
            network(images)
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack(kernels).sum(0)


def naswot_copy(network, images, labels):
    """NASWOT v2, `code` preset: log|det K| of the ReLU-input code agreements."""
    return float(torch.linalg.slogdet(_naswot_kernel(network, images))[1])


def naswot_dropping_a_layer(network, images, labels):
    """Altered: the first ReLU-like module is not counted."""
    return float(torch.linalg.slogdet(_naswot_kernel(network, images, skip_first_layer=True))[1])


def naswot_with_noise(network, images, labels):
    """Altered: the right value times (1 + 1e-3)."""
    return naswot_copy(network, images, labels) * (1 + 1e-3)


def naswot_v1_copy(network, images, labels):
    """NASWOT v1: −Σ[log(v + k) + 1/(v + k)] over the eigenvalues v of corrcoef of input Jacobians, k = 1e-5."""
    x = images.clone().requires_grad_(True)
    out = network(x).logits
    (jacobian,) = torch.autograd.grad(out, x, torch.ones_like(out))
    rows = jacobian.flatten(1).double()
    if bool((rows.amax(1) == rows.amin(1)).any()):  # a constant row: corrcoef is undefined (dead cells)
        return float("nan")
    eigenvalues = torch.linalg.eigvalsh(torch.corrcoef(jacobian.flatten(1).double()))
    shifted = eigenvalues + 1e-5
    return float(-(torch.log(shifted) + 1 / shifted).sum())


def raises(network, images, labels):
    raise RuntimeError("this implementation is broken")


def returns_text(network, images, labels):
    return "not a number"


NOT_CALLABLE = 42
