"""TE-NAS (Chen et al., ICLR 2021): its claims and the analyses only it needs (Fig. 4 op composition,
Fig. 9 rank sum, Fig. 10 train vs test)."""
from __future__ import annotations

import numpy as np

from zcbench.reports import plots, stats, tenas, uncertainty
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger import kinds
from zcbench.reports.ledger.core import NB201_DATASETS, SHORT, Claim, Outcome, claim_kind, ms
from zcbench.reports.ledger.cost import proxy_cost_claim, search_cost_claim
from zcbench.reports.ledger.rules import Band, Exact, Fixed, Interval, Statement, Welch
from zcbench.reports.tables import NO_TARGET, ReportTable

RESNET_ARCH = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
PRUNING_METHOD = ("TE-NAS pruning search (protocols §B1; `code` preset of benchmarks.pruning), the NB201 test "
                  "accuracy of the cell found per seed, mean (std, ddof=0) over the seeds")
DATASET_ORDER = ("cifar100", "cifar10", "imagenet16")  # the code's default first


def _kappa_and_lr_by_seed(claim, inputs):
    dataset = kinds.first_dataset_with(inputs, ["ntk", "lr1"], claim.params["datasets"])
    kappa, lr = ins.seed_scores(inputs, "ntk", dataset), ins.seed_scores(inputs, "lr1", dataset)
    seeds = ins.common_seeds([kappa, lr])
    return dataset, seeds, kappa, lr


def sign_of(interval) -> bool | None:
    """True when the interval lies above 0, False below, None when it straddles 0 (undecided)."""
    return True if interval.low > 0 else (False if interval.high < 0 else None)


def sign_text(holds: bool | None, above: str, below: str) -> str:
    """Where the interval lies, in words, for `sign_of`'s answer."""
    return {True: f"lies above 0: {above}", False: f"lies below 0: {below}",
            None: "straddles 0: one more draw could show either"}[holds]


@claim_kind("op_composition", params=("datasets",))
def compute_op_composition(claim, inputs) -> Outcome:
    """TE-NAS Fig. 4 on the archs every seed scored: the statements hold when our prediction interval for
    one new draw of the smallest margin (`tenas.composition_margin`) lies above 0, fail below, else
    undecided."""
    dataset, seeds, kappa, lr = _kappa_and_lr_by_seed(claim, inputs)
    found = [kappa[s] for s in seeds] + [lr[s] for s in seeds]
    common = ins.finite_archs([kappa[s].values for s in seeds] + [lr[s].values for s in seeds])
    columns = [np.column_stack([kappa[s].values.loc[common], lr[s].values.loc[common]]) for s in seeds]
    archs = common.to_numpy(np.int64)
    tables = {s: tenas.composition_table(kappa[s].values.loc[common], lr[s].values.loc[common]) for s in seeds}
    margins = {s: tenas.composition_margins(t) for s, t in tables.items()}
    checks = {name: all(m[name] > 0 for m in margins.values()) for name in next(iter(margins.values()))}
    is_sample = min(len(f.archs) for f in found) < ins.FULL_SPACE
    arch_sd = uncertainty.bootstrap_sd_of_seed_mean(tenas.composition_margin, columns, [archs] * len(seeds),
                                                    inputs.bootstrap_reps, inputs.seed) if is_sample else 0.0
    interval = uncertainty.seed_interval([min(m.values()) for m in margins.values()], arch_sd)
    holds = sign_of(interval)
    first = tables[seeds[0]]
    n = len(common)
    table = ReportTable("tenas-composition", f"TE-NAS Fig. 4: op shares in the top 10% ({dataset}, seed {seeds[0]})",
                        first.round(4), NO_TARGET, f"{n:,} archs with κ and R under every proxy seed",
                        kappa[seeds[0]].failed + lr[seeds[0]].failed)
    figure = ("tenas-composition", "TE-NAS Fig. 4 (ours)",
              plots.composition_bars(first, "Op shares: top 10% by κ / by R"),
              f"share of each op on the 6 edges of the top-10% archs by min κ and by max R vs the whole space; "
              f"{dataset}, proxy seed {seeds[0]}, n = {n:,}")
    _, substitute = ins.image_inputs(found)
    arch_set = kinds.arch_set_text(n, is_sample)
    where = sign_text(holds, "every statement holds", "some statement fails")
    smallest = ", ".join(f"{m:+.3f}" for m in interval.per_seed)
    closest = sorted({min(m, key=m.get) for m in margins.values()})
    return Outcome(checks, f"smallest op-share margin per proxy seed {smallest} ('{' / '.join(closest)}'); its "
                           f"{interval.level:.0%} prediction interval [{interval.low:+.3f}, {interval.high:+.3f}] "
                           f"{where} (every margin per seed: details)",
                   ins.spec(NO_TARGET, arch_set, n, kinds.excluded_count(found, n)),
                   {"ntk": kappa[seeds[0]].provenance, "lr1": lr[seeds[0]].provenance},
                   {"shares_first_seed": first.round(4).to_dict(),
                    "margins_per_seed": {str(s): m for s, m in margins.items()}, **interval.as_dict()},
                   partial=ins.caveats(inputs, found), interval=interval, holds=holds, seeds=tuple(seeds),
                   inputs=ins.evidence(dataset=dataset, target_text=NO_TARGET, arch_set=arch_set, n=n, seeds=seeds,
                                       found=found),
                   substitute=substitute, tables=[table], figures=[figure])


