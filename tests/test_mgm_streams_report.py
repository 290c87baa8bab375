"""The report's MGM sample-stream study: τ between seeds within and across streams, from a `studies/*` entry."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from test_reproduce import write_fake_data_dir, write_library_table

from zcbench.proxies.registry import REGISTRY, settings_hash
from zcbench.reports.ledger import inputs as ins
from zcbench.reports.ledger import knas
from zcbench.reports.results import load_results

CELLS = list(range(11, 15625, 300))
SEEDS = (777, 888, 999)


def study_rows(values: dict[tuple[str, int], np.ndarray]) -> pd.DataFrame:
    frames = []
    for (stream, seed), v in values.items():
        settings = REGISTRY.get("mgm").settings("code64", sample_stream=stream)
        status = np.where(np.arange(len(CELLS)) == 3, "error:RuntimeError: boom", "ok")
        frames.append(pd.DataFrame({
            "space": "nb201", "arch": [str(c) for c in CELLS], "proxy": "mgm", "setting": "code64",
            "settings_hash": settings_hash(settings), "settings_json": json.dumps({"sample_stream": stream}),
            "dataset": "cifar10", "seed": seed, "score": np.where(status == "ok", v, np.nan), "status": status,
            "seconds": 0.1, "proxy_version": 1, "package_version": "0", "git_commit": "abc", "torch_version": "t",
            "device": "cpu", "data_source": "folder:images/fake[test]"}))
    return pd.concat(frames, ignore_index=True)


def test_stream_study_lists_every_seed_pair_with_its_tau_and_stays_out_of_paper_claims(tmp_path):
    write_fake_data_dir(tmp_path / "data")
    rng = np.random.default_rng(0)
    base = rng.normal(size=len(CELLS))
    values = {(stream, seed): base + rng.normal(0, 0.5, len(CELLS)) for stream in ("seeded", "knas_loader")
              for seed in SEEDS}
    write_library_table(tmp_path / "results" / "studies" / knas.STREAMS_STUDY, study_rows(values))
    inputs = ins.load_inputs(tmp_path / "data", tmp_path / "results", quick=True)
    [table] = knas.mgm_stream_section(inputs)
    frame = table.frame
    assert len(frame) == 15 and table.excluded == 6
    assert (frame["comparison"] == "between streams").sum() == 9
    row = frame[(frame["stream_a"] == "knas_loader") & (frame["seed_a"] == 777)
                & (frame["stream_b"] == "seeded") & (frame["seed_b"] == 888)].iloc[0]
    keep = np.arange(len(CELLS)) != 3
    expected = kendalltau(values["knas_loader", 777][keep], values["seeded", 888][keep]).statistic
    assert row["n"] == len(CELLS) - 1 and abs(row["kendall"] - expected) < 1e-3
    assert row["kendall_low"] <= row["kendall"] <= row["kendall_high"]
    assert "between streams: mean τ" in table.notes
    assert load_results(tmp_path / "results").empty  # a study's rows never feed a paper claim


def test_stream_study_without_results_says_how_to_compute_it(tmp_path):
    write_fake_data_dir(tmp_path / "data")
    (tmp_path / "results").mkdir()
    inputs = ins.load_inputs(tmp_path / "data", tmp_path / "results", quick=True)
    [table] = knas.mgm_stream_section(inputs)
    assert table.frame["status"].iloc[0] == "needs-results" and "sweep run" in table.frame["enable"].iloc[0]


# ---------------------------------------------------------------------------------------------
# float32 loop vs float64 (the §A4 gap over a sample of cells)

def preset_rows(preset: str, values: dict[int, np.ndarray], cells) -> pd.DataFrame:
    settings = REGISTRY.get("mgm").presets[preset]
    return pd.concat([pd.DataFrame({
        "space": "nb201", "arch": [str(c) for c in cells], "proxy": "mgm", "setting": preset,
        "settings_hash": settings_hash(settings), "dataset": "cifar10", "seed": seed, "score": v, "status": "ok",
        "seconds": 0.1, "proxy_version": 1, "package_version": "0", "git_commit": "abc", "torch_version": "t",
        "device": "cpu", "data_source": "folder:images/fake[test]"}) for seed, v in values.items()], ignore_index=True)


def test_precision_section_measures_the_float32_gap_and_float32_seed_to_seed_tau(tmp_path):
    write_fake_data_dir(tmp_path / "data")
    rng = np.random.default_rng(1)
    all_cells = list(range(0, 15625, 100))  # float64 over more cells than the float32 sample
    sample = all_cells[::3]
    float64 = rng.normal(size=len(all_cells))
    exact = pd.Series(float64, index=all_cells).loc[sample].to_numpy()
    float32 = {seed: (exact * (1 + rng.normal(0, 0.02, len(sample))) if seed == 0 else rng.normal(size=len(sample)))
               for seed in (0, 1, 2)}
    write_library_table(tmp_path / "results" / "sweeps" / "mgm64", preset_rows("code64", {0: float64}, all_cells))
    write_library_table(tmp_path / "results" / "sweeps" / "mgm32", preset_rows("code", float32, sample))
    inputs = ins.load_inputs(tmp_path / "data", tmp_path / "results", quick=True)
    [table] = knas.mgm_precision_section(inputs)
    frame = table.frame
    gap = frame[frame["comparison"] == "float32 loop vs float64"].iloc[0]
    relative = np.abs(float32[0] - exact) / np.abs(exact)
    assert gap["n"] == len(sample) and gap["seed_a"] == 0
    assert abs(gap["median_rel_diff"] - np.median(relative)) < 1e-4
    assert abs(gap["sign_agreement"] - np.mean(np.sign(float32[0]) == np.sign(exact))) < 1e-4
    assert abs(gap["kendall"] - kendalltau(float32[0], exact).statistic) < 1e-4
    pairs = frame[frame["comparison"] == "float32 loop, seed vs seed"]
    assert sorted(zip(pairs["seed_a"], pairs["seed_b"])) == [(0, 1), (0, 2), (1, 2)]


def test_precision_section_without_the_float32_sample_says_how_to_compute_it(tmp_path):
    write_fake_data_dir(tmp_path / "data")
    write_library_table(tmp_path / "results" / "sweeps" / "mgm64",
                        preset_rows("code64", {0: np.ones(3)}, [1, 2, 3]))
    inputs = ins.load_inputs(tmp_path / "data", tmp_path / "results", quick=True)
    [table] = knas.mgm_precision_section(inputs)
    assert table.frame["status"].tolist() == ["needs-results"]
    assert "nb201_mgm_code_float32_sample1000" in table.frame["enable"].iloc[0]


def test_precision_rows_count_dead_cells_instead_of_dividing_by_zero():
    float64 = pd.Series([0.0, 2.0, -4.0, 1.0], index=[1, 2, 3, 4])
    float32 = {0: pd.Series([0.0, 2.2, -4.0, 0.9], index=[1, 2, 3, 4])}
    row = knas.precision_rows(float32, {0: float64}).iloc[0]
    assert row["zero_in_float64"] == 1 and row["float32_zero_there"] == 1
    assert abs(row["median_rel_diff"] - 0.1) < 1e-12 and abs(row["max_rel_diff"] - 0.1) < 1e-12


def test_precision_counts_render_as_counts_beside_the_seed_rows():
    """The seed-vs-seed rows have no dead-cell counts; the counts of the other rows stay whole numbers."""
    from zcbench.reports.render import markdown_table

    float64 = pd.Series([0.0, 2.0, -4.0, 1.0], index=[1, 2, 3, 4])
    float32 = {s: pd.Series([0.0, 2.2, -4.0, 0.9 + s], index=[1, 2, 3, 4]) for s in (0, 1)}
    frame = knas.precision_rows(float32, {0: float64})
    first_row = markdown_table(frame).splitlines()[2].split(" | ")
    assert first_row[4:6] == ["1", "1"]
    assert np.isnan(frame["zero_in_float64"].iloc[1])
