"""Figures from tables: each function takes a table and returns a matplotlib Figure (pure: data in,
figure out; the report wires them in `reports.ledger.figures`).

matplotlib and seaborn are imported lazily with the non-interactive Agg backend and seaborn's
"whitegrid" theme, so importing `reports` needs no display.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

VERDICT_COLORS = {"reproduced": "#2e8b57", "consistent": "#3a9bbf", "deviates": "#d1495b", "indicative": "#e6a100",
                  "paper-check": "#888888"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt


def _density(ax, x, y, fig=None):
    """A hexbin density for many points (with a colour bar when `fig` is given), else a scatter."""
    if len(x) > 2000:
        art = ax.hexbin(x, y, gridsize=50, bins="log", mincnt=1, cmap="viridis")
        if fig is not None:
            fig.colorbar(art, ax=ax, label="archs (log)")
    else:
        ax.scatter(x, y, s=8, alpha=0.6)


def save_png(figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return path


def scatter(x, y, xlabel: str, ylabel: str, title: str, logx: bool = False):
    """Score vs accuracy; a hexbin density when there are many points."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4))
    x, y = np.asarray(x, float), np.asarray(y, float)
    if logx:
        x = np.log10(x)
        xlabel = f"log10 {xlabel}"
    _density(ax, x, y, fig)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


def forest(rows: pd.DataFrame):
    """Every computed claim with a numeric paper value: one panel per unit (`panel`), one line per claim.

    `rows` columns: id, panel, paper, estimate, low, high, tolerance, verdict. Our interval is the bar
    (dot = our estimate), the tolerance band the light shade around it, the paper's value the black diamond.
    """
    plt = _pyplot()
    panels = list(dict.fromkeys(rows["panel"]))
    height = max(rows.groupby("panel").size().max() * 0.24 + 1.0, 2.2)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels) + 0.6, height), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        part = rows[rows["panel"] == panel].reset_index(drop=True)
        pos = np.arange(len(part))[::-1]
        for y, row in zip(pos, part.itertuples()):
            color = VERDICT_COLORS.get(row.verdict, "#888888")
            ax.add_patch(plt.Rectangle((row.low - row.tolerance, y - 0.32), row.high - row.low + 2 * row.tolerance,
                                       0.64, color=color, alpha=0.15, lw=0))
            ax.plot([row.low, row.high], [y, y], color=color, lw=3, solid_capstyle="butt")
            ax.plot(row.estimate, y, "o", color=color, ms=4)
            ax.plot(row.paper, y, "D", mec="black", mfc="none", mew=1.2, ms=5)
        ax.set_yticks(pos, part["id"], fontsize=7)
        ax.set_ylim(-0.7, len(part) - 0.3)
        ax.set_title(panel, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    handles = [plt.Line2D([], [], color=c, lw=3, label=v) for v, c in VERDICT_COLORS.items()
               if v in set(rows["verdict"])]
    handles.append(plt.Line2D([], [], marker="D", mec="black", mfc="none", ls="", ms=5, label="paper"))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / height))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    return fig


def density_grid(panels: list[dict], ncols: int = 4):
    """Small multiples of x vs y, one panel per dict {x, y, xlabel, ylabel, title}."""
    plt = _pyplot()
    nrows = -(-len(panels) // ncols)
    ncols = min(ncols, len(panels))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        _density(ax, np.asarray(panel["x"], float), np.asarray(panel["y"], float))
        ax.set_xlabel(panel["xlabel"], fontsize=8)
        ax.set_ylabel(panel["ylabel"], fontsize=8)
        ax.set_title(panel["title"], fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def search_distributions(panels: list[dict], ncols: int = 4):
    """Histograms of simulated R-run means, one panel per dict {title, edges, counts, band, paper, ours}:
    the 95 % band shaded, the paper's mean as a black line, our exact-protocol mean dashed."""
    plt = _pyplot()
    nrows = -(-len(panels) // ncols)
    ncols = min(ncols, len(panels))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.4 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        ax.stairs(panel["counts"], panel["edges"], fill=True, color="#9bb7d4")
        ax.axvspan(*panel["band"], color="#3a9bbf", alpha=0.15, lw=0)
        ax.axvline(panel["paper"], color="black", lw=1.5)
        ax.axvline(panel["ours"], color="#d1495b", lw=1.2, ls="--")
        ax.set_title(panel["title"], fontsize=8)
        ax.set_xlabel("mean test accuracy of 5 runs (%)", fontsize=7)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
        low = min(panel["edges"][0], panel["paper"], panel["ours"])
        high = max(panel["edges"][-1], panel["paper"], panel["ours"])
        ax.set_xlim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#9bb7d4", label="simulated 5-run means"),
               plt.Rectangle((0, 0), 1, 1, color="#3a9bbf", alpha=0.3, label="95 % band"),
               plt.Line2D([], [], color="black", label="paper"),
               plt.Line2D([], [], color="#d1495b", ls="--", label="ours (seeds 1–5)")]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (2.4 * nrows)))
    return fig