def rank_sum_margin(x, acc) -> float:
    """−τ(rank sum, acc) − max(|τ(κ, acc)|, |τ(R, acc)|) for columns x = (rank sum, κ, R): positive
    exactly when the rank sum (lower is better) is the stronger, negative correlate."""
    taus = [stats.kendall(x[:, j], acc) for j in range(3)]
    return -taus[0] - max(abs(taus[1]), abs(taus[2]))


@claim_kind("rank_sum", params=("datasets",))
def compute_rank_sum(claim, inputs) -> Outcome:
    """TE-NAS Fig. 9: the statement holds when our prediction interval for one new draw of the margin
    (`rank_sum_margin`) lies above 0, fails when it lies below, and is undecided when it straddles 0."""
    dataset, seeds, kappa, lr = _kappa_and_lr_by_seed(claim, inputs)
    spec, acc, note = ins.target(inputs, claim.paper, dataset)
    summed = {s: tenas.rank_sum(kappa[s].values, lr[s].values) for s in seeds}
    common = ins.finite_archs(list(summed.values()))
    columns = [np.column_stack([summed[s].loc[common], kappa[s].values.loc[common], lr[s].values.loc[common]])
               for s in seeds]
    target = acc.loc[common].to_numpy(np.float64)
    per_seed = {s: {"rank_sum": stats.kendall(x[:, 0], target), "kappa": stats.kendall(x[:, 1], target),
                    "lr1": stats.kendall(x[:, 2], target), "margin": rank_sum_margin(x, target)}
                for s, x in zip(seeds, columns)}
    found = [kappa[s] for s in seeds] + [lr[s] for s in seeds]
    is_sample = min(len(f.archs) for f in found) < ins.FULL_SPACE
    arch_sd = uncertainty.bootstrap_sd_of_seed_mean(rank_sum_margin, columns, [target] * len(seeds),
                                                    inputs.bootstrap_reps, inputs.seed) if is_sample else 0.0
    interval = uncertainty.seed_interval([t["margin"] for t in per_seed.values()], arch_sd)
    holds = sign_of(interval)
    verdict = sign_text(holds, "the rank sum is the stronger correlate", "it is not")
    _, substitute = ins.image_inputs(found)
    n = len(common)
    arch_set = kinds.arch_set_text(n, is_sample)
    margins = ", ".join(f"{m:+.3f}" for m in interval.per_seed)
    return Outcome(per_seed[seeds[0]],
                   f"margin −τ(rank sum) − max(|τ(κ)|, |τ(R)|) per proxy seed {margins}; its {interval.level:.0%} "
                   f"prediction interval [{interval.low:+.3f}, {interval.high:+.3f}] {verdict}"
                   + (f"; {note}" if note else ""),
                   ins.spec(spec.describe(), arch_set, n, 0),
                   {**ins.truth_provenance(inputs), "ntk": kappa[seeds[0]].provenance, "lr1": lr[seeds[0]].provenance},
                   {"per_seed": per_seed, **interval.as_dict()}, partial=ins.caveats(inputs, found), interval=interval,
                   holds=holds, seeds=tuple(seeds),
                   inputs=ins.evidence(dataset=dataset, target_text=spec.describe(), arch_set=arch_set,
                                       n=n, seeds=seeds, found=found, truth_version=spec.version),
                   substitute=substitute)


