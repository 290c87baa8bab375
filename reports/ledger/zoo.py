"""The zero-cost zoo beside the four papers: concordance of our scores with NAS-Bench-Suite-Zero's
published NB201 table (protocols §G.15), the zoo's agreement with accuracy over NB201, and the published
τ other papers quote for these proxies.

Read from the library's `concordance/*` entries (scored in NASLib's settings, batch 32; never read by a
paper's claims) and the published table in the data directory. Per proxy and proxy seed: τ and ρ
against the published column with a bootstrap-over-cells interval, our τ with the NB201 test accuracy
on the same cells, the published column's τ with its own single-trial validation accuracy, and our
seed-to-seed τ (the ceiling any τ against another implementation's draw can reach). The τ with
accuracy that ZiCo (Li et al., ICLR'23, Tab. 1, CIFAR-10, all NB201 cells) quotes is listed as context
next to it: other settings, other cells, not judged.

The accuracy section and the `Z1/*` ledger rows read the zoo's own sweeps (preset `code`, batch 64:
`ZOO_PLANS`): τ and ρ with CIFAR-10 test accuracy per proxy seed on the archs every seed scored, with
the prediction interval of every correlation claim (seed spread + bootstrap over the sampled archs),
seed 0's all-cells value beside it, and ZiCo Tab. 1's τ as context.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from zcbench.proxies.registry import REGISTRY
from zcbench.reports import plots, stats
from zcbench.reports.concordance import OK, concordance
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger.core import Claim, Missing, claim_kind
from zcbench.reports.ledger.kinds import compute_tau_with_accuracy, seed_correlation
from zcbench.reports.ledger.rules import Fixed
from zcbench.reports.results import concordance_tables, read_table
from zcbench.reports.tables import ReportTable, as_counts
from zcbench.spaces.errors import ZcbenchError

# ZiCo Tab. 1, Kendall τ with CIFAR-10 test accuracy over NB201 (quoted as context, not a claim we check).
ZICO_TABLE1_TAU_C10 = {"grad_norm": 0.46, "snip": 0.46, "grasp": 0.37, "fisher": 0.40, "synflow": 0.54,
                       "params": 0.57, "zico": 0.61}
ZOO_PLANS = ("configs/nb201_zoo_cifar10.toml (grad_norm, snip, plain, fisher, synflow, l2_norm: all cells, seed 0), "
             "configs/nb201_zoo_sample1000.toml (grasp, zico: 1,000 cells, seed 0) and "
             "configs/nb201_zoo_seeds_sample1000.toml (all eight, seeds 1 and 2)")
ZOO_RUN = ("run `zcbench sweep run CONFIG --data-dir <data>`, then `zcbench sweep merge` with the same arguments, "
           f"for {ZOO_PLANS}")
SEEDS_CONFIG = "configs/nb201_zoo_seeds_sample1000.toml"
ACCURACY_PROXIES = ("grad_norm", "snip", "plain", "fisher", "grasp", "synflow", "l2_norm", "zico", "params")
# the zoo sweep that gives each proxy its seed 0 (seeds 1–2: nb201_zoo_seeds_sample1000)
ZOO_CONFIG = {**dict.fromkeys(("grad_norm", "snip", "plain", "fisher", "synflow", "l2_norm"), "nb201_zoo_cifar10"),
              "grasp": "nb201_zoo_sample1000", "zico": "nb201_zoo_sample1000"}
CONTEXT = Fixed("context", "ZiCo's τ for a proxy outside the four papers, in ZiCo's own settings (its batch, "
                           "inputs and benchmark file): listed beside ours, not judged")
HOW_TO_COMPUTE = ("run `zcbench sweep run configs/zoo_naslib_concordance.toml --data-dir <data>` and "
                  "`zcbench sweep merge` with the same arguments (writes results/concordance/zoo_naslib_concordance/)")
EXACT_PROXIES = ("params", "flops")  # computed here for the table's cells
COLUMNS = ["published", "proxy", "setting", "seed", "n", "kendall", "kendall_low", "kendall_high", "spearman",
           "tau_ours_seed_to_seed", "tau_ours_accuracy", "tau_published_val_accuracy", "zico_tab1_tau", "status"]


def concordance_section(inputs) -> tuple[list[ReportTable], list[tuple]]:
    """The concordance table and figure, or a one-row table that says what is missing."""
    try:
        table, n_cells, published_source, accuracy_spec = concordance_rows(inputs)
    except Missing as missing:
        frame = pd.DataFrame([{"status": missing.verdict, "enable": missing.enable}])
        return [ReportTable("zoo-concordance", "Zero-cost zoo: concordance with NAS-Bench-Suite-Zero (not computed)",
                            frame, "none", "the table's CIFAR-10 cells")], []
    computed = table[table["status"] == OK]
    notes = ("τ/ρ: our scores vs the published column on the cells both have (95 % bootstrap over cells); "
             "seed-to-seed: our seed 0 vs seed 1 (the ceiling for τ against another draw); τ with accuracy on the "
             "same cells; "
             "ZiCo Tab. 1: quoted context (all NB201 cells, the authors' settings), not judged; our inputs are "
             "CIFAR-10 test JPEGs where NASLib used a training batch")
    report_table = ReportTable("zoo-concordance", "Zero-cost zoo: concordance with NAS-Bench-Suite-Zero (CIFAR-10)",
                               table.round(3), f"{published_source}; accuracy: {accuracy_spec}",
                               f"the table's {n_cells} CIFAR-10 cells", int((table["status"] != OK).sum()), notes)
    figures = []
    if len(computed):
        figures.append(("zoo-concordance", "Concordance with NAS-Bench-Suite-Zero", plots.concordance_bars(computed),
                        "Kendall τ of our scores with the published column per proxy (bars: seeds, whiskers: 95 % "
                        "bootstrap over cells) beside our own seed-to-seed τ (markers)"))
    return [report_table], figures


def published_table(inputs) -> pd.DataFrame:
    """NAS-Bench-Suite-Zero's released table from the data directory, read once per run (Missing needs-data
    naming the file when it is absent or unreadable)."""
    from zcbench.spaces.published_scores import load_published_scores

    if "published_scores" not in inputs.memo:
        try:
            inputs.memo["published_scores"] = load_published_scores(data_dir=inputs.data_dir)
        except ZcbenchError as exc:
            inputs.memo["published_scores"] = Missing("needs-data", str(exc))
    found = inputs.memo["published_scores"]
    if isinstance(found, Missing):
        raise found
    return found


def published_val_accuracy(published: pd.DataFrame) -> pd.Series:
    """The table's own single-trial CIFAR-10 val_accuracy, by NB201 index."""
    from zcbench.spaces.published_scores import TARGET

    rows = published[(published["dataset"] == "cifar10") & (published["proxy"] == TARGET)]
    return rows.set_index("index")["value"].astype(np.float64)


