"""Figures from tables: each function takes a table and returns a matplotlib Figure.

matplotlib is imported lazily with the non-interactive Agg backend, so importing `reports` needs no
plotting library and no display.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
    if len(x) > 2000:
        art = ax.hexbin(x, y, gridsize=60, bins="log", mincnt=1, cmap="viridis")
        fig.colorbar(art, ax=ax, label="archs (log)")
    else:
        ax.scatter(x, y, s=8, alpha=0.6)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


def group_bars(table: pd.DataFrame, title: str):
    """Revisit Fig. 1 layout: one panel per dataset, bars per (group, method) with std error bars.

    `table` columns: dataset, group, method, mean, std.
    """
    plt = _pyplot()
    datasets = list(dict.fromkeys(table["dataset"]))
    methods = list(dict.fromkeys(table["method"]))
    fig, axes = plt.subplots(len(datasets), 1, figsize=(9, 2.8 * len(datasets)), squeeze=False)
    width = 0.8 / len(methods)
    for ax, dataset in zip(axes[:, 0], datasets):
        part = table[table["dataset"] == dataset]
        groups = list(dict.fromkeys(part["group"]))
        pos = np.arange(len(groups))
        for k, method in enumerate(methods):
            rows = part[part["method"] == method].set_index("group").reindex(groups)
            ax.bar(pos + (k - (len(methods) - 1) / 2) * width, rows["mean"], width, yerr=rows["std"],
                   label=method, capsize=2)
        low = np.nanmin(part["mean"] - part["std"])
        ax.set_ylim(max(0.0, low - 2), np.nanmax(part["mean"] + part["std"]) + 1)
        ax.set_xticks(pos, groups)
        ax.set_ylabel(f"{dataset} test acc (%)")
    axes[0, 0].set_title(title)
    axes[0, 0].legend(ncol=len(methods), fontsize=8, loc="lower right")
    fig.tight_layout()
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
