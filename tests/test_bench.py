"""The benchmarks run and report what they promise (tiny sizes; the figures themselves live in experiments/bench)."""
from __future__ import annotations

import json

from ablate.bench import airbench, options, report_speed
from ablate.bench.common import interleave, median_ratio


def test_pipeline_bench_quick_prints_a_speedup_and_writes_json(ablate_cli, tmp_path):
    out = tmp_path / "bench.json"
    res = ablate_cli(["--device", "cpu", "--quick", "--images", "1024", "--epochs", "1", "--repeats", "2",
                      "--out", str(out)], cwd=tmp_path, module="ablate.bench")
    assert res.returncode == 0, res.stdout + res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("speedup: ") and float(last.split()[1]) > 0
    data = json.loads(out.read_text())
    assert abs(data["speedup"] - float(last.split()[1])) < 0.01                 # printed to 2 decimals
    for key in ("device_name", "torch", "git_sha", "date", "command"):
        assert key in data["env"]
    assert data["settings"]["quick"] is True
    assert len(data["speedups"]) == 2 and len(data["repeats"]["ablate"]) == len(data["repeats"]["standard"]) == 2


def test_interleave_takes_turns_and_ratios_pair_each_repeat():
    order = []
    speeds = iter([100.0, 50.0, 90.0, 60.0])       # a machine that slows down: a, b, a, b

    def side(name):
        def measure():
            order.append(name)
            return {"images_per_second": next(speeds)}
        return measure

    saved = []
    runs = interleave({"a": side("a"), "b": side("b")}, 2,
                      after=lambda so_far: saved.append(sum(map(len, so_far.values()))))
    assert order == ["a", "b", "a", "b"] and saved == [1, 2, 3, 4]
    ratio, ratios = median_ratio(runs["b"], runs["a"])
    assert ratios == [0.5, 60.0 / 90.0] and ratio == (0.5 + 60.0 / 90.0) / 2


def test_options_bench_measures_each_variant(tmp_path):
    r = options.main(["--device", "cpu", "--model", "simple_cnn", "--images", "128", "--epochs", "1",
                      "--batch-size", "64", "--variants", "fp32 (baseline)", "bf16", "channels_last",
                      "--repeats", "2", "--out", str(tmp_path / "o.json")])
    assert set(r["variants"]) == {"fp32 (baseline)", "bf16", "channels_last"}
    assert r["variants"]["fp32 (baseline)"]["ratio_to_baseline"] == 1.0
    assert all(len(v["repeats"]) == 2 and len(v["ratios"]) == 2 for v in r["variants"].values())
    assert all(v["images_per_second"] > 0 for v in r["variants"].values())


def test_airbench_bench_times_the_harness_and_the_bare_loop_side_by_side(tmp_path):
    r = airbench.main(["--device", "cpu", "--images", "64", "--epochs", "1", "--batch-size", "32",
                       "--formats", "nchw", "--repeats", "2", "--out", str(tmp_path / "a.json")])
    assert set(r["rows"]) == {"harness, nchw", "bare, nchw"} and r["rows"]["bare, nchw"]["ratio_to_bare"] == 1.0
    harness = r["rows"]["harness, nchw"]
    assert len(harness["repeats"]) == 2 and len(harness["ratios"]) == 2      # one ratio a repeat, interleaved
    assert all(v["images_per_second"] > 0 for v in r["rows"].values())
    assert json.loads((tmp_path / "a.json").read_text())["env"]["cpu"]["model"]


def test_report_speed_bench(tmp_path):
    r = report_speed.main(["--records", "40", "--epochs", "5", "--configs", "4", "--out", str(tmp_path / "r.json")])
    assert r["records"] == 40 and r["history_rows"] == 200 and r["aggregate_seconds"] > 0


def test_run_gpu_dry_run_finds_everything_it_needs():
    """The one-call GPU script checks, on any machine, that it would find what it runs (CI has no GPU)."""
    import os
    import subprocess
    import sys
    from conftest import ROOT
    res = subprocess.run(["bash", str(ROOT / "experiments/bench/run_gpu.sh"), "--dry-run"], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHON": sys.executable})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every module found" in res.stdout and "CUDA tests collected" in res.stdout
    broken = subprocess.run(["bash", str(ROOT / "experiments/bench/run_gpu.sh"), "--dry-run"], capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PYTHON": "/usr/bin/false"})
    assert broken.returncode == 1 and "missing: torch" in broken.stderr