def concordance_rows(inputs) -> tuple[pd.DataFrame, int, str, str]:
    """(table of COLUMNS, cells in our table, published file description, accuracy target description)."""
    paths = concordance_tables(inputs.results_dir) if inputs.results_dir else []
    if not paths:
        raise Missing("needs-results", HOW_TO_COMPUTE)
    published = published_table(inputs)
    ours = pd.concat([read_table(p) for p in paths], ignore_index=True)
    ours = ours[ours["space"] == "nb201"]
    ours = pd.concat([ours, exact_scores(sorted(ours["arch"].astype(np.int64).unique()))], ignore_index=True)
    table = concordance(ours, published, datasets=["cifar10"], reps=100 if inputs.quick else 1000, seed=inputs.seed)
    spec, accuracy, _ = ins.target(inputs, "Revisit", "cifar10")
    val_acc = published_val_accuracy(published)
    table["tau_ours_seed_to_seed"] = [seed_to_seed(ours, row) for row in table.itertuples()]
    table["tau_ours_accuracy"] = [tau_with(ours, row, accuracy) for row in table.itertuples()]
    table["tau_published_val_accuracy"] = [published_correlation(published, row.published, val_acc, stats.kendall)
                                           for row in table.itertuples()]
    table["zico_tab1_tau"] = [ZICO_TABLE1_TAU_C10.get(p, np.nan) for p in table["proxy"]]
    version = "released file" if published.attrs["release"] else "sha256 " + published.attrs["sha256"][:12]
    return (table.reindex(columns=COLUMNS), int(ours["arch"].nunique()),
            f"NAS-Bench-Suite-Zero zc_nasbench201.json ({version})", spec.describe())


def exact_scores(cells: list[int], dataset: str = "cifar10") -> pd.DataFrame:
    """#Param and FLOPs (parameter-free, analytic: no sweep needed) of the cells, as score rows."""
    rows = []
    for name in EXACT_PROXIES:
        spec = REGISTRY.get(name)
        for cell in cells:
            result = spec.score(int(cell), dataset=dataset)
            rows.append({"space": "nb201", "arch": str(cell), "proxy": name, "setting": "code", "seed": 0,
                         "dataset": dataset, "value": result.value, "status": result.status})
    return pd.DataFrame(rows)


