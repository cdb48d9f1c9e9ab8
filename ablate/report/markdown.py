"""Write a Report to disk: CSV, Markdown and LaTeX tables, PNG + SVG figures, and report.md around them."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import pandas as pd

from ablate.record.metrics import BY_KEY, HEADLINE, PERCENT_COLUMNS
from ablate.record.provenance import environment
from ablate.record.sweep import sweep_folders
from ablate.report import classes, figures, gallery, notes, tables
from ablate.report.build import Report, build, check_margin
from ablate.report.reference import load_reference
from ablate.report.sequential import resolved_section
from ablate.report.stats import r_by_chance
from ablate.report.glance import glance, interval, ladder_overview, other_metrics_overview, overview, \
    reference_figures

# shown x 100: the metric table's percentages, and the comparison columns (in the headline's unit)
PCT = PERCENT_COLUMNS | {"mean_from", "mean_to", "delta", "ci_low", "ci_high", "share_of_true_class", "interaction"}


def _save(fig, folder: Path, name: str) -> str:
    """PNG and SVG, byte-identical when the data are: no date, fixed SVG element ids (committed reports change
    only where their numbers do)."""
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.png", dpi=120)
    with plt.rc_context({"svg.hashsalt": name}):
        fig.savefig(folder / f"{name}.svg", metadata={"Date": None})
    plt.close(fig)
    return f"figures/{name}.png"


def _table_files(df: pd.DataFrame, out: Path, name: str, pct=PCT) -> str:
    df.to_csv(out / f"{name}.csv", index=False)
    md = tables.to_markdown(df, pct)
    (out / f"{name}.md").write_text(md + "\n")
    (out / f"{name}.tex").write_text(tables.to_latex(df, pct) + "\n")
    return md


def _label(report: Report, df: pd.DataFrame, cols=("config", "from", "to")) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        if c in df:
            df[c] = df[c].map(lambda v: report.labels.get(v, v))
    return df


def write_report(sweep_dirs, baseline: str | None = None, ladder: list[str] | None = None,
                 out: str | Path | None = None, figures: bool = True, reference: str | Path | None = None,
                 echo: Callable[[str], None] | None = None, problems: list[str] | None = None,
                 margin: float | None = None) -> Path:
    """Write report.md, the CSV / Markdown / LaTeX tables and the figures; return the output folder.
    echo: given the at-a-glance table as text (print, a logger), for the terminal. problems: where given, a
    reference file that cannot be read is appended to it (the report is made without that comparison);
    otherwise it raises. An output folder that cannot be written raises OSError naming it, before any record
    is read."""
    check_margin(margin)                       # before the output folder is made
    sweep_dirs = sweep_folders(sweep_dirs)     # a mistyped sweep folder is named, not made by the report's mkdir
    out = writable_folder(Path(out) if out else sweep_dirs[0] / "report")
    if reference is not None and problems is not None:
        try:
            load_reference(reference)
        except (OSError, ValueError) as e:
            problems.append(f"{e} (the report is made without the reference comparison)")
            reference = None
    report = build(sweep_dirs, baseline, ladder, reference, margin)
    write(report, out, sweep_dirs, figures=figures)
    if echo is not None:
        echo(glance(report))
    return out


def writable_folder(out: Path) -> Path:
    """The report's folder, made if missing, after checking that it can be written: a clear OSError otherwise."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"the report's folder {out} is a file: pass --out with a folder (or move the file)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".ablate-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise PermissionError(f"the report cannot be written to {out} ({e.strerror or e}): pass --out with a "
                              f"folder you can write") from None
    return out


