"""`zcbench reproduce`: the ledger from fake ground truth + fake sweep results (three proxy seeds),
checked against independent re-computations; every verdict follows its claim's rule; the HTML report
shows the ledger's numbers; missing inputs are named."""
import base64
import dataclasses
import json
import math
import random
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from zcbench.benchmarks import library, pruning
from zcbench.proxies.registry import REGISTRY, settings_hash
from zcbench.reports import ledger as rp
from zcbench.reports import render, uncertainty
from zcbench.reports.groups import ArchSet
from zcbench.reports.ledger import entrannas, figures, inputs, revisit, sections, tenas
from zcbench.reports.ledger.core import COMPUTED, VERDICTS, Missing
from zcbench.reports.ledger.enable import what_would_enable
from zcbench.reports.ledger.run import evaluate
from zcbench.spaces import nb201

N = nb201.NUM_ARCHS
PNG = b"\x89PNG\r\n\x1a\n"


def fake_space(seed=0):
    """Per-arch op counts and synthetic accuracies that grow with the conv counts."""
    rng = np.random.default_rng(seed)
    archs = nb201.all_archs()
    n3 = np.array([a.n_conv3x3 for a in archs])
    n1 = np.array([a.n_conv1x1 for a in archs])
    base = 60 + 4 * n3 + 2 * n1
    return archs, n3, n1, base, rng


def write_fake_data_dir(root):
    archs, n3, n1, base, rng = fake_space()
    table = pd.DataFrame({"index": np.arange(N), "arch": [str(a) for a in archs], "n_conv3x3": n3, "n_conv1x1": n1})
    for column, shift in (("cifar10_test_v1_0", 30), ("cifar10_test_v1_1", 30), ("cifar100_test_v1_0", 5),
                          ("cifar100_valid_v1_0", 5), ("cifar100_train_v1_0", 15), ("imagenet16_test_v1_0", -20)):
        table[column] = np.clip(base + shift + rng.normal(0, 2, N), 0, 99.9)  # the reader checks 0..100 %
    (root / "nb201").mkdir(parents=True)
    table.to_csv(root / "nb201" / "nb201.csv", index=False)
    classes = {}
    for i, (a, b) in enumerate(zip(n3, n1)):
        classes.setdefault((int(a), int(b)), []).append(i)
    keys = [(1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (4, 0)]
    (root / "revisit_params_split.json").write_text(json.dumps([classes[k] for k in keys]))
    return table


SEEDS = (0, 1, 2)


def seed_noise(seed, proxy):
    """A small per-seed change of every value (the proxy seed's draw), seed 0 unchanged."""
    return np.random.default_rng([seed, len(proxy)]).normal(0, 0.3, N) if seed else np.zeros(N)


def write_library_table(folder, frame):
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "merged.parquet")
    library.write_manifest(folder, folder.parent.name, what="fake results", tables={"merged.parquet": len(frame)})


def write_fake_results(root, archs_subset=None, data_source="folder:images/fake[train]", proxies=None):
    """A merged sweep table with every proxy the claims use, on all three datasets, proxy seeds 0–2."""
    _, n3, n1, base, rng = fake_space(1)
    idx = np.arange(N) if archs_subset is None else np.asarray(archs_subset)
    values = {
        "ntk": np.exp(5 - 0.3 * base / 10 + rng.normal(0, 0.5, N)),  # lower is better
        "lr1": 1000 + 20 * n3 + 25 * n1 + rng.normal(0, 20, N),
        "naswot": 200 + 3 * base / 10 + rng.normal(0, 2, N),
        "naswot_v1": base / 10 + rng.normal(0, 1, N),
        "angle": 0.5 + base / 400 + rng.normal(0, 0.05, N),
        "loss": 3 - base / 100 + rng.normal(0, 0.2, N),  # lower is better
        "mgm": base + rng.normal(0, 5, N),
    }
    frames = []
    for proxy, v in values.items():
        if proxies is not None and proxy not in proxies:
            continue
        for dataset in ("cifar10", "cifar100", "imagenet16"):
            status = np.where(np.arange(N) % 997 == 0, "error:RuntimeError: boom", "ok")
            for seed in SEEDS:
                value = np.where(status == "ok", v + seed_noise(seed, proxy) * np.std(v), np.nan)
                frames.append(pd.DataFrame({
                    "space": "nb201", "arch": idx.astype(str), "proxy": proxy, "setting": "code",
                    "settings_hash": settings_hash(REGISTRY.get(proxy).presets["code"]), "dataset": dataset,
                    "seed": seed, "score": value[idx], "status": status[idx], "seconds": 0.1, "proxy_version": 1,
                    "package_version": "0.1.0", "git_commit": "abc", "torch_version": "2.13", "device": "cpu",
                    "data_source": data_source}))
    write_library_table(root / "sweeps" / "sweep_a", pd.concat(frames))
    return {p: {seed: v + seed_noise(seed, p) * np.std(v) for seed in SEEDS} for p, v in values.items()}


PRUNED_ARCHS = [6111, 1, 857, 9930]  # the cells "found" by the fake searches, seeds 1–4