def _values(ours: pd.DataFrame, proxy, setting, seed) -> pd.Series:
    rows = ours[(ours["proxy"] == proxy) & (ours["setting"] == setting) & (ours["seed"] == seed)
                & (ours["status"] == OK)]
    return rows.set_index(rows["arch"].astype(np.int64))["value"].astype(np.float64)


def seed_to_seed(ours: pd.DataFrame, row) -> float:
    """τ between our seed `row.seed` and the next seed of the same proxy and setting (NaN when none)."""
    seeds = sorted(ours.loc[(ours["proxy"] == row.proxy) & (ours["setting"] == row.setting), "seed"].unique())
    later = [s for s in seeds if s > row.seed] or [s for s in seeds if s < row.seed]
    if not later or pd.isna(row.seed):
        return np.nan
    return _correlation(_values(ours, row.proxy, row.setting, row.seed),
                        _values(ours, row.proxy, row.setting, later[0]))


def tau_with(ours: pd.DataFrame, row, accuracy: pd.Series) -> float:
    if pd.isna(row.seed):
        return np.nan
    return _correlation(_values(ours, row.proxy, row.setting, row.seed), accuracy)


def published_correlation(published: pd.DataFrame, measure: str, val_accuracy: pd.Series, statistic) -> float:
    """`statistic` of the published CIFAR-10 column `measure` with `val_accuracy` on the cells both have."""
    rows = published[(published["dataset"] == "cifar10") & (published["proxy"] == measure)
                     & (published["status"] == OK)]
    return _correlation(rows.set_index("index")["value"].astype(np.float64), val_accuracy, statistic)


def _correlation(x: pd.Series, y: pd.Series, statistic=stats.kendall) -> float:
    """`statistic` on the archs where both are finite; NaN with fewer than 3."""
    x_finite, y_finite, _ = stats.aligned_finite(x, y)
    return statistic(x_finite, y_finite) if len(x_finite) > 2 else np.nan


# ------------------------------------------------------------------------------------ zoo vs accuracy

@claim_kind("zoo_tau_with_accuracy", params=("proxy", "datasets"))
def compute_zoo_tau_with_accuracy(claim, inputs):
    """`tau_with_accuracy`, with the zoo's sweeps named when results are missing and no interval for a
    single draw (`one_draw`)."""
    try:
        outcome = compute_tau_with_accuracy(claim, inputs)
    except Missing as missing:
        if missing.verdict != "needs-results":
            raise
        raise Missing("needs-results", f"{missing.enable}; {ZOO_RUN}") from None
    if one_draw(claim.params["proxy"], len(outcome.seeds), outcome.details["arch_sample"]):
        outcome.interval = None
    return outcome


def one_draw(proxy: str, n_seeds: int, arch_sample: bool) -> bool:
    """One seed of a seeded proxy on every cell: its value is one draw whose spread is unknown, so no
    interval is claimed (a parameter-free proxy has none to know; on a sample the bootstrap still gives one)."""
    return n_seeds == 1 and REGISTRY.get(proxy).cost_class != "parameter-free" and not arch_sample


def claims() -> list[Claim]:
    return [Claim(f"Z1/{proxy}", "Z1", "ZiCo", "Tab. 1", f"Kendall τ({proxy}, test accuracy), all NB201 cells, "
                  "CIFAR-10, ZiCo's settings", value,
                  f"Kendall τ-b of raw {proxy} scores (preset `code`) with CIFAR-10 test accuracy per proxy seed, on "
                  "the archs every seed scored; seed 0's all-cells value in the details",
                  "zoo_tau_with_accuracy", CONTEXT, {"proxy": proxy, "datasets": ("cifar10",)})
            for proxy, value in ZICO_TABLE1_TAU_C10.items()]


def suite_rho(published: pd.DataFrame | None, val_accuracy: pd.Series | None, proxy: str) -> float:
    """Spearman ρ of NAS-Bench-Suite-Zero's released CIFAR-10 column for `proxy` with the table's own
    single-trial val_accuracy (what its Fig. 2 shows, on the released cells); NaN without one."""
    from zcbench.spaces.published_scores import published_name

    measure = published_name(proxy)
    if published is None or measure is None:
        return np.nan
    return published_correlation(published, measure, val_accuracy, stats.spearman)


