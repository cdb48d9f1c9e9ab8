#!/usr/bin/env bash
# Every GPU check in one call, on a machine with a CUDA GPU, in under 8 minutes (the steps' time limits add up to
# 560 s; a step that fails or runs out of time is recorded in steps.txt and the next one runs):
#   1. pytest -m cuda (tests/test_cuda.py)
#   2. ablate's core against the standard torchvision pipeline, side by side: small_cnn and resnet18
#   3. one full-size small_cnn epoch (50,000 images) and one resnet18 epoch (10,000) per trainer option
#   4. runs per hour of 1, 2 and 4 jobs at once on one GPU
#   5. airbench94 (experiment=airbench94, issue 28), seeds 0-2 in bf16: each record's train_seconds against the
#      paper's 3.83 s on an A100 (fp16 there), and its multi-crop TTA accuracy (on the JPEG copy where
#      .device/prelude.sh prepared the data)
# Every output, with provenance (GPU name, driver, torch, git sha), goes into one folder, ready to commit under
# experiments/bench/:
#   bash experiments/bench/run_gpu.sh [OUT_DIR]      (default: experiments/bench/gpu_<date>)
#   bash experiments/bench/run_gpu.sh --dry-run      (any machine: checks it would find all it needs, exits 0)
# On a GPU machine that reaches no package registry (../shared/device/README.md), stage the test runner and the
# joblib launcher too, then run it there:
#   here:  bash ../shared/device/stage.sh pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1 packaging==26.4 \
#              pygments==2.21.0 hydra-joblib-launcher==1.2.0 joblib==1.6.0
#   there: source .device/prelude.sh; bash experiments/bench/run_gpu.sh "$OUT/gpu"
set -uo pipefail
cd "$(dirname "$0")/../.."
DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
OUT=${1:-experiments/bench/gpu_$(date -u +%Y%m%d)}
PY=${PYTHON:-python3}
command -v "$PY" > /dev/null || PY=python

missing=()
need() { "$PY" -c "import $1" 2> /dev/null || missing+=("$1 (python module: $2)"); }
need torch "the GPU image has it"
need torchvision "the GPU image has it"
need hydra "pip install -e . here; staged by stage.sh there"
need omegaconf "as hydra"
need ablate "run from the checkout, or source .device/prelude.sh"
need pytest "pip install -e '.[dev]' here; stage.sh pytest==... there (see the header)"
need hydra_plugins.hydra_joblib_launcher "pip install -e '.[dev]'; stage.sh hydra-joblib-launcher==1.2.0 joblib==1.6.0"
for m in ablate.bench ablate.bench.options ablate.bench.sweep_throughput; do
    "$PY" -m "$m" --help > /dev/null 2>&1 || missing+=("$m --help fails")
done
collected=$("$PY" -m pytest -m cuda --collect-only -q tests/test_cuda.py 2> /dev/null | grep -c "::" || true)
[ "${collected:-0}" -gt 0 ] || missing+=("pytest -m cuda collects no tests from tests/test_cuda.py")
if [ ${#missing[@]} -gt 0 ]; then
    printf 'run_gpu.sh: missing: %s\n' "${missing[@]}" >&2
    exit 1
fi
gpu=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')")
if [ "$DRY" = 1 ]; then
    echo "run_gpu.sh --dry-run: every module found, $collected CUDA tests collected; GPU: ${gpu:-none here}"
    echo "would write to $OUT: cuda_tests.txt, bench_small_cnn.json, bench_resnet18.json,"
    echo "  options_small_cnn.json, options_resnet18.json, sweep_throughput.json, airbench94/ (records),"
    echo "  provenance.json, steps.txt"
    exit 0
fi
[ -n "$gpu" ] || { echo "run_gpu.sh: no CUDA GPU visible (torch.cuda.is_available() is false)" >&2; exit 1; }
mkdir -p "$OUT"
: > "$OUT/steps.txt"
step() {   # step NAME SECONDS COMMAND...: run it with a time limit, log it, record its exit status and time
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name rc=$rc seconds=$((SECONDS - t0)) limit=$limit: $*" | tee -a "$OUT/steps.txt"
}
"$PY" - "$OUT/provenance.json" <<'EOF'
import json, subprocess, sys
import torch
from ablate.record.provenance import environment
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,compute_cap", "--format=csv"],
                     capture_output=True, text=True)
env = environment("cuda")
env.update(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(),
           capability=list(torch.cuda.get_device_capability(0)), cudnn=torch.backends.cudnn.version(),
           nvidia_smi=smi.stdout.strip() or smi.stderr.strip())
open(sys.argv[1], "w").write(json.dumps(env, indent=1) + "\n")
print(env["gpu"], env["nvidia_smi"].splitlines()[-1] if env["nvidia_smi"] else "")
EOF
step cuda_tests 100 "$PY" -m pytest -m cuda -q -p no:cacheprovider tests/test_cuda.py
cp "$OUT/cuda_tests.log" "$OUT/cuda_tests.txt"
step bench_small_cnn 45 "$PY" -m ablate.bench --device cuda --model small_cnn --epochs 2 --repeats 1 --out "$OUT/bench_small_cnn.json"
step bench_resnet18 60 "$PY" -m ablate.bench --device cuda --model resnet18 --images 10000 --epochs 1 --repeats 1 \
    --precision bf16 --channels-last --out "$OUT/bench_resnet18.json"
step options_small_cnn 75 "$PY" -m ablate.bench.options --device cuda --model small_cnn --images 50000 --epochs 1 \
    --batch-size 512 --repeats 1 --out "$OUT/options_small_cnn.json"
step options_resnet18 85 "$PY" -m ablate.bench.options --device cuda --model resnet18 --images 10000 --epochs 1 \
    --batch-size 512 --repeats 1 --out "$OUT/options_resnet18.json"
step sweep_throughput 75 "$PY" -m ablate.bench.sweep_throughput --jobs 1 2 4 --runs 4 \
    --out "$OUT/sweep_throughput.json" data=synthetic model=small_cnn trainer.epochs=2
# the data the device's prelude prepared (offline: the JPEG copy), else the official files, downloaded
DATA_ARGS=(data.download=true)
[ -n "${ABLATE_DATA:-}" ] && DATA_ARGS=(data.root="$ABLATE_DATA" data.download=false)
step airbench94 120 "$PY" -m ablate -m experiment=airbench94 seed=0,1,2 trainer.precision=bf16 "${DATA_ARGS[@]}" \
    trainer.progress=log hydra.sweep.dir="$OUT/airbench94"
rm -f "$OUT"/airbench94/*/checkpoint*.pt      # the records and histories come back, not the weights
echo "outputs in $OUT:"; ls "$OUT"
