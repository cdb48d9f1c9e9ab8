"""ablate.resolve: the group-sequential boundaries against a Monte-Carlo of the process they assume and the
published Pocock-type values; the Holm-graphical recycling; the plan; the loop over a sweep (with a launcher
that writes records, and once with real runs); the simulation's error rate."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from conftest import TINY
from ablate.bench import resolve_sim
from ablate.record.synthetic import write_run, write_sweep
from ablate.report import write_report
from ablate.resolve.cli import main as resolve_main, resolve
from ablate.resolve.design import boundaries, nominal_levels, spent
from ablate.resolve.looks import Comparison, Design, look, plan
from ablate.resolve.state import read_state

FIVE = [0.2, 0.4, 0.6, 0.8, 1.0]


@pytest.mark.parametrize("spending", ["obf", "pocock"])
def test_boundaries_keep_the_familywise_rate_of_the_process_they_assume(spending):
    c = np.array(boundaries(FIVE, 0.05, spending))
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(400_000, 5)) * np.sqrt(np.diff([0] + FIVE))).cumsum(1)
    crossed = (np.abs(w / np.sqrt(FIVE)) >= c).any(1)
    assert crossed.mean() == pytest.approx(0.05, abs=0.0015)
    # and each look spends what the spending function says (the first look: exactly)
    first = (np.abs(w[:, 0] / math.sqrt(0.2)) >= c[0]).mean()
    assert first == pytest.approx(spent(0.2, 0.05, spending), abs=0.001)


def test_boundaries_match_published_values():
    # Lan-DeMets Pocock-type, 5 equally spaced looks, two-sided 0.05 (Jennison & Turnbull 2000, table 7.6)
    assert boundaries(FIVE, 0.05, "pocock") == pytest.approx([2.438, 2.427, 2.410, 2.397, 2.386], abs=0.002)
    assert boundaries([1.0], 0.05) == pytest.approx([sps.norm.isf(0.025)])        # one look: the fixed test
    # a look whose information did not grow spends nothing, and the next look is not penalised for it
    assert boundaries([0.5, 0.5, 1.0], 0.05)[1] == math.inf
    assert boundaries([0.5, 0.5, 1.0], 0.05)[2] == pytest.approx(boundaries([0.5, 1.0], 0.05)[1])
    assert nominal_levels([1.0], 0.05) == pytest.approx([0.05])
    with pytest.raises(ValueError, match="use one of obf, pocock"):
        spent(0.5, 0.05, "linear")


def _pair(name, a, b):
    return Comparison(name, "vs baseline", (a, b), (-1.0, 1.0))


def test_a_rejection_passes_its_share_of_alpha_to_the_others():
    """Holm-graphical: B is rejected only because A's rejection doubled B's share (checked against the levels)."""
    design = Design(alpha=0.05, max_seeds=4)
    comps = [_pair("A", "base", "a"), _pair("B", "base", "b")]
    values = {"base": np.array([0.80, 0.801, 0.799, 0.8]), "a": np.array([0.90, 0.901, 0.899, 0.9]),
              "b": np.array([0.804, 0.812, 0.808, 0.804])}
    rows = look(comps, values, design, {}, {})
    p_b = rows[1].p
    assert nominal_levels([1.0], 0.025)[0] < p_b < nominal_levels([1.0], 0.05)[0]
    assert [r.verdict for r in rows] == ["better", "better"] and rows[1].share == 0.05
    # without A's rejection (A stopped as futile earlier: it keeps its share) B stays unresolved
    rows = look(comps, values, design, {}, {"A": "futile"})
    assert rows[0].verdict == "futile" and rows[1].verdict == "unresolved at --max-seeds"


def test_a_look_without_new_seeds_is_not_a_new_look_and_the_plan_adds_only_where_open():
    design = Design(alpha=0.05, max_seeds=5)
    comps = [_pair("open", "base", "a"), _pair("waiting", "base", "w"), _pair("done", "base", "d")]
    values = {"base": np.array([0.80, 0.81, 0.79]), "a": np.array([0.83, 0.845, 0.835]), "w": np.array([0.9]),
              "d": np.array([0.95, 0.96, 0.95])}
    rows = look(comps, values, design, {"open": [0.6]}, {"done": "better"})
    by = {r.comparison.name: r for r in rows}
    assert not by["open"].tested and by["open"].fraction == pytest.approx(0.6)
    assert by["waiting"].verdict == "needs 2+ seeds a side" and by["done"].verdict == "better"
    adds = plan(rows, values, design)
    assert "d" not in adds and adds["w"] == 1                      # to 2 seeds, not more
    assert adds["base"] == adds["a"] >= 1                          # both sides to one target
    assert by["open"].planned == {"base": adds["base"], "a": adds["a"]} and by["done"].planned == {}


def test_futility_optimism_keeps_open_what_one_standard_error_more_could_resolve():
    """At 3 seeds a side, a 0.5-point delta with a 0.5-point spread needs more than 6 seeds at the observed delta
    (futile at K=0) but not at delta + 1 SE (open at K=1); a 0.2-point delta is futile either way. Futility
    spends no alpha: the boundary level is the same for both."""
    comps = [_pair("A", "base", "a")]
    spread = np.array([0.800, 0.805, 0.795])
    for delta, verdicts in ((0.005, ["futile", "open"]), (0.002, ["futile", "futile"])):
        values = {"base": spread, "a": spread + delta}
        rows = [look(comps, values, Design(max_seeds=6, futility_optimism=k), {}, {})[0] for k in (0, 1)]
        assert [r.verdict for r in rows] == verdicts and rows[0].level == rows[1].level
    assert "|delta| + 1 standard errors" in Design(futility_optimism=1).describe()


def _sweep(root, arms):
    """A synthetic sweep of one factor with the multirun.yaml Hydra would have written for it (resolve reads its
    launcher from there)."""
    sweep = write_sweep(root, arms)
    key = next(iter(arms)).split("=")[0]
    values = ",".join(a.split("=")[1] for a in arms)
    seeds = ",".join(str(i) for i in range(len(next(iter(arms.values())))))
    (sweep / "multirun.yaml").write_text(f"hydra:\n  overrides:\n    hydra: []\n    task: ['{key}={values}', "
                                         f"'seed={seeds}']\n")
    return sweep


def _fake_launcher(sweep, accuracy):
    """Writes a completed record per job the round's commands ask for, drawn from `accuracy(config, seed)`."""
    calls = []

    def launch(commands):
        for cmd in commands:
            calls.append(cmd)
            overrides = [o for o in cmd[4:] if not o.startswith(("seed=", "hydra."))]
            seeds = next(o for o in cmd if o.startswith("seed=")).split("=")[1].split(",")
            into = Path(next(o for o in cmd if o.startswith("hydra.sweep.dir=")).split("=", 1)[1])
            for s in seeds:
                job = into / f"{','.join(overrides)},seed={s}"
                write_run(job, overrides, int(s), accuracy(" ".join(overrides), int(s)))
        return [0] * len(commands)
    return launch, calls