def write(report: Report, out: Path, sweep_dirs, figures: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    runs = report.runs.drop(columns=["_record"], errors="ignore")
    runs.to_csv(out / "runs.csv", index=False)
    md = ["# Ablation report", "",
          f"Sweep folder(s): {', '.join(f'`{s}`' for s in sweep_dirs)}. Headline metric: **final-epoch test "
          f"accuracy** (%), mean over seeds with a 95% t-interval. Best validation accuracy is shown for "
          f"reference only: nothing here is selected on the test split.", ""]
    md += _runs(report, runs)
    if report.summary.empty or not (report.summary.n > 0).any():
        (out / "report.md").write_text("\n".join(md + ["No completed runs yet."] + _provenance(runs)) + "\n")
        return
    md += _glance(report, out) + _against_reference(report, out) + resolved_section(report, sweep_dirs, out)
    if report.summary.seed_set_differs.any():
        md += ["**Warning:** configurations were run with different seed sets (see `seeds`); deltas compare "
               "unpaired seeds.", ""]
    md += notes.mixed_hardware(report)
    md += _ladder(report, out) + _deltas(report, out) + _paired(report, out) + _other_metrics(report, out)
    if figures:
        md += _figures(report, out / "figures")
    md += _classes(report, out, out / "figures", figures) + _provenance(runs)
    (out / "report.md").write_text("\n".join(md) + "\n")
    _remove_stale_figures(out / "figures", "\n".join(md))


def _remove_stale_figures(figdir: Path, md: str) -> None:
    """Delete the figures an earlier report wrote here that this one does not show (a renamed configuration's
    confusion matrix, say), so the folder holds what report.md shows and nothing older."""
    shown = set(re.findall(r"\]\(figures/([^)/]+)\.png\)", md))
    for path in [*figdir.glob("*.png"), *figdir.glob("*.svg")]:
        if path.stem not in shown:
            path.unlink()


def _runs(report: Report, runs: pd.DataFrame) -> list[str]:
    """How many runs of each status; the ones not completed, listed; configurations with no completed run."""
    n_by = runs.status.value_counts().to_dict() if len(runs) else {}
    md = ["## Runs", "", ", ".join(f"{v} {k}" for k, v in n_by.items()) or "no runs found", ""]
    not_done = runs[runs.status != "completed"] if len(runs) else runs
    if len(not_done):
        md += ["Not completed (listed, not dropped):", "",
               tables.to_markdown(_label(report, not_done[["config", "seed", "status", "error", "run_dir"]])), ""]
    empty = [report.labels.get(c, c) for c in report.summary[report.summary.n == 0].config] \
        if not report.summary.empty else []
    if empty and (report.summary.n > 0).any():
        md += [f"No completed run yet: {', '.join(f'`{c}`' for c in empty)}. Tables and figures that need "
               f"them leave them out (a line says so where one is left out).", ""]
    return md + notes.no_validation(report, runs)


def _glance(report: Report, out: Path) -> list[str]:
    """The compact table a person reads first; the wide summary goes to summary.csv / summary_table.md."""
    summary = report.summary
    summary.to_csv(out / "summary.csv", index=False)
    base = report.labels.get(report.baseline, report.baseline)
    show = ["config", "n", "seeds", "test_acc_mean", "test_acc_std", "test_acc_ci_low", "test_acc_ci_high",
            "test_acc_min", "test_acc_max", "test_acc_tta_mean", "best_val_acc_mean", "train_val_gap_mean",
            "test_ece_mean", "test_nll_mean", "train_seconds_mean"]
    _table_files(_label(report, summary[show]), out, "summary_table")
    return ["## At a glance", "",
            f"Final-epoch test accuracy (%): mean over seeds [95% t-interval, within 0-100]; the delta against "
            f"the baseline `{base}` in points [Welch 95% interval] and its verdict (Holm-corrected); the last "
            f"column is the range of val accuracy over each run's last 5 epochs (mean over seeds), a gauge of "
            f"how much the final epoch's figure could have moved.", "",
            *notes.baseline_match(report, base), *notes.margin(report),
            _table_files(overview(report), out, "overview", pct=set()), "", *notes.zero_spread(report),
            *notes.clear_but_unresolved(report, report.deltas),
            "The full summary per configuration (std, min, max, flip-TTA accuracy, best val accuracy, train-val "
            "gap, ECE, NLL, train time) is in `summary.csv` and `summary_table.md`.", ""]


def _ladder(report: Report, out: Path) -> list[str]:
    if report.ladder_steps.empty:
        return []
    cols = ["from", "to", "n_from", "n_to", "mean_from", "mean_to", "delta", "ci_low", "ci_high", "p", "p_holm",
            "verdict", "seeds_for_80pct_power"]
    return ["## Ladder: each rung against the previous one", "",
            "Final-epoch test accuracy (%) per rung [95% t-interval], its flip-TTA accuracy, and the step from "
            "the rung below in points [Welch 95% interval] with its verdict"
            + (" and the reference figure" if not report.reference.empty else "") + ".", "",
            _table_files(ladder_overview(report), out, "ladder_overview", pct=set()), "",
            *notes.clear_but_unresolved(report, report.ladder_steps),
            "The same steps in full. Delta in points with a Welch 95% interval; p-values Holm-corrected over "
            "the ladder's steps; the verdict is better / worse when the corrected p < 0.05, else unresolved (no "
            "test with one seed on a side)" + (f", or within ±{100 * report.margin:g} (the equivalence margin "
                                               f"above)" if report.margin is not None else "")
            + ". `seeds_for_80pct_power`: seeds per arm at which the same Welch test "
            "would resolve the observed delta with 80% power, given each side's observed spread, at the "
            "Bonferroni level 0.05 / (comparisons in the table), which bounds Holm's.", "",
            _table_files(_label(report, report.ladder_steps[cols]), out, "ladder"), ""]


def _deltas(report: Report, out: Path) -> list[str]:
    """Every configuration against the baseline; then the interactions, where the sweep has them."""
    md = []
    base = report.labels.get(report.baseline, report.baseline)
    if not report.deltas.empty and not (report.deltas.n_from > 0).any():
        md += [f"_No deltas against the baseline `{base}`: it has no completed run yet (name another with "
               f"--baseline)._", ""]
    elif not report.deltas.empty:
        cols = ["to", "n_from", "n_to", "mean_from", "mean_to", "delta", "ci_low", "ci_high", "p", "p_holm",
                "verdict", "seeds_for_80pct_power"]
        md += [f"## Deltas against the baseline `{base}`", "",
               "Same columns as above; Holm correction over the comparisons in this table.", "",
               _table_files(_label(report, report.deltas[cols]), out, "deltas"), ""]
    if not report.interactions.empty:
        md += ["## Interactions", "", "The effect of one factor at each level of the other (Welch 95% interval): "
               "when the rows of one factor disagree, the factors interact.", "",
               _table_files(report.interactions, out, "interactions"), ""]
    if not report.interaction_contrasts.empty:
        md += ["How much one factor's effect changes at the other's level, in one number per 2x2 of "
               "configurations: (its effect at the other's second level) - (its effect at the first), the same "
               "read either way; a Welch-Satterthwaite 95% interval over the four cells (n: runs in the cells "
               "ref / first changed / second changed / both), p-values Holm-corrected over the table. `interact` "
               "when the corrected p < 0.05: then the simple effects above are the answer, not one main effect; "
               "`seeds_for_80pct_power`: seeds per cell that would resolve the observed interaction.",
               "", _table_files(report.interaction_contrasts, out, "interaction_contrasts"), ""]
    return md


def _paired(report: Report, out: Path) -> list[str]:
    """The ladder's steps (else the deltas against the baseline) seed against seed, where 3+ seeds pair up."""
    if report.paired.empty or not (report.paired.n_pairs >= 3).any():
        return []
    return ["## Paired by seed", "",
            "The same comparisons over the seeds both sides completed, seed against seed. A seed fixes the data "
            "order and the augmentation's random draws (the same ones where the dataset, batch size and "
            "augmentation match) and the initial weights (the same where the models' parameters match), so one "
            "seed's runs can share part of their noise. `r`: the correlation "
            "of the paired final-epoch test accuracies; `width_vs_welch`: the paired 95% interval's width over "
            "Welch's on the same runs, below 1 where the seeds' runs move together (r > 0). p-values "
            "Holm-corrected over the table. The verdicts stay those of the Welch tables above, the test chosen "
            "before any data: this table shows how much reading the same runs in pairs would narrow their "
            "intervals, not a second test to pick from. " + _r_by_chance(report.paired.n_pairs), "",
            _table_files(_label(report, report.paired), out, "paired"), ""]


def _r_by_chance(n_pairs: pd.Series) -> str:
    """How large an r few pairs give by chance alone, for the pair counts in the table."""
    counts = sorted({int(n) for n in n_pairs if n >= 3})
    by_n = ", ".join(f"{r_by_chance(n):.3f} with {n} pairs" for n in counts)
    return (f"An r from few pairs is itself uncertain: runs that share no noise at all give |r| above {by_n} 5% "
            f"of the time.")


def _other_metrics(report: Report, out: Path) -> list[str]:
    """The same comparisons (the ladder's steps, else each configuration against the baseline) on flip-TTA
    accuracy, calibration (ECE) and NLL: what else a change of recipe moves."""
    shown = other_metrics_overview(report)
    if shown.empty:
        return []
    report.other_metrics.to_csv(out / "other_metrics.csv", index=False)     # raw: fractions and nats
    table = tables.to_markdown(shown, set())
    (out / "other_metrics.md").write_text(table + "\n")
    (out / "other_metrics.tex").write_text(tables.to_latex(shown, set()) + "\n")
    pairs = "each rung against the one below" if len(report.ladder) > 1 else "each configuration against the baseline"
    return ["## Other metrics", "",
            f"The same comparisons ({pairs}) on flip-TTA test accuracy, test ECE (expected calibration error, "
            "lower is better) and test NLL (lower is better): Welch 95% interval, Holm-corrected over each "
            "metric's comparisons; `better` / `worse` follow the metric's direction. Nothing here is the headline.",
            "", table, ""]


def _against_reference(report: Report, out: Path) -> list[str]:
    if report.reference.empty:
        return []
    r = report.reference
    table = pd.DataFrame({
        "config": [report.labels.get(c, c) for c in r.config],
        "reference %": [f"{100 * v:.1f}" for v in r.reference],
        "n": r.n,
        "ours % [95% CI]": [interval(m, lo, hi) for m, lo, hi in zip(r.test_acc_mean, r.test_acc_ci_low,
                                                                       r.test_acc_ci_high)],
        "ours - reference (points)": [f"{100 * d:+.2f}" if d == d else "-" for d in r.ours_minus_reference],
        "the reference is": r.reference_is})
    r.to_csv(out / "reference.csv", index=False)
    return [f"## Against the reference figures ({report.reference_source})", "",
            f"Final-epoch {BY_KEY[report.reference_metric].name.removesuffix(' (final epoch)')} against the "
            f"published figure for the same "
            f"recipe (taken as exact)"
            + (f"; the reference holds `{report.reference_metric}`, so runs without it are not counted"
               if report.reference_metric != HEADLINE.key else "") + ".", "",
            tables.to_markdown(table, set()), ""]


def _classes(report: Report, out: Path, figdir: Path, figures_on: bool) -> list[str]:
    """Per-class accuracy of every configuration; the best one's confused pairs, with a gallery."""
    md = []
    tables_by_classes = classes.per_class_accuracy(report.runs, report.configs, report.labels)
    if tables_by_classes:
        md += ["## Per-class accuracy", "", "Test accuracy per class (%), mean over seeds (one table per set of "
               "classes).", ""]
    for k, table in enumerate(tables_by_classes):
        name = "per_class_accuracy" + (f"_{k + 1}" if k else "")
        if figures_on:
            md += [f"![per-class accuracy]({_save(figures.per_class_heatmap(table), figdir, name)})", ""]
        md += [_table_files(table.reset_index(), out, name, pct=set(table.columns)), ""]
        unmeasured = [str(c) for c, row in table.iterrows() if row.isna().all()]
        if unmeasured:
            md += [f"No test images for {', '.join(unmeasured)}: no accuracy is measured for them (shown as -, "
                   f"not 0), and the overall test accuracy leaves them out.", ""]
    ranked = report.summary[report.summary.n > 0].sort_values("test_acc_mean", ascending=False).config
    if ranked.empty:
        return md
    best = ranked.iloc[0]
    label = report.labels[best]
    pairs = classes.confused_pairs_unordered(report.runs, best)
    directed = classes.confused_pairs(report.runs, best)
    if pairs.empty:
        return md
    md += [f"## What `{label}` mixes up", "",
           "Class pairs confused in either direction (mean count per seed; `share_of_pair`: % of the two "
           "classes' test images):", "", _table_files(pairs, out, "confused_pairs", pct={"share_of_pair"}), "",
           "The same mistakes one direction at a time:", "",
           _table_files(directed, out, "confused_pairs_directed", pct={"share_of_true_class"}), ""]
    if figures_on:
        md += [f"![top confusions]({_save(figures.confused_pairs_chart(directed, label), figdir, 'confused_pairs')})",
               ""]
        images, rows, reason = gallery.gallery_items(report.runs, best, pairs.head(3))
        if images is None:
            md += [f"_No gallery of misclassified images: {reason}._", ""]
        else:
            fig = gallery.gallery_figure(images, rows, f"{label}: most confident mistakes, top 3 confused pairs")
            md += [f"![misclassified]({_save(fig, figdir, 'misclassified')})", "",
                   "The most confident mistakes within each of the top 3 confused pairs (one seed's run): "
                   "true -> predicted, softmax confidence. A confident \"mistake\" is often a wrong label in the "
                   "test set itself (CIFAR-10's has some, e.g. a frog labelled cat: Northcutt et al. 2021, "
                   "labelerrors.com).", ""]
    return md


def _figures(report: Report, figdir: Path) -> list[str]:
    return ["## Figures", "", *_curve_figures(report, figdir), *_ladder_figure(report, figdir),
            *_confusion_figures(report, figdir), *_per_class_delta_figure(report, figdir),
            *_reliability_figure(report, figdir)]


def _curve_figures(report: Report, figdir: Path) -> list[str]:
    if report.histories.empty:
        return []
    labels = {c: report.labels[c] for c in report.configs if c in set(report.histories.config)}
    overlay = _save(figures.val_overlay(report.histories, labels), figdir, "val_overlay")
    curves = _save(figures.curves(report.histories, labels), figdir, "curves")
    return [f"![val accuracy, every configuration]({overlay})", "", "Val accuracy of every configuration on one "
            "axis: the first comparison to make.", "",
            f"![train and val curves]({curves})", "",
            "Train (blue) and val (orange) accuracy and loss per epoch: mean over seeds, band from min to max; "
            "the hatched area is the train-val gap. Train figures are the training objective on augmented "
            "batches in train mode (label smoothing and mixing included when on); val loss is plain "
            "cross-entropy, so a smoothed run's train loss can sit above its val loss.", ""]


def _ladder_figure(report: Report, figdir: Path) -> list[str]:
    if len(report.ladder) < 2:
        return []
    done_rungs = [c for c in report.ladder if report.summary.set_index("config").loc[c, "n"] > 0]
    if len(done_rungs) < 2:
        return ["_No ladder figure yet: fewer than two rungs have a completed run._", ""]
    ref = reference_figures(report)
    path = _save(figures.ladder(report.summary, report.ladder_steps, report.ladder, report.labels, ref,
                                "reference figure", report.runs), figdir, "ladder")
    return [f"![ladder]({path})", "", "Cumulative gains up the ladder"
            + (" (open diamonds: the reference figures)" if ref else "")
            + ("; small dots: each seed's run" if (report.summary.n >= 2).any() else "") + ".", ""]


def _confusion_figures(report: Report, figdir: Path) -> list[str]:
    md = []
    for config in report.configs:
        if report.summary.set_index("config").loc[config, "n"] == 0:
            continue
        path = _save(figures.confusion(report.runs, config, report.labels[config]), figdir,
                     f"confusion_{figures.slug(report.labels[config])}")
        md += [f"![confusion {report.labels[config]}]({path})", ""]
    return md + ["Confusion matrices: rows are true classes, normalised to 100%, counts summed over seeds.", ""]


def _per_class_delta_figure(report: Report, figdir: Path) -> list[str]:
    """The baseline against the best other configuration on the same classes."""
    ranked = report.summary[report.summary.n > 0].sort_values("test_acc_mean", ascending=False).config
    ref = report.baseline
    if ref not in set(ranked):
        return [f"_No per-class delta: the baseline `{report.labels.get(ref, ref)}` has no completed run yet._", ""]
    same_classes = classes.class_names(report.runs, ref)
    target = next((c for c in ranked if c != ref and classes.class_names(report.runs, c) == same_classes), None)
    if not target:
        return []
    path = _save(figures.per_class_delta(report.runs, ref, target, report.labels), figdir, "per_class_delta")
    return [f"![per-class delta]({path})", "",
            f"Per-class accuracy change from the baseline `{report.labels[ref]}` to the best other "
            f"configuration on the same classes, `{report.labels[target]}`; error bars are "
            f"Welch 95% intervals from the seed spread: green and red bars clear their own noise.", ""]


def _reliability_figure(report: Report, figdir: Path) -> list[str]:
    smoothing = report.runs.dropna(subset=["label_smoothing"]).groupby("config").label_smoothing.first()
    if smoothing.nunique() < 2:
        return []
    path = _save(figures.reliability(report.runs, report.configs, report.labels), figdir, "reliability")
    return [f"![reliability]({path})", "", "Reliability diagram: configurations differ in label smoothing, "
            "which changes calibration as well as accuracy.", ""]


def _provenance(runs: pd.DataFrame) -> list[str]:
    md = ["## Provenance", ""]
    for col, title in (("git_sha", "git sha"), ("device_name", "device"), ("cpu_model", "CPU model"), ("cpu", "CPU features"),
                       ("precision", "precision used"), ("torch", "torch"), ("host", "host")):
        if col in runs:
            vals = sorted(v for v in runs[col].dropna().unique())
            md.append(f"- {title}: {', '.join(f'`{v}`' for v in vals) or '-'}")
    if "date" in runs and runs.date.notna().any():
        md.append(f"- run dates: {runs.date.dropna().min()} to {runs.date.dropna().max()}")
    if "command" in runs:
        for cmd in sorted(runs.command.dropna().unique())[:5]:
            md.append(f"- command: `{cmd}`")
    env = environment()
    md.append(f"- report written {env['date']} by `{env['command']}` at git `{env['git_sha']}`")
    return md + [""]
