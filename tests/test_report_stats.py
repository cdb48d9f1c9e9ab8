"""The report's statistics on synthetic records with known numbers: intervals, deltas, Holm, power, interactions,
reference figures."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ablate.report import build, glance, stats, write_report
from ablate.report.reference import NOT_MATCHED
from ablate.report.cli import main as report_main
from ablate.record.synthetic import AUG, BASE, LADDER, write_run, write_sweep


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


def test_an_interval_clear_of_zero_beside_an_unresolved_verdict_gets_a_note(tmp_path):
    # aug=flip: uncorrected p ~ 0.04, its interval clears 0; Holm over two comparisons doubles p past 0.05
    arms = {"aug=none": [0.70, 0.71, 0.72], "aug=flip": [0.725, 0.735, 0.745], "aug=cutout": [0.70, 0.72, 0.71]}
    sweep = write_sweep(tmp_path, arms)
    d = build(sweep, baseline="aug=none").deltas.set_index("to")
    assert d.loc["aug=flip", "ci_low"] > 0 and 0.025 < d.loc["aug=flip", "p"] < 0.05
    assert d.loc["aug=flip", "verdict"] == "unresolved"
    text = (write_report(sweep, baseline="aug=none") / "report.md").read_text()
    assert "the interval of `aug=none` -> `aug=flip` (p = 0.0" in text
    assert "Holm-corrected over the table's 2 comparisons" in text
    assert "`aug=cutout` (p" not in text                          # its interval spans 0: nothing to explain
    arms["aug=flip"] = [0.75, 0.76, 0.77]                         # resolved after Holm too: no note
    text = (write_report(write_sweep(tmp_path / "b", arms), baseline="aug=none") / "report.md").read_text()
    assert "yet the verdict is unresolved" not in text


def test_a_baseline_matched_by_part_of_its_name_is_named_in_full_in_the_report(tmp_path):
    sweep = write_sweep(tmp_path, {"aug=none schedule=cosine": BASE, "aug=cropflip schedule=cosine": AUG,
                                   "aug=cropflip schedule=none": AUG})
    r = build(sweep, baseline="aug=none")
    assert r.baseline == "aug=none schedule=cosine" and r.baseline_query == "aug=none"
    text = (write_report(sweep, baseline="aug=none", figures=False) / "report.md").read_text()
    assert "whose overrides contain `--baseline aug=none` (the full name: `aug=none schedule=cosine`)" in text
    for exact in ("aug=none schedule=cosine", "schedule=cosine,aug=none", None):   # named in full, or by default
        r = build(sweep, baseline=exact)
        assert r.baseline == "aug=none schedule=cosine" and r.baseline_query is None
        text = (write_report(sweep, baseline=exact, figures=False) / "report.md").read_text()
        assert "whose overrides contain" not in text


def test_a_margin_turns_a_tight_null_into_within_and_leaves_wide_and_real_deltas_alone(tmp_path):
    arms = {"trainer.precision=fp32": [0.900, 0.902, 0.898, 0.901, 0.899],
            "trainer.precision=bf16": [0.901, 0.899, 0.900, 0.902, 0.898],     # tight, no difference
            "aug=flip": [0.88, 0.92, 0.86, 0.94, 0.90],                        # no difference, too wide to say
            "aug=none": [0.880, 0.882, 0.878, 0.881, 0.879]}                   # 2 points worse
    sweep = write_sweep(tmp_path, arms)
    v = build(sweep, baseline="trainer.precision=fp32", margin=0.5).deltas.set_index("to").verdict
    assert v["trainer.precision=bf16"] == "within ±0.5"
    assert v["aug=flip"] == "unresolved" and v["aug=none"] == "worse"
    assert (build(sweep, baseline="trainer.precision=fp32").deltas.verdict == "unresolved").sum() == 2   # no margin
    # the interval is taken at the Bonferroni level of the table's 3 comparisons: wider than the 95% one
    a, b = arms["trainer.precision=fp32"], arms["trainer.precision=bf16"]
    w95, wfam = stats.welch(a, b), stats.welch(a, b, confidence=1 - 0.05 / 3)
    assert wfam["high"] > w95["high"] and stats.within_margin(a, b, 0.005, family=3)
    tight = max(abs(wfam["low"]), wfam["high"])
    assert not stats.within_margin(a, b, 0.999 * tight, family=3) and stats.within_margin(a, b, 0.999 * tight)
    text = (write_report(sweep, baseline="trainer.precision=fp32", figures=False, margin=0.5) / "report.md").read_text()
    assert "Equivalence margin 0.5 points (`--margin 0.5`)" in text and "| within ±0.5 |" in text
    with pytest.raises(ValueError, match="must be > 0, e.g. --margin 0.5"):
        build(sweep, margin=-1)
    assert report_main([str(sweep), "--margin", "0", "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()


def test_the_margin_reaches_the_ladder_and_the_tta_accuracies_but_not_ece(tmp_path):
    steps = {"rung=0_a": [0.700, 0.702, 0.698], "rung=1_b": [0.701, 0.699, 0.700]}
    r = build(write_sweep(tmp_path, steps), margin=1.0)
    assert list(r.ladder_steps.verdict) == ["within ±1"]
    m = r.other_metrics.set_index("metric").verdict
    assert m["test_acc_tta"] == "within ±1" and m["test_ece"] == "unresolved"


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


def test_interval_of_an_accuracy_stays_within_0_and_1(tmp_path):
    r = build(write_sweep(tmp_path, {"aug=none": [0.99, 0.999, 0.95]}))
    assert r.summary.test_acc_ci_high.iloc[0] == 1.0 and r.summary.test_acc_ci_low.iloc[0] < 0.99


def test_against_reference_figures_by_hand(tmp_path, capsys):
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
    assert "Final-epoch test accuracy against the published figure" in text        # not "... (final epoch)" again
    ref.write_text("test_acc:\n  aug=nothing: 70\n")
    table = pd.read_csv(write_report(sweep, reference=ref) / "reference.csv")
    assert table.reference_is.tolist() == [NOT_MATCHED]   # listed, not dropped
    ref.write_text("test_acc:\n  aug=none: 0.7\n  aug=flip: 170\n")
    # a percentage over 100: named, not used; the rest of the report is still made (exit 1: a problem was said)
    (sweep / "report" / "report.md").unlink()
    capsys.readouterr()
    assert report_main([str(sweep), "--reference", str(ref)]) == 1
    err = capsys.readouterr().err
    assert str(ref) in err and "170" in err
    text = (sweep / "report" / "report.md").read_text()
    assert "Against the reference figures" not in text and "aug=cropflip" in text


def test_a_reference_may_hold_another_accuracy_of_the_record(tmp_path, capsys):
    """A paper that reports TTA accuracy is compared on the record's TTA accuracy (here the test accuracy + 1
    point), not on the plain one; the ladder figure's diamonds, which plot the plain accuracy, are left out."""
    sweep = write_sweep(tmp_path / "s", {"aug=none": BASE, "aug=cropflip": AUG})
    ref = tmp_path / "ref.yaml"
    tta = np.array(BASE) + 0.01
    low, high = stats.t_interval(pd.Series(tta), bounds=(0.0, 1.0))[2:]
    ref.write_text(f"source: a TTA paper\ntest_acc_tta:\n  aug=none: {100 * high + 0.01}\n")
    r = build(sweep, reference=ref)
    row = r.reference.set_index("config").loc["aug=none"]
    assert row.test_acc_mean == pytest.approx(tta.mean()) and row.test_acc_ci_high == pytest.approx(high)
    assert row.reference_is == "above our interval"           # on the plain accuracy it would be far above
    assert glance.reference_figures(r) == {}
    text = (write_report(sweep, reference=ref) / "report.md").read_text()
    assert "Final-epoch flip-TTA test accuracy against the published figure" in text
    ref.write_text("source: x\ntest_acc:\n  aug=none: 70\ntest_acc_tta:\n  aug=none: 71\n")
    with pytest.raises(ValueError, match="names 2 metrics"):
        build(sweep, reference=ref)
    ref.write_text("source: x\ntest_accuracy:\n  aug=none: 70\n")
    with pytest.raises(ValueError, match="test_accuracy, which is not a record's accuracy.*test_acc_tta_multicrop"):
        build(sweep, reference=ref)


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


