"""Independent computations of every proxy, on the exact network and inputs the proxy used.

Each `check_<proxy>` scores cells through the registry while wrapping the proxy's pure score function
(`capture`) to record its arguments, recomputes the value without the proxy's helpers (numpy,
float64, written out here) and returns the largest relative difference with its tolerance.
tests/test_independent_references.py runs them on a few cells of every proxy × preset in the default
run; tests/golden/record_goldens.py runs them before writing a golden file. The methods are listed
in record_goldens.py's docstring and in each check's `method` field.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math

import numpy as np
import torch
from torch import nn

from zcbench.spaces import nb201
from zcbench.spaces.catalog import get_space

SEED = 0
DATASET = "cifar10"
MGM_NEGLIGIBLE = 1e-10


# ---------------------------------------------------------------------------------------------
# Capturing what the proxy computed on

@contextlib.contextmanager
def capture(module, function_name: str):
    """Wrap `module.function_name` to record deep copies of its arguments (before the call) and results."""
    original = getattr(module, function_name)
    calls = []

    def wrapper(*args, **kwargs):
        snapshot = copy.deepcopy((args, kwargs))
        result = original(*args, **kwargs)
        calls.append((snapshot, result))
        return result

    setattr(module, function_name, wrapper)
    try:
        yield calls
    finally:
        setattr(module, function_name, original)


def score(spec, settings, space, cell: str, images):
    return spec.score(cell, space=space, data=images, settings=settings, seed=SEED, dataset=DATASET)


def rel_diff(a: float, b: float) -> float:
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


# ---------------------------------------------------------------------------------------------
# Independent computations

def independent_kappa(network: nn.Module, images: torch.Tensor, settings) -> float:
    """κ from an explicitly built per-sample gradient matrix, float64 numpy eigen-solve."""
    net = copy.deepcopy(network)
    weights = [p for name, p in net.named_parameters() if settings.param_name_contains in name and p.requires_grad]
    rows = []
    for n in range(images.shape[0]):
        net.zero_grad(set_to_none=True)
        getattr(net(images), settings.output)[n].sum().backward()
        rows.append(np.concatenate([p.grad.double().numpy().ravel() for p in weights if p.grad is not None]))
    G = np.stack(rows)
    eigenvalues = np.linalg.eigvalsh(G @ G.T)
    return float(eigenvalues[-1] / eigenvalues[0])


def check_ntk(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.ntk as module

    diffs = []
    for cell in cells:
        with capture(module, "ntk_condition_number") as calls:
            result = score(spec, settings, space, cell, images)
        if not result.ok or result.diagnostics["nan_rule_fired"]:
            continue  # flagged (inf/nan) or the authors' NaN → 1e5 rule: no κ to compare
        kappas = [independent_kappa(args[0], args[1], args[2]) for (args, _), _ in calls]
        diffs.append(rel_diff(float(np.mean(kappas)), result.value))
    return {"method": "Θ = G Gᵀ with G from one explicit backward per sample (zero grads, forward the batch, "
                      "backward that sample's summed logits), float64, numpy.linalg.eigvalsh; κ = λmax/λmin, "
                      "mean over repeats",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs, default=math.nan), "tolerance": 1e-2,
            "note": "the code preset eigen-solves Θ in float32, so agreement is to float32 accuracy of λmin"}


def independent_naswot(network: nn.Module, images: torch.Tensor, selection: str) -> tuple[float, int]:
    """(log|det K|, rank) from numpy binary codes of the selected modules' inputs, Hamming form."""
    net = copy.deepcopy(network)
    codes = []
    wanted = (lambda m: "ReLU" in type(m).__name__) if selection == "class_name" else \
        (lambda m: isinstance(m, nn.ReLU))
    handles = [m.register_forward_hook(lambda _m, inp, _out: codes.append(inp[0].detach().flatten(1).numpy() > 0))
               for m in net.modules() if wanted(m)]
    with torch.no_grad():
        net(images)
    for h in handles:
        h.remove()
    K = np.zeros((images.shape[0],) * 2)
    for c in codes:
        c = c.astype(np.float64)
        K += c @ c.T + (1 - c) @ (1 - c).T
    return float(np.linalg.slogdet(K)[1]), int(np.linalg.matrix_rank(K))