def write_fake_pruning_runs(results):
    """Stored searches in the `zcbench search prune` layout (listed by the folder's manifest): the code
    preset on cifar10 (4 seeds) and one run with other settings that must not be mixed in."""
    code = pruning.CODE
    other = dataclasses.replace(pruning.CODE, ntk_batch=8)
    for settings, seeds, archs in ((code, [1, 2, 3, 4], PRUNED_ARCHS), (other, [1], [0])):
        for seed, arch in zip(seeds, archs):
            path = results / pruning.run_name("cifar10", "code", settings, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            record = {"dataset": "cifar10", "setting": "code", "criterion": settings.criterion, "seed": seed,
                      "settings_hash": settings_hash(settings), "arch": arch,
                      "arch_str": str(nb201.index_to_arch(arch)),
                      "seconds": 1.0, "images": "fake test images", "nonfinite_ntk_changes": 0, "git_commit": "abc",
                      "torch_version": "t", "package_version": "p", "host": "h",
                      "rounds": [[{"kappa_origin": [100.0 / r, 90.0 / r], "regions_origin": [500 + 10 * r]}]
                                 for r in (1, 2, 3)]}
            path.write_text(json.dumps(record))
    records = {str(p.relative_to(results)): 1 for p in sorted(results.rglob("seed-*.json"))}
    library.write_manifest(results, "searches", what="fake searches", tables=records)


def no_demo(inputs):
    return [], {"proxies": [], "archs": 0, "seconds": {}}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reproduce")
    table = write_fake_data_dir(root / "data")
    values = write_fake_results(root / "results")
    write_fake_pruning_runs(root / "results" / "searches" / "tenas_prune")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sections, "synthetic_demo", no_demo)
        mp.setattr(inputs.Inputs, "bootstrap_reps", 20)  # fewer repetitions: this checks plumbing, not precision
        mp.setattr(inputs.Inputs, "simulated_means", 100)
        mp.delenv("ZCBENCH_DATA", raising=False)
        report, summary = rp.run(root / "out", data_dir=root / "data", results_dir=root / "results", quick=True)
    return {"report": report, "summary": summary, "out": root / "out", "table": table, "values": values,
            "ledger": {e["id"]: e for e in json.loads((root / "out" / "ledger.json").read_text())["claims"]}}


def test_ledger_has_one_entry_per_claim_with_a_verdict(full_run):
    ids = [c.id for c in rp.all_claims()]
    assert list(full_run["ledger"]) == ids
    for entry in full_run["ledger"].values():
        assert entry["verdict"] in VERDICTS
        if entry["verdict"] in ("needs-data", "needs-results"):
            assert entry["enable"], entry["id"]
    assert full_run["summary"].startswith(f"zcbench reproduce: {len(ids)} ledger entries")


def revisit_picks(score_of, seeds=range(1, 6)):
    """Independent re-implementation of one Revisit search per seed: argmax, first in sample order."""
    picks = []
    for seed in seeds:
        sample = random.Random(seed).sample(range(N), 100)
        best = max(score_of(i) for i in sample)
        picks.append(next(i for i in sample if score_of(i) == best))
    return picks


def test_random_search_claim_equals_an_independent_simulation(full_run):
    table, ledger = full_run["table"], full_run["ledger"]
    params = table.n_conv3x3 * 243_040 + table.n_conv1x1 * 28_000
    acc = table["cifar10_test_v1_1"]  # Revisit reads v1_1 first
    picks = revisit_picks(lambda i: params[i])
    entry = ledger["R1/cifar10"]
    assert entry["our_value"]["mean"] == pytest.approx(acc[picks].mean(), abs=1e-9)
    assert entry["our_value"]["std"] == pytest.approx(acc[picks].std(ddof=0), abs=1e-9)
    assert entry["details"]["per_proxy_seed"]["none"]["protocol_seeds_1_to_R"]["mean"] == pytest.approx(
        acc[picks].mean())
    assert "v1_1" in entry["spec"]["target"]


def test_random_search_verdicts_follow_band_and_power(full_run):
    for cid in ("R1/cifar10", "R2/cifar10", "R3/cifar10", "R6/cifar100", "R7/imagenet16"):
        entry = full_run["ledger"][cid]
        low, high = entry["interval"]["band"]
        inside = low <= entry["paper_value"]["mean"] <= high
        expected = "deviates" if not inside else "reproduced" if entry["power"] >= 0.8 else "consistent"
        assert entry["verdict"] == expected, (cid, entry["why"])
        assert f"power against a proxy-free random pick {entry['power']:.0%}" in entry["why"]
        assert entry["interval"]["simulated_means"] == 100 and entry["interval"]["runs_per_mean"] == 5
    lr1 = full_run["ledger"]["R2/cifar10"]
    assert sorted(lr1["details"]["per_proxy_seed"]) == ["0", "1", "2"] and lr1["seeds"] == [0, 1, 2]


def test_pruning_claims_read_stored_searches_of_the_code_preset(full_run):
    table, ledger = full_run["table"], full_run["ledger"]
    acc = table["cifar10_test_v1_0"][PRUNED_ARCHS]  # TE-NAS reads v1_0 first
    entry = ledger["T6/cifar10"]
    assert entry["our_value"]["mean"] == pytest.approx(acc.mean(), abs=1e-9)
    assert entry["our_value"]["std"] == pytest.approx(acc.std(ddof=0), abs=1e-9)
    assert [r["arch"] for r in entry["details"]["per_seed"]] == PRUNED_ARCHS  # the ntk_batch=8 run is not mixed in
    welch = uncertainty.welch_test(acc.to_numpy(), 93.9, 0.47, 4)
    assert entry["details"]["welch"]["p_value"] == pytest.approx(welch.p_value)
    assert entry["verdict"] == ("deviates" if welch.rejects else "reproduced")
    assert entry["interval"]["interval"] == pytest.approx([welch.low, welch.high])  # the means the test accepts
    assert "paper means it accepts" in entry["why"]
    assert "fake test images" in entry["explanation"] and entry["substitute_inputs"]
    r19 = ledger["R19/tenas/cifar10"]  # 4 of Revisit's 5 seeds: deviates only if already rejected
    assert r19["verdict"] == ("deviates" if r19["details"]["welch"]["rejects_equal_means"] else "indicative")
    assert "4 of" in r19["why"]
    runs_table = next(t for t in full_run["report"].tables if t.key == "tenas-pruning-runs")
    assert len(runs_table.frame) == 5 and "v1_0" in runs_table.target  # both settings listed, each labelled
    missing = ledger["T6/cifar100"]  # no CIFAR-100 images in the fake data directory: named before the search
    assert missing["verdict"] == "needs-data" and "cifar100 images" in missing["enable"]
    assert "zcbench search prune --dataset cifar100" in missing["enable"]