def test_the_loop_adds_seeds_until_every_comparison_stops_and_the_report_says_how(tmp_path, capsys):
    sweep = _sweep(tmp_path / "s", {"aug=none": [0.80, 0.81], "aug=cropflip": [0.90, 0.905],
                                         "aug=flip": [0.80, 0.812]})
    rng = np.random.default_rng(0)
    true = {"aug=none": 0.80, "aug=cropflip": 0.90, "aug=flip": 0.805}
    launch, calls = _fake_launcher(sweep, lambda c, s: true[c] + rng.normal(0, 0.005))
    design = Design(max_seeds=6)
    state = resolve(sweep, design, launch=launch, echo=lambda s: None)
    saved = read_state(sweep)             # every look is on disk (NaN != NaN: compared by what a reader uses)
    assert len(saved["looks"]) == len(state["looks"]) >= 2 and saved["design"] == state["design"]
    assert [r["verdict"] for r in saved["looks"][-1]["rows"]] == [r["verdict"] for r in state["looks"][-1]["rows"]]
    last = {r["comparison"]: r["verdict"] for r in state["looks"][-1]["rows"]}
    assert last["aug=cropflip vs aug=none"] == "better"
    assert last["aug=flip vs aug=none"] in ("futile", "unresolved at --max-seeds", "better")
    # once decided, a comparison gets no more seeds: its configuration keeps the seeds it had then
    decided = next(lk for lk in state["looks"] for r in lk["rows"]
                   if r["comparison"] == "aug=cropflip vs aug=none" and r["verdict"] == "better")
    n_then = next(r["ns"][1] for r in decided["rows"] if r["comparison"] == "aug=cropflip vs aug=none")
    assert len(list(sweep.glob("aug=cropflip,seed=*"))) == n_then
    # the first round added seeds 2.. to configurations an open comparison needed, the sweep's folder kept
    assert all(c[-1] == f"hydra.sweep.dir={sweep}" for c in calls) and any("seed=2" in c for c in calls[0])
    text = (write_report(sweep, figures=False) / "report.md").read_text()
    assert "## Resolved sequentially" in text and "Lan-DeMets O'Brien-Fleming-like" in text
    assert f"{len(state['looks'])} look(s)" in text and "boundary p" in text
    # run again once everything stopped (a campaign restarting it): no new look, nothing launched
    launched = len(calls)
    again = resolve(sweep, design, launch=launch, echo=lambda s: None)
    assert len(calls) == launched and len(again["looks"]) == len(state["looks"]) and len(read_state(sweep)["looks"]) == len(state["looks"])
    # the design cannot change under a sweep that has spent alpha by it
    assert resolve_main([str(sweep), "--max-seeds", "8"]) == 2
    err = capsys.readouterr().err
    assert "max_seeds 6 -> 8" in err and "--max-seeds 6" in err