@claim_kind("train_test", params=("dataset",))
def compute_train_test(claim, inputs) -> Outcome:
    dataset = claim.params["dataset"]
    test_spec, test, _ = ins.target(inputs, claim.paper, dataset)
    train_spec, train, _ = ins.target(inputs, claim.paper, dataset, split="train")
    x, y, dropped = stats.paired_finite(train, test)
    tau, r = stats.kendall(x, y), stats.pearson(x, y)
    title = f"TE-NAS Fig. 10 (ours): train vs test accuracy, τ = {tau:.3f}, n = {len(x):,}"
    figure = (f"scatter-{claim.id}", title, plots.scatter(x, y, f"{dataset} final train accuracy (%)",
                                                          f"{dataset} test accuracy (%)", title),
              f"{train_spec.describe()} vs {test_spec.describe()}, all archs")
    return Outcome({"kendall_tau_b": tau, "pearson": r}, f"'strong' = τ ≥ 0.5: τ = {tau:.3f}",
                   ins.spec(f"{train_spec.describe()} vs {test_spec.describe()}", "all NB201 archs", len(x), dropped),
                   ins.truth_provenance(inputs), holds=tau >= 0.5,
                   inputs={"dataset": dataset, "target": test_spec.describe(), "benchmark_file": test_spec.version,
                           "images": "none (benchmark values)", "proxy_seeds": [], "arch_set": "all NB201 archs",
                           "n_archs": len(x), "settings_hash": {}},
                   figures=[figure])