def accuracy_rows(inputs, accuracy: pd.Series) -> pd.DataFrame:
    """One row per zoo proxy: n, seeds, τ and ρ with accuracy and their prediction intervals, seed 0's
    all-cells τ, ZiCo Tab. 1's τ, NAS-Bench-Suite-Zero's own ρ; a proxy without results is a row that
    says which sweep computes it."""
    try:
        published = published_table(inputs)
        val_accuracy = published_val_accuracy(published)
    except Missing:
        published = val_accuracy = None
    rows = []
    for name in ACCURACY_PROXIES:
        row = {"proxy": name, "zico_tab1_tau": ZICO_TABLE1_TAU_C10.get(name, np.nan),
               "suite_rho_val_accuracy": suite_rho(published, val_accuracy, name)}
        try:
            found = ins.seed_scores(inputs, name, "cifar10")
        except Missing as missing:
            how = f"configs/{ZOO_CONFIG[name]}.toml (notes)" if name in ZOO_CONFIG else missing.enable
            rows.append({**row, "status": missing.verdict, "enable": how})
            continue
        raw = {s: f.values for s, f in found.items()}
        truth = {s: accuracy for s in raw}
        tau, details, common = seed_correlation(inputs, raw, truth, list(found.values()))
        rho, _, _ = seed_correlation(inputs, raw, truth, list(found.values()), stats.spearman)
        whole = details["single_seed_larger_sets"].get(min(raw), {})
        first = found[min(raw)]
        single = one_draw(name, len(raw), details["arch_sample"])
        low_high = {"kendall_low": tau.low, "kendall_high": tau.high,
                    "spearman_low": rho.low, "spearman_high": rho.high}
        rows.append({**row, "setting": first.provenance["setting"], "seeds": ",".join(map(str, sorted(raw))),
                     "n": len(common), "kendall": tau.estimate, "spearman": rho.estimate,
                     **({k: np.nan for k in low_high} if single else low_high),
                     "kendall_first_seed_all_scored": whole.get("value", np.nan),
                     "n_first_seed": whole.get("n", np.nan),
                     "failed": sum(f.failed for f in found.values()),
                     "status": "one seed: no interval" if single else "computed",
                     "enable": f"proxy seeds 1–2: {SEEDS_CONFIG}" if single else ""})
    columns = ["proxy", "setting", "seeds", "n", "kendall", "kendall_low", "kendall_high", "spearman", "spearman_low",
               "spearman_high", "kendall_first_seed_all_scored", "n_first_seed", "zico_tab1_tau",
               "suite_rho_val_accuracy", "failed", "status", "enable"]
    return as_counts(pd.DataFrame(rows).reindex(columns=columns), "n_first_seed")


def accuracy_section(inputs) -> list[ReportTable]:
    """The zoo's τ and ρ with CIFAR-10 test accuracy, with intervals and seeds, beside ZiCo Tab. 1."""
    key, title = "zoo-accuracy", "Zero-cost zoo vs CIFAR-10 test accuracy (preset `code`), beside ZiCo Tab. 1"
    try:
        spec, accuracy, note = ins.target(inputs, "ZiCo", "cifar10")
    except Missing as missing:
        frame = pd.DataFrame([{"status": missing.verdict, "enable": missing.enable}])
        return [ReportTable(key, title + " (not computed)", frame, "none", "NB201 cells")]
    table = accuracy_rows(inputs, accuracy)
    notes = ("τ / ρ: mean over proxy seeds on the archs every seed scored, with the 95 % prediction interval for one "
             "new draw (seed spread + bootstrap over archs when they are a sample; none for one seed of a seeded "
             "proxy on every cell, where the spread is unknown); kendall_first_seed_all_scored: "
             "seed 0 on every arch it scored; ZiCo Tab. 1: quoted context (NATS-Bench, the authors' inputs), not "
             "judged; suite_rho_val_accuracy: Spearman ρ of NAS-Bench-Suite-Zero's released column with its own "
             "single-trial val_accuracy on the released CIFAR-10 cells (their Fig. 2 statistic, batch 32), not ours; "
             "our inputs are CIFAR-10 test JPEGs where the zero-cost-nas scripts use a training batch; to compute "
             f"a missing row: {ZOO_RUN}"
             + (f"; {note}" if note else ""))
    return [ReportTable(key, title, table.round(3), spec.describe(), "NB201 cells each proxy's sweeps scored",
                        int(table["failed"].fillna(0).sum()), notes)]