def test_a_baseline_swept_into_another_folder_is_resolved_with_each_configuration_growing_where_it_is(
        tmp_path, capsys):
    base = _sweep(tmp_path / "base", {"aug=none": [0.80, 0.81]})
    variants = _sweep(tmp_path / "variants", {"aug=cropflip": [0.90, 0.905], "aug=flip": [0.80, 0.812]})
    assert resolve_main([str(variants), str(base), "--baseline", "aug=none", "--dry-run"]) == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("  python -m ablate -m")]
    assert any(c.startswith("  python -m ablate -m aug=none seed=2") and c.endswith(f"hydra.sweep.dir={base}")
               for c in commands)
    assert any(c.startswith("  python -m ablate -m aug=flip seed=2") and c.endswith(f"hydra.sweep.dir={variants}")
               for c in commands)
    rng = np.random.default_rng(0)
    true = {"aug=none": 0.80, "aug=cropflip": 0.90, "aug=flip": 0.805}
    launch, calls = _fake_launcher(None, lambda c, s: true[c] + rng.normal(0, 0.005))
    state = resolve([variants, base], Design(max_seeds=4), baseline="aug=none", launch=launch, echo=lambda s: None)
    assert calls and {c for c in state["looks"][0]["rows"][0]["comparison"].split(" vs ")} == {"aug=cropflip", "aug=none"}
    assert len(list(base.glob("aug=none,seed=*"))) > 2 and not list(variants.glob("aug=none,*"))
    assert read_state(variants)["sweeps"] == [".", "../base"] and read_state(base) is None
    # the alpha spent is over both folders' comparisons: one folder alone is refused, naming them
    assert resolve_main([str(variants), "--baseline", "aug=none", "--max-seeds", "4"]) == 2
    assert f"over the folders {variants} {base}" in capsys.readouterr().err