def test_rank_sum_search_with_a_lower_is_better_proxy(full_run):
    table, values = full_run["table"], full_run["values"]
    acc = table["cifar100_test_v1_0"]
    params = table.n_conv3x3 * 243_040 + table.n_conv1x1 * 28_000
    kappa = np.where(np.arange(N) % 997 == 0, np.nan, values["ntk"][0])
    picks = []
    for seed in range(1, 6):
        sample = random.Random(seed).sample(range(N), 100)
        ok = [i for i in sample if not np.isnan(kappa[i])]
        bad = [i for i in sample if np.isnan(kappa[i])]
        # 0-based ordinal ranks within the sample, ties by sample order; −κ and #Param both higher-better;
        # failed κ rows take the lowest κ ranks
        rank_k = {i: r for r, i in enumerate(bad)}
        rank_k.update({i: len(bad) + r for r, i in enumerate(sorted(ok, key=lambda i: (-kappa[i], ok.index(i))))})
        rank_p = {i: r for r, i in enumerate(sorted(sample, key=lambda i: (params[i], sample.index(i))))}
        total = {i: rank_k[i] + rank_p[i] for i in sample}
        picks.append(max(sample, key=lambda i: (total[i], -sample.index(i))))
    entry = full_run["ledger"]["R5/cifar100"]
    assert entry["details"]["per_proxy_seed"]["0"]["protocol_seeds_1_to_R"]["mean"] == pytest.approx(acc[picks].mean())
    assert entry["our_value"]["mean"] == pytest.approx(acc[picks].mean())


def test_op_composition_claim_is_judged_on_the_interval_of_its_smallest_margin(full_run):
    entry = full_run["ledger"]["T3"]
    assert entry["seeds"] == list(SEEDS) and len(entry["interval"]["per_seed"]) == len(SEEDS)
    for seed, smallest in zip(SEEDS, entry["interval"]["per_seed"]):
        assert smallest == pytest.approx(min(entry["details"]["margins_per_seed"][str(seed)].values()))
    low, high = entry["interval"]["interval"]
    expected = "reproduced" if low > 0 else "deviates" if high < 0 else "indicative"
    assert entry["verdict"] == expected, entry["why"]


def test_rank_sum_claim_is_judged_on_the_interval_of_its_margin(full_run):
    """T4: per seed, margin = −τ(rank sum) − max(|τ(κ)|, |τ(R)|) (scipy τ-b on the archs with both); the
    statement stands when the margin's prediction interval is above 0, falls below 0, else undecided."""
    table, values, entry = full_run["table"], full_run["values"], full_run["ledger"]["T4"]
    ok = np.arange(N) % 997 != 0
    acc = table["cifar100_test_v1_0"].to_numpy()[ok]
    for seed, margin in zip(entry["seeds"], entry["interval"]["per_seed"]):
        kappa, lr = values["ntk"][seed][ok], values["lr1"][seed][ok]
        summed = sps.rankdata(kappa, method="ordinal") + sps.rankdata(-lr, method="ordinal")
        taus = [sps.kendalltau(x, acc).statistic for x in (summed, kappa, lr)]
        assert margin == pytest.approx(-taus[0] - max(abs(taus[1]), abs(taus[2])), abs=2e-3)
    low, high = entry["interval"]["interval"]
    expected = "reproduced" if low > 0 else "deviates" if high < 0 else "indicative"
    assert entry["verdict"] == expected and "prediction interval" in entry["explanation"], entry["why"]


def test_kendall_claims_equal_scipy_per_seed_with_a_seed_interval(full_run):
    table, values, ledger = full_run["table"], full_run["values"], full_run["ledger"]
    ok = np.arange(N) % 997 != 0
    params = (table.n_conv3x3 * 243_040 + table.n_conv1x1 * 28_000).to_numpy()
    per_seed = [sps.kendalltau(-values["ntk"][s][ok], params[ok]).statistic for s in SEEDS]  # −κ
    entry = ledger["R13/ntk"]
    assert entry["interval"]["per_seed"] == pytest.approx(per_seed, abs=1e-12)
    expected = uncertainty.seed_interval(per_seed)  # the whole space: no arch part
    assert entry["our_value"] == pytest.approx(expected.estimate)
    assert entry["interval"]["interval"] == pytest.approx([expected.low, expected.high])
    assert entry["spec"]["excluded"] == int((~ok).sum()) and entry["inputs"]["proxy_seeds"] == [0, 1, 2]
    inside = expected.low - 0.05 <= 0.30 <= expected.high + 0.05
    assert entry["verdict"] == ("reproduced" if inside else "deviates")
    t1 = ledger["T1"]  # raw κ vs C100 test accuracy (TE-NAS prefers v1_0)
    assert t1["interval"]["per_seed"][0] == pytest.approx(
        sps.kendalltau(values["ntk"][0][ok], table["cifar100_test_v1_0"][ok]).statistic, abs=1e-12)
    assert t1["our_value"] < 0 and "cifar100_test_v1_0" in t1["spec"]["target"]