def claims() -> list[Claim]:
    tau = Interval(0.05)
    out = [
        Claim("T1", "T1", "TE-NAS", "§3.1.1, Fig. 1", "Kendall τ(κ, test accuracy), all NB201 archs "
              "(dataset not stated; C100 preferred, as the code defaults suggest)", -0.42,
              "Kendall τ-b of raw κ (lower is better) with test accuracy over archs with finite κ, per proxy seed",
              "tau_with_accuracy", tau, {"proxy": "ntk", "datasets": DATASET_ORDER}),
        Claim("T2", "T2", "TE-NAS", "§3.1.2, Fig. 3", "Kendall τ(R, test accuracy), all NB201 archs", 0.5,
              "Kendall τ-b of LR1 with test accuracy, per proxy seed", "tau_with_accuracy", tau,
              {"proxy": "lr1", "datasets": DATASET_ORDER}),
        Claim("T3", "T3", "TE-NAS", "Fig. 4", "op composition of the top-10% archs by min κ and by max R",
              "both rich in conv3x3; R favours conv1x1; κ favours skip_connect",
              "share of each op on the 6 edges of the top-10% archs vs the whole space, every proxy seed",
              "op_composition", Statement(), {"datasets": DATASET_ORDER}),
        Claim("T4", "T4", "TE-NAS", "App. D.3, Fig. 9", "rank(κ)+rank(R) vs test accuracy",
              "stronger (negative) correlation than κ or R alone",
              "Kendall τ-b of the rank sum (κ ascending + R descending, stable ranks) with accuracy, compared "
              "with |τ| of κ and of R, every proxy seed", "rank_sum", Statement(), {"datasets": DATASET_ORDER}),
        Claim("T5", "T5", "TE-NAS", "App. E, Fig. 10", "NB201 train accuracy vs test accuracy",
              "strong correlation", "Kendall τ-b and Pearson r of final train vs test accuracy (C100); "
              "'strong' = τ ≥ 0.5", "train_test", Statement(), {"dataset": "cifar100"}),
    ]
    for ds, value in zip(NB201_DATASETS, (ms(93.9, 0.47), ms(71.24, 0.56), ms(42.38, 0.46))):
        out.append(Claim(f"T6/{ds}", "T6", "TE-NAS", "Tab. 1", f"TE-NAS pruning search, {SHORT[ds]}, 4 seeds", value,
                         PRUNING_METHOD, "pruning_search", Welch(),
                         {"dataset": ds, "criterion": "rank_sum", "runs": 4}))
    for ds, value in zip(NB201_DATASETS, (94.37, 73.51, 47.31)):
        out.append(Claim(f"T7/optimal/{ds}", "T7", "TE-NAS", "Tab. 1", f"optimal NB201 test accuracy, {SHORT[ds]}",
                         value, "maximum over all 15,625 archs of the test accuracy", "lookup_optimal", Exact(0.006),
                         {"dataset": ds}))
    for ds, value in zip(NB201_DATASETS, (ms(91.78, 1.45), ms(67.05, 2.89), ms(37.07, 6.39))):
        out.append(Claim(f"T7/naswot/{ds}", "T7", "TE-NAS", "Tab. 1 (quoted from NASWOT v1)",
                         f"NASWOT v1 (Jacobian covariance) random search N=100 × 500 runs, {SHORT[ds]}", value,
                         "NASWOT-style search: N=100 drawn WITH replacement (numpy RandomState(seed), seeds 1–500), "
                         "argmax (first in sample order), mean (std) of the picks' test accuracy",
                         "random_search", Band(), {"method": "NASWOTv1", "dataset": ds, "sampler": "with-replacement",
                                                   "runs": 500}))
    for ds, value in zip(NB201_DATASETS, (93.97, 70.86, 43.63)):
        out.append(Claim(f"T7/resnet/{ds}", "T7", "TE-NAS", "Tab. 1", f"ResNet cell test accuracy, {SHORT[ds]}",
                         value, f"test accuracy of {RESNET_ARCH}", "lookup_arch", Exact(0.006),
                         {"dataset": ds, "arch": RESNET_ARCH}))
    for claim, where, setting, variants in (
            ("T8", "App. D.1, Tab. 4", "prune with only κ / only R / both",
             (("ntk", ms(69.25, 1.29)), ("lr", ms(70.48, 0.29)), ("rank_sum", ms(71.24, 0.56)))),
            ("T9", "App. D.2, Tab. 5", "combine κ and R by min / max of ranks, sum of the changes, rank sum",
             (("min_rank", ms(70.75, 0.73)), ("max_rank", ms(70.33, 1.09)), ("value_sum", ms(70.47, 0.68)),
              ("rank_sum", ms(71.24, 0.56))))):
        for criterion, value in variants:
            out.append(Claim(f"{claim}/{criterion}", claim, "TE-NAS", where, f"C100, {setting}: {criterion}", value,
                             PRUNING_METHOD + f"; criterion {criterion} (App. D variants: our reading, no code)",
                             "pruning_search", Welch(), {"dataset": "cifar100", "criterion": criterion, "runs": 4}))
    out += [
        Claim("T10", "T10", "TE-NAS", "Tab. 2", "DARTS space, C10 search + retrain", "2.63 (0.064) % error, 3.8 M",
              "DARTS search + 600-epoch retraining", "static", Fixed("out-of-scope"), training="full"),
        Claim("T11", "T11", "TE-NAS", "Tab. 3", "ImageNet mobile setting", "26.2/8.3 and 24.5/7.5 top-1/top-5 error",
              "ImageNet retraining", "static", Fixed("out-of-scope"), training="full"),
        Claim("T12", "T12", "TE-NAS", "App. C, Fig. 8", "20,000 random DARTS archs",
              "κ and R prefer shallow-wide cells", "needs the DARTS space", "static", Fixed("out-of-scope")),
        search_cost_claim("T6/cost", "TE-NAS", "Tab. 1", "search cost of one TE-NAS pruning search (GPU-s, 1080Ti)",
                          1558),
        proxy_cost_claim("T7/naswot/cost", "TE-NAS", "Tab. 1 (quoted from NASWOT v1)",
                         "search cost of NASWOT v1, N=100 (GPU-s)", 4.8, ["naswot_v1"]),
    ]
    return out
