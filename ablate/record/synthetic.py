"""Sweep folders of synthetic run records with known numbers, made by the record's own constructor (new_record, so
they meet record_problems like a real one): for the report's tests and its benchmark (python -m ablate.bench.report_speed)."""
from __future__ import annotations

import json
from pathlib import Path

from ablate.record.files import new_record

CLASSES = ["cat", "dog", "bird"]
# test accuracies per seed with known means and spreads: a baseline, an augmentation arm, a four-rung ladder
BASE = [0.69, 0.70, 0.71, 0.70, 0.70]
AUG = [0.84, 0.85, 0.86, 0.85, 0.85]
LADDER = {"rung=0_baseline": BASE, "rung=1_cropflip": AUG, "rung=2_cosine": [0.88, 0.87, 0.89, 0.88, 0.88],
          "rung=3_label_smoothing": [0.881, 0.879, 0.885, 0.88, 0.878]}


def write_run(job: Path, overrides: list[str], seed: int, acc: float, status: str = "completed",
              epochs: int = 3, smoothing: float = 0.0, job_num: int | None = None) -> None:
    job.mkdir(parents=True, exist_ok=True)
    config = {"seed": seed, "loss": {"label_smoothing": smoothing},
              "arm": dict(o.split("=", 1) for o in overrides)}      # what the overrides changed
    choices = {k: v for k, v in (o.split("=", 1) for o in overrides)}
    rec = new_record(seed, config, overrides + [f"seed={seed}"], choices, ",".join(overrides + [f"seed={seed}"]),
                     job_num)
    rec.update(status=status, resumed_from_epochs=[], env={
        "torch": "2.x", "device_name": "cpu", "git_sha": "abc", "date": "2026-11-23", "host": "h",
        "command": "python -m ablate -m ...",
        "cpu": {"model": "Test CPU (cpu family 6, model 1, stepping 0)", "capability": "AVX512", "amx": False,
                "avx512_bf16": False, "threads": 2}})
    if status == "completed":
        n = 100
        right = round(acc * n)
        cm = [[0] * 3 for _ in range(3)]
        per = [right // 3 + (1 if i < right % 3 else 0) for i in range(3)]
        sizes = [34, 33, 33]
        for i in range(3):
            cm[i][i] = per[i]
            cm[i][(i + 1) % 3] = sizes[i] - per[i]
        rec.update(metrics={"test_acc": acc, "test_acc_tta": acc + 0.01, "val_acc": acc - 0.01,
                            "best_val_acc": acc, "train_acc": acc + 0.05, "test_nll": 1 - acc,
                            "test_ece": 0.05 + smoothing, "per_class_acc": [p / s for p, s in zip(per, sizes)],
                            "reliability": {"count": [0] * 14 + [n], "correct": [0] * 14 + [right],
                                            "confidence": [0] * 14 + [0.97 * n]}},
                   confusion_matrix=cm, class_names=CLASSES,
                   timing={"train_seconds": 10.0, "images_per_second": 1000.0})
        lines = ["epoch,lr,train_loss,train_acc,val_loss,val_acc,epoch_seconds,images_per_second"]
        for e in range(1, epochs + 1):
            f = e / epochs
            lines.append(f"{e},0.1,{2 - f},{(acc + 0.05) * f},{2.1 - f},{(acc - 0.01) * f},1.0,1000")
        (job / "history.csv").write_text("\n".join(lines) + "\n")
    else:
        rec["error"] = "boom: lower optim.lr"
    (job / "results.json").write_text(json.dumps(rec))


def write_sweep(root: Path, arms: dict[str, list[float]], **kw) -> Path:
    """arms: {'aug=none': [acc per seed], ...}; one job folder per (arm, seed)."""
    num = 0
    for arm, accs in arms.items():
        overrides = arm.split(" ")
        for seed, acc in enumerate(accs):
            write_run(root / f"{arm.replace(' ', ',')},seed={seed}", overrides, seed, acc, job_num=num, **kw)
            num += 1
    return root
