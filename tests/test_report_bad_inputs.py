"""One bad input never costs the whole report or status table (issue 27, items 7 and 9): a damaged record or
history row is named with its file and left out, an output that cannot be written or a reference that cannot be
read is one clear line, and the rest is still made."""
from __future__ import annotations

import json

import pytest

from ablate.record import files as records
from ablate.record.synthetic import AUG, BASE, write_sweep
from ablate.report.cli import main as report_main
from ablate.status import main as status_main


@pytest.fixture
def sweep(tmp_path):
    return write_sweep(tmp_path / "s", {"aug=none": BASE[:3], "aug=cropflip": AUG[:3]})


def _damage(path, change):
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec))


# a record damaged one way each: (what, how, the words the message must hold)
RECORD_DAMAGE = [
    ("completed without metrics", lambda r: r.pop("metrics"), "no `metrics.test_acc`"),
    ("a mistyped seed", lambda r: r.update(seed="zero"), "`seed` is 'zero', not an integer"),
    ("a metric that is text", lambda r: r["metrics"].update(test_acc="high"), "`metrics.test_acc` is 'high'"),
    ("per-class accuracies that are not a list", lambda r: r["metrics"].update(per_class_acc={"a": 1}),
     "`metrics.per_class_acc`"),
    ("a confusion matrix that is text", lambda r: r.update(confusion_matrix="no"), "`confusion_matrix`"),
    ("a ragged confusion matrix", lambda r: r.update(confusion_matrix=[[1, 2], [3]]), "square"),
    ("overrides as one string", lambda r: r.update(overrides="aug=cropflip"), "`overrides`"),
    ("a config that is a list", lambda r: r.update(config=[1]), "`config` is [1], not a mapping"),
    ("timing that is text", lambda r: r.update(timing={"train_seconds": "ten"}), "`timing`"),
]


@pytest.mark.parametrize("what,change,words", RECORD_DAMAGE, ids=[d[0] for d in RECORD_DAMAGE])
def test_a_damaged_record_is_named_and_the_report_and_status_still_made(sweep, capsys, caplog, what, change,
                                                                       words):
    bad = sweep / "aug=cropflip,seed=0" / "results.json"
    _damage(bad, change)
    assert report_main([str(sweep), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert f"{bad} cannot be read as a run record" in caplog.text and words in caplog.text
    glance = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in out.splitlines()
              if line.startswith("| aug=")}
    assert glance == {"aug=none": "3", "aug=cropflip": "2"}          # the other five runs, no phantom row
    report = (sweep / "report" / "report.md").read_text()
    assert "unreadable" in report and "cannot be read as a run record" in report
    assert status_main([str(sweep)]) == 0
    assert "5 completed, 1 unreadable" in capsys.readouterr().out


def test_a_record_that_is_whole_has_no_read_problem(sweep):
    for path in sweep.glob("*/results.json"):
        assert records.read_problem(json.loads(path.read_text())) is None
    assert records.read_problem([1, 2]) == "it holds a JSON list, not an object"


def test_a_damaged_record_is_not_taken_as_complete_by_a_rerun(sweep):
    bad = sweep / "aug=cropflip,seed=0" / "results.json"
    assert records.is_complete(json.loads(bad.read_text()))
    _damage(bad, lambda r: r["metrics"].update(test_acc="high"))
    assert not records.is_complete(json.loads(bad.read_text()))


@pytest.mark.parametrize("damage,words", [
    (lambda p: p.open("a").write("x,y\n"), "1 row(s) without an epoch number left out"),
    (lambda p: p.write_bytes(b"\x00\xff\xfe\n\x01"), "cannot be read as a history"),
], ids=["a row that is not numbers", "not text"])
def test_a_bad_history_is_named_and_left_out(sweep, capsys, caplog, damage, words):
    history = sweep / "aug=cropflip,seed=0" / "history.csv"
    damage(history)
    assert report_main([str(sweep), "--no-figures"]) == 0
    assert f"{history}" in caplog.text and words in caplog.text
    assert status_main([str(sweep)]) == 0
    captured = capsys.readouterr()
    assert "6 completed" in captured.out and words in captured.err


def test_a_history_row_that_is_not_numbers_leaves_the_others(sweep):
    history = sweep / "aug=none,seed=0" / "history.csv"
    lines = history.read_text().splitlines()
    history.write_text("\n".join([lines[0], lines[1], "two," + lines[2].split(",", 1)[1], lines[3], ""]))
    rows, problem = records.read_history(history.parent)
    assert [r["epoch"] for r in rows] == [1, 3] and "1 row(s)" in problem
    assert all(isinstance(v, float) or v is None for r in rows for k, v in r.items() if k != "epoch")


@pytest.mark.parametrize("where", ["out is a file", "report is a file", "out under a file"])
def test_an_output_that_cannot_be_written_is_one_clear_line(sweep, tmp_path, capsys, where):
    blocker = tmp_path / "a_file"
    blocker.write_text("mine")
    args = {"out is a file": ["--out", str(blocker)], "out under a file": ["--out", str(blocker / "sub")],
            "report is a file": []}[where]
    if where == "report is a file":
        blocker = sweep / "report"
        blocker.write_text("mine")
    assert report_main([str(sweep), "--no-figures", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "--out" in err and str(blocker) in err
    assert blocker.read_text() == "mine"                        # the user's file is untouched


def test_a_malformed_reference_is_named_and_the_report_made_without_it(sweep, tmp_path, capsys):
    ref = tmp_path / "ref.yaml"
    ref.write_text("source: x\ntest_acc: [1,\n")
    assert report_main([str(sweep), "--no-figures", "--reference", str(ref)]) == 1
    err = capsys.readouterr().err
    assert f"reference file {ref} is not valid YAML" in err and "without the reference comparison" in err
    assert "Traceback" not in err
    assert "| aug=cropflip |" in (sweep / "report" / "report.md").read_text()
