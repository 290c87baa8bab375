"""The claims ledger: every number of the four papers (spec/claims.md ids), what we compare it with.

A `Claim` is data: paper, where, setting, published value, tolerance, how we compute our value
(`kind` + `params`, dispatched by `reports.reproduce`), and, for what a training-free suite cannot
compute, a fixed verdict with the reason. Claims with one value per dataset are split into ledger
entries `R1/cifar10`, `R1/cifar100`, … (`claim` keeps the paper's id).

Tolerances (absolute; stated per entry):
* random-search means (N=100 × R runs, R = 5 for Revisit, 500 for NASWOT): "2se" = twice the
  standard error of the difference of two R-run means, 2·√((σ_paper² + σ_ours²)/R) — ours are
  simulated runs, not the authors' runs;
* Kendall τ over a whole space: 0.05 (the papers do not state network width, batch or dataset);
* Spearman ρ over 200 sampled archs: 0.1 (sampling noise of ρ at n=200 is ≈ 0.05);
* benchmark lookups (optimal, ResNet accuracy): 0.006 (the papers round to 2 decimals).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from zcbench.spaces.errors import ZcbenchError

VERDICTS = {
    "reproduced": "computed; within the tolerance of the published value",
    "deviates": "computed; outside the tolerance (explanation given)",
    "indicative": "computed on a subset, a sample or synthetic inputs; not a test of the claim",
    "needs-data": "a benchmark or data file is missing (named in `enable`)",
    "needs-results": "proxy or search results are missing (the sweep named in `enable`)",
    "needs-training": "needs full training of networks (out of scope for a training-free suite)",
    "out-of-scope": "not on NB201/NB101 (DARTS, ImageNet, NLP) or no public code to follow",
    "context": "a number the paper quotes from other work; listed, not checked",
}
PAPERS = {
    "TE-NAS": "Chen et al., Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically "
              "Inspired Perspective (ICLR 2021)",
    "KNAS": "Xu et al., KNAS: Green Neural Architecture Search (ICML 2021)",
    "Revisit": "Yang et al., Revisiting Training-free NAS Metrics: An Efficient Training-based Method (WACV 2023)",
    "EnTranNAS": "Yang et al., Towards Improving the Consistency, Efficiency, and Flexibility of "
                 "Differentiable NAS (CVPR 2021)",
}
# Claims name proxies by their registry names: κ = `ntk`, R = `lr1`, Revisit's LR2 = `naswot`,
# NASWOT v1 = `naswot_v1`, KNAS MGM = `mgm`, Revisit's angle / loss = `angle` / `loss`.
# Which benchmark file each paper's code reads, most faithful first (protocols §D.1, §E.11).
VERSION_PREFERENCE = {"TE-NAS": ("v1_0", "v1_1", "nats"), "KNAS": ("v1_0", "v1_1", "nats"),
                      "Revisit": ("v1_1", "nats", "v1_0")}
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16")
SHORT = {"cifar10": "C10", "cifar100": "C100", "imagenet16": "IN16", "nb101": "NB101"}
RESNET_ARCH = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"

NB101_ENABLE = ("NB101 ground truth (nasbench_only108.tfrecord, `zcbench data convert nb101`) and NB101 proxy "
                "sweeps; the shared nb101 sample (500 cells, one validation run) is too small for these claims")
PRUNING_HOW = ("runs of `zcbench search prune` (TE-NAS pruning search, benchmarks.pruning) stored under "
               "<results>/tenas_prune; one search costs 324 κ evaluations (≈ 30–60 min on one CPU core here)")
ANGLELOSS_PRUNING_ENABLE = ("pruning with AngleLoss (a supernet short-trained 100 iterations per candidate, Revisit "
                            "§4.3) is not implemented: benchmarks.pruning scores candidates by κ and R only")
PRUNING_METHOD = ("TE-NAS pruning search (protocols §B1; `code` preset of benchmarks.pruning), the NB201 test "
                  "accuracy of the cell found per seed, mean (std, ddof=0) over the seeds")
EPOCH_LOG_ENABLE = ("per-epoch NB201 logs (training loss / validation accuracy at epoch 20) from the official "
                    "NAS-Bench-201-v1_0-e61699.pth; the normalized table holds final-epoch accuracies only")


def ms(mean: float, std: float) -> dict:
    return {"mean": mean, "std": std}


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    paper: str
    where: str
    setting: str
    paper_value: object  # float, {"mean", "std"}, {name: value}, or a qualitative statement
    method: str  # how we compute our value, in words
    kind: str  # compute function in reports.reproduce; "static" = fixed verdict
    tolerance: float | str | None = None
    params: dict = field(default_factory=dict)
    verdict: str | None = None  # fixed verdict for kind "static"
    enable: str = ""  # what would make a static/needs claim computable
    training: str = "none"  # none / short / full

    def __post_init__(self):
        if self.paper not in PAPERS:
            raise ValueError(f"{self.id}: unknown paper {self.paper!r}")
        if self.kind == "static" and self.verdict not in VERDICTS:
            raise ValueError(f"{self.id}: static claims need a verdict from {sorted(VERDICTS)}")


# ------------------------------------------------------------------------------------ Revisit
REVISIT_RS = {  # Table 5: method → (NB101, C10, C100, IN16) as (mean, std)
    "#Param": ("R1", [(92.58, 1.26), (93.21, 0.49), (70.15, 0.83), (41.58, 4.07)]),
    "LR1": ("R2", [(91.98, 1.31), (92.30, 1.07), (66.23, 4.96), (43.12, 2.52)]),
    "LR1+#Param": ("R3", [(92.52, 1.37), (92.96, 0.55), (69.83, 0.43), (43.71, 2.20)]),
    "NTK": ("R4", [(91.23, 1.11), (91.94, 1.70), (66.63, 4.29), (41.38, 4.88)]),
    "NTK+#Param": ("R5", [(91.48, 1.52), (93.12, 0.48), (69.82, 0.73), (42.39, 1.61)]),
    "LR2": ("R6", [(91.95, 1.16), (92.65, 0.93), (69.28, 1.40), (43.33, 2.91)]),
    "LR2+#Param": ("R7", [(92.58, 1.39), (93.33, 0.13), (70.10, 1.22), (42.83, 1.49)]),
    "AngleLoss": ("R8", [(92.86, 0.77), (84.65, 5.88), (58.06, 0.40), (28.08, 0.31)]),
    "AngleLoss+#Param": ("R9", [(93.60, 0.46), (93.46, 0.59), (70.58, 0.82), (43.74, 1.48)]),
    "AngleLoss+LR2": ("R10", [(93.47, 0.47), (93.08, 0.66), (69.62, 0.59), (43.43, 1.62)]),
}
REVISIT_TABLE1 = {  # Table 1 (rounded): method → NB101, C10, C100, IN16 (None = blank)
    "#Param": [(92.6, 1.3), (93.2, 0.5), (70.1, 0.8), (41.6, 4.1)],
    "LR1": [(91.6, 0.9), (92.3, 1.1), (66.2, 5.0), (43.1, 2.5)],
    "NTK": [(91.2, 0.9), (91.9, 1.7), (66.6, 4.3), (41.4, 4.9)],
    "LR2": [None, (92.6, 0.9), (69.3, 1.4), (43.3, 2.9)],
}
RS_METHOD_NOTE = ("random search N=100 distinct archs (Python random.sample, seeds 1–5) from all 15,625, pick "
                  "the argmax (first in sample order on ties; rank sums from proxies.combinations computed within "
                  "the sample: 0-based stable ranks, failed rows ranked last), report mean (std, ddof=0) of the "
                  "picks' test accuracy. Combinations other than AngleLoss+#Param are rank(x)+rank(#Param) by "
                  "analogy (code not released, protocols §A7).")


def _revisit_claims() -> list[Claim]:
    out = []
    for method, (cid, cells) in REVISIT_RS.items():
        training = "short" if "Angle" in method else "none"
        for column, (mean, std) in zip(("nb101",) + NB201_DATASETS, cells):
            setting = f"Tab. 5, {method}, {SHORT[column]}"
            if column == "nb101":
                out.append(Claim(f"{cid}/nb101", cid, "Revisit", "Tab. 5", setting, ms(mean, std),
                                 "random search on NB101 (accuracy = max of 3 runs at 108 epochs)", "static",
                                 verdict="needs-data", enable=NB101_ENABLE, training=training))
                continue
            out.append(Claim(f"{cid}/{column}", cid, "Revisit", "Tab. 5", setting, ms(mean, std), RS_METHOD_NOTE,
                             "random_search", "2se", {"method": method, "dataset": column}, training=training))
    out.append(Claim("R11", "R11", "Revisit", "Tab. 1 vs Tab. 5", "Tab. 1 repeats Tab. 5 rounded to 1 decimal",
                     {m: [ms(*c) if c else None for c in cells] for m, cells in REVISIT_TABLE1.items()},
                     "check every Tab. 1 cell equals the Tab. 5 cell rounded to 1 decimal (±0.05)",
                     "table_consistency"))
    for proxy, metric, value in (("lr1", "LR1", 0.46), ("ntk", "NTK (-kappa)", 0.36), ("lr2", "LR2 (naswot)", 0.62)):
        out.append(Claim(f"R12/{proxy}", "R12", "Revisit", "Tab. 2", f"Kendall τ({proxy}, #Param), NB101, 10,000 nets",
                         value, "Kendall τ-b of the proxy (higher-is-better orientation) with the stem-128 #Param "
                         "over the distinct modules of the stored NB101 sample (scripts/nb101_sample_tau.py)",
                         "nb101_sample_tau", params={"metric": metric}, enable=NB101_ENABLE))
    for label, proxy, value in (("lr1", "lr1", 0.39), ("ntk", "ntk", 0.30), ("lr2", "naswot", 0.56)):
        out.append(Claim(f"R13/{label}", "R13", "Revisit", "Tab. 2",
                         f"Kendall τ({'−κ' if proxy == 'ntk' else label.upper()}, #Param), all 15,625 NB201 nets "
                         "(dataset not stated; C10 used)", value,
                         "Kendall τ-b of the proxy (higher-is-better orientation) with C10 #Param over every arch "
                         "with a finite score, bootstrap 95% CI", "tau_with_params", 0.05,
                         {"proxy": proxy, "dataset": "cifar10"}))
    out.append(Claim("R14", "R14", "Revisit", "§3.1", "Kendall τ(LR1, LR2) on NB201 (dataset not stated; C10 used)",
                     0.56, "Kendall τ-b between the two proxies over archs where both are finite",
                     "tau_between", 0.05, {"proxies": ("lr1", "naswot"), "dataset": "cifar10"}))
    for cid, label, value in (("R15", "diff. #Param", {"theta_feat": 0.37, "theta_pred": -0.50}),
                              ("R16", "same #Param", {"theta_feat": -0.09, "theta_pred": -0.25})):
        out.append(Claim(cid, cid, "Revisit", "Tab. 3", f"Kendall with accuracy, 50 random NB201 nets fully "
                         f"trained on C10, {label}", value, "needs angles after full training", "static",
                         verdict="needs-training", enable="100 full trainings (200 epochs) on CIFAR-10",
                         training="full"))
    for part, value in (("angle", 0.20), ("loss", -0.11), ("angleloss", 0.07)):
        out.append(Claim(f"R17/{part}", "R17", "Revisit", "Tab. 4", f"Kendall τ({part}, #Param), NB201 "
                         "(evaluated set unstated; all archs, C10 used)", value,
                         "Kendall τ-b with C10 #Param; Loss metric = −loss (higher better); AngleLoss = "
                         "rank(angle)+rank(−loss) over the scored archs", "tau_with_params", 0.05,
                         {"proxy": part, "dataset": "cifar10"}, training="short"))
    out.append(Claim("R18/angleloss-best", "R18", "Revisit", "Fig. 1",
                     "8 same-#Param groups × 3 datasets, random search N=100 × 5 inside each group",
                     "AngleLoss beats LR1, LR2, NTK and random in every group",
                     "group experiment on the authors' groups (revisit_params_split.json)", "group_experiment",
                     params={"statement": "angleloss-best"}, training="short"))
    out.append(Claim("R18/lr2-below-random", "R18", "Revisit", "Fig. 1", "same experiment",
                     "LR2 is the worst metric, below random, in the groups",
                     "group experiment; LR2 mean below the random baseline in most (≥ 5 of 8) groups per dataset",
                     "group_experiment", params={"statement": "lr2-below-random"}))
    for ds, value in zip(NB201_DATASETS, (ms(93.20, 0.29), ms(70.44, 1.34), ms(42.34, 0.63))):
        out.append(Claim(f"R19/tenas/{ds}", "R19", "Revisit", "Tab. 6", f"TE-NAS† (official code re-run), {SHORT[ds]}, "
                         "5 seeds", value, PRUNING_METHOD, "pruning_search", "2se",
                         {"dataset": ds, "criterion": "rank_sum", "runs": 5}))
    out.append(Claim("R19/angleloss", "R19", "Revisit", "Tab. 6", "pruning search with AngleLoss / AngleLoss+#Param, "
                     "5 seeds", {"AngleLoss": [ms(93.16, 0.37), ms(70.48, 1.04), ms(43.04, 1.82)],
                                 "AngleLoss+#Param": [ms(93.36, 0.26), ms(70.87, 0.41), ms(43.77, 1.33)]},
                     "pruning-search runs", "static", verdict="needs-results", enable=ANGLELOSS_PRUNING_ENABLE,
                     training="short"))
    out.append(Claim("R20", "R20", "Revisit", "Tab. 6 (quoted)", "RSPS, DARTS-1st, GDAS, LGA",
                     {"RSPS": [87.66, 58.33, 31.14], "DARTS-1st": [54.30, 15.61, 16.32],
                      "GDAS": [93.61, 70.70, 41.84], "LGA": [93.94, 72.42, 45.17]},
                     "quoted from other papers", "static", verdict="context"))
    for cid, label, values in (
            ("R21", "#iters 10/25/50/75", [ms(70.22, 1.08), ms(70.33, 0.91), ms(70.58, 0.82), ms(70.37, 0.57)]),
            ("R22", "#classes 5/10/20", [ms(70.02, 0.74), ms(70.58, 0.82), ms(70.30, 0.74)]),
            ("R23", "init Kaiming-uniform / Kaiming-normal / Xavier-uniform",
             [ms(70.58, 0.82), ms(70.40, 0.70), ms(70.25, 1.00)]),
            ("R24", "images per class 5/10/20", [ms(70.26, 1.08), ms(70.58, 0.82), ms(70.28, 0.97)])):
        out.append(Claim(cid, cid, "Revisit", "Tab. 9", f"C100 pruning search with AngleLoss+#Param, {label}",
                         values, "pruning-search runs per configuration", "static", verdict="needs-results",
                         enable=ANGLELOSS_PRUNING_ENABLE, training="short"))
    out.append(Claim("R25", "R25", "Revisit", "Tab. 7", "DARTS space, C10", {"AngleLoss": 97.37, "+#Param": 97.44},
                     "DARTS search + 600-epoch retraining", "static", verdict="out-of-scope", training="full"))
    out.append(Claim("R26", "R26", "Revisit", "Tab. 8", "ImageNet (mobile setting)",
                     "C10-searched 75.3 / 74.8 top-1; ImageNet-searched 74.5 / 75.9 top-1",
                     "ImageNet retraining", "static", verdict="out-of-scope", training="full"))
    return out


# ------------------------------------------------------------------------------------ TE-NAS
def _tenas_claims() -> list[Claim]:
    out = [
        Claim("T1", "T1", "TE-NAS", "§3.1.1, Fig. 1", "Kendall τ(κ, test accuracy), all NB201 archs "
              "(dataset not stated; C100 preferred, as the code defaults suggest)", -0.42,
              "Kendall τ-b of raw κ (lower is better) with test accuracy over archs with finite κ", "tau_with_accuracy",
              0.05, {"proxy": "ntk", "datasets": ("cifar100", "cifar10", "imagenet16")}),
        Claim("T2", "T2", "TE-NAS", "§3.1.2, Fig. 3", "Kendall τ(R, test accuracy), all NB201 archs", 0.5,
              "Kendall τ-b of LR1 with test accuracy", "tau_with_accuracy", 0.05,
              {"proxy": "lr1", "datasets": ("cifar100", "cifar10", "imagenet16")}),
        Claim("T3", "T3", "TE-NAS", "Fig. 4", "op composition of the top-10% archs by min κ and by max R",
              "both rich in conv3x3; R favours conv1x1; κ favours skip_connect",
              "share of each op on the 6 edges of the top-10% archs vs the whole space", "op_composition",
              params={"datasets": ("cifar100", "cifar10", "imagenet16")}),
        Claim("T4", "T4", "TE-NAS", "App. D.3, Fig. 9", "rank(κ)+rank(R) vs test accuracy",
              "stronger (negative) correlation than κ or R alone",
              "Kendall τ-b of the rank sum (κ ascending + R descending, stable ranks) with accuracy, compared "
              "with |τ| of κ and of R", "rank_sum", params={"datasets": ("cifar100", "cifar10", "imagenet16")}),
        Claim("T5", "T5", "TE-NAS", "App. E, Fig. 10", "NB201 train accuracy vs test accuracy",
              "strong correlation", "Kendall τ-b and Pearson r of final train vs test accuracy (C100); "
              "'strong' = τ ≥ 0.5", "train_test", params={"dataset": "cifar100"}),
    ]
    for ds, value in zip(NB201_DATASETS, (ms(93.9, 0.47), ms(71.24, 0.56), ms(42.38, 0.46))):
        out.append(Claim(f"T6/{ds}", "T6", "TE-NAS", "Tab. 1", f"TE-NAS pruning search, {SHORT[ds]}, 4 seeds", value,
                         PRUNING_METHOD, "pruning_search", "2se", {"dataset": ds, "criterion": "rank_sum", "runs": 4}))
    for ds, value in zip(NB201_DATASETS, (94.37, 73.51, 47.31)):
        out.append(Claim(f"T7/optimal/{ds}", "T7", "TE-NAS", "Tab. 1", f"optimal NB201 test accuracy, {SHORT[ds]}",
                         value, "maximum over all 15,625 archs of the test accuracy", "lookup_optimal", 0.006,
                         {"dataset": ds}))
    for ds, value in zip(NB201_DATASETS, (ms(91.78, 1.45), ms(67.05, 2.89), ms(37.07, 6.39))):
        out.append(Claim(f"T7/naswot/{ds}", "T7", "TE-NAS", "Tab. 1 (quoted from NASWOT v1)",
                         f"NASWOT v1 (Jacobian covariance) random search N=100 × 500 runs, {SHORT[ds]}", value,
                         "NASWOT-style search: N=100 drawn WITH replacement (numpy RandomState(seed), seeds 1–500), "
                         "argmax (first in sample order), mean (std) of the picks' test accuracy",
                         "random_search", "2se", {"method": "NASWOTv1", "dataset": ds, "sampler": "with-replacement",
                                                  "runs": 500}))
    for ds, value in zip(NB201_DATASETS, (93.97, 70.86, 43.63)):
        out.append(Claim(f"T7/resnet/{ds}", "T7", "TE-NAS", "Tab. 1", f"ResNet cell test accuracy, {SHORT[ds]}",
                         value, f"test accuracy of {RESNET_ARCH}", "lookup_arch", 0.006,
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
                             "pruning_search", "2se", {"dataset": "cifar100", "criterion": criterion, "runs": 4}))
    out += [
        Claim("T10", "T10", "TE-NAS", "Tab. 2", "DARTS space, C10 search + retrain", "2.63 (0.064) % error, 3.8 M",
              "DARTS search + 600-epoch retraining", "static", verdict="out-of-scope", training="full"),
        Claim("T11", "T11", "TE-NAS", "Tab. 3", "ImageNet mobile setting", "26.2/8.3 and 24.5/7.5 top-1/top-5 error",
              "ImageNet retraining", "static", verdict="out-of-scope", training="full"),
        Claim("T12", "T12", "TE-NAS", "App. C, Fig. 8", "20,000 random DARTS archs",
              "κ and R prefer shallow-wide cells", "needs the DARTS space", "static", verdict="out-of-scope"),
    ]
    return out


# ------------------------------------------------------------------------------------ KNAS
def _knas_claims() -> list[Claim]:
    return [
        Claim("K1", "K1", "KNAS", "§1, Fig. 1", "Spearman ρ(MGM, validation accuracy), 200 random NB201 archs, C100",
              0.56, "Spearman ρ on 200 distinct archs (seed 0) with C100 x-valid accuracy", "spearman_sample", 0.1,
              {"proxy": "mgm", "dataset": "cifar100", "n": 200, "experiments": 1}),
        Claim("K2", "K2", "KNAS", "§1", "Spearman ρ(MGM, −training loss), same setting", 0.53,
              "needs final training loss per arch", "static", verdict="needs-data", enable=EPOCH_LOG_ENABLE),
        Claim("K3/accuracy", "K3", "KNAS", "Fig. 2", "50 experiments × 200 archs, C100, ρ with validation accuracy",
              0.55, "mean Spearman ρ over 50 samples of 200 distinct archs (seeds 0–49)", "spearman_sample", 0.1,
              {"proxy": "mgm", "dataset": "cifar100", "n": 200, "experiments": 50}),
        Claim("K3/loss", "K3", "KNAS", "Fig. 2", "50 experiments × 200 archs, C100, ρ with −training loss", 0.53,
              "needs final training loss per arch", "static", verdict="needs-data", enable=EPOCH_LOG_ENABLE),
        Claim("K4", "K4", "KNAS", "Tab. 1", "KNAS k=20",
              {"cifar10": 93.38, "cifar100": 70.78, "imagenet16": 44.63}, "MGM top-k then epoch-20 selection",
              "static", verdict="needs-data", enable=EPOCH_LOG_ENABLE + "; plus MGM sweeps for all archs"),
        Claim("K5", "K5", "KNAS", "Tab. 1", "KNAS k=40",
              {"cifar10": 93.43, "cifar100": 71.05, "imagenet16": 45.05}, "MGM top-k then epoch-20 selection",
              "static", verdict="needs-data", enable=EPOCH_LOG_ENABLE + "; plus MGM sweeps for all archs"),
        Claim("K6", "K6", "KNAS", "Tab. 1 (quoted)", "NASWOT, TE-NAS",
              {"NASWOT": [92.96, 70.03, 44.43], "TE-NAS": [93.90, 71.24, 42.38]}, "quoted", "static",
              verdict="context"),
        Claim("K7", "K7", "KNAS", "Tab. 1 (NB201 baselines)", "RS, RL, REA, BOHB, RSPS, GDAS, DARTS, ResNet",
              {"RS": [93.63, 71.28, 44.88], "REA": [93.72, 72.12, 45.01], "ResNet": [93.97, 70.86, 43.63]},
              "quoted from NB201", "static", verdict="context"),
        Claim("K8", "K8", "KNAS", "Fig. 4", "MGM vs test accuracy on C100 and IN16", "good correlations",
              "Spearman ρ of MGM with test accuracy over all scored archs; 'good' = ρ ≥ 0.5", "mgm_correlation",
              params={"datasets": ("cifar100", "imagenet16")}),
        Claim("K9", "K9", "KNAS", "Tab. 2", "MRPC / RTE vs RoBERTa-large", {"MRPC": 93.32, "RTE": 83.75},
              "NLP fine-tuning", "static", verdict="out-of-scope", training="full"),
    ]


# ------------------------------------------------------------------------------------ EnTranNAS
ENTRANNAS_TABLE2 = {"DARTS": -0.47, "P-DARTS": 0.20, "PC-DARTS": -0.07, "EnTranNAS": 0.33, "EnTranNAS-DST": 0.60}


def _entrannas_claims() -> list[Claim]:
    return [
        Claim("E1", "E1", "EnTranNAS", "Tab. 2", "Kendall τ between super-net and retrained accuracy over 6 search "
              "seeds, C10", ENTRANNAS_TABLE2,
              "consistency check: with n = 6 and no ties, τ = (C − D)/15 with C + D = 15, so 15·τ must be an "
              "odd integer; each value must be one of the attainable τ rounded to 2 decimals",
              "kendall_consistency", params={"n": 6}, training="full"),
        Claim("E2", "E2", "EnTranNAS", "Tab. 1", "super-net / child-net accuracy by Engine-cell placement",
              "all 88.29/63.97; half 87.45/65.51; last 84.02/83.35; first 86.68/86.24", "DARTS searches",
              "static", verdict="out-of-scope"),
        Claim("E3", "E3", "EnTranNAS", "Tab. 3", "memory / batch / cost", "9.0/4.5/2.6/1.5 GB; 0.73–0.06 GPU-day",
              "DARTS searches", "static", verdict="out-of-scope"),
        Claim("E4", "E4", "EnTranNAS", "Tab. 4–7", "C10 / ImageNet / VOC results", "2.53±0.06 % C10 error, …",
              "DARTS search + retraining", "static", verdict="out-of-scope", training="full"),
    ]


def all_claims() -> list[Claim]:
    """Every ledger entry, in claims.md order (TE-NAS, KNAS, Revisit, EnTranNAS)."""
    claims = _tenas_claims() + _knas_claims() + _revisit_claims() + _entrannas_claims()
    ids = [c.id for c in claims]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"duplicate claim ids: {sorted(duplicated)}")
    return claims


def select(claims: list[Claim], paper: str | None = None) -> list[Claim]:
    if paper is None:
        return claims
    names = {p.lower(): p for p in PAPERS}
    if paper.lower() not in names:
        raise ZcbenchError(f"unknown paper {paper!r}; choose from {', '.join(PAPERS)}")
    return [c for c in claims if c.paper == names[paper.lower()]]