def test_dry_run_records_nothing_and_budget_stops_before_a_round(tmp_path, capsys):
    sweep = _sweep(tmp_path / "s", {"aug=none": [0.80, 0.81], "aug=flip": [0.805, 0.82]})
    assert resolve_main([str(sweep), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert read_state(sweep) is None and "next round (dry run, not recorded as a look)" in out
    assert "python -m ablate -m aug=flip seed=2" in out and f"hydra.sweep.dir={sweep}" in out
    launch, calls = _fake_launcher(sweep, lambda c, s: 0.8)
    state = resolve(sweep, Design(), budget_hours=1e-9, launch=launch, echo=print)
    assert calls == [] and len(state["looks"]) == 1
    assert "would pass --budget-hours" in capsys.readouterr().out


@pytest.mark.parametrize("args, named", [(["--max-seeds", "1"], "--max-seeds 1"), (["--alpha", "5"], "--alpha 5"),
                                         (["--budget-hours", "0"], "--budget-hours 0"),
                                         (["--futility-optimism", "-1"], "--futility-optimism -1")])
def test_bad_arguments_are_named_before_any_record_is_read(tmp_path, capsys, args, named):
    assert resolve_main([str(tmp_path / "nowhere"), *args]) == 2
    assert named in capsys.readouterr().err


def test_a_folder_resolve_cannot_work_from_is_named_with_the_fix(tmp_path, capsys):
    write_run(tmp_path / "single", ["aug=none"], 0, 0.8)
    (tmp_path / "empty").mkdir()
    write_sweep(tmp_path / "one", {"aug=none": [0.80, 0.81]})
    bare = write_sweep(tmp_path / "bare", {"aug=none": [0.80, 0.81], "aug=flip": [0.805, 0.82]})
    for folder, named in (("single", "is one run's folder, not a sweep"), ("empty", "holds no run records"),
                          ("one", "nothing to compare (one configuration)"), ("bare", "has no multirun.yaml")):
        assert resolve_main([str(tmp_path / folder)]) == 2
        assert named in capsys.readouterr().err
    # without multirun.yaml the plan is still printed: its commands can be launched by hand
    assert resolve_main([str(bare), "--dry-run"]) == 0 and "seed=2" in capsys.readouterr().out
    assert read_state(bare) is None


def test_a_damaged_state_file_is_named_not_started_over(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {"aug=none": [0.80, 0.81], "aug=flip": [0.805, 0.82]})
    (sweep / "resolve.json").write_text("{not json")
    assert resolve_main([str(sweep), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "resolve.json cannot be read" in err and (sweep / "resolve.json").read_text() == "{not json"


def test_the_simulation_keeps_alpha_and_finds_large_effects():
    design = Design(alpha=0.05, max_seeds=6)
    null = resolve_sim.simulate(0.0, 300, design, seed=1)
    assert null["familywise_false_ci"][0] <= 0.05            # at most alpha, within Monte-Carlo error
    big = resolve_sim.simulate(0.02, 100, design, seed=1)
    assert big["power"] > 0.8 and big["familywise_false_rate"] == 0
    assert big["mean_seeds"] < 4 * 6                         # it stopped before --max-seeds everywhere, on average


def test_resolve_runs_real_rounds_into_the_same_sweep(tmp_path, ablate_cli):
    sweep = tmp_path / "sweep"
    res = ablate_cli(["-m", *TINY, "trainer.epochs=1", "data.num_train=300", "aug=none,cropflip", "seed=0,1",
                      f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    res = ablate_cli([str(sweep), "--max-seeds", "3"], cwd=tmp_path, module="ablate.resolve")
    assert res.returncode == 0, res.stderr[-2000:]
    state = json.loads((sweep / "resolve.json").read_text())
    seeds = sorted(str(json.loads(p.read_text())["seed"]) for p in sweep.glob("*/results.json"))
    first = state["looks"][0]["rows"][0]
    if state["looks"][0]["planned_runs"]:                 # it asked for seed 2 of both, and got them
        assert seeds == ["0", "0", "1", "1", "2", "2"] and len(state["looks"]) == 2
    else:
        assert first["verdict"] in ("better", "worse") and seeds == ["0", "0", "1", "1"]
    assert "report: " in res.stdout and (sweep / "report" / "report.md").is_file()