def test_a_sampled_seed_adds_the_arch_bootstrap(tmp_path, monkeypatch):
    """Seeds 1–2 on a 1,000-arch sample: the τ is taken on those archs for every seed, with a bootstrap
    part in the interval, and the entry says `sample n=…`."""
    write_fake_data_dir(tmp_path / "data")
    values = write_fake_results(tmp_path / "results", proxies=("lr1",))
    frame = pd.read_parquet(tmp_path / "results" / "sweeps" / "sweep_a" / "merged.parquet")
    sample = set(map(str, np.random.default_rng(0).choice(N, 1000, replace=False)))
    frame = frame[(frame["seed"] == 0) | frame["arch"].isin(sample)]
    (tmp_path / "results" / "sweeps" / "sweep_a" / "merged.parquet").unlink()
    import shutil

    shutil.rmtree(tmp_path / "results" / "sweeps" / "sweep_a")
    write_library_table(tmp_path / "results" / "sweeps" / "sweep_a", frame)
    monkeypatch.setattr(sections, "synthetic_demo", no_demo)
    monkeypatch.setattr(inputs.Inputs, "bootstrap_reps", 30)
    report, _ = rp.run(tmp_path / "out", data_dir=tmp_path / "data", results_dir=tmp_path / "results",
                       paper="Revisit", quick=True)
    entry = next(e for e in report.ledger if e["id"] == "R13/lr1")
    assert entry["details"]["arch_sample"] and entry["interval"]["arch_sd"] > 0
    assert entry["spec"]["n"] == len({a for a in sample if int(a) % 997})
    assert entry["spec"]["arch_set"].startswith("sample n=")
    assert entry["details"]["single_seed_larger_sets"][0]["n"] > 15_000
    assert len(values["lr1"]) == 3


def test_analyses_and_lookups_are_computed(full_run):
    ledger, table = full_run["ledger"], full_run["table"]
    assert set(ledger["T3"]["our_value"]) == {"both selections are rich in conv3x3 (share above the space's)",
                                              "R favours conv1x1 more than κ", "κ favours skip_connect more than R"}
    assert set(ledger["T4"]["our_value"]) == {"rank_sum", "kappa", "lr1", "margin"}
    assert ledger["T5"]["verdict"] in ("reproduced", "deviates")
    assert ledger["T7/optimal/cifar10"]["our_value"] == pytest.approx(table["cifar10_test_v1_0"].max())
    resnet = nb201.arch_to_index(tenas.RESNET_ARCH)
    assert ledger["T7/resnet/cifar100"]["our_value"] == pytest.approx(table["cifar100_test_v1_0"][resnet])
    assert ledger["K1"]["verdict"] in ("reproduced", "deviates") and "valid" in ledger["K1"]["spec"]["target"]
    for part in ("R18/angleloss-best", "R18/lr2-below-random"):  # judged on every proxy seed covering the groups
        entry = ledger[part]
        assert set(entry["our_value"]) == {f"proxy_seed_{s}" for s in entry["seeds"]}
        expected = ("indicative",) if len(entry["seeds"]) < 3 else ("reproduced", "deviates", "indicative")
        assert entry["verdict"] in expected, entry["why"]
    assert ledger["T7/naswot/cifar10"]["spec"]["sampler"] == "with-replacement"
    assert ledger["K2"]["verdict"] == "needs-data" and ledger["R15"]["verdict"] == "needs-training"


class LedgerRows(HTMLParser):
    """The rows with a `data-id` of each ledger table (by the table's class: `ledger computed`, `ledger full`),
    with the text of their value cells, and the sources of every image."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self._cell, self._row, self._table = {}, [], None, None, {}

    @property
    def rows(self):
        return self.tables["ledger full"]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class", ""), {})
        elif tag == "tr" and "data-id" in attrs:
            self._row = attrs
            self._table[attrs["data-id"]] = attrs
        elif tag == "td" and self._row is not None and attrs.get("class") in ("ours", "paper", "verdict", "delta"):
            self._cell = attrs["class"]
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        if self._cell:
            self._row[f"text-{self._cell}"] = self._row.get(f"text-{self._cell}", "") + data

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None


def test_html_report_shows_the_numbers_of_ledger_json(full_run):
    parser = LedgerRows()
    parser.feed((full_run["out"] / "report.html").read_text())
    ledger = full_run["ledger"]
    assert set(parser.rows) == set(ledger)
    computed = 0
    for cid, entry in ledger.items():
        row = parser.rows[cid]
        assert json.loads(row["data-our-value"]) == entry["our_value"], cid
        assert json.loads(row["data-paper-value"]) == entry["paper_value"], cid
        assert row["data-verdict"] == entry["verdict"]
        assert row.get("text-ours", "") == render.format_value(entry["our_value"]), cid
        assert row["text-verdict"] == render.verdict_label(entry), cid
        computed += entry["our_value"] is not None
    assert computed > 40
    top = parser.tables["ledger computed"]  # the computed-claims table at the top of the page
    assert list(top) == [cid for cid, e in ledger.items() if e["verdict"] in COMPUTED]
    for cid, row in top.items():
        entry = ledger[cid]
        assert json.loads(row["data-our-value"]) == entry["our_value"], cid
        assert row["text-paper"] == render.format_value(entry["paper_value"]), cid
        assert row["text-ours"] == render.format_value(entry["our_value"]), cid
        assert row["text-verdict"] == render.verdict_label(entry), cid
        ours, paper = figures.numeric(entry["our_value"]), figures.numeric(entry["paper_value"])
        if ours is not None and paper is not None:
            assert float(row["text-delta"]) == pytest.approx(ours - paper, abs=0.006), cid
    assert parser.images and all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert all(base64.b64decode(src.split(",", 1)[1])[:8] == PNG for src in parser.images)
    assert len(parser.images) == len(full_run["report"].figures)
    markdown = (full_run["out"] / "report.md").read_text()
    assert render.format_value(ledger["R1/cifar10"]["our_value"]) in markdown
    for file in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):  # every figure markdown names exists
        assert (full_run["out"] / file).read_bytes()[:8] == PNG, file


def test_report_leads_with_results_and_names_its_figures_inputs(full_run):
    report, html = full_run["report"], (full_run["out"] / "report.html").read_text()
    keys = [f["key"] for f in report.figures]
    assert keys[0] == figures.FOREST_KEY
    assert {"proxy-vs-accuracy", "lr1-vs-lr2", "search-distributions", "seed-spread", "pruning-trajectories",
            "revisit-fig1", "tenas-composition"} <= set(keys)
    assert html.index("fig-forest") < html.index("class='ledger computed'") < html.index("id='figures'")
    assert html.index("id='figures'") < html.index("class='ledger full'")  # the full ledger follows, collapsed
    for fig in report.figures:
        assert re.search(r"\d", fig["caption"]), fig["key"]  # every caption states its n
    forest = figures.forest_rows(list(full_run["ledger"].values()))
    r13 = forest.set_index("id").loc["R13/ntk"]
    assert [r13["low"], r13["high"]] == full_run["ledger"]["R13/ntk"]["interval"]["interval"]
    assert r13["panel"].startswith("Kendall") and r13["tolerance"] == 0.05


def test_report_files_carry_no_machine_specific_path(full_run):
    """The inputs live under pytest's tmp_path (an absolute /tmp/… path); no report file may name it."""
    out = full_run["out"]
    assert library.ABSOLUTE_PATH.search(str(out))  # the check below is meaningful only with such inputs
    for name in ("report.html", "report.md", "ledger.json"):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (out / name).read_text())
        assert str(out.parent) not in text, name
        assert not library.ABSOLUTE_PATH.search(text), (name, library.ABSOLUTE_PATH.search(text))


def test_cost_claims_stay_context_with_our_measured_seconds(full_run):
    ledger = full_run["ledger"]
    lr1 = ledger["R2/cost"]  # the fake sweep rows took 0.1 s each
    assert lr1["verdict"] == "context" and lr1["paper_value"] == 60
    assert lr1["our_value"] == pytest.approx(10.0) and "cpu" in lr1["inputs"]["device"]
    assert ledger["R8/cost"]["our_value"] == pytest.approx(20.0)  # angle + loss, one net each
    assert ledger["K4/cost"]["our_value"] == pytest.approx({ds: 10.0 for ds in ("cifar10", "cifar100", "imagenet16")})
    assert ledger["T6/cost"]["our_value"] == pytest.approx(1.0)  # the code-preset searches only
    assert ledger["R19/cost/angleloss"]["verdict"] == "context" and ledger["R19/cost/angleloss"]["our_value"] is None
    costs = render.cost_frame(list(ledger.values()))
    assert set(costs["id"]) == {cid for cid in ledger if "cost" in cid}


def test_what_would_enable_lists_each_missing_input_once(full_run):
    waiting = [e for e in full_run["ledger"].values() if e["verdict"] in ("needs-data", "needs-results")]
    needs = what_would_enable(waiting)
    assert len({n.what for n in needs}) == len(needs)
    assert sorted(i for n in needs for i in n.ids) == sorted(e["id"] for e in waiting)
    images = next(n for n in needs if n.what.startswith("cifar100 images"))  # the fake data has no CIFAR-100
    assert images.kind == "data" and {"T6/cifar100", "R19/tenas/cifar100"} <= set(images.ids)
    angleloss = next(n for n in needs if n.what.startswith("cifar10 images"))  # nor CIFAR-10 batches or JPEGs
    assert angleloss.ids == ["R19/angleloss/cifar10", "R19/angleloss_params/cifar10"]


def test_every_report_table_states_target_arch_set_and_exclusions(full_run):
    keys = {t.key for t in full_run["report"].tables}
    assert {"space-classes", "revisit-groups", "revisit-fig1", "tenas-composition", "revisit-table5",
            "correlations-cifar100-all", "correlations-imagenet16-iso-representatives"} <= keys
    iso = next(t for t in full_run["report"].tables if t.key == "correlations-cifar10-iso-representatives")
    assert iso.arch_set.startswith("iso-representatives (6,466 archs")
    assert set(iso.frame["proxy"]) == set(full_run["values"])
    for table in full_run["report"].tables:
        assert table.target and table.arch_set and table.excluded >= 0
    html = (full_run["out"] / "report.html").read_text()
    assert html.count("Failed rows excluded:") == len(full_run["report"].tables)


def test_partial_or_synthetic_results_make_claims_indicative(tmp_path, monkeypatch):
    write_fake_data_dir(tmp_path / "data")
    write_fake_results(tmp_path / "results", archs_subset=range(0, N, 3), data_source="synthetic(n=64)",
                       proxies=("ntk",))
    monkeypatch.setattr(sections, "synthetic_demo", no_demo)
    monkeypatch.setattr(inputs.Inputs, "bootstrap_reps", 20)
    report, _ = rp.run(tmp_path / "out", data_dir=tmp_path / "data", results_dir=tmp_path / "results",
                       paper="TE-NAS", quick=True)
    entries = {e["id"]: e for e in report.ledger}
    assert entries["T1"]["verdict"] == "indicative"  # synthetic: never reproduced, never deviates
    assert "synthetic" in entries["T1"]["why"]
    assert entries["T1"]["spec"]["arch_set"].startswith("sample n=")
    assert entries["T1"]["substitute_inputs"] == "synthetic images"
    assert entries["T7/optimal/cifar10"]["verdict"] in ("reproduced", "deviates")  # ground truth only
    assert all(e["paper"] == "TE-NAS" for e in report.ledger)
    fig1 = next(t for t in report.tables if t.key == "revisit-fig1")  # partial results: NTK left out, not a crash
    assert set(fig1.frame["method"]) == {"random"} and "NTK on cifar10 (ntk covers 1,874 of 5,625)" in fig1.notes


def test_without_inputs_everything_missing_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sections, "synthetic_demo", no_demo)
    monkeypatch.setattr(inputs, "committed_results_dir", lambda: None)
    report, summary = rp.run(tmp_path / "out", quick=True)
    entries = {e["id"]: e for e in report.ledger}
    assert entries["R1/cifar10"]["verdict"] == "needs-data"
    assert "NB201 ground truth not found" in entries["R1/cifar10"]["enable"]
    lr1 = entries["R13/lr1"]  # no images to run its sweep on: the images are named first
    assert lr1["verdict"] == "needs-data" and "'lr1'" in lr1["enable"] and "cifar10 images" in lr1["enable"]
    assert entries["E1"]["verdict"] == "paper-check" and entries["E1"]["our_value"]["DARTS"] == "-7/15"
    assert entries["R11"]["verdict"] == "paper-check" and "INCONSISTENT" in entries["R11"]["why"]
    assert any("LR1 NB101 mean: Tab. 1 91.6 vs Tab. 5 91.98" in m for m in entries["R11"]["our_value"])
    assert "needs-data" in summary and "no results found" in summary and (tmp_path / "out" / "report.html").is_file()


def test_a_missing_sweep_without_its_images_is_needs_data_naming_the_images(tmp_path, monkeypatch):
    """No CIFAR-100 batches under the data directory: a CIFAR-100 proxy claim cannot be unlocked by a
    sweep alone, so it names the image files first; a data-free proxy still only needs its sweep; the
    enable summary groups the image need per dataset."""
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    (tmp_path / "images" / "cifar10-test-jpg").mkdir(parents=True)  # the substitute CIFAR-10 folder is there
    empty = inputs.Inputs(tmp_path, None, True, 0)
    with pytest.raises(Missing) as needs_images:
        inputs.seed_scores(empty, "mgm", "cifar100")
    enable = needs_images.value.enable
    assert needs_images.value.verdict == "needs-data" and "cifar100 images for the proxies" in enable
    assert "<data-dir>/cifar-100-python" in enable and "a sweep of proxy 'mgm'" in enable
    for proxy, dataset in (("zen", "cifar100"), ("mgm", "cifar10")):  # data-free; substitute images present
        with pytest.raises(Missing) as needs_sweep:
            inputs.seed_scores(empty, proxy, dataset)
        assert needs_sweep.value.verdict == "needs-results", (proxy, dataset)
    entries = [{"id": "K1", "verdict": "needs-data", "enable": enable},
               {"id": "R8/cifar100", "verdict": "needs-data", "enable": enable.replace("'mgm'", "'angle'")}]
    (need,) = what_would_enable(entries)
    assert need.kind == "data" and need.what == "cifar100 images: mgm, angle"
    assert need.how.startswith("download cifar-100-python.tar.gz") and need.ids == ["K1", "R8/cifar100"]
    searches = [evaluate(c, empty)[0] for c in rp.all_claims() if c.id in ("T6/cifar10", "R19/tenas/cifar10")]
    assert [e["verdict"] for e in searches] == ["needs-results"] * 2  # CIFAR-10 images there: only the searches
    (search,) = what_would_enable(searches)  # 4 seeds for TE-NAS, 5 for Revisit: one command running all 5
    assert search.kind == "search" and search.how.startswith("zcbench search prune --dataset cifar10 ")
    assert search.how.endswith("--seed 5") and search.ids == ["T6/cifar10", "R19/tenas/cifar10"]


def test_attainable_kendall_values_for_six_items_are_odd_fifteenths():
    values = entrannas.attainable_kendall(6)
    assert len(values) == 16 and all(round(v * 15) % 2 == 1 for v in values)


def test_cli_reproduce_prints_the_same_summary_line_from_any_folder(tmp_path, monkeypatch, capsys):
    """The committed results are found from the repository root and from a folder outside it."""
    from zcbench.benchmarks.provenance import SOURCE_ROOT
    from zcbench.cli import main

    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    monkeypatch.setattr(sections, "synthetic_demo", no_demo)
    lines = []
    for folder in (SOURCE_ROOT, tmp_path):
        monkeypatch.chdir(folder)
        assert main(["reproduce", "--paper", "EnTranNAS", "--out", str(tmp_path / "o")]) == 0
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 1 and out[0].startswith("zcbench reproduce: 4 ledger entries")
        lines.append(out[0])
    assert lines[0] == lines[1] and "the project's committed results/" in lines[0]
    assert main(["reproduce", "--paper", "nope", "--out", str(tmp_path / "o")]) == 2


def test_shared_data_reproduces_ground_truth_claims(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sections, "synthetic_demo", no_demo)
    monkeypatch.setattr(inputs, "committed_results_dir", lambda: None)
    report, _ = rp.run(tmp_path / "out", data_dir=shared_data, quick=True)
    entries = {e["id"]: e for e in report.ledger}
    for cid in ("T7/optimal/cifar10", "T7/optimal/cifar100", "T7/optimal/imagenet16", "T7/resnet/cifar10",
                "T7/resnet/cifar100", "T7/resnet/imagenet16"):
        assert entries[cid]["verdict"] == "reproduced", (cid, entries[cid]["our_value"], entries[cid]["why"])
    for cid in ("R1/cifar10", "R1/cifar100", "R1/imagenet16"):  # #Param search: the paper's mean in our band
        assert entries[cid]["verdict"] in ("reproduced", "consistent"), (cid, entries[cid]["why"])
    assert entries["E1"]["verdict"] == "paper-check"
    html = (tmp_path / "out" / "report.html").read_text() + (tmp_path / "out" / "ledger.json").read_text()
    assert not library.ABSOLUTE_PATH.search(html), library.ABSOLUTE_PATH.search(html)
    groups = next(t for t in report.tables if t.key == "revisit-groups").frame
    assert groups["missing"].sum() == 36


@pytest.mark.parametrize("name", REGISTRY.names())
def test_demo_overrides_make_valid_settings_for_every_proxy(name):
    """The main job's synthetic demo shrinks every proxy with DEMO_OVERRIDES: each must accept them (a
    proxy with a stricter minimum broke `zcbench reproduce` once)."""
    spec = REGISTRY.get(name)
    fields = {f.name for f in dataclasses.fields(spec.settings_type)}
    spec.settings("code", **{k: v for k, v in sections.DEMO_OVERRIDES.items() if k in fields})


