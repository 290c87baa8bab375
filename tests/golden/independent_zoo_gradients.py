"""Independent computations of the gradient-family zoo (protocols §G.1–G.8), for tests/golden/independent.py.

Each check scores cells through the registry while capturing the exact network and inputs the proxy's
helper received, recomputes the value another way — `torch.func` (functional_call + grad / jvp) or
`.backward()` with `.grad`/`retain_grad()`, the sums, norms and formulas in numpy float64 — and
compares. The gradient checks run the proxy in float64 (`dtype` setting), where both sides must agree
to float64 rounding; the float32 difference at the golden's own settings is reported, not judged.
"""
from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, replace_all_batch_norm_modules_

SEED = 0
DATASET = "cifar10"


def _score(spec, settings, space, cell, images):
    return spec.score(cell, space=space, data=images, settings=settings, seed=SEED, dataset=DATASET)


def _rel(a: float, b: float, scale: float = 0.0) -> float:
    """|a − b| relative to the larger of |a|, |b| and `scale` (the sum of |terms|, for signed sums that cancel)."""
    denominator = max(abs(a), abs(b), scale)
    return 0.0 if denominator == 0 else abs(a - b) / denominator


def _layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in network.named_modules() if type(m) in (nn.Conv2d, nn.Linear)]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


# ---------------------------------------------------------------------------------------------
# grad_norm / snip / plain: .backward() and .grad; snip through an explicit multiplicative mask

def independent_backward(network, images, labels) -> dict[str, float]:
    net = copy.deepcopy(network)
    net.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(net(images).logits, labels).backward()
    norms, plain, absolute = [], [], []
    for _, m in _layers(net):
        if m.weight.grad is None:
            continue
        w, g = _np(m.weight), _np(m.weight.grad)
        norms.append(np.sqrt(np.sum(g * g)))
        plain.append(np.sum(w * g))
        absolute.append(np.sum(np.abs(w * g)))
    return {"grad_norm": float(np.sum(norms)), "plain": float(np.sum(plain)), "abs": float(np.sum(absolute))}


def independent_snip_mask(network, images, labels) -> float:
    """SNIP as defined: ∂L/∂c at c = 1 of weights W ⊙ c, via torch.func over the masks only."""
    net = copy.deepcopy(network)
    replace_all_batch_norm_modules_(net)  # train-mode outputs unchanged; no buffer updates under func
    params = {n: p.detach() for n, p in net.named_parameters()}
    names = [f"{n}.weight" if n else "weight" for n, _ in _layers(net)]

    def loss(masks):
        masked = {**params, **{n: params[n] * masks[n] for n in names}}
        return nn.functional.cross_entropy(functional_call(net, masked, (images,)).logits, labels)

    grads = grad(loss)({n: torch.ones_like(params[n]) for n in names})
    return float(sum(np.sum(np.abs(_np(grads[n]))) for n in names))


