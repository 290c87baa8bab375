"""Short-training proxies (angle, angle_feat, loss) on tiny NB201 networks (C=4, N=1, 8 px)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from zcbench.proxies import short_train as st
from zcbench.proxies.registry import get_proxy
from zcbench.spaces.catalog import get_space
from zcbench.spaces.images import ImageSet, synthetic_imageset

MIXED = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
ONLY_SKIP_NONE = "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
TINY = {"channels": 4, "cells": 1}


@pytest.fixture(autouse=True)
def fresh_cache():
    """An empty run cache per test (torch runs one thread in every test: tests/conftest.py)."""
    st.clear_run_cache()


def colour_classes(per_class=10, classes=4, size=8, seed=0) -> ImageSet:
    """A learnable toy set: each class is one flat colour plus noise."""
    rng = np.random.default_rng(seed)
    colours = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230], [230, 230, 30]])[:classes]
    labels = np.repeat(np.arange(classes), per_class)
    images = colours[labels][:, None, None, :] + rng.integers(-20, 21, size=(len(labels), size, size, 3))
    return ImageSet("colours", np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64), classes)


def score(proxy, arch=MIXED, data=None, **overrides):
    data = data if data is not None else synthetic_imageset(n=60, size=8, num_classes=10, seed=1)
    settings = {**TINY, "classes": 3, "images_per_class": 4, "iterations": 3, **overrides}
    return get_proxy(proxy).score(arch, data=data, **settings)


def test_trainer_decreases_the_loss_on_a_learnable_toy_set():
    result = score("loss", data=colour_classes(), classes=4, images_per_class=10, iterations=15,
                   trivial_filter=False)
    assert result.ok
    first, last = result.diagnostics["loss_first"], result.value
    assert first > 1.0 and last < 0.1 * first
    assert result.diagnostics["last_accuracy"] == 1.0


def test_loss_is_the_last_iteration_loss_before_its_update():
    data = colour_classes()
    one = score("loss", data=data, classes=4, images_per_class=10, iterations=1, trivial_filter=False)
    st.clear_run_cache()
    two = score("loss", data=data, classes=4, images_per_class=10, iterations=2, trivial_filter=False)
    # iteration 1 of every run sees the same init and the same augmentation draw
    assert one.value == one.diagnostics["loss_first"] == two.diagnostics["loss_first"]
    assert two.value != two.diagnostics["loss_first"]


@pytest.mark.parametrize("untouched", [{"lr": 0.0}, {"iterations": 0}])
def test_untouched_classifier_has_angle_zero_and_cosine_one(untouched):
    paper = score("angle", angle_measure="neg_angle", trivial_filter=False, **untouched)
    assert paper.ok and paper.value == 0.0
    st.clear_run_cache()
    code = score("angle", trivial_filter=False, **untouched)
    assert code.value == pytest.approx(1.0, abs=1e-12)
    assert score("angle_feat", trivial_filter=False, **untouched).value == pytest.approx(1.0, abs=1e-12)


def test_training_moves_the_classifier_and_neg_angle_is_minus_arccos():
    code = score("angle", trivial_filter=False)
    paper = score("angle", trivial_filter=False, angle_measure="neg_angle")
    assert code.value < 0.999
    assert paper.value == pytest.approx(-math.acos(code.value), abs=1e-12)


def test_reruns_with_the_same_seed_are_bit_identical():
    values = []
    for _ in range(2):
        st.clear_run_cache()
        values.append([score(p, trivial_filter=False, seed=7) for p in ("angle", "angle_feat", "loss")])
    untimed = [[{k: v for k, v in r.diagnostics.items() if k != "train_seconds"} for r in run] for run in values]
    assert [r.value for r in values[0]] == [r.value for r in values[1]] and untimed[0] == untimed[1]
    other = score("angle", trivial_filter=False, seed=8)
    assert other.value != values[0][0].value


def test_one_training_run_serves_all_three_proxies():
    for proxy in ("angle", "loss", "angle_feat"):
        score(proxy)
    assert st.run_cache_info()["misses"] == 1 and st.run_cache_info()["hits"] == 2
    score("angle", angle_measure="neg_angle", trivial_filter=False)  # scoring fields only: same run
    assert st.run_cache_info()["misses"] == 1
    score("angle", lr=0.1)  # a training field: a new run
    score("angle", seed=3)
    assert st.run_cache_info()["misses"] == 3


def test_cached_result_equals_a_fresh_run():
    cached_first = score("angle", trivial_filter=False)
    from_cache = score("loss", trivial_filter=False)
    st.clear_run_cache()
    fresh = score("loss", trivial_filter=False)
    assert from_cache.diagnostics["cached_run"] and not fresh.diagnostics["cached_run"]
    assert from_cache.value == fresh.value and cached_first.ok


def test_filter_flags_a_cell_of_only_none_and_skip_with_the_authors_penalty():
    angle, loss = score("angle", ONLY_SKIP_NONE), score("loss", ONLY_SKIP_NONE)
    assert angle.status == loss.status == "trivial"
    assert angle.value == 0.0 and loss.value == 100.0
    for result in (angle, loss):
        rule = result.diagnostics["trivial_filter"]
        assert "only none/skip_connect" in rule["reason"] and "−100" in rule["rule"]
    assert loss.diagnostics["trivial_filter"]["measured"] == loss.diagnostics["loss_last"]
    feat = score("angle_feat", ONLY_SKIP_NONE)
    assert feat.ok and feat.diagnostics["trivial"]  # θ_feat has no penalty: reported, not replaced


def test_filter_off_reports_the_measured_values_and_names_the_reason():
    angle = score("angle", ONLY_SKIP_NONE, trivial_filter=False)
    assert angle.ok and angle.value == angle.diagnostics["classifier_cosine"]
    assert "only none/skip_connect" in angle.diagnostics["trivial"] and "trivial_filter" not in angle.diagnostics


def test_filter_fires_on_cosine_at_or_above_threshold():
    measured = score("angle", trivial_filter=False).value
    st.clear_run_cache()
    above = score("angle", trivial_cosine=measured)  # cos >= threshold → trivial
    assert above.status == "trivial" and "classifier cosine" in above.diagnostics["trivial"]
    st.clear_run_cache()
    below = score("angle", trivial_cosine=measured + 1e-9)
    assert below.ok and below.value == measured
    st.clear_run_cache()
    neg = score("angle", angle_measure="neg_angle", trivial_cosine=-1.0)
    assert neg.status == "trivial" and neg.value == pytest.approx(-math.pi / 2)  # cosine 0 as −θ


def test_network_has_settings_classes_outputs_and_set_is_c_by_m():
    result = score("angle", classes=3, images_per_class=4)
    info = result.diagnostics["proxy_set"]
    assert len(info["classes"]) == 3 and info["size"] == 12
    assert "not applicable" in info["drawn_from"]


def test_missing_split_file_is_reported_for_the_cifar10_train_set(tmp_path, monkeypatch):
    monkeypatch.setenv("ZCBENCH_DATA", str(tmp_path))
    fake_train = ImageSet("cifar10-train", np.zeros((50_000, 8, 8, 3), dtype=np.uint8),
                          np.arange(50_000) % 10, 10)
    result = score("angle", data=fake_train, iterations=1)
    assert "UNAVAILABLE" in result.diagnostics["proxy_set"]["drawn_from"]
    order = np.random.default_rng(1).permutation(50_000)
    (tmp_path / "cifar-split.txt").write_text(json.dumps(
        {"train": ["int", order[:25_000].tolist()], "valid": ["int", order[25_000:].tolist()]}))
    data_set, info = st.proxy_set_for(_context(fake_train), st.PRESETS["code"], "angle")
    assert set(info["indices"]) <= set(order[:25_000].tolist()) and len(data_set) == 100
    assert "nb201 train half" in info["drawn_from"]


def _context(data):
    from zcbench.proxies.registry import EvalContext

    space = get_space("nb201")
    return EvalContext(space, space.arch(MIXED), data, "cifar10", 0, torch.device("cpu"))


def test_feature_cosine_matches_direct_concatenation_with_pool_pseudo_weights():
    space = get_space("nb201")
    torch.manual_seed(0)
    before = space.build(space.arch(MIXED), channels=4, cells=1)
    after = space.build(space.arch(MIXED), channels=4, cells=1)  # different draw: a stand-in "after"
    w0, pool_sq = st.feature_weights(before)
    w1, _ = st.feature_weights(after)
    run = st.ShortTrainRun((), 0.0, 1.0, float(w0 @ w1), float(w0 @ w0), float(w1 @ w1), pool_sq, ())

    def direct(net, with_pool):
        parts = [p.detach().flatten().double() for name, p in net.named_parameters()
                 if name.startswith(("stem.", "cells.")) and name.endswith("weight")]
        if with_pool:  # one ones(c_in·c_out)/9 per AvgPool: one per cell (C = 4, 8, 16), one per reduction
            parts += [torch.full((n,), 1 / 9, dtype=torch.float64) for n in (4 * 4, 4 * 8, 8 * 8, 8 * 16, 16 * 16)]
        return torch.cat(parts)

    for with_pool in (False, True):
        expected = nn.functional.cosine_similarity(direct(before, with_pool), direct(after, with_pool), dim=0)
        assert run.feature_cosine(with_pool) == pytest.approx(float(expected), rel=1e-12)


def test_empty_cells_lists_cells_without_weights_or_pooling():
    space = get_space("nb201")
    trivial = space.build(space.arch(ONLY_SKIP_NONE), channels=4, cells=1)
    assert st.empty_cells(trivial) == (0, 2, 4)  # the reduction blocks (1, 3) have convs
    assert st.empty_cells(space.build(space.arch(MIXED), channels=4, cells=1)) == ()


def test_loss_with_zero_iterations_is_an_error_status():
    result = score("loss", iterations=0)
    assert result.status.startswith("error:") and "iterations" in result.status


def test_registered_metadata_and_presets():
    angle, feat, loss = (get_proxy(n) for n in ("angle", "angle_feat", "loss"))
    assert (angle.higher_is_better, feat.higher_is_better, loss.higher_is_better) == (True, False, False)
    for spec in (angle, feat, loss):
        assert spec.cost_class == "short-train" and set(spec.needs) == {"images", "labels", "gradients"}
    code, paper = angle.settings("code"), angle.settings("paper")
    assert (code.lr, code.iterations, code.classes, code.images_per_class) == (0.2, 50, 10, 10)
    assert code.trivial_filter and not paper.trivial_filter
    assert (code.init, paper.init) == ("kaiming_normal_fanin", "kaiming_uniform_fanin")
    assert (code.angle_measure, paper.angle_measure) == ("cosine", "neg_angle")


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="angle_measure = 'degrees'"):
        get_proxy("angle").settings("code", angle_measure="degrees")
    with pytest.raises(ValueError, match="init = 'he'"):
        get_proxy("angle").settings("code", init="he")


def test_no_images_is_an_error_status():
    result = get_proxy("angle").score(MIXED, **TINY)
    assert result.status.startswith("error:") and "needs images" in result.status


@pytest.mark.slow
def test_full_size_network_runs_angle_loss_and_angleloss():
    """C=16, N=5, 32 px, 10 × 10 images (2 iterations to stay short on CPU, so the cosine threshold
    is raised to 1: after 2 steps the classifier has barely moved)."""
    import pandas as pd

    from zcbench.proxies.combinations import combine

    data = synthetic_imageset(n=200, size=32, num_classes=10, seed=0)
    rows = {}
    for arch in (MIXED, ONLY_SKIP_NONE):
        results = {p: get_proxy(p).score(arch, data=data, iterations=2, trivial_cosine=1.0) for p in ("angle", "loss")}
        rows[arch] = {p: r.value for p, r in results.items()} | {f"{p}_status": r.status for p, r in results.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    assert table.loc[ONLY_SKIP_NONE, "angle_status"] == "trivial" and table.loc[MIXED, "angle_status"] == "ok"
    angleloss = combine(table, "angleloss")
    assert angleloss[MIXED] > angleloss[ONLY_SKIP_NONE]
