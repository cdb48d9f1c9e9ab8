"""`python -m ablate` as a user runs it: real sweeps in a subprocess, resume by rerun, failures, bad input."""
from __future__ import annotations

import json
import os

import pytest

from ablate.record import files as records
from conftest import TINY
from disk_data import write_fake_cifar10, write_imagefolder


def completed(sweep):
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.rglob("results.json")}


def test_sweep_2x2_then_rerun_skips_all_four(ablate_cli, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *TINY, "aug=none,cropflip", "schedule=none,cosine", "trainer.epochs=2",
            f"hydra.sweep.dir={sweep}"]
    first = ablate_cli(args, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    recs = completed(sweep)
    assert len(recs) == 4 and all(r["status"] == "completed" for r in recs.values())
    assert {(r["choices"]["aug"], r["choices"]["schedule"]) for r in recs.values()} == \
        {("none", "none"), ("none", "cosine"), ("cropflip", "none"), ("cropflip", "cosine")}
    stamps = {p: p.stat().st_mtime_ns for p in sweep.rglob("results.json")}
    report = (sweep / "report" / "report.md").stat().st_mtime_ns
    second = ablate_cli(args, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("skip ") == 4
    assert stamps == {p: p.stat().st_mtime_ns for p in sweep.rglob("results.json")}
    # nothing new: the report stays as it was (a restarted campaign relaunches every sweep)
    assert "unchanged: every job was complete already" in second.stdout
    assert (sweep / "report" / "report.md").stat().st_mtime_ns == report
    assert [p.name for p in sweep.glob("multirun*.yaml")] == ["multirun.yaml"]   # same jobs: no earlier launch kept


def test_a_report_is_current_only_when_newer_than_every_record(tmp_path):
    from ablate.sweep_end import report_is_current
    job = tmp_path / "job"
    job.mkdir()
    (job / "results.json").write_text("{}")
    assert not report_is_current(tmp_path)                       # no report yet
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.md").write_text("# report")
    assert report_is_current(tmp_path)
    later = (tmp_path / "report" / "report.md").stat().st_mtime_ns + 10 ** 9
    os.utime(job / "results.json", ns=(later, later))            # a record written after the report
    assert not report_is_current(tmp_path)


def test_failing_job_leaves_the_others_complete_and_exits_nonzero(ablate_cli, tmp_path):
    sweep = tmp_path / "sweep"
    res = ablate_cli(["-m", *TINY, "trainer.epochs=1", "data.val_size=100,99999",
                      f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert res.returncode != 0
    statuses = sorted(r["status"] for r in completed(sweep).values())
    assert statuses == ["completed", "failed"]
    assert "1 completed, 1 failed" in res.stdout
    assert "Traceback" not in (res.stdout + res.stderr).strip().splitlines()[-1]


def test_default_sweep_dirs_do_not_collide(ablate_cli, tmp_path):
    import subprocess
    import sys
    import os
    cmd = [sys.executable, "-m", "ablate", "-m", *TINY, "trainer.epochs=1", "data.num_train=300",
           "data.val_size=50"]
    env = {k: v for k, v in os.environ.items() if k != "ABLATE_STAMP"}
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stdout.read().decode()
    results = list((tmp_path / "multirun").rglob("results.json"))
    assert len(results) == 2 and results[0].parent.parent != results[1].parent.parent


def corrupt(tmp_path):
    folder = write_fake_cifar10(tmp_path / "c")
    (folder / "data_batch_2").write_bytes(b"\x80\x04truncated")
    return ["data=cifar10", f"data.root={tmp_path / 'c'}", "data.download=false"]


def badsize(tmp_path):
    write_imagefolder(tmp_path / "imgs", bad=(28, 28))
    return ["data=imagefolder", f"data.root={tmp_path / 'imgs'}", "data.val_size=2"]


def under_a_file(key, *flags):
    def make(tmp_path):
        (tmp_path / "afile").write_text("not a folder")
        return [*flags, f"{key}={tmp_path / 'afile' / 'run'}"]
    make.__name__ = f"{key}_under_a_file"
    return make


def empty_train_class(tmp_path):
    write_imagefolder(tmp_path / "imgs")
    for f in (tmp_path / "imgs" / "train" / "dog").iterdir():
        f.unlink()
    return ["data=imagefolder", f"data.root={tmp_path / 'imgs'}", "data.val_size=2"]


BAD_INPUTS = [
    # overrides, words the message must contain
    (["aug=nope"], ["aug", "nope"]),
    (["trainer.epochs=abc"], ["trainer.epochs", "'abc'", "a positive number of epochs"]),
    (["trainer.epochs=0"], ["trainer.epochs", "a positive number of epochs"]),
    (["trainer.batch_size=-8"], ["trainer.batch_size"]),
    (["optim.lr=0"], ["optim.lr", "a number > 0"]),
    (["optim.momentum=1.5"], ["optim.momentum", "< 1", "1.5"]),
    (["optim.momentum=fast", "optim.nesterov=true"], ["optim.momentum", "a number", "'fast'"]),
    (["schedule.warmup_epochs=-1"], ["schedule.warmup_epochs", ">= 0"]),
    (["optim.momentum=0", "optim.nesterov=true"], ["optim.nesterov=true needs optim.momentum > 0"]),
    (["optim.lr=fast"], ["optim.lr"]),
    (["trainer.precision=fp8"], ["trainer.precision", "bf16"]),
    (["triner.epochs=3"], ["triner"]),
    (["trainer.device=cuda:7"] if not __import__("torch").cuda.is_available() else ["trainer.device=tpu"],
     ["trainer.device"]),
    (lambda t: ["data=cifar10", f"data.root={t / 'empty'}", "data.download=false"],
     ["does not exist", "data.download=true"]),
    (corrupt, ["data_batch_2", "corrupt"]),
    (badsize, ["odd.png", "28x28", "data.resize=true"]),
    (under_a_file("hydra.run.dir"), ["hydra.run.dir=", "afile is a file, not a folder", "Fix:"]),
    (under_a_file("hydra.sweep.dir", "-m"), ["hydra.sweep.dir=", "afile is a file, not a folder", "Fix:"]),
    (empty_train_class, ["dog", "no images in the train split", "add training images"]),
    (["optim.lr=1e6"], ["diverged", "training loss", "optim.lr"]),
    (["model=resnet18", "model.freeze=no"], ["model.freeze must be true, false or a list", "'no'"]),
    (["model=resnet18", "model.pretrained=no"], ["model.pretrained must be true, false or a .pth"]),
    (["trainer.tta=10crop"], ["trainer.tta", "'10crop'", "true (flip), false or multicrop"]),
    (["schedule=step", "schedule.milestones=[2,3]"], ["schedule.milestones", "fractions of the run", "[0.5,0.75]"]),
    (["aug=flip", "aug.ops=[{op:flip,prob:0.5}]"], ["flip", "no parameter prob", "p"]),
    (["model.widht=3"], ["model.widht"]),
    (["logger=wandb"], ["logger/wandb", "mlflow", "tensorboard"]),
    (["logger=tensorboard", "logger.tensorboard.figurs=false"], ["logger.tensorboard.figurs"]),
    # values that passed validation and then blew up mid-run, or trained nonsense: checked from the registered
    # functions' signatures and the settings' annotations, before any data loads
    (["model.widths=[0,8,8,8]"], ["model.widths", "an integer >= 1", "[0, 8, 8, 8]"]),
    (["aug=cutout", "aug.ops.2.size=-4"], ["aug.ops[2].size", "cutout", "an integer >= 1", "size=16"]),
    (["aug=cutout", "aug.ops.2.fill=300"], ["aug.ops[2].fill", "<= 255"]),
    (["aug=cutout", "aug.ops.1.p=1.5"], ["aug.ops[1].p", "flip", "<= 1"]),
    (["aug=cutout", "aug.ops.0.mode=wrap"], ["aug.ops[0].mode", "'reflect'", "'wrap'"]),
    (["aug=mixup", "aug.mix.alpha=0"], ["aug.mix.alpha", "> 0"]),
    (["optim=adam", "optim.betas=[0.9]"], ["optim.betas", "a list of 2"]),
    (["optim=adam", "optim.betas=[1.5,0.999]"], ["optim.betas", "< 1", "[1.5, 0.999]"]),
    (["data.split_seed=-1"], ["data.split_seed", "an integer >= 0"]),
    (["schedule.warmup_epochs=5"], ["schedule.warmup_epochs=5", "not shorter than the run", "trainer.epochs=1"]),
    (["model=resnet18", "model.stem=big"], ["model.stem", "'cifar'", "'imagenet'"]),
    # misleading before: "lower data.val_size", when the cause is a subset smaller than the class count
    (["data.train_subset=5"], ["data.train_subset=5 is smaller than the 10 classes", "data.train_subset=10"]),
]


def _ids(cases):
    return [" ".join(o) if isinstance(o, list) else o.__name__ if o.__name__ != "<lambda>" else "missing_dataset"
            for o, _ in cases]


def _job_args(tmp_path, overrides) -> list[str]:
    """TINY with the case's overrides in place of TINY's own keys (and its model's widths off for another model)."""
    extra = overrides(tmp_path) if callable(overrides) else overrides
    base = [a for a in TINY if not any(a.startswith(e.split("=")[0] + "=") for e in extra)]
    if any(e.startswith("model=") for e in extra):                 # TINY's widths are small_cnn's
        base = [a for a in base if not a.startswith("model.")]
    return [*base, "trainer.epochs=1", *extra]


def message_for(make_cfg, args: list[str], job_dir) -> str:
    """What a user is told about this input, on the path `python -m ablate` takes, in this process: Hydra's
    composition error (an unknown option or key, a value of the wrong type), else the job's failed record,
    whose error is what the terminal's FAILED line prints."""
    from ablate.job.run import run_job
    try:
        cfg = make_cfg(args)
    except Exception as e:  # noqa: BLE001 - Hydra's own errors, as the CLI prints them
        return f"{e}\n{e.__cause__ or ''}"
    assert run_job(cfg, job_dir, [], {}, "job") == records.FAILED
    record = records.read_record(job_dir)
    assert "traceback" in record                                    # kept in the record, not shown as the message
    return record["error"]


# the output folders are checked by the entry point before Hydra starts: those cases run as CLI cases only
IN_PROCESS = [c for c in BAD_INPUTS if not (callable(c[0]) and c[0].__name__.endswith("_under_a_file"))]


@pytest.mark.parametrize("overrides,words", IN_PROCESS, ids=_ids(IN_PROCESS))
def test_bad_input_ends_with_a_message_naming_the_key(make_cfg, tmp_path, overrides, words):
    """Every bad-input case in-process, through the same composition, validation and job as the CLI."""
    out = message_for(make_cfg, _job_args(tmp_path, overrides), tmp_path / "run")
    for w in words:
        assert w in out, f"{w!r} not in:\n{out}"


CLI_CASES = [case for case in BAD_INPUTS if (case[0] if isinstance(case[0], list) else [case[0].__name__])[0]
             in ("aug=nope", "trainer.epochs=abc", "triner.epochs=3", "hydra.run.dir_under_a_file",
                 "hydra.sweep.dir_under_a_file", "<lambda>")]


@pytest.mark.parametrize("overrides,words", CLI_CASES, ids=_ids(CLI_CASES))
def test_bad_input_on_the_command_line_ends_with_a_message_and_no_traceback(ablate_cli, tmp_path, overrides, words):
    """A few of the cases as a user meets them: Hydra's errors, the entry point's folder checks, a failed job."""
    args = _job_args(tmp_path, overrides)
    run_dir = [] if any(a.startswith("hydra.") or a == "-m" for a in args) else [f"hydra.run.dir={tmp_path / 'run'}"]
    res = ablate_cli([*args, *run_dir], cwd=tmp_path)
    out = (res.stdout + res.stderr).strip()
    assert res.returncode != 0, out
    tail = "\n".join(out.splitlines()[-3:])
    assert "Traceback" not in tail, out
    for w in words:
        assert w in out, f"{w!r} not in:\n{out}"


def test_bad_input_loses_no_finished_record(ablate_cli, tmp_path):
    sweep = tmp_path / "sweep"
    ok = ablate_cli(["-m", *TINY, "trainer.epochs=1", "seed=0", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    before = {p: p.read_bytes() for p in sweep.rglob("results.json")}
    bad = ablate_cli(["-m", *TINY, "trainer.epochs=1", "seed=0,1", "optim.lr=-1", f"hydra.sweep.dir={sweep}"],
                     cwd=tmp_path)
    assert bad.returncode != 0
    assert all(p.read_bytes() == b for p, b in before.items())
    assert records.is_complete(json.loads(next(iter(before.values()))))


def test_report_on_a_ladder_sweep_whose_first_rung_is_still_training(ablate_cli, tmp_path):
    sweep = tmp_path / "D"
    res = ablate_cli(["-m", *TINY, "rung=0_baseline,2_cosine", "trainer.epochs=1", f"hydra.sweep.dir={sweep}"],
                     cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    for rec in sweep.glob("*rung=0_baseline*/results.json"):
        rec.unlink()                                   # as while the first rung still trains
    rep = ablate_cli([str(sweep)], cwd=tmp_path, module="ablate.report")
    assert rep.returncode == 0, rep.stdout + rep.stderr
    text = (sweep / "report" / "report.md").read_text()
    assert "No completed run yet: `rung=0_baseline`" in text and "No per-class delta" in text


def test_a_record_that_cannot_be_written_fails_the_job_not_the_sweep(make_cfg, tmp_path, monkeypatch):
    from ablate.job.run import run_job
    real = records.write_json_atomic

    def disk_full(path, data):
        if data.get("status") == "completed":
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(records, "write_json_atomic", disk_full)
    assert run_job(make_cfg([*TINY, "trainer.epochs=1"]), tmp_path / "job", [], {}, "job") == "failed"
    assert (tmp_path / "job" / "checkpoint.pt").exists()     # a rerun resumes instead of training again


def test_an_output_folder_without_write_permission_is_named_with_the_fix(tmp_path, monkeypatch):
    # root may write anywhere, so the permission is denied here by hand
    from ablate.config.outdirs import check_output_dirs
    monkeypatch.setattr("os.access", lambda path, mode: False)
    problem = check_output_dirs([f"hydra.sweep.dir={tmp_path / 'new' / 'sweep'}"], tmp_path)
    assert f"hydra.sweep.dir={tmp_path / 'new' / 'sweep'} cannot be created: no write permission in {tmp_path}" \
        in problem and "Fix:" in problem
    assert "the current folder" in check_output_dirs(["seed=1"], tmp_path)


def test_a_run_dir_holding_the_users_files_is_refused_with_exit_1(ablate_cli, tmp_path):
    (tmp_path / "model.pt").write_bytes(b"my own weights")
    res = ablate_cli([*TINY, "trainer.epochs=1", "hydra.run.dir=."], cwd=tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "REFUSED" in out and "model.pt" in out and "did not write" in out
    assert (tmp_path / "model.pt").read_bytes() == b"my own weights" and not (tmp_path / "results.json").exists()