def seed_spread(rows: pd.DataFrame):
    """The statistic per proxy seed (dots) for each claim (`rows`: id, seed, value), one line per claim."""
    plt = _pyplot()
    import seaborn as sns

    ids = list(dict.fromkeys(rows["id"]))
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(ids) + 1.0))
    sns.stripplot(data=rows, x="value", y="id", hue="seed", order=ids, ax=ax, size=5, jitter=False, palette="deep")
    ax.set(xlabel="Kendall τ / Spearman ρ per proxy seed", ylabel="")
    ax.legend(title="proxy seed", fontsize=7, title_fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def pruning_trajectories(rows: pd.DataFrame):
    """Supernet κ and linear regions per round of each pruning search (`rows`: run, round, kappa, regions)."""
    plt = _pyplot()
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, column, label in ((axes[0], "kappa", "supernet κ (NTK condition number)"),
                              (axes[1], "regions", "supernet linear regions R")):
        sns.lineplot(data=rows, x="round", y=column, hue="run", marker="o", ax=ax, legend=ax is axes[1])
        ax.set(xlabel="round (ops per edge before it: 4, 3, 2)", ylabel=label, xticks=sorted(set(rows["round"])))
    axes[0].set_yscale("log")
    axes[1].legend(fontsize=7, title="search", title_fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def group_bars(table: pd.DataFrame, title: str):
    """Revisit Fig. 1 layout: one panel per dataset, bars per (group, method) with std error bars; a panel
    gives slots only to the methods with results on its dataset, each method keeps its colour.

    `table` columns: dataset, group, method, mean, std.
    """
    plt = _pyplot()
    import seaborn as sns

    datasets = list(dict.fromkeys(table["dataset"]))
    methods = list(dict.fromkeys(table["method"]))
    colors = dict(zip(methods, sns.color_palette("deep", len(methods))))
    fig, axes = plt.subplots(len(datasets), 1, figsize=(9, 2.6 * len(datasets)), squeeze=False)
    for ax, dataset in zip(axes[:, 0], datasets):
        part = table[(table["dataset"] == dataset) & table["mean"].notna()]
        groups = list(dict.fromkeys(part["group"]))
        here = [m for m in methods if m in set(part["method"])]
        pos, width = np.arange(len(groups)), 0.8 / len(here)
        for k, method in enumerate(here):
            rows = part[part["method"] == method].set_index("group").reindex(groups)
            ax.bar(pos + (k - (len(here) - 1) / 2) * width, rows["mean"], width, yerr=rows["std"],
                   color=colors[method], capsize=2)
        low = np.nanmin(part["mean"] - part["std"])
        ax.set_ylim(max(0.0, low - 2), np.nanmax(part["mean"] + part["std"]) + 1)
        ax.set_xticks(pos, groups)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(f"{dataset} test acc (%)")
    fig.suptitle(title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[m], label=m) for m in methods]
    fig.legend(handles=handles, ncol=len(methods), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.95),
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def composition_bars(table: pd.DataFrame, title: str):
    """Op shares (rows = ops, columns = selections) as grouped bars (TE-NAS Fig. 4)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    pos = np.arange(len(table.index))
    width = 0.8 / len(table.columns)
    for k, column in enumerate(table.columns):
        ax.bar(pos + (k - (len(table.columns) - 1) / 2) * width, table[column], width, label=column)
    ax.set_xticks(pos, table.index, rotation=15)
    ax.set(ylabel="share of edges", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def param_classes(table: pd.DataFrame, title: str):
    """Archs per #Param value (the 28 same-#Param classes), bar heights on a log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(np.arange(len(table)), table["archs"], color="tab:blue")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(table)), [f"{p / 1e6:.2f}" for p in table["params_cifar10"]], rotation=90,
                  fontsize=7)
    ax.set(xlabel="#Param (10^6, C10 head)", ylabel="archs", title=title)
    fig.tight_layout()
    return fig


def concordance_bars(table: pd.DataFrame):
    """Kendall τ of our scores with a published column, one bar per (proxy, seed) with its bootstrap
    interval, and our own seed-to-seed τ as a marker per proxy.

    `table` columns: proxy, seed, kendall, kendall_low, kendall_high, tau_ours_seed_to_seed."""
    plt = _pyplot()
    import seaborn as sns

    proxies = list(dict.fromkeys(table.sort_values("kendall", ascending=False)["proxy"]))
    seeds = sorted(table["seed"].unique())
    colors = sns.color_palette("deep", len(seeds))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(proxies) + 2), 3.6))
    pos, width = np.arange(len(proxies)), 0.8 / len(seeds)
    for k, seed in enumerate(seeds):
        rows = table[table["seed"] == seed].set_index("proxy").reindex(proxies)
        err = np.vstack([rows["kendall"] - rows["kendall_low"], rows["kendall_high"] - rows["kendall"]])
        ax.bar(pos + (k - (len(seeds) - 1) / 2) * width, rows["kendall"], width, yerr=err, capsize=2,
               color=colors[k], label=f"vs published, our seed {seed}")
    ceiling = table.groupby("proxy")["tau_ours_seed_to_seed"].first().reindex(proxies)
    ax.scatter(pos, ceiling, marker="D", color="black", zorder=3, label="ours: seed 0 vs seed 1")
    ax.set_xticks(pos, proxies, rotation=30, ha="right")
    ax.set_ylabel("Kendall τ")
    ax.set_ylim(min(0.0, float(np.nanmin(table["kendall_low"]))) - 0.05, 1.05)
    ax.axhline(0, color="grey", lw=0.8)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig
