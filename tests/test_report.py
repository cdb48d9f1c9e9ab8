"""The report on synthetic records with known numbers, and end to end on a tiny real sweep."""
from __future__ import annotations

import json
import math
import re

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ablate.report import build, figures, glance, stats, write_report
from ablate.report.reference import NOT_MATCHED
from ablate.report.cli import main as report_main
from ablate.bench.fake_sweep import write_run, write_sweep

BASE = [0.69, 0.70, 0.71, 0.70, 0.70]
AUG = [0.84, 0.85, 0.86, 0.85, 0.85]


def test_summary_reproduces_hand_computed_means_and_intervals(tmp_path):
    r = build(write_sweep(tmp_path, {"aug=none": BASE, "aug=cropflip": AUG}))
    s = r.summary.set_index("config")
    row = s.loc["aug=none"]
    assert row.n == 5 and row.test_acc_mean == pytest.approx(0.70)
    sd = np.std(BASE, ddof=1)
    half = sps.t.ppf(0.975, 4) * sd / math.sqrt(5)
    assert row.test_acc_std == pytest.approx(sd)
    assert (row.test_acc_ci_low, row.test_acc_ci_high) == pytest.approx((0.70 - half, 0.70 + half))
    assert (row.test_acc_min, row.test_acc_max) == (0.69, 0.71)
    assert s.loc["aug=cropflip"].train_val_gap_mean == pytest.approx(0.06)
    assert not s.seed_set_differs.any()


def test_delta_against_baseline_by_hand(tmp_path):
    r = build(write_sweep(tmp_path, {"aug=none": BASE, "aug=cropflip": AUG}))
    assert r.baseline == "aug=none"
    d = r.deltas.iloc[0]
    assert d.delta == pytest.approx(0.15)
    va, vb = np.var(BASE, ddof=1) / 5, np.var(AUG, ddof=1) / 5
    df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 4)
    half = sps.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert (d.ci_low, d.ci_high) == pytest.approx((0.15 - half, 0.15 + half))
    assert d.p == pytest.approx(sps.ttest_ind(AUG, BASE, equal_var=False).pvalue)
    assert d.verdict == "better" and d.seeds_for_80pct_power == 2


def test_unresolved_and_worse_verdicts(tmp_path):
    r = build(write_sweep(tmp_path, {"aug=none": BASE, "aug=flip": [0.70, 0.69, 0.72, 0.70, 0.71],
                                     "aug=cutout": [0.60, 0.61, 0.59, 0.60, 0.60]}), baseline="aug=none")
    v = r.deltas.set_index("to").verdict
    assert v["aug=flip"] == "unresolved" and v["aug=cutout"] == "worse"
    need = r.deltas.set_index("to").seeds_for_80pct_power["aug=flip"]
    assert need > 5   # a small delta at this spread needs more seeds than we ran


def test_holm_by_hand():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, float("nan")])[0] == 0.5


def test_seeds_for_power_matches_the_textbook_value():
    # d = 1 (delta = sd): a two-sided two-sample t-test needs 17 per group for 80% power
    assert stats.seeds_for_power(1.0, 1.0, 1.0) == 17
    assert stats.seeds_for_power(0.0, 1.0, 1.0) == math.inf
    assert math.isnan(stats.seeds_for_power(1.0, math.nan, 1.0))     # one seed: the spread is unknown, not infinite
    assert stats.seeds_for_power(1.0, 1.0, 1.0, alpha=0.05 / 3) > 17   # a stricter level needs more seeds


def test_seeds_for_power_of_an_interaction_contrast():
    # four cells of unit spread: the contrast's variance is 4 sd^2 / n against a delta's 2 sd^2 / n, so about
    # twice the seeds; a simulation of the Welch-Satterthwaite test at that n rejects in ~80% of draws
    weights = (1, -1, -1, 1)
    n = stats.seeds_for_power(1.0, 1.0, 1.0, 1.0, 1.0, weights=weights)
    assert n == 32 and stats.seeds_for_power(1.0, 1.0, 1.0) == 17
    x = np.random.default_rng(0).normal(size=(20000, 4, n))
    x[:, 3] += 1.0
    v = x.var(axis=2, ddof=1) / n
    estimate, se = x.mean(axis=2) @ np.array(weights, float), np.sqrt(v.sum(axis=1))
    df = se ** 4 / ((v ** 2).sum(axis=1) / (n - 1))
    assert (2 * sps.t.sf(np.abs(estimate) / se, df) < 0.05).mean() == pytest.approx(0.8, abs=0.015)


def test_seeds_for_power_follows_welch_when_one_arm_is_noisy():
    # the 20-epoch ladder's first step at two seeds a side: baseline 68.16 / 65.36, crop + flip 75.90 / 75.80.
    # A pooled-variance count said 2 seeds would do, while Welch's test at those two seeds left it unresolved.
    base, aug = [68.16, 65.36], [75.90, 75.80]
    delta = sum(aug) / 2 - sum(base) / 2
    assert stats.welch(base, aug)["p"] * 3 > 0.05                     # unresolved after Holm over 3 steps
    need = stats.seeds_for_power(delta, stats.sd(base), stats.sd(aug), alpha=0.05 / 3)
    assert 2 < need < 10
    # the same total spread split evenly between the arms needs fewer seeds than when one arm holds it all
    even = math.sqrt((stats.sd(base) ** 2 + stats.sd(aug) ** 2) / 2)
    assert stats.seeds_for_power(delta, even, even, alpha=0.05 / 3) <= need


def test_seeds_for_power_is_monotone_where_scipy_tails_underflow():
    # a big delta at a tiny spread on one side: scipy's noncentral t gives NaN for the far tail at some n,
    # which once skipped those n (and said 9 seeds where 3 had 96% power)
    assert stats.seeds_for_power(15.93, 1.98, 0.099, alpha=0.05 / 3) == 3
    needs = [stats.seeds_for_power(d, 1.98, 0.1, alpha=0.05 / 3) for d in (4, 8, 12, 16, 20)]
    assert needs == sorted(needs, reverse=True)


def test_ladder_steps_with_holm(tmp_path):
    arms = {"rung=0_baseline": BASE, "rung=1_cropflip": AUG, "rung=2_cosine": [0.88, 0.87, 0.89, 0.88, 0.88],
            "rung=3_label_smoothing": [0.881, 0.879, 0.885, 0.88, 0.878]}
    r = build(write_sweep(tmp_path, arms))
    assert r.ladder == list(arms)
    steps = r.ladder_steps
    assert list(steps["to"]) == list(arms)[1:]
    assert steps.delta.tolist() == pytest.approx([0.15, 0.03, 0.0006], abs=1e-9)
    assert steps.p_holm.tolist() == pytest.approx(stats.holm(steps.p))
    assert steps.verdict.tolist() == ["better", "better", "unresolved"]


def test_failed_and_missing_runs_are_listed_not_dropped(tmp_path):
    sweep = write_sweep(tmp_path, {"aug=none": BASE[:3], "aug=cropflip": AUG[:3]})
    write_run(tmp_path / "aug=cropflip,seed=3", ["aug=cropflip"], 3, 0, status="failed")
    started = tmp_path / "aug=none,seed=3" / ".hydra"    # started, killed before its record
    started.mkdir(parents=True)
    (started / "overrides.yaml").write_text("- aug=none\n- seed=3\n")
    r = build(sweep)
    status = r.runs.set_index(["config", "seed"]).status
    assert status[("aug=cropflip", 3)] == "failed" and status[("aug=none", 3)] == "missing"
    s = r.summary.set_index("config")
    assert (s.loc["aug=cropflip"].n, s.loc["aug=cropflip"].failed) == (3, 1)
    assert s.loc["aug=none"].missing == 1


def test_different_seed_sets_are_flagged(tmp_path):
    r = build(write_sweep(tmp_path, {"aug=none": BASE, "aug=cropflip": AUG[:3]}))
    assert r.summary.set_index("config").seed_set_differs["aug=cropflip"]


def test_interactions_for_a_factorial_sweep(tmp_path):
    arms = {"aug=none schedule=none": [0.70, 0.71, 0.69], "aug=none schedule=cosine": [0.75, 0.76, 0.74],
            "aug=cropflip schedule=none": [0.85, 0.86, 0.84], "aug=cropflip schedule=cosine": [0.88, 0.89, 0.87]}
    r = build(write_sweep(tmp_path, arms))
    i = r.interactions.set_index(["factor", "at"]).delta
    assert i[("aug", "schedule=none")] == pytest.approx(0.15)
    assert i[("aug", "schedule=cosine")] == pytest.approx(0.13)
    assert i[("schedule", "aug=none")] == pytest.approx(0.05)
    assert i[("schedule", "aug=cropflip")] == pytest.approx(0.03)
    text = glance.glance(r)                  # what the terminal shows at the end of the sweep
    row = next(line for line in text.splitlines() if "| aug | none -> cropflip | schedule=cosine |" in line)
    w = stats.welch([0.75, 0.76, 0.74], [0.88, 0.89, 0.87])
    assert row.endswith(f"| 3/3 | {100 * w['delta']:+.2f} [{100 * w['low']:+.2f}, {100 * w['high']:+.2f}] |")


def test_interaction_contrast_by_hand(tmp_path):
    # crop + flip buys 15 points at a constant lr and 13 with cosine: an interaction of -2 points, whose
    # interval spans the four cells' spreads (Welch-Satterthwaite), unresolved at 3 seeds a cell
    arms = {"aug=none schedule=none": [0.70, 0.71, 0.69], "aug=none schedule=cosine": [0.75, 0.76, 0.74],
            "aug=cropflip schedule=none": [0.85, 0.86, 0.84], "aug=cropflip schedule=cosine": [0.88, 0.89, 0.87]}
    r = build(write_sweep(tmp_path / "a", arms))
    (row,) = r.interaction_contrasts.itertuples()
    assert (row.factors, row.changes, row.n) == ("aug x schedule", "none -> cropflip x none -> cosine", "3/3/3/3")
    assert row.interaction == pytest.approx(-0.02)
    term = 0.01 ** 2 / 3                          # each cell: sd 0.01 over 3 seeds, weight +-1
    se, df = math.sqrt(4 * term), (4 * term) ** 2 / (4 * term ** 2 / 2)
    half = sps.t.ppf(0.975, df) * se
    assert (row.ci_low, row.ci_high) == pytest.approx((-0.02 - half, -0.02 + half))
    assert row.p == pytest.approx(2 * sps.t.sf(0.02 / se, df)) and row.verdict == "unresolved"
    assert row.seeds_for_80pct_power == stats.seeds_for_power(-0.02, 0.01, 0.01, 0.01, 0.01, weights=(1, -1, -1, 1))
    # augmentation that helps 15 points at a constant lr but 5 with cosine: they interact
    arms["aug=cropflip schedule=cosine"] = [0.80, 0.81, 0.79]
    r = build(write_sweep(tmp_path / "b", arms))
    assert r.interaction_contrasts.interaction.iloc[0] == pytest.approx(-0.10)
    assert r.interaction_contrasts.verdict.iloc[0] == "interact"
    line = next(x for x in glance.glance(r).splitlines() if x.startswith("| aug x schedule |"))
    assert "| 3/3/3/3 | -10.00 [" in line and line.endswith("| interact |")
    # a cell with one seed: an estimate, no interval
    arms["aug=cropflip schedule=cosine"] = [0.80]
    r = build(write_sweep(tmp_path / "c", arms))
    row = r.interaction_contrasts.iloc[0]
    assert row.n == "3/3/3/1" and row.verdict == "needs 2+ seeds in every cell" and math.isnan(row.ci_low)
    assert math.isnan(row.seeds_for_80pct_power)           # one cell's spread is unknown


def test_seeds_that_agree_exactly_get_a_note_not_a_silent_zero_width_interval(tmp_path):
    sweep = write_sweep(tmp_path / "s", {"aug=none": [0.78, 0.79], "aug=cropflip": [0.8597, 0.8597]})
    text = (write_report(sweep, figures=False) / "report.md").read_text()
    assert "every seed of `aug=cropflip` (2 seeds) scored the same test accuracy" in text
    sweep = write_sweep(tmp_path / "t", {"aug=none": [0.78, 0.79], "aug=cropflip": [0.85, 0.86]})
    assert "scored the same" not in (write_report(sweep, figures=False) / "report.md").read_text()


def test_other_metrics_compare_tta_calibration_and_nll_each_in_its_direction(tmp_path):
    # the synthetic records: NLL = 1 - accuracy (lower is better), ECE = 0.05 + label smoothing
    for seed, (base, smooth) in enumerate(zip(BASE, AUG)):
        write_run(tmp_path / f"loss=ce,seed={seed}", ["loss=ce"], seed, base, job_num=seed)
        write_run(tmp_path / f"loss=label_smoothing,seed={seed}", ["loss=label_smoothing"], seed, smooth,
                  smoothing=0.1, job_num=10 + seed)
    r = build(tmp_path, baseline="loss=ce")
    m = r.other_metrics.set_index("metric")
    assert set(m.index) == {"test_acc_tta", "test_ece", "test_nll"}
    assert m.loc["test_nll"].delta == pytest.approx(-0.15) and m.loc["test_nll"].verdict == "better"
    assert m.loc["test_ece"].delta == pytest.approx(0.10) and m.loc["test_ece"].verdict == "worse"
    assert m.loc["test_acc_tta"].delta == pytest.approx(0.15) and m.loc["test_acc_tta"].verdict == "better"
    w = stats.welch([1 - a for a in BASE], [1 - a for a in AUG])
    assert (m.loc["test_nll"].ci_low, m.loc["test_nll"].ci_high) == pytest.approx((w["low"], w["high"]))
    text = (write_report(tmp_path, baseline="loss=ce", figures=False) / "report.md").read_text()
    assert "| test ECE (calibration error), % | loss=ce | loss=label_smoothing | 5/5 | 5.00 -> 15.00 | +10.00 " \
        "[+10.00, +10.00] | worse |" in text


def test_welch_is_the_two_group_contrast():
    a, b = [0.70, 0.72, 0.69, 0.71], [0.80, 0.85, 0.83]
    w = stats.welch(a, b)
    t = sps.ttest_ind(b, a, equal_var=False)
    assert w["p"] == pytest.approx(t.pvalue) and w["delta"] == pytest.approx(np.mean(b) - np.mean(a))
    c = stats.contrast([a, b], [-1, 1])
    assert (c["estimate"], c["low"], c["high"], c["df"]) == pytest.approx((w["delta"], w["low"], w["high"], w["df"]))


def test_write_report_files_and_figures_are_not_blank(tmp_path):
    sweep = write_sweep(tmp_path / "sweep", {"loss=ce": BASE, "loss=label_smoothing": AUG}, epochs=4)
    out = write_report(sweep)
    for name in ("report.md", "summary.csv", "deltas.csv", "deltas.md", "deltas.tex", "runs.csv"):
        assert (out / name).is_file(), name
    summary = pd.read_csv(out / "summary.csv")
    assert summary.set_index("config").test_acc_mean["loss=ce"] == pytest.approx(0.70)
    per_class = pd.read_csv(out / "per_class_accuracy.csv").set_index("class")
    assert per_class.loc["dog", "loss=ce"] == pytest.approx(116 / 165)   # fractions, like every other .csv
    rows = (out / "per_class_accuracy.md").read_text().splitlines()[2:]
    assert rows[0] == "| cat | 70.00 | 84.71 |"                           # percent, 2 decimals each
    figs = {p.stem for p in (out / "figures").glob("*.png")}
    assert {"curves", "per_class_delta", "confused_pairs", "confusion_loss=ce"} <= figs
    for png in (out / "figures").glob("*.png"):
        img = mpimg.imread(png)
        assert img.std() > 0.01, png      # not a blank canvas
        assert (out / "figures" / f"{png.stem}.svg").is_file()
    text = (out / "report.md").read_text()
    assert "figures/curves.png" in text and "Provenance" in text and "better" in text


def test_reliability_diagram_when_label_smoothing_differs(tmp_path):
    sweep = tmp_path / "s"
    for seed, acc in enumerate(BASE[:2]):
        write_run(sweep / f"a{seed}", ["loss=ce"], seed, acc)
        write_run(sweep / f"b{seed}", ["loss=label_smoothing"], seed, acc, smoothing=0.1)
    out = write_report(sweep)
    assert (out / "figures" / "reliability.png").is_file()


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert report_main([str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    write_sweep(tmp_path / "s", {"aug=none": BASE[:2], "aug=flip": AUG[:2]})
    assert report_main([str(tmp_path / "s"), "--baseline", "aug=zzz"]) == 2
    assert "matches none" in capsys.readouterr().err
    assert report_main([str(tmp_path / "s"), "--baseline", "aug=flip", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "report.md").is_file()


def test_report_on_an_empty_or_all_failed_sweep(tmp_path):
    write_run(tmp_path / "j", ["aug=none"], 0, 0, status="failed")
    out = write_report(tmp_path)
    assert "1 failed" in (out / "report.md").read_text()


def test_cli_end_to_end_on_a_tiny_real_sweep(ablate_cli, tmp_path):
    from conftest import TINY
    sweep = tmp_path / "sweep"
    res = ablate_cli(["-m", *TINY, "aug=none,cropflip", "seed=0,1,2", "trainer.epochs=1",
                      "data.num_train=400", "data.val_size=100", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    rep = ablate_cli([str(sweep), "--out", str(tmp_path / "rep")], cwd=tmp_path, module="ablate.report")
    assert rep.returncode == 0, rep.stdout + rep.stderr
    summary = pd.read_csv(tmp_path / "rep" / "summary.csv").set_index("config")
    import json
    accs = {}
    for p in sweep.rglob("results.json"):
        rec = json.loads(p.read_text())
        accs.setdefault("aug=" + rec["choices"]["aug"], []).append(rec["metrics"]["test_acc"])
    for arm, values in accs.items():
        key = next(c for c in summary.index if arm in c.split(" "))
        assert summary.test_acc_mean[key] == pytest.approx(np.mean(values))
        assert summary.n[key] == 3
        row = next(line for line in rep.stdout.splitlines() if line.startswith(f"| {arm}"))   # the terminal's table
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == "3" and cells[2].split(" [")[0] == f"{100 * np.mean(values):.2f}"
    assert "at a glance" in res.stdout + res.stderr     # the sweep's own end says it too
    assert (tmp_path / "rep" / "deltas.csv").is_file() and (sweep / "report" / "report.md").is_file()


@pytest.mark.parametrize("task, expected", [
    (["experiment=ladder", "seed=0,1"], {f"experiment=ladder,rung={r},seed={s}" for r in "ab" for s in (0, 1)}),
    (["experiment=ladder", "seed=0"], {f"experiment=ladder,rung={r},seed=0" for r in "ab"}),
    (["experiment=ladder"], {f"experiment=ladder,rung={r},seed={s}" for r in "ab" for s in range(3)}),
])
def test_expected_jobs_take_command_line_seeds_over_the_experiments_own(tmp_path, task, expected):
    from omegaconf import OmegaConf
    from ablate.report.collect import expected_job_dirs
    OmegaConf.save(OmegaConf.create({"hydra": {"overrides": {"task": task},
                                               "sweeper": {"params": {"rung": "a,b", "seed": "range(0,3)"}},
                                               "job": {"config": {"override_dirname": {"exclude_keys": []}}}}}),
                   tmp_path / "multirun.yaml")
    assert {p.name for p, _ in expected_job_dirs(tmp_path)} == expected


def test_a_sweep_folder_launched_again_with_other_seeds_still_expects_the_first_launch(tmp_path):
    from omegaconf import OmegaConf
    from ablate.report.collect import expected_job_dirs, expected_jobs, keep_earlier_launch

    def launch(task):      # what Hydra does: on_multirun_start (keep the earlier launch), then write multirun.yaml
        cfg = OmegaConf.create({"hydra": {"overrides": {"task": task}, "sweeper": {"params": {}},
                                          "job": {"config": {"override_dirname": {"exclude_keys": []}}}}})
        kept = keep_earlier_launch(tmp_path, expected_jobs(cfg, tmp_path))
        OmegaConf.save(cfg, tmp_path / "multirun.yaml")
        return kept

    assert launch(["rung=a,b", "seed=0"]) is None                       # the first launch: nothing to keep
    assert launch(["rung=a,b", "seed=0"]) is None                       # the same again: nothing new to keep
    assert launch(["rung=a,b", "seed=1"]).name == "multirun.1.yaml"     # seed 0's jobs would be forgotten
    assert launch(["rung=a,b", "seed=0,1"]) is None                     # asks for all of them itself
    assert launch(["rung=a", "seed=2"]).name == "multirun.2.yaml"
    assert {p.name for p, _ in expected_job_dirs(tmp_path)} == \
        {f"rung={r},seed={s}" for r in "ab" for s in (0, 1)} | {"rung=a,seed=2"}


def test_one_configuration_spelled_two_ways_is_pooled(tmp_path):
    # rung=2_cosine and aug=cropflip schedule=cosine compose to the same config: one configuration, 4 seeds
    for seed, acc in enumerate([0.88, 0.87]):
        write_run(tmp_path / "ladder" / f"r{seed}", ["rung=2_cosine"], seed, acc)
        write_run(tmp_path / "grid" / f"g{seed}", ["aug=cropflip", "schedule=cosine"], seed + 2, acc + 0.01)
        write_run(tmp_path / "grid" / f"n{seed}", ["aug=none", "schedule=cosine"], seed, acc - 0.1)
    same = {"arm": {"aug": "cropflip", "schedule": "cosine"}, "loss": {"label_smoothing": 0.0}}
    for path in (tmp_path / "ladder").rglob("results.json"):
        rec = json.loads(path.read_text())
        rec["config"] = {**same, "seed": rec["seed"]}
        rec["choices"] = {"rung": "2_cosine", "aug": "cropflip", "schedule": "cosine"}
        path.write_text(json.dumps(rec))
    for path in (tmp_path / "grid").rglob("results.json"):
        rec = json.loads(path.read_text())
        rec["choices"] = dict(o.split("=") for o in rec["overrides"] if not o.startswith("seed"))
        path.write_text(json.dumps(rec))
    r = build([tmp_path / "ladder", tmp_path / "grid"])
    s = r.summary.set_index("config")
    assert len(s) == 2 and s.n.sum() == 6
    pooled = next(c for c in s.index if "rung=2_cosine" in c)
    assert s.loc[pooled].n == 4 and "aug=cropflip" in pooled and "schedule=cosine" not in s.index
    assert s.loc[pooled].test_acc_mean == pytest.approx(np.mean([0.88, 0.87, 0.89, 0.88]))


LADDER = {"rung=0_baseline": BASE, "rung=1_cropflip": AUG, "rung=2_cosine": [0.88, 0.87, 0.89, 0.88, 0.88],
          "rung=3_label_smoothing": [0.881, 0.879, 0.885, 0.88, 0.878]}
FIGURES = {"val_overlay", "curves", "ladder", "per_class_delta", "per_class_accuracy", "confused_pairs"}


def assert_readable(out):
    text = (out / "report.md").read_text()
    assert not re.search(r"\bnan\b", text, re.I), "a NaN reached report.md"
    for png in (out / "figures").glob("*.png"):
        assert mpimg.imread(png).std() > 0.01, png
    return text


@pytest.mark.parametrize("n", [1, 2, 5])
def test_every_table_and_figure_at_any_seed_count(tmp_path, n):
    sweep = write_sweep(tmp_path / "s", {k: v[:n] for k, v in LADDER.items()}, epochs=6)
    out = write_report(sweep)
    assert_readable(out)
    assert FIGURES <= {p.stem for p in (out / "figures").glob("*.png")}
    from ablate.report import figures
    r = build(sweep)
    fig = figures.ladder(r.summary, r.ladder_steps, r.ladder, r.labels)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 3 and not any("nan" in t for t in texts)
    assert all(("no interval" in t) == (n == 1) for t in texts)
    summary = pd.read_csv(out / "summary.csv")
    assert (summary.test_acc_ci_high.dropna() <= 1).all() and (summary.test_acc_ci_low.dropna() >= 0).all()
    # one seed a side: no test, so no verdict and no seed count (not "unresolved", not "inf")
    assert (r.ladder_steps.verdict == "needs 2+ seeds a side").all() == (n == 1)
    assert r.ladder_steps.seeds_for_80pct_power.isna().all() == (n == 1)


def test_interval_of_an_accuracy_stays_within_0_and_1(tmp_path):
    r = build(write_sweep(tmp_path, {"aug=none": [0.99, 0.999, 0.95]}))
    assert r.summary.test_acc_ci_high.iloc[0] == 1.0 and r.summary.test_acc_ci_low.iloc[0] < 0.99


@pytest.mark.parametrize("case", ["missing_baseline", "missing_rung", "only_failed_rung"])
def test_report_on_a_ladder_that_is_still_running(tmp_path, case):
    sweep = write_sweep(tmp_path / "s", {k: v[:2] for k, v in LADDER.items()}, epochs=4)
    gone = {"missing_baseline": "rung=0_baseline", "missing_rung": "rung=2_cosine",
            "only_failed_rung": "rung=1_cropflip"}[case]
    for job in sweep.glob(f"{gone},seed=*"):
        if case == "only_failed_rung":
            seed = int(job.name.split("seed=")[1])
            write_run(job, [gone], seed, 0, status="failed")
            (job / "history.csv").unlink()
        else:
            (job / "results.json").unlink()
            (job / "history.csv").unlink()
            (job / ".hydra").mkdir()
            (job / ".hydra" / "overrides.yaml").write_text(f"- {gone}\n- seed={job.name[-1]}\n")
    out = write_report(sweep)
    text = assert_readable(out)
    assert "No completed run yet" in text and gone in text.split("No completed run yet")[1].splitlines()[0]
    if case == "missing_baseline":     # a rung with runs is not "no runs yet": the baseline is what is missing
        glance = text.split("## At a glance")[1].split("##")[0]
        row = next(line for line in glance.splitlines() if line.startswith("| rung=1_cropflip"))
        assert "no rung=0_baseline run yet" in row


def test_report_on_a_sweep_with_no_record_yet(tmp_path):
    from omegaconf import OmegaConf
    OmegaConf.save(OmegaConf.create({"hydra": {"overrides": {"task": ["aug=none,cropflip"]},
                                               "job": {"config": {"override_dirname": {"exclude_keys": []}}}}}),
                   tmp_path / "multirun.yaml")
    out = write_report(tmp_path)
    assert "No completed runs yet" in (out / "report.md").read_text()
    assert len(build(tmp_path).runs) == 2


def test_against_reference_figures_by_hand(tmp_path):
    sweep = write_sweep(tmp_path / "s", {"aug=none": BASE, "aug=cropflip": AUG, "aug=flip": [0.5]})
    ref = tmp_path / "ref.yaml"
    low, high = stats.t_interval(pd.Series(BASE), bounds=(0.0, 1.0))[2:]
    inside = 100 * (low + high) / 2
    ref.write_text(f"source: a paper\ntest_acc:\n  aug=none: {inside}\n  aug=cropflip: 99.5\n  aug=flip: 40\n")
    out = write_report(sweep, reference=ref)
    table = pd.read_csv(out / "reference.csv").set_index("config")
    assert table.loc["aug=none", "reference_is"] == "within our interval"
    assert table.loc["aug=cropflip", "reference_is"] == "above our interval"
    assert table.loc["aug=cropflip", "ours_minus_reference"] == pytest.approx(np.mean(AUG) - 0.995)
    assert table.loc["aug=flip", "reference_is"] == "below ours (one seed: no interval)"
    text = (out / "report.md").read_text()
    assert "## Against the reference figures (a paper)" in text
    ref.write_text("test_acc:\n  aug=nothing: 70\n")
    table = pd.read_csv(write_report(sweep, reference=ref) / "reference.csv")
    assert table.reference_is.tolist() == [NOT_MATCHED]   # listed, not dropped
    ref.write_text("test_acc:\n  aug=none: 0.7\n  aug=flip: 170\n")
    assert report_main([str(sweep), "--reference", str(ref)]) == 2     # a percentage over 100: named, not used


def test_ladder_overview_by_hand(tmp_path):
    sweep = write_sweep(tmp_path / "s", LADDER)
    ref = tmp_path / "ref.yaml"
    ref.write_text("source: the lesson\ntest_acc:\n  rung=0_baseline: 70\n  rung=2_cosine: 88\n")
    out = write_report(sweep, reference=ref)
    table = pd.read_csv(out / "ladder_overview.csv", dtype=str, keep_default_na=False).set_index("rung")
    assert list(table.index) == list(LADDER)
    low, high = stats.t_interval(pd.Series(AUG), bounds=(0.0, 1.0))[2:]
    assert table.loc["rung=1_cropflip", "test acc % [95% CI]"] == \
        f"{100 * np.mean(AUG):.2f} [{100 * low:.2f}, {100 * high:.2f}]"
    w = stats.welch(BASE, AUG)
    assert table.loc["rung=1_cropflip", "step, points [95% CI]"] == \
        f"{100 * w['delta']:+.2f} [{100 * w['low']:+.2f}, {100 * w['high']:+.2f}]"
    assert table.loc["rung=0_baseline", "step, points [95% CI]"] == "-"
    assert table["reference %"].tolist() == ["70.0", "-", "88.0", "-"]
    assert "| rung=1_cropflip |" in (out / "report.md").read_text().split("## Ladder")[1]


def test_ladder_figure_marks_the_reference_figures(tmp_path):
    r = build(write_sweep(tmp_path / "s", LADDER))
    fig = figures.ladder(r.summary, r.ladder_steps, r.ladder, r.labels, {"rung=0_baseline": 0.30}, "the lesson")
    ax = fig.axes[0]
    marks = [line for line in ax.get_lines() if line.get_label() == "the lesson"]
    assert len(marks) == 1
    assert marks[0].get_ydata()[0] == pytest.approx(30) and np.isnan(marks[0].get_ydata()[1:]).all()
    assert ax.get_ylim()[0] < 30 < ax.get_ylim()[1]                  # far below every rung, still on the axis
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"the lesson", "ours (mean, 95% interval)"}
    assert figures.ladder(r.summary, r.ladder_steps, r.ladder, r.labels).axes[0].get_legend() is None


def test_ladder_figure_keeps_its_notes_inside_the_axes_with_long_names(tmp_path):
    # a ladder pooled with a 2x2 names every factor; the top rung's reference sits above it
    r = build(write_sweep(tmp_path / "s", {k: v[:1] for k, v in LADDER.items()}))
    long = {c: f"{c} aug=cropflip loss=label_smoothing schedule=cosine" for c in r.ladder}
    fig = figures.ladder(r.summary, r.ladder_steps, r.ladder, long, {r.ladder[2]: 0.95}, "the lesson")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    assert len(ax.texts) == 3
    assert all(box.y0 < t.get_window_extent(renderer).y1 <= box.y1 + 1 for t in ax.texts)
    assert all("\n" in t.get_text() for t in ax.get_xticklabels())      # wrapped, not rotated off the figure


@pytest.mark.parametrize("n", [1, 2, 5])
def test_ladder_figure_shows_each_seeds_run_once_a_rung_has_two(tmp_path, n):
    r = build(write_sweep(tmp_path / "s", {k: v[:n] for k, v in LADDER.items()}))
    ax = figures.ladder(r.summary, r.ladder_steps, r.ladder, r.labels, runs=r.runs).axes[0]
    dots = [line for line in ax.get_lines() if line.get_label() == "each seed's run"]
    if n == 1:      # the mean is the run: nothing to add
        assert not dots and ax.get_legend() is None
        return
    shown = sorted(np.round(dots[0].get_ydata(), 6))
    assert shown == sorted(np.round([100 * a for v in LADDER.values() for a in v[:n]], 6))
    assert ax.get_ylim()[0] < min(shown) and max(shown) < ax.get_ylim()[1]


def test_a_rewritten_report_drops_figures_it_no_longer_shows(tmp_path):
    sweep = write_sweep(tmp_path / "s", {"aug=none": BASE, "aug=cropflip": AUG})
    out = write_report(sweep)
    stale = [out / "figures" / "confusion_old_name.png", out / "figures" / "confusion_old_name.svg"]
    for path in stale:
        path.write_bytes(b"from an earlier report")
    write_report(sweep)
    assert not any(path.exists() for path in stale)
    shown = set(re.findall(r"\(figures/([^)]+)\.png\)", (out / "report.md").read_text()))
    assert {p.stem for p in (out / "figures").glob("*.png")} == shown == {p.stem for p in (out / "figures").glob("*.svg")}


def test_labels_of_a_ladder_with_a_rung_not_yet_run_plus_a_grid_cell(tmp_path):
    # what the CPU campaign's report reads: rungs 0-2 done, rung 3 started without a record, and the 2x2's
    # fourth cell from a plain sweep; settings every recorded run shares (data, model, ...) stay out of labels
    shared = {"data": "cifar10", "model": "small_cnn", "optim": "sgd", "loss": "ce"}
    ladder = {"0_baseline": ("none", "none"), "1_cropflip": ("cropflip", "none"), "2_cosine": ("cropflip", "cosine")}
    for rung, (aug, schedule) in ladder.items():
        write_run(tmp_path / "ladder" / f"rung={rung},seed=0", [f"rung={rung}"], 0, 0.8)
    started = tmp_path / "ladder" / "rung=3_label_smoothing,seed=0" / ".hydra"
    started.mkdir(parents=True)
    (started / "overrides.yaml").write_text("- rung=3_label_smoothing\n- seed=0\n")
    write_run(tmp_path / "grid" / "aug=none,schedule=cosine,seed=0", ["aug=none", "schedule=cosine"], 0, 0.8)
    for path in tmp_path.rglob("results.json"):
        rec = json.loads(path.read_text())
        rung = next((o.split("=")[1] for o in rec["overrides"] if o.startswith("rung=")), None)
        aug, schedule = ladder[rung] if rung else ("none", "cosine")
        rec["choices"] = {**shared, "aug": aug, "schedule": schedule, "rung": rung}
        rec["config"] = {"aug": aug, "schedule": schedule, "seed": 0}
        path.write_text(json.dumps(rec))
    r = build([tmp_path / "ladder", tmp_path / "grid"])
    assert sorted(r.labels.values()) == ["aug=none schedule=cosine", "rung=0_baseline aug=none schedule=none",
                                         "rung=1_cropflip aug=cropflip schedule=none",
                                         "rung=2_cosine aug=cropflip schedule=cosine", "rung=3_label_smoothing"]
    at = r.interactions.set_index(["factor", "at"])
    assert set(at.index) == {("aug", "schedule=none"), ("aug", "schedule=cosine"), ("schedule", "aug=none"),
                             ("schedule", "aug=cropflip")}
    (contrast,) = r.interaction_contrasts.itertuples()       # the ladder's rungs 0-2 and the grid cell span a 2x2
    assert (contrast.factors, contrast.n, contrast.verdict) == ("aug x schedule", "1/1/1/1",
                                                                "needs 2+ seeds in every cell")
