"""The report's files and figures on synthetic records, and end to end on a tiny real sweep."""
from __future__ import annotations

import json
import re

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from ablate.report import build, figures, write_report
from ablate.report.cli import main as report_main
from ablate.record.synthetic import AUG, BASE, LADDER, write_run, write_sweep


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
    assert "- CPU model: `Test CPU (cpu family 6, model 1, stepping 0)`" in text      # which machine ran them


def _smoothing_sweep(sweep):
    """Two seeds with cross-entropy, two with label smoothing 0.1: a sweep whose report draws a reliability diagram."""
    for seed, acc in enumerate(BASE[:2]):
        write_run(sweep / f"a{seed}", ["loss=ce"], seed, acc)
        write_run(sweep / f"b{seed}", ["loss=label_smoothing"], seed, acc, smoothing=0.1)
    return sweep


def test_reliability_diagram_when_label_smoothing_differs(tmp_path):
    out = write_report(_smoothing_sweep(tmp_path / "s"))
    assert (out / "figures" / "reliability.png").is_file()


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert report_main([str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    write_sweep(tmp_path / "s", {"aug=none": BASE[:2], "aug=flip": AUG[:2]})
    assert report_main([str(tmp_path / "s"), "--baseline", "aug=zzz"]) == 2
    assert "matches none" in capsys.readouterr().err
    assert report_main([str(tmp_path / "s"), "--baseline", "aug=flip", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "report.md").is_file()


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


def test_reliability_legend_stays_inside_the_figure_and_off_the_curves(tmp_path):
    # a ladder pooled with a 2x2 names every factor: the legend's long names once ran off the figure's right edge
    r = build(_smoothing_sweep(tmp_path / "s"))
    long = {c: f"rung=3_label_smoothing aug=cropflip {c} schedule=cosine warmup=5" for c in r.configs}
    fig = figures.reliability(r.runs, r.configs, long)
    renderer = fig.canvas.get_renderer()
    ax, legend = fig.axes[0], fig.axes[0].get_legend()
    figure_box, legend_box = fig.bbox, legend.get_window_extent(renderer)
    assert len(legend.get_texts()) == 2
    assert figure_box.x0 <= legend_box.x0 and legend_box.x1 <= figure_box.x1
    assert figure_box.y0 <= legend_box.y0
    assert legend_box.y1 <= ax.get_window_extent(renderer).y0             # below the axes, not on the curves


def test_reliability_leaves_out_bins_of_a_few_images(tmp_path):
    # one test image alone in a low-confidence bin is a spike to accuracy 0 or 1, not a measurement
    write_run(tmp_path / "s" / "a0", ["loss=ce"], 0, 0.7)
    rec_path = tmp_path / "s" / "a0" / "results.json"
    rec = json.loads(rec_path.read_text())
    bins = rec["metrics"]["reliability"]
    bins["count"][3], bins["correct"][3], bins["confidence"][3] = 1, 1, 0.25
    bins["count"][6], bins["correct"][6], bins["confidence"][6] = 40, 12, 16.0
    rec_path.write_text(json.dumps(rec))
    r = build(tmp_path / "s")
    ax = figures.reliability(r.runs, r.configs, r.labels).axes[0]
    line = [x for x in ax.get_lines() if x.get_label().startswith("loss=ce")][0]
    assert list(np.round(line.get_xdata(), 2)) == [0.4, 0.97]              # the 40-image bin and the top one
    assert "under 10 images" in ax.get_title()


def test_a_class_without_test_images_reads_no_data_not_zero(tmp_path):
    """Its per-class accuracy was 0.00 with no word: it is not measured, so '-' and a sentence saying why."""
    sweep = write_sweep(tmp_path / "sweep", {"loss=ce": BASE[:2], "loss=label_smoothing": AUG[:2]})
    for rec_path in sweep.rglob("results.json"):
        rec = json.loads(rec_path.read_text())
        rec["confusion_matrix"][2] = [0, 0, 0]                 # no test images of "bird"
        rec["metrics"]["per_class_acc"][2] = None
        rec_path.write_text(json.dumps(rec))
    out = write_report(sweep)
    rows = {r.split(" | ")[0].strip("| "): r for r in (out / "per_class_accuracy.md").read_text().splitlines()[2:]}
    assert rows["bird"] == "| bird | - | - |"
    assert "No test images for bird" in (out / "report.md").read_text()