def check_shared_pass(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_gradients as module

    def max_diff(proxy_settings):
        diffs = []
        for cell in cells:
            module.clear_run_cache()
            with _capture(module, "weight_gradients") as calls:
                result = _score(spec, proxy_settings, space, cell, images)
            (args, _), _ = calls[0]
            ref = independent_backward(*args)
            if spec.name == "snip":
                diffs.append(_rel(independent_snip_mask(*args), result.value))
                diffs.append(_rel(ref["abs"], result.value))
            elif spec.name == "plain":
                diffs.append(_rel(ref["plain"], result.value, ref["abs"]))
            else:
                diffs.append(_rel(ref["grad_norm"], result.value))
        return max(diffs), len(cells)

    float64_diff, compared = max_diff(dataclasses.replace(settings, dtype="float64"))
    float32_diff, _ = max_diff(settings)
    return {"method": "the captured network and batch: zero grads, mean cross-entropy .backward(), each Conv2d/"
                      "Linear weight's .grad; numpy float64 Σ‖g‖₂ (grad_norm), Σ w·g (plain, relative to Σ|w·g|), "
                      "Σ|w·g| and, for snip, ∂L/∂mask of an explicit all-ones multiplicative mask by torch.func",
            "cells_compared": compared, "max_rel_diff": float64_diff, "tolerance": 1e-9,
            "compared_with_proxy_dtype": "float64", "max_rel_diff_at_golden_float32_settings": float32_diff}


# ---------------------------------------------------------------------------------------------
# grasp: H g by forward-over-reverse (jvp of grad), two separate functional passes

def independent_grasp(network, images, labels, temperature) -> tuple[float, float]:
    """(Σ −w ⊙ Hg, scale Σ|w ⊙ Hg|) with g = ∇L and Hg = jvp(∇L, g)."""
    net = copy.deepcopy(network)
    replace_all_batch_norm_modules_(net)
    params = {n: p.detach() for n, p in net.named_parameters()}
    names = [f"{n}.weight" for n, _ in _layers(net)]

    def loss(weights):
        out = functional_call(net, {**params, **weights}, (images,)).logits
        return nn.functional.cross_entropy(out / temperature, labels)

    weights = {n: params[n] for n in names}
    g = grad(loss)(weights)
    _, hg = jvp(grad(loss), (weights,), (g,))
    terms = [_np(params[n]) * _np(hg[n]) for n in names]
    return float(-sum(np.sum(t) for t in terms)), float(sum(np.sum(np.abs(t)) for t in terms))


def check_grasp(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_gradients as module

    def max_diff(proxy_settings):
        diffs = []
        for cell in cells:
            with _capture(module, "grasp_value") as calls:
                result = _score(spec, proxy_settings, space, cell, images)
            (args, _), _ = calls[0]
            value, scale = independent_grasp(*args)
            diffs.append(_rel(value, result.value, scale))
        return max(diffs), len(cells)

    float64_diff, compared = max_diff(dataclasses.replace(settings, dtype="float64"))
    float32_diff, _ = max_diff(settings)
    return {"method": "torch.func on the captured network: g = grad(L), Hg = jvp(grad(L), g) (forward-over-"
                      "reverse, no double backward), numpy float64 −Σ w·Hg, relative to Σ|w·Hg|",
            "cells_compared": compared, "max_rel_diff": float64_diff, "tolerance": 1e-8,
            "compared_with_proxy_dtype": "float64", "max_rel_diff_at_golden_float32_settings": float32_diff}


# ---------------------------------------------------------------------------------------------
# fisher: retain_grad on every Conv/Linear output, numpy formula

def independent_fisher(network, images, labels, weighting) -> float:
    net = copy.deepcopy(network)
    outputs = {}

    def keep(name):
        def hook(_m, _i, out):
            out.retain_grad()
            outputs[name] = out
        return hook

    layers = _layers(net)
    handles = [m.register_forward_hook(keep(n)) for n, m in layers]
    nn.functional.cross_entropy(net(images).logits, labels).backward()
    for h in handles:
        h.remove()
    total = 0.0
    for name, m in layers:
        out = outputs.get(name)
        if out is None or out.grad is None:
            continue
        a, g = _np(out), _np(out.grad)
        per_sample = (a * g).reshape(a.shape[0], a.shape[1], -1).sum(axis=2)  # (N, channels)
        channel = 0.5 * np.mean(per_sample ** 2, axis=0)
        entries = int(np.prod(m.weight.shape[1:])) if weighting == "per_parameter" else 1
        total += float(np.sum(np.abs(channel))) * entries
    return total


def check_fisher(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_gradients as module

    def max_diff(proxy_settings):
        diffs = []
        for cell in cells:
            module.clear_run_cache()
            with _capture(module, "weight_gradients") as calls:
                result = _score(spec, proxy_settings, space, cell, images)
            (args, _), _ = calls[0]
            diffs.append(_rel(independent_fisher(*args, proxy_settings.weighting), result.value))
        return max(diffs), len(cells)

    float64_diff, compared = max_diff(dataclasses.replace(settings, dtype="float64"))
    float32_diff, _ = max_diff(settings)
    return {"method": "forward hooks that retain_grad() each Conv2d/Linear output, one .backward(); numpy float64 "
                      "½·mean_n(Σ_xy a·∂L/∂a)² per channel, |·| summed, × fan-in entries per channel (per_parameter)",
            "cells_compared": compared, "max_rel_diff": float64_diff, "tolerance": 1e-9,
            "compared_with_proxy_dtype": "float64", "max_rel_diff_at_golden_float32_settings": float32_diff}


# ---------------------------------------------------------------------------------------------
# synflow / l2_norm

def independent_synflow(network, input_size) -> float:
    net = copy.deepcopy(network)
    state = {n: t.detach().abs() for n, t in net.state_dict().items()}
    names = [f"{n}.weight" for n, _ in _layers(net)]
    dtype = state[names[0]].dtype
    ones = torch.ones(1, 3, input_size, input_size, dtype=dtype)

    def total(weights):
        return functional_call(net, {**state, **weights}, (ones,)).logits.sum()

    grads = grad(total)({n: state[n] for n in names})
    return float(sum(np.sum(np.abs(_np(state[n]) * _np(grads[n]))) for n in names))


def check_synflow(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_gradients as module

    diffs = []
    for cell in cells:
        with _capture(module, "synflow_value") as calls:
            result = _score(spec, settings, space, cell, images)
        (args, _), _ = calls[0]
        reference = independent_synflow(*args)
        diffs.append(_rel(reference, result.value))
        if reference > 0 and not math.isclose(result.diagnostics["naslib_value"], math.log(reference), rel_tol=1e-9,
                                              abs_tol=1e-9):
            diffs.append(1.0)
    return {"method": "torch.func grad of Σ logits w.r.t. the Conv/Linear weights, every state_dict tensor |·| "
                      "passed to functional_call, one all-ones input; numpy float64 Σ|w·∂R/∂w|; ln for naslib_value",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 1e-9}


def check_l2_norm(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_gradients as module

    diffs = []
    for cell in cells:
        with _capture(module, "l2_norm_value") as calls:
            result = _score(spec, settings, space, cell, images)
        (args, _), _ = calls[0]
        reference = sum(float(np.linalg.norm(_np(m.weight).ravel())) for _, m in _layers(args[0]))
        diffs.append(_rel(reference, result.value))
    return {"method": "numpy float64 norm of each Conv2d/Linear weight of the captured network, summed",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 1e-6}


def _capture(module, name):
    from golden.independent import capture

    return capture(module, name)


CHECKS = {"grad_norm": check_shared_pass, "snip": check_shared_pass, "plain": check_shared_pass,
          "grasp": check_grasp, "fisher": check_fisher, "synflow": check_synflow, "l2_norm": check_l2_norm}