def check_naswot(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.naswot as module

    diffs, status_agree = [], 0
    for cell in cells:
        with capture(module, "naswot_logdet") as calls:
            result = score(spec, settings, space, cell, images)
        repeats = [independent_naswot(args[0], args[1], args[4]) for (args, _), _ in calls]
        singular = any(rank < len(args[1]) for (_, rank), ((args, _), _) in zip(repeats, calls))
        status_agree += singular == (result.status == "singular")
        if result.ok:
            diffs.append(rel_diff(float(np.mean([logdet for logdet, _ in repeats])), result.value))
    return {"method": "binary codes of the inputs of the selected ReLU modules (numpy), "
                      "K = Σ [c cᵀ + (1−c)(1−c)ᵀ] in float64, numpy.linalg.slogdet; singular ⇔ numpy rank < B",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs, default=math.nan), "tolerance": 1e-9,
            "singular_status_agrees": f"{status_agree}/{len(cells)}"}


def check_naswot_v1(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.naswot as module

    diffs = []
    for cell in cells:
        with capture(module, "jacobian_covariance_score") as calls:
            result = score(spec, settings, space, cell, images)
        if not result.ok:
            continue
        (args, _), _ = calls[0]
        J, k = args[0].double().numpy(), args[1]
        v = np.linalg.eigvalsh(np.corrcoef(J))
        diffs.append(rel_diff(float(-np.sum(np.log(v + k) + 1.0 / (v + k))), result.value))
    return {"method": "numpy corrcoef of the captured input-Jacobian rows, numpy eigvalsh, "
                      "−Σ[log(v+k) + 1/(v+k)] in float64 (the Jacobian itself is the proxy's)",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs, default=math.nan), "tolerance": 1e-8}


def independent_lr1(network: nn.Module, batches, train_mode: bool) -> int:
    net = copy.deepcopy(network).train(train_mode)
    patterns = []
    per_call = []

    def record_sign(_module, inputs, output):
        if inputs[0].dim() == 4:
            per_call.append(output.flatten(1).numpy() > 0)

    handles = [m.register_forward_hook(record_sign) for m in net.modules() if isinstance(m, nn.ReLU)]
    for batch in batches:
        per_call.clear()
        with torch.no_grad():
            net(batch)
        patterns.append(np.concatenate(per_call, axis=1))
    for h in handles:
        h.remove()
    return len(np.unique(np.concatenate(patterns), axis=0))


def check_lr1(spec, settings, space, cells, images) -> dict:
    import zcbench.proxies.linear_regions as module

    mismatches, compared = 0, 0
    for cell in cells:
        with capture(module, "count_linear_regions") as calls:
            result = score(spec, settings, space, cell, images)
        counts = [independent_lr1(args[0], args[1], args[2].train_mode) for (args, _), _ in calls]
        compared += 1
        mismatches += counts != result.diagnostics["counts"]
    return {"method": "own forward hooks on nn.ReLU (4-D inputs), sign patterns concatenated in call order, "
                      "numpy.unique(axis=0) row count per repeat, compared with the proxy's per-repeat counts",
            "cells_compared": compared, "mismatches": mismatches, "max_rel_diff": 0.0 if not mismatches else 1.0,
            "tolerance": 0.0}