@pytest.mark.slow
def test_quick_run_without_data_includes_the_synthetic_demo(tmp_path, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(inputs, "committed_results_dir", lambda: None)
    report, _ = rp.run(tmp_path / "out", quick=True)
    demo = next(t for t in report.appendix if t.key == "demo-tau").frame
    assert set(demo["proxy"]) == set(REGISTRY.names())
    assert demo.set_index("proxy").loc["params", "kendall_tau_with_params"] == pytest.approx(1.0)


def test_unmerged_sweeps_are_named_not_silently_ignored(tmp_path, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    monkeypatch.setattr(sections, "synthetic_demo", no_demo)
    (tmp_path / "results" / "sweeps" / "running_sweep" / "shards").mkdir(parents=True)
    report, _ = rp.run(tmp_path / "out", results_dir=tmp_path / "results", paper="EnTranNAS")
    assert report.meta["inputs"]["unmerged_sweeps"] == ["running_sweep"]
    assert "not merged yet, so not read: running_sweep" in (tmp_path / "out" / "report.md").read_text()


def fake_replications(means: dict[str, dict[int, float]], groups: int = 8, n: int = 400, noise: float = 0.1) -> dict:
    """Simulated 5-run means around given per-method, per-seed centres (the shape `group_replications` returns)."""
    rng = np.random.default_rng(0)
    return {"cifar10": {m: {s: c + noise * rng.standard_normal((n, groups)) for s, c in per_seed.items()}
                        for m, per_seed in means.items()}}


def test_group_statement_with_one_dataset_of_results_is_indicative_not_deviating(monkeypatch):
    """Bug: LR2 scored on CIFAR-10 only made the C100/IN16 rows NaN, NaN < random counted as 'not below',
    and R18/lr2-below-random came out 'deviates' (0 groups) instead of judging CIFAR-10 alone."""
    rows = [{"dataset": ds, "group": g, "method": m, "mean": mean, "runs": 5, "failed": 0, "proxy_seed": seed}
            for ds in ("cifar10", "cifar100") for g in range(8)
            for m, mean, seed in (("random", 90.0, -1), ("LR2", 89.0 if ds == "cifar10" else math.nan, 0))]
    monkeypatch.setattr(revisit, "revisit_group_experiment", lambda inputs: (pd.DataFrame(rows), [], []))
    monkeypatch.setattr(revisit, "group_replications",
                        lambda inputs: fake_replications({"random": {-1: 90.0}, "LR2": {0: 89.0}}))
    claim = next(c for c in rp.all_claims() if c.id == "R18/lr2-below-random")
    entry, _, _ = evaluate(claim, inputs.Inputs(None, None, True, 0, revisit_groups=[]))
    assert entry["verdict"] == "indicative"
    assert entry["our_value"] == {"proxy_seed_0": {"cifar10_groups_lr2_below_random": 8}}
    assert "none for cifar100" in entry["why"] and "seed 0: C10 8" in entry["explanation"]


def fig1_rows(lr2_by_seed: dict[int, float]) -> pd.DataFrame:
    """A CIFAR-10 Fig. 1 experiment: random at 90 in every group, LR2 at the given mean per proxy seed."""
    return pd.DataFrame([{"dataset": "cifar10", "group": g, "method": m, "mean": mean, "runs": 5, "failed": 0,
                          "proxy_seed": seed} for g in range(8)
                         for m, mean, seed in [("random", 90.0, -1)] + [("LR2", v, s) for s, v in lr2_by_seed.items()]])


@pytest.mark.parametrize("lr2_by_seed,verdict,band", [({0: 89.0, 1: 89.5, 2: 88.0}, "reproduced", [8, 8]),
                                                       ({0: 91.0, 1: 91.5, 2: 92.0}, "deviates", [0, 0]),
                                                       ({0: 89.0, 1: 91.0, 2: 89.0}, "indicative", [0, 8]),
                                                       ({0: 90.0, 1: 90.0, 2: 90.0}, "indicative", None),
                                                       ({0: 89.0, 1: 89.0}, "indicative", [8, 8])])
def test_group_statement_is_judged_on_replications_of_the_experiment(monkeypatch, lr2_by_seed, verdict, band):
    """R18: the count of groups where LR2 is below random gets a band over simulated replications of the
    whole experiment (proxy seed drawn per replication); the statement stands when the band's low end
    reaches 5 of 8, falls when its high end does not, and is undecided in between (seeds that disagree,
    or LR2 level with random); with fewer than 3 seeds it stays indicative."""
    monkeypatch.setattr(revisit, "revisit_group_experiment", lambda inputs: (fig1_rows(lr2_by_seed), [], []))
    monkeypatch.setattr(revisit, "group_replications",
                        lambda inputs: fake_replications({"random": {-1: 90.0}, "LR2": lr2_by_seed}))
    claim = next(c for c in rp.all_claims() if c.id == "R18/lr2-below-random")
    entry, _, _ = evaluate(claim, inputs.Inputs(None, None, True, 0, revisit_groups=[]))
    assert entry["verdict"] == verdict, entry["why"]
    assert entry["seeds"] == sorted(lr2_by_seed) and set(entry["our_value"]) == {f"proxy_seed_{s}" for s in lr2_by_seed}
    low, high = entry["interval"]["band"]
    if band is not None:
        assert [low, high] == band
    else:  # level with random: each group is a coin flip, so the count spreads around 4 of 8
        assert low < 5 <= high
    assert entry["interval"]["replications"] == 400 and render.format_interval(entry) != "—"


def test_group_replications_follow_the_search_rule_and_the_random_pick():
    """The simulated 5-run means inside a group: LR2 scores that order the group by accuracy make every
    run pick the group's best (worst when reversed); the random baseline's mean is the group mean."""
    groups = [ArchSet(f"g{g}", tuple(range(100 * g, 100 * g + 150)), "") for g in range(3)]
    accuracy = pd.Series(np.linspace(50.0, 90.0, 450), index=pd.RangeIndex(450))
    base = pd.DataFrame({"accuracy": accuracy})
    tables = {"cifar10": {"random": {-1: base}, "LR2": {0: base.assign(naswot=accuracy.to_numpy()),
                                                         1: base.assign(naswot=-accuracy.to_numpy())}}}
    fake = inputs.Inputs(None, None, True, 0, revisit_groups=groups)
    fake.memo["fig1_tables"] = tables, [], []
    sims = revisit.group_replications(fake)
    members = [accuracy.loc[list(g.indices)] for g in groups]
    best = np.array([m.max() for m in members])
    assert sims["cifar10"]["LR2"][0].shape == (fake.simulated_means, 3)
    assert np.all(sims["cifar10"]["LR2"][0] <= best) and np.all(sims["cifar10"]["LR2"][0] > best - 4)
    assert np.all(sims["cifar10"]["LR2"][1] < np.array([m.min() for m in members]) + 4)
    random_mean = sims["cifar10"]["random"][-1].mean(axis=0)
    spread = np.array([m.std() for m in members]) / math.sqrt(5 * fake.simulated_means)
    assert np.all(np.abs(random_mean - np.array([m.mean() for m in members])) < 4 * spread)
    counts = revisit.replicated_counts(sims, "LR2", "lr2-below-random", 0)["cifar10"]
    assert set(np.unique(counts)) <= {0, 3}  # seed 0 never below random, seed 1 always: all groups or none
    assert 0 in counts and 3 in counts


@pytest.mark.parametrize("covered, label", [(N // 2, "mgm (partial sweep)"), (N, "mgm")])
def test_correlation_table_labels_a_proxy_read_from_a_partial_merge(tmp_path, covered, label):
    """Labelled (and a caveat for claims) when its archs are a partial merge's finished shards; not when its
    rows cover every cell."""
    write_fake_data_dir(tmp_path / "data")
    write_fake_results(tmp_path / "results", archs_subset=np.arange(0, covered), proxies=("mgm",))
    folder = tmp_path / "results" / "sweeps" / "sweep_a"
    rows = len(pd.read_parquet(folder / "merged.parquet"))
    library.write_manifest(folder, "sweeps", what="fake partial", tables={"merged.parquet": rows}, complete=False,
                           planned_rows=2 * rows)
    loaded = inputs.load_inputs(tmp_path / "data", tmp_path / "results", quick=True)
    table = next(t for t in sections.correlation_section(loaded) if t.key == "correlations-cifar10-all")
    assert table.frame["proxy"].tolist() == [label]
    assert "not a uniform sample" in table.notes
    # the same rows make a claim's outcome carry the caveat (its rule then says indicative, never reproduced)
    scores = inputs.seed_scores(loaded, "mgm", "cifar10")[0]
    assert ("partial merge of an unfinished sweep (sweep_a" in inputs.caveats(loaded, [scores])) == (covered < N)


def test_a_claim_shows_the_other_preset_of_its_proxy_beside_the_chosen_one():
    """κ on `supernet` (3 seeds, 400 cells) decides R13/ntk; κ on `code` (seed 0, 80 cells, 40 shared: too
    few to be preferred) is reported beside it: τ on its own cells with a bootstrap interval, and both
    presets on the shared cells, each equal to scipy's τ on the same cells."""
    rng = np.random.default_rng(3)
    params = inputs.params_series("cifar10")
    supernet_cells = rng.choice(N, 400, replace=False)
    code_cells = np.concatenate([supernet_cells[:40], rng.choice(np.setdiff1d(np.arange(N), supernet_cells), 40,
                                                                 replace=False)])
    kappa = np.exp(-params.to_numpy() / 4e5 + rng.normal(0, 0.5, N))  # lower is better, tied to #Param
    rows = []
    for setting, cells, seeds in (("supernet", supernet_cells, (0, 1, 2)), ("code", code_cells, (0,))):
        for seed in seeds:
            noise = rng.normal(0, 1, len(cells)) if setting == "code" else 0.1 * seed
            rows.append(pd.DataFrame({
                "space": "nb201", "arch": cells, "proxy": "ntk", "setting": setting,
                "settings_hash": settings_hash(REGISTRY.get("ntk").presets[setting]), "dataset": "cifar10",
                "seed": seed, "value": kappa[cells] * (1 + noise), "status": "ok", "sweep": f"ntk_{setting}",
                "partial": False, "data_source": "folder:images/fake[test]"}))
    results = pd.concat(rows, ignore_index=True)
    claim = next(c for c in rp.all_claims() if c.id == "R13/ntk")
    entry = evaluate(claim, inputs.Inputs(None, None, quick=True, seed=0, results=results))[0]
    assert entry["details"]["seed_ids"] == [0, 1, 2] and entry["inputs"]["n_archs"] == 400  # supernet decides
    check, = entry["details"]["other_settings"]
    code = results[results["setting"] == "code"].set_index("arch")["value"]
    assert check["setting"] == "code" and check["n"] == 80 and check["shared_cells"] == 40
    assert check["value"] == pytest.approx(sps.kendalltau(-code, params.loc[code.index]).statistic)
    assert check["interval"][0] < check["value"] < check["interval"][1]
    shared = np.sort(supernet_cells[:40])
    supernet0 = results[(results["setting"] == "supernet") & (results["seed"] == 0)].set_index("arch")["value"]
    assert check["chosen_setting_shared_cells"] == pytest.approx(
        sps.kendalltau(-supernet0.loc[shared], params.loc[shared]).statistic)
    assert check["tau_between_settings"] == pytest.approx(
        sps.kendalltau(code.loc[shared], supernet0.loc[shared]).statistic)
    assert "setting `code`" in entry["explanation"] and "n=80" in entry["explanation"]