def test_a_new_metric_is_one_line_of_the_metric_table(tmp_path, monkeypatch):
    """A metric added to the table (here a top-5 accuracy a record would carry) is summarised, compared between
    configurations in its direction, and formatted as a percentage, with no other change."""
    import dataclasses

    from ablate.record import metrics as M
    from ablate.report import markdown, tables

    top5 = M.Metric("test_top5", "top-5 test accuracy", "%", True, summary="test_top5_mean", compared=True)
    monkeypatch.setattr(tables, "SUMMARISED", M.SUMMARISED + (top5,))
    monkeypatch.setattr(tables, "COMPARED", M.COMPARED + (top5,))
    runs = pd.DataFrame({"config": ["a"] * 3 + ["b"] * 3, "status": ["completed"] * 6, "seed": [0, 1, 2] * 2,
                         "run_dir": [f"r{i}" for i in range(6)], "train_seconds": 1.0,
                         **{m.key: 0.5 for m in M.METRIC_TABLE if m.in_record},
                         "test_top5": [0.90, 0.91, 0.92, 0.97, 0.98, 0.99]})
    summary = tables.summarize(runs)
    assert summary.set_index("config").test_top5_mean.round(4).to_dict() == {"a": 0.91, "b": 0.98}
    other = tables.other_metrics(runs, [("a", "b")])
    row = other[other.metric == "test_top5"].iloc[0]
    assert row.delta == pytest.approx(0.07) and row.verdict.startswith("better")
    # the record's percentages (the table's) are what the report's tables multiply by 100
    assert {m.summary for m in M.SUMMARISED if m.percent} <= markdown.PCT
    assert {m.key for m in M.METRIC_TABLE if m.in_record} <= set(M.RECORD_METRICS)
    assert dataclasses.replace(top5, unit="nats").percent is False