def independent_mgm(network, images, labels, settings, rng) -> float:
    """The authors' loop and formula, in numpy float64."""
    net = copy.deepcopy(network).train()
    per_sample, chosen = [], None
    for x, y in zip(images, labels):
        net.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x[None]).logits, y[None]).backward()
        grads = [(name, p.grad.double().numpy().ravel()) for name, p in net.named_parameters() if p.grad is not None]
        if chosen is None:
            chosen = []
            for name, g in grads:
                if settings.max_tensors is not None and len(chosen) == settings.max_tensors:
                    break
                if g.size >= settings.min_elements:
                    entries = (np.arange(settings.entries) if settings.entry_selection == "first"
                               else rng.choice(g.size, size=settings.entries, replace=False))
                    chosen.append((name, entries))
        lookup = dict(grads)
        per_sample.append([lookup[name][entries] for name, entries in chosen])
    g = np.asarray(per_sample)  # (samples, tensors, entries)
    n = g.shape[0]
    per_tensor = []
    for t in range(g.shape[1]):
        if settings.estimator == "centred_halves":
            a, b = g[: n // 2, t, :], g[n // 2:, t, :]
            total = sum(float(np.dot(a[:, e] - a[:, e].mean(), b[:, e] - b[:, e].mean()))
                        for e in range(g.shape[2]))
            per_tensor.append(total / settings.halves_divisor)
        else:
            per_tensor.append(sum(float(np.dot(g[i, t], g[j, t])) for i in range(n) for j in range(n)) / n ** 2)
    return float(np.sum(per_tensor) if settings.aggregate == "sum" else np.mean(per_tensor))


def check_mgm(spec, settings, space, cells, images) -> dict:
    """With the proxy switched to float64 (must agree to float64 rounding: this is the check), and at the
    golden's float32 settings (reported only: float32 rounding, amplified by the centring's cancellation)."""
    import zcbench.proxies.mgm as module

    def max_diff(mgm_settings):
        diffs = []
        for cell in cells:
            with capture(module, "mgm") as calls:
                result = score(spec, mgm_settings, space, cell, images)
            (args, _), _ = calls[0]
            independent = independent_mgm(*args)
            if max(abs(independent), abs(result.value)) > MGM_NEGLIGIBLE:
                diffs.append(rel_diff(independent, result.value))
        return max(diffs), len(diffs)

    float64_diff, compared = max_diff(dataclasses.replace(settings, dtype="float64"))
    float32_diff, _ = max_diff(settings)
    return {"method": "the authors' loop (each sample alone, CE backward, registration-order walk of the "
                      "gradients, the captured entry RNG) and the centred-halves / Gram-mean formula written out "
                      "in numpy float64",
            "cells_compared": compared, "max_rel_diff": float64_diff, "tolerance": 1e-8,
            "compared_with_proxy_dtype": "float64",
            "max_rel_diff_at_golden_float32_settings": float32_diff,
            "note": f"cells with |MGM| ≤ {MGM_NEGLIGIBLE} (dead cells: zero or round-off gradients) are not compared"}


def check_params(spec, settings, space, cells, images) -> dict:
    diffs = []
    for cell in cells:
        result = score(spec, settings, space, cell, images)
        classes = result.diagnostics["num_classes"]
        network = get_space(space).build(get_space(space).arch(cell), num_classes=classes)
        counted = sum(p.numel() for p in network.parameters())
        diffs.append(rel_diff(counted / 1e6 if settings.unit == "millions" else counted, result.value))
    return {"method": "sum of parameter numels of the space's built evaluation network (NB201: C=16, N=5)",
            "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 0.0}


def closed_form_mflops(arch, size: int, classes: int, channels: int = 16, cells: int = 5) -> float:
    """Conv: H·W·C_out·C_in·k² per conv at its output size; Linear: in·out + out (bias)."""
    total = size * size * channels * 3 * 9  # stem
    for stage in range(3):
        width, hw = channels * 2 ** stage, size // 2 ** stage
        if stage:
            half = width // 2
            total += hw * hw * width * half * 9 + hw * hw * width * width * 9 + hw * hw * width * half
        convs = {"nor_conv_3x3": 9, "nor_conv_1x1": 1}
        total += cells * sum(hw * hw * width * width * convs.get(op, 0) for op in arch.ops)
    width = channels * 4
    return (total + width * classes + classes) / 1e6


def check_flops(spec, settings, space, cells, images) -> dict:
    diffs = []
    for cell in cells:
        result = score(spec, settings, space, cell, images)
        d = result.diagnostics
        diffs.append(rel_diff(closed_form_mflops(nb201.resolve_arch(cell), d["input_size"], d["num_classes"]),
                              result.value))
    return {"method": "closed form: Σ H·W·C_out·C_in·k² over stem, cell and reduction convs + classifier "
                      "in·out + out", "cells_compared": len(diffs), "max_rel_diff": max(diffs), "tolerance": 1e-12}


def independent_short_training(network: nn.Module, data, settings, rng) -> tuple[float, float, float]:
    """Full-batch SGD written out (v ← μv + g + λw; Nesterov step g + λw + μv), the same augmentation
    draws (the captured Generator); returns (classifier cosine, last loss, feature cosine without
    AvgPool pseudo-weights), cosines in float64 numpy."""
    net = copy.deepcopy(network).train()

    def features(model):
        modules = [*model.stem.modules(), *model.cells.modules()]
        return np.concatenate([m.weight.detach().double().numpy().ravel() for m in modules
                               if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))])

    def cos(a, b):
        return float(a @ b / np.sqrt((a @ a) * (b @ b)))

    classifier_before, features_before = net.classifier.weight.detach().double().numpy().ravel(), features(net)
    params = [p for p in net.parameters() if p.requires_grad]
    velocity = [None] * len(params)
    indices = np.arange(len(data))
    loss = math.nan
    for _ in range(settings.iterations):
        images, labels = data.tensors(indices, rng, augment=settings.augment)
        objective = nn.functional.cross_entropy(net(images).logits, labels)
        grads = torch.autograd.grad(objective, params)
        loss = objective.item()
        with torch.no_grad():
            for k, (p, g) in enumerate(zip(params, grads)):
                # The fused `add(x, y, alpha=a)` = x + a·y in the order torch's SGD rounds it, so a cell
                # whose training amplifies round-off (lr 0.2) still agrees to float32 precision.
                d = torch.add(g, p, alpha=settings.weight_decay)
                velocity[k] = d.clone() if velocity[k] is None else velocity[k].mul(settings.momentum).add(d)
                step = torch.add(d, velocity[k], alpha=settings.momentum) if settings.nesterov else velocity[k]
                p.add_(step, alpha=-settings.lr)
    classifier_after = net.classifier.weight.detach().double().numpy().ravel()
    return cos(classifier_before, classifier_after), loss, cos(features_before, features(net))


