"""Collecting sweep folders: failed and missing jobs listed, expected jobs, one configuration however it is spelled."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ablate.report import build, write_report
from ablate.record.synthetic import AUG, BASE, write_run, write_sweep
from ablate.record.sweep import load_runs


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


def test_report_on_an_empty_or_all_failed_sweep(tmp_path):
    write_run(tmp_path / "j", ["aug=none"], 0, 0, status="failed")
    out = write_report(tmp_path)
    assert "1 failed" in (out / "report.md").read_text()


@pytest.mark.parametrize("task, expected", [
    (["experiment=ladder", "seed=0,1"], {f"experiment=ladder,rung={r},seed={s}" for r in "ab" for s in (0, 1)}),
    (["experiment=ladder", "seed=0"], {f"experiment=ladder,rung={r},seed=0" for r in "ab"}),
    (["experiment=ladder"], {f"experiment=ladder,rung={r},seed={s}" for r in "ab" for s in range(3)}),
])
def test_expected_jobs_take_command_line_seeds_over_the_experiments_own(tmp_path, task, expected):
    from omegaconf import OmegaConf
    from ablate.record.sweep import expected_job_dirs
    OmegaConf.save(OmegaConf.create({"hydra": {"overrides": {"task": task},
                                               "sweeper": {"params": {"rung": "a,b", "seed": "range(0,3)"}},
                                               "job": {"config": {"override_dirname": {"exclude_keys": []}}}}}),
                   tmp_path / "multirun.yaml")
    assert {p.name for p, _ in expected_job_dirs(tmp_path)} == expected


def test_a_sweep_folder_launched_again_with_other_seeds_still_expects_the_first_launch(tmp_path):
    from omegaconf import OmegaConf
    from ablate.record.sweep import expected_job_dirs, expected_jobs, keep_earlier_launch

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


def test_report_on_a_sweep_with_no_record_yet(tmp_path):
    from omegaconf import OmegaConf
    OmegaConf.save(OmegaConf.create({"hydra": {"overrides": {"task": ["aug=none,cropflip"]},
                                               "job": {"config": {"override_dirname": {"exclude_keys": []}}}}}),
                   tmp_path / "multirun.yaml")
    out = write_report(tmp_path)
    assert "No completed runs yet" in (out / "report.md").read_text()
    assert len(build(tmp_path).runs) == 2


def _launch(task: list[str]):
    from omegaconf import OmegaConf
    return OmegaConf.create({"hydra": {"overrides": {"task": task}, "sweeper": {"params": {}},
                                       "job": {"config": {"override_dirname": {"exclude_keys": ["trainer.device"]}}}}})


def test_a_key_given_twice_makes_the_jobs_of_its_last_value_only(tmp_path):
    """Hydra uses the last of `trainer.epochs=1 ... trainer.epochs=2`: no phantom job of the first."""
    from ablate.record.sweep import expected_jobs
    jobs = expected_jobs(_launch(["trainer.epochs=1", "seed=0,1", "trainer.epochs=2"]), tmp_path)
    assert sorted(j.name for j, _ in jobs) == ["seed=0,trainer.epochs=2", "seed=1,trainer.epochs=2"]


def test_a_glob_sweep_expects_every_option_it_matches(tmp_path):
    from ablate.record.sweep import expected_jobs
    jobs = expected_jobs(_launch(["aug=glob(c*)", "trainer.device=cpu"]), tmp_path)
    assert sorted(j.name for j, _ in jobs) == ["aug=cropflip", "aug=cropflip_jitter", "aug=cutmix", "aug=cutout"]
    jobs = expected_jobs(_launch(["schedule=glob(*,exclude=[none,step])"]), tmp_path)
    assert sorted(j.name for j, _ in jobs) == ["schedule=cosine", "schedule=onecycle", "schedule=piecewise"]


def test_an_unreadable_record_is_named_and_adds_no_phantom_configuration(tmp_path, caplog):
    sweep = write_sweep(tmp_path / "s", {"aug=none": BASE[:3], "aug=cropflip": AUG[:3]})
    before = load_runs(sweep)
    bad = sweep / "aug=cropflip,seed=2"
    (bad / ".hydra").mkdir()
    (bad / ".hydra" / "overrides.yaml").write_text("- aug=cropflip\n- seed=2\n")
    (bad / "results.json").write_text("")
    runs = load_runs(sweep)
    assert set(runs.config) == set(before.config)                       # no "(defaults)", names unchanged
    row = runs[runs.run_dir == str(bad)].iloc[0]
    assert row.status == "unreadable" and row.config == "aug=cropflip"
    assert f"{bad / 'results.json'} cannot be read" in caplog.text
    (bad / "results.json").write_text("[1, 2]")                           # JSON, but not a record
    assert load_runs(sweep).set_index("run_dir").loc[str(bad), "status"] == "unreadable"


def test_a_single_run_killed_before_its_record_is_listed(tmp_path):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- optim.lr=0.05\n")
    (run / "history.csv").write_text("epoch,val_acc\n1,0.5\n")
    runs = load_runs(run)
    assert len(runs) == 1 and runs.status.iloc[0] == "missing" and runs.config.iloc[0] == "optim.lr=0.05"


def _with_config(job, config: dict, choices: dict) -> None:
    path = job / "results.json"
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "config": {**config, "seed": rec["seed"]}, "choices": choices}))


def test_an_override_into_a_list_names_its_configuration_and_leaves_the_baseline_its_own_name(tmp_path):
    # airbench94's leave-one-out: aug.ops.1.op=flip swaps one op of a list the experiment file sets
    ops = [{"op": "crop", "padding": 2}, {"op": "alternating_flip"}]
    flipped = [ops[0], {"op": "flip"}]
    for seed in (0, 1):
        write_run(tmp_path / "full" / f"s{seed}", ["experiment=recipe"], seed, 0.90)
        _with_config(tmp_path / "full" / f"s{seed}", {"aug": {"ops": ops}, "model": {"whiten": True}}, {})
        write_run(tmp_path / "loo" / f"f{seed}", ["experiment=recipe", "aug.ops.1.op=flip"], seed, 0.89)
        _with_config(tmp_path / "loo" / f"f{seed}", {"aug": {"ops": flipped}, "model": {"whiten": True}}, {})
        write_run(tmp_path / "loo" / f"w{seed}", ["experiment=recipe", "model.whiten=False"], seed, 0.88)
        _with_config(tmp_path / "loo" / f"w{seed}", {"aug": {"ops": ops}, "model": {"whiten": False}}, {})
    configs = set(load_runs([tmp_path / "full", tmp_path / "loo"]).config)
    assert configs == {"experiment=recipe", "aug.ops.1.op=flip", "model.whiten=False"}


def test_configurations_told_apart_only_by_composed_keys_are_all_named_by_them(tmp_path):
    # no override differs (the values come from experiment files): every clashing configuration is named by
    # the composed keys that differ, not the first renamed and the second left to its overrides
    for name, width in (("a", 16), ("b", 32), ("c", 64)):
        write_run(tmp_path / name, [f"experiment={name}"], 0, 0.8)
        _with_config(tmp_path / name, {"model": {"width": width}}, {})
    configs = set(load_runs(tmp_path).config)
    assert configs == {"model.width=16", "model.width=32", "model.width=64"}


def test_a_started_job_without_a_record_does_not_make_a_shared_override_a_difference(tmp_path):
    # the bf16 leave-one-out: every job sets trainer.precision=bf16; one job has only started (no record, so no
    # composed config): the shared override must not name every configuration, while the started job's own
    # override still names it
    base = {"trainer": {"precision": "bf16"}, "model": {"whiten": True, "dirac_init": True}}
    for seed in (0, 1):
        write_run(tmp_path / "full" / f"s{seed}", ["experiment=recipe", "trainer.precision=bf16"], seed, 0.90)
        _with_config(tmp_path / "full" / f"s{seed}", base, {})
    write_run(tmp_path / "loo" / "w0", ["experiment=recipe", "model.whiten=False", "trainer.precision=bf16"], 0, 0.88)
    _with_config(tmp_path / "loo" / "w0", {**base, "model": {"whiten": False, "dirac_init": True}}, {})
    started = tmp_path / "loo" / "d0" / ".hydra"
    started.mkdir(parents=True)
    started.joinpath("overrides.yaml").write_text(
        "- seed=0\n- experiment=recipe\n- model.dirac_init=False\n- trainer.precision=bf16\n")
    runs = load_runs([tmp_path / "full", tmp_path / "loo"])
    names = set(runs.config)
    assert not any("trainer.precision" in n for n in names - {runs[runs.run_dir.str.contains("full")].config.iloc[0]}), names
    assert {"model.whiten=False", "model.dirac_init=False"} <= names
