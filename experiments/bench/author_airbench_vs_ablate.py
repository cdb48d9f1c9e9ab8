"""The author's airbench94 script against `python -m ablate experiment=airbench94`, interleaved on one machine:
the speed half of issue 28 item 1 ("the author's script's time on the same machine within 1.1x").

    python experiments/bench/author_airbench_vs_ablate.py AUTHOR_SCRIPT --data /root/data [--images 10240]
        [--epochs 4] [--repeats 3] [--precision fp32|bf16] [--out experiments/bench/cpu_author_airbench_vs_ablate.json]

AUTHOR_SCRIPT is KellerJordan/cifar10-airbench `legacy/airbench94.py` with only its GPU lines changed for a CPU
(docs/airbench94.md lists the changes); it is not in this repository (we learn from it, never copy it). It must
read $DATA, $N (the first N training images), $EPOCHS, $EVAL=0 and $PRECISION (fp32, or bf16: his forward and
loss under CPU bf16 autocast, the weights fp32), and print one line `RESULT ... steady_images_per_second X ...`.
Both sides: the same images a epoch (ablate: data.train_subset), the same epochs, the same threads, the same
precision (ablate: trainer.precision); images/s over the epochs after the first, evaluation left out. bf16 only on
a CPU that runs it natively (AMX or AVX512-BF16): elsewhere both sides emulate it and the ratio says little. Run it with
the campaign paused (experiments/campaign/pause.sh stop): two torch jobs on 2 cores slow each other ~10x.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def author(script: str, data: str, images: int, epochs: int, precision: str) -> float:
    env = os.environ | {"DATA": data, "N": str(images), "EPOCHS": str(epochs), "EVAL": "0", "PRECISION": precision}
    out = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"steady_images_per_second ([0-9.]+)", out).group(1))


def ablate(data: str, images: int, epochs: int, precision: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-m", "ablate", "experiment=airbench94", "hydra.mode=RUN", "seed=0",
                        f"data.root={data}", "data.download=false", f"data.train_subset={images}",
                        f"trainer.epochs={epochs}", f"trainer.precision={precision}", "trainer.tta=false",
                        "trainer.progress=none",
                        f"hydra.run.dir={d}/run"], cwd=REPO, capture_output=True, text=True, check=True)
        return json.loads(Path(d, "run", "results.json").read_text())["timing"]["images_per_second"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("script")
    p.add_argument("--data", default="data")
    p.add_argument("--images", type=int, default=10240)
    p.add_argument("--epochs", type=int, default=4, help="the first is warm-up, the rest are timed")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--out")
    a = p.parse_args()
    sys.path.insert(0, str(REPO))
    from ablate.record.provenance import environment
    rows = []
    for i in range(a.repeats):
        row = {"author": author(a.script, a.data, a.images, a.epochs, a.precision),
               "ablate": ablate(a.data, a.images, a.epochs, a.precision)}
        row["ablate / author"] = row["ablate"] / row["author"]
        rows.append(row)
        print(f"repeat {i + 1}: author {row['author']:.1f} img/s, ablate {row['ablate']:.1f} img/s, "
              f"ablate / author {row['ablate / author']:.3f}", flush=True)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    env = environment("cpu")
    print(f"{env.get('cpu', {}).get('model', '')}, torch {env['torch']}, {a.precision}, {a.images} images an epoch, "
          f"{a.epochs - 1} timed epochs, {a.repeats} repeats. Median: author {med['author']:.1f} img/s, ablate "
          f"{med['ablate']:.1f} img/s, ablate / author {med['ablate / author']:.3f} (each: "
          + " ".join(f"{r['ablate / author']:.3f}" for r in rows) + ")")
    if a.out:
        Path(a.out).write_text(json.dumps({"rows": rows, "median": med, "settings": vars(a), "env": env}, indent=1))


if __name__ == "__main__":
    main()