def check_short_train(spec, settings, space, cells, images) -> dict:
    """The shared training run, re-done by hand on the captured network, proxy set and augmentation RNG."""
    import zcbench.proxies.short_train as module

    diffs = []
    for cell in cells:
        module.clear_run_cache()
        with capture(module, "train_network") as calls:
            result = score(spec, settings, space, cell, images)
        (args, _), _ = calls[0]
        network, data, train_settings, rng = args[:4]
        classifier_cos, last_loss, feature_cos = independent_short_training(network, data, train_settings, rng)
        diffs += [rel_diff(classifier_cos, result.diagnostics["classifier_cosine"]),
                  rel_diff(last_loss, result.diagnostics["loss_last"])]
        if "feature_cosine" in result.diagnostics and not settings.feat_pool_pseudo_weights:
            diffs.append(rel_diff(feature_cos, result.diagnostics["feature_cosine"]))
    return {"method": "the training run re-done on the captured initial network, proxy set and augmentation "
                      "RNG with SGD written out (momentum, Nesterov, weight decay); classifier cosine, last "
                      "loss and (without AvgPool pseudo-weights) feature cosine compared with the diagnostics",
            "cells_compared": len(cells), "max_rel_diff": max(diffs), "tolerance": 1e-4,
            "note": "measured values are compared even where Revisit's trivial filter replaced the value; the "
                    "AvgPool pseudo-weight term of angle_feat's code preset is not checked independently"}


CHECKS = {"ntk": check_ntk, "naswot": check_naswot, "naswot_v1": check_naswot_v1, "lr1": check_lr1,
          "mgm": check_mgm, "params": check_params, "flops": check_flops,
          "angle": check_short_train, "angle_feat": check_short_train, "loss": check_short_train}


from golden.independent_zoo_gradients import CHECKS as ZOO_GRADIENT_CHECKS  # noqa: E402

CHECKS.update(ZOO_GRADIENT_CHECKS)  # grad_norm, snip, plain, grasp, fisher, synflow, l2_norm (protocols §G.1–G.8)

from golden.independent_zoo_other import ZOO_OTHER_CHECKS  # noqa: E402

CHECKS.update(ZOO_OTHER_CHECKS)  # epe_nas, zen, zico, meco, swap (protocols §G.10–G.14)


def agrees(check: dict) -> bool:
    """Whether a check compared at least one cell and stayed within its tolerance."""
    return check["cells_compared"] > 0 and check["max_rel_diff"] <= check["tolerance"]