def test_paired_matches_scipy_and_reports_the_correlation():
    a = np.array([0.80, 0.82, 0.79, 0.85, 0.81])
    b = a + np.array([0.010, 0.012, 0.008, 0.011, 0.009])
    d = stats.paired(a, b)
    ref = sps.ttest_rel(b, a)
    diff = b - a
    half = sps.t.ppf(0.975, 4) * np.std(diff, ddof=1) / math.sqrt(5)
    assert d["n"] == 5 and d["delta"] == pytest.approx(diff.mean())
    assert d["p"] == pytest.approx(ref.pvalue)
    assert (d["low"], d["high"]) == pytest.approx((diff.mean() - half, diff.mean() + half))
    assert d["r"] == pytest.approx(np.corrcoef(a, b)[0, 1])
    # a pair missing a side is dropped; under 2 pairs there is no interval, under 3 no correlation
    d = stats.paired([0.8, np.nan, 0.7], [0.81, 0.9, 0.72])
    assert d["n"] == 2 and math.isnan(d["r"]) and math.isfinite(d["low"])
    assert math.isnan(stats.paired([0.8], [0.81])["low"])


def _seed_effects(tmp_path, shift, noise):
    """Two arms whose seeds share a large seed effect: b = a + shift + small noise of its own."""
    seed_effect = np.array([-0.02, 0.015, -0.01, 0.02, 0.0])
    base = list(0.80 + seed_effect)
    other = list(0.80 + shift + seed_effect + np.array(noise))
    return build(write_sweep(tmp_path, {"aug=none": base, "aug=cropflip": other}))


def test_paired_by_seed_narrows_the_interval_when_seeds_move_together(tmp_path):
    r = _seed_effects(tmp_path, 0.01, [0.002, -0.001, 0.0, 0.001, -0.002])
    p = r.paired.iloc[0]
    w = r.deltas.iloc[0]
    assert p.n_pairs == 5 and p.delta == pytest.approx(w.delta) and p.r > 0.95
    assert p.ci_low > 0 and w.ci_low < 0            # Welch cannot tell, the pairs can
    assert p.width_vs_welch < 0.25
    assert r.deltas.iloc[0].verdict == "unresolved"    # the verdict stays Welch's


def test_paired_by_seed_uses_only_the_seeds_both_sides_ran(tmp_path):
    sweep = write_sweep(tmp_path, {"aug=none": [0.70, 0.71, 0.69, 0.72], "aug=cropflip": [0.80, 0.82]})
    p = build(sweep).paired.iloc[0]
    assert p.n_pairs == 2 and p.delta == pytest.approx(((0.80 - 0.70) + (0.82 - 0.71)) / 2)


def test_the_report_shows_the_paired_section_from_three_pairs_on(tmp_path):
    arms = lambda n: {"aug=none": BASE[:n], "aug=cropflip": AUG[:n]}
    two = write_report(write_sweep(tmp_path / "two", arms(2)), figures=False)
    assert "## Paired by seed" not in (two / "report.md").read_text()
    three = write_report(write_sweep(tmp_path / "three", arms(3)), figures=False)
    text = (three / "report.md").read_text()
    assert "## Paired by seed" in text and (three / "paired.csv").exists()
    assert "|r| above 0.997 with 3 pairs 5% of the time" in text


def test_r_by_chance_is_the_correlation_that_unpaired_runs_reach_at_the_level():
    for n in (3, 5, 10):
        crit = stats.r_by_chance(n)
        x = np.arange(n, dtype=float)
        # a sample whose r is exactly crit has Pearson's two-sided p of 0.05
        y = crit * (x - x.mean()) / x.std() + math.sqrt(1 - crit ** 2) * _orthogonal_unit(x)
        assert sps.pearsonr(x, y).pvalue == pytest.approx(0.05, rel=1e-6)
    assert stats.r_by_chance(3) > stats.r_by_chance(5) > stats.r_by_chance(10)
    assert math.isnan(stats.r_by_chance(2))


def _orthogonal_unit(x: np.ndarray) -> np.ndarray:
    """A vector of x's length with mean 0, orthogonal to x, scaled like (x - mean) / std."""
    v = np.resize([1.0, -2.0, 1.0], len(x)) if len(x) % 3 == 0 else np.cos(np.arange(len(x)) * 2.0)
    v = v - v.mean()
    c = x - x.mean()
    v = v - (v @ c) / (c @ c) * c
    return v / v.std()


def test_prediction_interval_is_mean_plus_minus_t_sd_root_one_plus_one_over_n():
    low, high = stats.prediction_interval([1.0, 2.0, 3.0])
    half = sps.t.ppf(0.975, 2) * 1.0 * math.sqrt(1 + 1 / 3)
    assert (low, high) == pytest.approx((2 - half, 2 + half))
    assert all(math.isnan(v) for v in stats.prediction_interval([1.0]))


def test_prediction_interval_holds_one_more_draw_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(20000, 4))
    hits = sum(lo <= row[3] <= hi for row in draws for lo, hi in [stats.prediction_interval(row[:3])])
    assert 0.94 < hits / len(draws) < 0.96
