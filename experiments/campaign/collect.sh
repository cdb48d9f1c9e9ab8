#!/usr/bin/env bash
# Copy each completed job's record (results.json, history.csv, predictions.npz: small files, no weights or
# checkpoints) and each sweep's multirun.yaml from the live campaign folders into experiments/, then
# regenerate the reports there. A job still training leaves only its .hydra/overrides.yaml, so the committed
# report lists it as started (no record yet), not as not started.
# A report is rewritten only where its records changed against git (new or updated records, a new launch), so
# a collect commits no report whose only change is its date; after a change to the report code: ALL=1.
# Run from the repository root:  bash experiments/campaign/collect.sh     (ALL=1 bash ... : every report)
set -euo pipefail
cd "$(dirname "$0")/../.."
LIVE=${LIVE:-/root/campaign}
DATA=${DATA:-/root/data}    # where the runs read their datasets (a gallery reads test images there)
copy() {   # copy LIVE_SWEEP DEST: completed jobs only
    local src=$LIVE/$1 dest=$2
    [ -d "$src" ] || return 0
    # nothing until a job has completed (a sweep that has only just begun leaves no folder here)
    grep -qs '"status": "completed"' "$src"/*/results.json || return 0
    mkdir -p "$dest"
    # every launch's multirun.yaml (the live folder keeps earlier launches as multirun.N.yaml when they asked
    # for other jobs): the first as multirun.yaml, each one not here yet as the next multirun.N.yaml
    for launch in "$src"/multirun*.yaml; do
        [ -f "$launch" ] || continue
        if [ ! -f "$dest/multirun.yaml" ]; then cp "$launch" "$dest/multirun.yaml"; continue; fi
        for have in "$dest"/multirun*.yaml; do cmp -s "$launch" "$have" && continue 2; done
        # a relaunch that asks for no job the committed launches do not (a resume, all skipped) is not kept
        python -c "import sys; from pathlib import Path; from ablate.record.sweep import expected_job_dirs, \
expected_jobs; from omegaconf import OmegaConf; d = Path(sys.argv[2]); \
have = {j.name for j, _ in expected_job_dirs(d)}; \
sys.exit(0 if {j.name for j, _ in expected_jobs(OmegaConf.load(sys.argv[1]), d)} <= have else 1)" \
            "$launch" "$dest" && continue
        n=1; while [ -f "$dest/multirun.$n.yaml" ]; do n=$((n + 1)); done
        cp "$launch" "$dest/multirun.$n.yaml"
    done
    # a sweep that ablate.resolve ran keeps its looks (the alpha already spent) beside its records
    [ -f "$src/resolve.json" ] && cp "$src/resolve.json" "$dest/"
    for started in "$src"/*/.hydra/overrides.yaml; do
        [ -f "$started" ] || continue
        job=$(dirname "$(dirname "$started")")
        grep -qs '"status": "completed"' "$job/results.json" && continue
        mkdir -p "$dest/$(basename "$job")/.hydra" && cp "$started" "$dest/$(basename "$job")/.hydra/"
    done
    for rec in "$src"/*/results.json; do
        [ -f "$rec" ] || continue
        grep -q '"status": "completed"' "$rec" || continue
        job=$(dirname "$rec"); out="$dest/$(basename "$job")"
        mkdir -p "$out"
        for f in results.json history.csv predictions.npz; do [ -f "$job/$f" ] && cp "$job/$f" "$out/"; done
        rm -rf "$out/.hydra"      # left while it trained
    done
    return 0
}
. experiments/campaign/folders.sh
while read -r live committed; do [ -n "$live" ] && copy "$live" "$committed"; done <<< "$CAMPAIGN_FOLDERS"
changed() {   # changed DIR...: ALL=1, or a record, multirun.yaml or started job under DIR differs from git
    [ "${ALL:-0}" = 1 ] && return 0
    local dir
    for dir in "$@"; do
        [ -n "$(git status --porcelain -- "$dir" ":(exclude)$dir/report")" ] && return 0
    done
    return 1
}
report() { [ -d "$1" ] && changed "$1" && python -m ablate.report "${@}" || true; }
report experiments/bench/precision_parity --baseline trainer.precision=fp32 --margin 0.5   # as airbench94's bf16 below
report experiments/results/ladder_short_cpu
# its gallery reads the test images where the runs read them: without Fashion-MNIST there, keep the committed report
if [ -e "$DATA/FashionMNIST/raw" ]; then
    report experiments/results/mnist_to_cifar --baseline "data=fashion_mnist model=simple_cnn"
else
    echo "kept the committed mnist_to_cifar report: no Fashion-MNIST in $DATA (bash experiments/campaign/start.sh links it)"
fi
report experiments/results/resnet18_94 --reference experiments/references/resnet18_94.yaml
report experiments/results/airbench94/full --reference experiments/references/airbench94.yaml
# the leave-one-outs, the leave-one-outs at their published epochs, and bf16: each against the full fp32 recipe;
# bf16's question is "does it cost anything?", so its report has an equivalence margin: 0.5 points, under the
# smallest drop of a trick that item 3 sets out to resolve (its seed-0 drops are 0.3-0.8 points)
AB=experiments/results/airbench94
for part in leave_one_out published_epochs bf16; do
    margin=(); [ $part = bf16 ] && margin=(--margin 0.5)
    [ -d $AB/$part ] && changed $AB/full $AB/$part && python -m ablate.report $AB/full $AB/$part \
        --baseline experiment=airbench94 "${margin[@]}" --out $AB/$part/report || true
done
# the same in bf16 (on a CPU with native bf16), each against the full bf16 recipe
for part in leave_one_out_bf16 published_epochs_bf16; do
    [ -d $AB/$part ] && changed $AB/bf16 $AB/$part && python -m ablate.report $AB/bf16 $AB/$part \
        --baseline "experiment=airbench94 trainer.precision=bf16" --out $AB/$part/report || true
done
# item 3's question: does the order of the drops follow the published epochs saved? (per precision)
for pair in "full leave_one_out" "bf16 leave_one_out_bf16"; do
    set -- $pair
    [ -d $AB/$2 ] && changed $AB/$1 $AB/$2 && python experiments/campaign/airbench_order.py \
        $AB/$1 $AB/$2 --out $AB/$2/order.md || true
done
# item 4's question: does each trick, trained for its published epochs, land at the full recipe's accuracy?
for pair in "full published_epochs" "bf16 published_epochs_bf16"; do
    set -- $pair
    [ -d $AB/$2 ] && changed $AB/$1 $AB/$2 && python experiments/campaign/airbench_tradeoffs.py \
        $AB/$1 $AB/$2 --out $AB/$2/tradeoffs.md || true
done
report experiments/results/resolve_ladder
report experiments/results/jpeg_copy/once
report experiments/results/jpeg_copy/twice
# the two differ only in data.root (placement), so one report would pool them: compared apart
if changed experiments/results/jpeg_copy/once experiments/results/jpeg_copy/twice; then
    python experiments/campaign/jpeg_delta.py experiments/results/jpeg_copy/once experiments/results/jpeg_copy/twice \
        --out experiments/results/jpeg_copy/delta.md || true
fi
ladder_cpu=()
for d in experiments/results/ladder_cpu/ladder experiments/results/ladder_cpu/readme_2x2; do
    ls "$d"/*/results.json > /dev/null 2>&1 && ladder_cpu+=("$d")
done
LESSON=experiments/references/cifar10_ladder_lesson.yaml
[ ${#ladder_cpu[@]} -gt 0 ] && changed "${ladder_cpu[@]}" && python -m ablate.report "${ladder_cpu[@]}" --out experiments/results/ladder_cpu/report \
    --reference $LESSON
report experiments/results/ladder_widths/widths_32 --reference $LESSON
report experiments/results/ladder_widths/widths_64 --reference $LESSON
# issue 30's run 2: the top rung at other widths against the ladder's, as a share of the shortfall to the lesson
W=experiments/results/ladder_widths
[ -d $W/widths_64 ] && changed experiments/results/ladder_cpu/ladder $W/widths_32 $W/widths_64 &&
    python experiments/campaign/ladder_widths.py experiments/results/ladder_cpu/ladder $W/widths_32 $W/widths_64 \
        --out $W/widths.md || true
