"""Independent computations of EPE-NAS, Zen-score, ZiCo, MeCo and SWAP (protocols §G.10–G.14).

Registered into tests/golden/independent.py's CHECKS. Each check scores cells through the registry
while capturing (deep copies of) the exact network and inputs the proxy's helper received, then
recomputes the value with its own forward hooks / backward passes and numpy float64 formulas
(np.corrcoef, np.linalg.eigvals, explicit cumulative gradient sums, byte-set pattern counts), without
the helpers of proxies/zoo_other.py, and returns the largest relative difference with its tolerance.
"""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from torch import nn
from torch.autograd.functional import vjp

SEED = 0
DATASET = "cifar10"


def _capture(module, name: str):
    """golden.independent.capture, imported at call time (golden.independent imports this module)."""
    from golden.independent import capture

    return capture(module, name)


def _score(spec, settings, space, cell, images):
    return spec.score(cell, space=space, data=images, settings=settings, seed=SEED, dataset=DATASET)


def _rel(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def _logits(output):
    return output.logits if hasattr(output, "logits") else output


# ---------------------------------------------------------------------------------------------
# EPE-NAS

def jacobian_by_vjp(network: nn.Module, images: torch.Tensor) -> np.ndarray:
    """d(Σ logits)/dx per sample by torch.autograd.functional.vjp with a ones cotangent (one forward of
    the batch, train-mode BN), on a copy of the network."""
    net = copy.deepcopy(network)
    with torch.no_grad():
        out_shape = _logits(copy.deepcopy(net)(images)).shape
    _, grad = vjp(lambda x: _logits(net(x)), images.clone(), torch.ones(out_shape))
    return grad.detach().double().numpy().reshape(len(images), -1)


def independent_epe(jacobian: np.ndarray, labels: np.ndarray, head: int, rule: str, k: float) -> float:
    per_class, sizes = {}, {}
    for i, label in enumerate(labels.tolist()):
        per_class.setdefault(label, []).append(jacobian[i])
    for label, rows in per_class.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.atleast_2d(np.corrcoef(np.asarray(rows)))
        per_class[label] = float(np.sum(np.log(np.abs(corr) + k)))
        sizes[label] = len(rows)
    if rule == "by_head":
        rule = "pairwise" if head > 100 else "sum"
    if rule == "sum":
        return float(sum(abs(s) for s in per_class.values()))
    normalised = {c: per_class[c] / sizes[c] for c in per_class if sizes[c] >= 2}  # references skip n = 1
    if not normalised:
        return math.nan
    return float(sum(abs(normalised[a] - normalised[b]) for a in normalised for b in normalised) / len(normalised))


def check_epe_nas(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_other as module

    diffs, jacobian_diffs, nan_agree = [], [], 0
    for cell in cells:
        with _capture(module, "input_jacobian") as jac_calls, _capture(module, "epe_nas_value") as calls:
            result = _score(spec, settings, space, cell, images)
        (net_args, _), proxy_jacobian = jac_calls[0]
        (args, _), _ = calls[0]
        jacobian, labels, head, rule, k = args
        mine = jacobian_by_vjp(net_args[0], net_args[1])
        scale = max(float(np.abs(mine).max()), 1e-30)
        jacobian_diffs.append(float(np.abs(mine - proxy_jacobian.double().numpy()).max()) / scale)
        value = independent_epe(jacobian, labels, head, rule, k)  # formula on the proxy's Jacobian (log|ρ|
        # amplifies rounding near ρ = 0); the Jacobian itself is compared with the vjp one above
        nan_agree += math.isnan(value) == math.isnan(result.value)
        if math.isfinite(result.value):
            diffs.append(_rel(value, result.value))
    return {"method": "input Jacobian d(Σ logits)/dx re-done with torch.autograd.functional.vjp on the captured "
                      "network and batch; per class numpy corrcoef, Σ log(|ρ|+k), then Σ|s_c| or the normalised "
                      "pairwise rule, in float64",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs + jacobian_diffs, default=math.nan),
            "tolerance": 1e-6, "nan_status_agrees": f"{nan_agree}/{len(cells)}",
            "max_jacobian_rel_diff": max(jacobian_diffs)}


# ---------------------------------------------------------------------------------------------
# Zen-score

def independent_zen(network: nn.Module, x: torch.Tensor, noise: torch.Tensor, settings) -> float:
    net = copy.deepcopy(network)
    feats, bn_inputs = [], []
    pool = getattr(net, "global_pooling", None)
    if pool is not None:
        site = pool.register_forward_pre_hook(lambda _m, inp: feats.append(inp[0].double().numpy()))
    else:
        site = net.cells.register_forward_hook(lambda _m, _i, out: feats.append(out.double().numpy()))
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    hooks = [m.register_forward_pre_hook(lambda _m, inp: bn_inputs.append(inp[0].double().numpy())) for m in bns]
    with torch.no_grad():
        net(x)
        for h in hooks:
            h.remove()
        net(x + settings.mixup_gamma * noise)
    site.remove()
    diff = (feats[0] - feats[1]).reshape(len(x), -1)
    norms = np.abs(diff).sum(axis=1) if settings.norm == "l1" else np.sqrt((diff ** 2).sum(axis=1))
    if settings.bn_variance == "running_var":
        variances = [m.running_var.double().numpy() for m in bns]
    else:
        variances = [a.transpose(1, 0, 2, 3).reshape(a.shape[1], -1).var(axis=1) for a in bn_inputs]
    with np.errstate(divide="ignore"):
        return float(np.log(norms.mean()) + sum(0.5 * np.log(v.mean()) for v in variances))


def check_zen(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_other as module

    diffs, status_agree = [], 0
    for cell in cells:
        with _capture(module, "zen_repeat") as calls:
            result = _score(spec, settings, space, cell, images)
        value = float(np.mean([independent_zen(*args) for (args, _), _ in calls]))
        status_agree += math.isfinite(value) == math.isfinite(result.value)
        if math.isfinite(result.value):
            diffs.append(_rel(value, result.value))
    return {"method": "own hooks on the captured network: pre-pooling features of x and x+γε, the L1 or Frobenius "
                      "norm per sample, BN running_var after both forwards or the clean pass's batch variance, "
                      "log Δ + Σ ½ log mean var, numpy float64",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs, default=math.nan), "tolerance": 1e-5,
            "finite_status_agrees": f"{status_agree}/{len(cells)}"}


# ---------------------------------------------------------------------------------------------
# ZiCo

def independent_zico(network: nn.Module, batches, accumulate: bool) -> float:
    """Per-batch gradients with fresh .grad each time; the code's accumulation as an explicit cumulative sum."""
    net = copy.deepcopy(network)
    layers = [(n, m) for n, m in net.named_modules() if type(m) in (nn.Conv2d, nn.Linear)]
    per_batch = []
    for images, labels in batches:
        for p in net.parameters():
            p.grad = None
        nn.functional.cross_entropy(_logits(net(images)), labels).backward()
        per_batch.append({n: (m.weight.grad.numpy().ravel().copy() if m.weight.grad is not None else None)
                          for n, m in layers})
    total = 0.0
    for name, _ in layers:
        rows = [b[name] for b in per_batch]
        if any(r is None for r in rows):
            continue
        # float32 running sum: the addition autograd performs when .grad is not reset (g_1, g_1 + g_2, …)
        g = (np.cumsum(np.stack(rows), axis=0, dtype=np.float32) if accumulate else np.stack(rows)).astype(np.float64)
        mean_abs = np.abs(g).mean(axis=0)
        std = np.sqrt(((g - g.mean(axis=0)) ** 2).mean(axis=0))
        ratio = sum(mean_abs[i] / std[i] for i in np.flatnonzero(std > 0))
        if ratio != 0:
            total += math.log(ratio)
    return total


def check_zico(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_other as module

    diffs = []
    for cell in cells:
        with _capture(module, "recorded_gradients") as calls:
            result = _score(spec, settings, space, cell, images)
        (args, _), _ = calls[0]
        diffs.append(_rel(independent_zico(*args), result.value))
    return {"method": "per-batch CE gradients of the captured network with .grad reset before each batch, the "
                      "authors' accumulation as an explicit float32 cumulative sum, Σ_layers log Σ mean|g|/std g over "
                      "entries with std > 0, numpy float64",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 1e-8}


# ---------------------------------------------------------------------------------------------
# MeCo

def independent_meco(network: nn.Module, x: torch.Tensor, settings, rng) -> float:
    net = copy.deepcopy(network)
    terms = []

    def hook(_module, _inputs, output):
        out = _logits(output)
        if not torch.is_tensor(out) or out.dim() < 2:
            return
        rows = out[0].detach().double().numpy()
        rows = rows.reshape(rows.shape[0], -1)
        scale = 1.0
        if settings.channel_sample is not None and rows.shape[0] >= settings.channel_sample:
            chosen = rng.choice(rows.shape[0], size=settings.channel_sample, replace=False)
            scale, rows = rows.shape[0] / settings.channel_sample, rows[chosen]
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a single column: "degrees of freedom <= 0"
            corr = np.atleast_2d(np.corrcoef(rows))
        corr[~np.isfinite(corr)] = 0.0
        terms.append(scale * float(np.min(np.real(np.linalg.eigvals(corr)))))

    modules = list(net.modules()) if settings.layer_set == "all_modules" else \
        [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    handles = [m.register_forward_hook(hook) for m in modules]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return float(sum(t for t in terms if math.isfinite(t)))


def check_meco(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_other as module

    diffs = []
    for cell in cells:
        with _capture(module, "meco_terms") as calls:
            result = _score(spec, settings, space, cell, images)
        (args, _), _ = calls[0]
        diffs.append(_rel(independent_meco(*args), result.value))
    return {"method": "own forward hooks on every module of the captured network (root logits for its NetOutput), "
                      "first sample's channels × positions, numpy corrcoef with NaN/inf → 0, min real part of "
                      "numpy.linalg.eigvals (general solver), sum, float64",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 1e-8}


# ---------------------------------------------------------------------------------------------
# SWAP

def independent_swap_count(network: nn.Module, x: torch.Tensor) -> int:
    net = copy.deepcopy(network)
    codes = []
    handles = [m.register_forward_hook(
        lambda _m, inp, out: codes.append(out.detach().numpy().reshape(len(x), -1) > 0) if inp[0].dim() == 4 else None)
        for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    patterns = np.concatenate(codes, axis=1)  # ReLU outputs are ≥ 0, so sign ∈ {0, 1} ⇔ > 0
    return len({patterns[:, j].tobytes() for j in range(patterns.shape[1])})


def check_swap(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.zoo_other as module

    diffs = []
    for cell in cells:
        with _capture(module, "relu_sign_patterns") as calls:
            result = _score(spec, settings, space, cell, images)
        counts = [independent_swap_count(*args) for (args, _), _ in calls]
        network = calls[-1][0][0][0]
        params = int(sum(np.prod(p.shape) for p in network.parameters()))
        factor = 1.0 if settings.reg_mu_k is None else \
            math.exp(-((params / 1000.0 - settings.reg_mu_k) ** 2) / settings.reg_sigma)
        diffs.append(_rel(float(np.mean(counts)) * factor, result.value))
    return {"method": "own hooks on nn.ReLU with 4-D inputs of the captured network per repeat, (output > 0) "
                      "patterns, distinct neuron columns counted as a set of bytes, mean over repeats × "
                      "exp(−(#params/1e3 − μ)²/σ) when regularised",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 1e-12}


ZOO_OTHER_CHECKS = {"epe_nas": check_epe_nas, "zen": check_zen, "zico": check_zico, "meco": check_meco,
                    "swap": check_swap}
