#!/usr/bin/env bash
# The CPU campaign of issue 10, one stage after another; each stage is a sweep that a rerun resumes
# (complete jobs are skipped), so running this script again after a stop continues where it was.
#   (setsid nohup nice -n 19 bash experiments/campaign/cpu_ladder.sh >> $LIVE/campaign.log 2>&1 &)
# LIVE: the live sweep folders (checkpoints, weights), outside the repository.
# DATA: a folder holding cifar-10-batches-py/ (../shared/data/prepare_cifar10.py writes one). JOBS: below.
set -u
cd "$(dirname "$0")/../.."
LIVE=${LIVE:-/root/campaign}
DATA=${DATA:-/root/data}
# JOBS: jobs of one sweep at once (the cores split between them). 1 by default: each run lands soonest. Where two
# 1-thread jobs beat one 2-thread job clearly (python -m ablate.bench.sweep_throughput; 1.30x on one machine of
# this kind, 1.10x on another, 1.04x on the AMD EPYC of 2026-12-02; 1.14x for short airbench94 runs on the Intel
# Xeon of 2026-12-06, family 6 model 106: experiments/bench/cpu_sweep_throughput_airbench_icx.json; 1.04x in bf16
# on the AMX Xeon of 2026-12-07, family 6 model 167: cpu_sweep_throughput_airbench_bf16_amx.json), JOBS=2
# finishes the queue sooner, but each run lands twice as late and a stop leaves two runs half done.
JOBS=${JOBS:-1}
PLACE="data.download=false trainer.progress=log"      # everything but data.root
[ "$JOBS" -gt 1 ] && PLACE="$PLACE hydra/launcher=joblib hydra.launcher.n_jobs=$JOBS"
COMMON="data.root=$DATA $PLACE"
mkdir -p "$LIVE"
# `nice` alone does not yield to other work here: the kernel shares the CPU between sessions (autogroups) before
# it looks at nice, so a campaign started with setsid took half the CPU from a test run in another session. Its
# autogroup's own nice value does yield (raising it needs no privilege; where /proc has no autogroup, nothing).
echo 19 2>/dev/null > /proc/self/autogroup || true
# records committed earlier count as done: on a machine that lost the live folders, restore them first
bash experiments/campaign/restore.sh

# The ResNet-18 lane (issue 30's run 1; issue 28 asks for its runs beside it): with LANES=2 (the default on 2+
# cores) the ResNet-18 recipe trains in the background beside the queue below, each on half the cores
# (OMP_NUM_THREADS), its log in $LIVE/resnet18_94.log. Measured on the Intel Xeon of 2026-12-07 (family 6 model 106,
# fp32): side by side, ResNet-18 trains at 27.7 img/s (0.55x of its 50 img/s on both cores, python -m
# ablate.bench.options, channels_last) and airbench94 at 121-129 img/s (0.50-0.53x of its 235-250 alone): 1.05-1.08x
# the work of one job on both cores. So the pair costs the queue nothing in all; the ResNet-18 run (29 h alone in
# fp32, about 47 h beside) starts now instead of after about 22 h of queue, and each queued run lands about twice as
# late. Its step at the end of the queue stays: it skips a complete record, is refused while the lane still trains
# it (one process per job folder), and resumes it if the lane died.
# (JOBS=2 already splits the cores between two jobs of a sweep: the lane is then off unless LANES=2 is given)
LANES=${LANES:-$([ "$(nproc)" -ge 2 ] && [ "$JOBS" -eq 1 ] && echo 2 || echo 1)}
LANE_PID=
if [ "$LANES" -gt 1 ]; then
    OMP_NUM_THREADS=$(( $(nproc) / 2 )) python -m ablate experiment=resnet18_94 seed=0 $COMMON \
        hydra.sweep.dir="$LIVE/resnet18_94" >> "$LIVE/resnet18_94.log" 2>&1 &
    LANE_PID=$!
fi
# run MODULE ARGS: a queued step, on half the cores while the lane trains, all of them once it has ended
run() {
    if [ -n "$LANE_PID" ] && kill -0 "$LANE_PID" 2> /dev/null; then
        OMP_NUM_THREADS=$(( $(nproc) / 2 )) python -m "$@"
    else
        python -m "$@"
    fi
}

# 1. bf16 against fp32 on this CPU: rung 2 of the 20-epoch ladder, seeds 0 and 1, both precisions
run ablate -m experiment=ladder_short rung=2_cosine seed=0,1 trainer.precision=fp32,bf16 \
    $COMMON hydra.sweep.dir="$LIVE/precision_parity"
# 2. issue 11's evidence: SimpleCNN and EnhancedCNN on Fashion-MNIST and CIFAR-10 (5 epochs, 3 seeds).
#    Fashion-MNIST comes from Debian's dataset-fashion-mnist package, linked where the loader looks.
if [ -d /usr/share/datasets/fashion-mnist ]; then
    mkdir -p "$DATA/FashionMNIST" && ln -sfn /usr/share/datasets/fashion-mnist "$DATA/FashionMNIST/raw"
    run ablate experiment=mnist_to_cifar $COMMON hydra.sweep.dir="$LIVE/mnist_to_cifar"
fi
# 3. the 100-epoch ladder, seed 0: rung 2 first (it decided the ladder's small_cnn widths: 32-64-128-256 reached
#    84.66%, clearly short of ~88%, so the ladder and small_cnn's default became 48-96-192-384), then the other
#    rungs, then the fourth cell of the README's 2x2 (aug=none schedule=cosine; the report pools the other
#    three cells with the rungs that compose to the same config)
run ablate experiment=ladder rung=2_cosine seed=0 $COMMON hydra.sweep.dir="$LIVE/ladder"
run ablate experiment=ladder seed=0 $COMMON hydra.sweep.dir="$LIVE/ladder"
run ablate -m aug=none schedule=cosine seed=0 $COMMON hydra.sweep.dir="$LIVE/readme_2x2"
# 2b. the 20-epoch ladder: four rungs x seeds 0, 1 (seed 0 was complete before the 100-epoch runs began;
#     seed 1 waits until seed 0 of the 100-epoch ladder is in)
run ablate experiment=ladder_short trainer.precision=bf16 $COMMON hydra.sweep.dir="$LIVE/ladder_short"
# 4. seeds 1 and 2 of every rung and of the fourth cell
for seed in 1 2; do
    run ablate experiment=ladder seed=$seed $COMMON hydra.sweep.dir="$LIVE/ladder"
    run ablate -m aug=none schedule=cosine seed=$seed $COMMON hydra.sweep.dir="$LIVE/readme_2x2"
done
# 5a. issue 30's run 3, what one more round of the copy's compression costs (four 20-epoch runs, cheap): rung 2 of
#     the 20-epoch ladder, seeds 0-1, on the copy as it is and on it re-encoded once more as JPEG quality 75, 4:2:0.
#     fp32 on both sides: native on every CPU (bf16 is emulated, 3x slower, on one without AMX or AVX512-BF16, such
#     as the AMD EPYC of family 25 model 1, AVX2 only), so a pair split across two machines stays one precision.
#     The two differ only in data.root (placement), so they go to two sweep folders and jpeg_delta.py compares them.
DATA2=${DATA2:-/root/data_jpeg2}
[ -f "$DATA2/cifar-10-batches-py/test_batch" ] || python experiments/campaign/reencode_jpeg.py "$DATA" "$DATA2"
run ablate -m experiment=ladder_short rung=2_cosine seed=0,1 trainer.precision=fp32 $COMMON \
    hydra.sweep.dir="$LIVE/jpeg_copy_once"
run ablate -m experiment=ladder_short rung=2_cosine seed=0,1 trainer.precision=fp32 data.root="$DATA2" $PLACE \
    hydra.sweep.dir="$LIVE/jpeg_copy_twice"
# 5a. issue 29's real run: ablate.resolve on a ladder the CPU affords in a session (small_cnn at widths
#     16-32-64-128, 8 epochs, fp32: about 6 min a run on a 2-core AMD EPYC), rungs 1-3 from seeds 0-1, at most 4
#     seeds a rung; its looks are in resolve.json, so a restart resumes the design where it stopped
run ablate -m experiment=ladder_short 'model.widths=[16,32,64,128]' trainer.epochs=8 trainer.precision=fp32 \
    rung=1_cropflip,2_cosine,3_label_smoothing seed=0,1 $COMMON hydra.sweep.dir="$LIVE/resolve_ladder"
run ablate.resolve "$LIVE/resolve_ladder" --max-seeds 4 --budget-hours 1.5 || true
# 5b. issue 28's evidence, before the ResNet-18 run (about 1/20 of its FLOPs): item 1, airbench94's full recipe,
#     seeds 0-4 (9.9 epochs each, fp32 as the experiment sets; item 2 below measured bf16 beside it); then item 3,
#     each trick left out at 9.9 epochs, seeds 0-2 (TTA none / flip / multi-crop come from the same records), seed
#     by seed: every trick at seed 0 first, so the order of the drops can be read (airbench_order.py) after five
#     runs and with intervals after ten, not only after all fifteen (one launch each: 15 kept launch files)
run ablate experiment=airbench94 $COMMON hydra.sweep.dir="$LIVE/airbench94"
# 5b'. issue 28's item 2, bf16 against the fp32 seeds 0-1 of item 1: only where this CPU runs bf16 natively (AMX or
#     AVX512-BF16; elsewhere it is emulated, about 3x slower than fp32). It runs first where it can, before the
#     fp32 queue that any machine can run: machines with native bf16 have been the exception here (the AMX Xeon of
#     2026-12-07, family 6 model 167, after a week of CPUs without it), and the next one may lack it again
# the five tricks of item 3, each one override that leaves it out (the bf16 and fp32 leave-one-outs below)
TRICKS="model.whiten=false model.dirac_init=false optim.norm_lr_scale=1 trainer.lookahead=false aug.ops.1.op=flip"
NATIVE_BF16=$(grep -qwE "amx_bf16|avx512_bf16" /proc/cpuinfo && echo 1 || echo 0)
if [ "$NATIVE_BF16" = 1 ]; then
    run ablate -m experiment=airbench94 seed=0,1 trainer.precision=bf16 $COMMON hydra.sweep.dir="$LIVE/airbench94_bf16"
fi
# 5b''. item 3 in bf16, where bf16 is native: item 2 found bf16 at fp32's accuracy (seeds 0-1, the diary), and a
#     run costs about 8 min there against about 35 min in fp32 (docs/speed.md). So the full recipe in bf16 to n=5
#     (seeds 2-4), then each trick left out in bf16, seeds 0-2, seed by seed: a leave-one-out of one precision
#     against a full recipe of the same precision (airbench_order.py refuses a mix). The fp32 leave-one-outs below
#     go on where bf16 is emulated.
if [ "$NATIVE_BF16" = 1 ]; then
    run ablate -m experiment=airbench94 seed=2,3,4 trainer.precision=bf16 $COMMON hydra.sweep.dir="$LIVE/airbench94_bf16"
    for seed in 0 1 2; do
        for trick in $TRICKS; do
            run ablate -m experiment=airbench94 seed=$seed "$trick" trainer.precision=bf16 $COMMON \
                hydra.sweep.dir="$LIVE/airbench94_leave_one_out_bf16"
        done
    done
fi
# item 3 in fp32 (seed 0 of all five is committed, from the Intel Xeon of 2026-12-07): here where bf16 is emulated;
# where it is native, at the very end, after every run that decides something the bf16 runs have not decided
fp32_leave_one_out() {
    for seed in 0 1 2; do
        for trick in $TRICKS; do
            run ablate -m experiment=airbench94 seed=$seed "$trick" $COMMON \
                hydra.sweep.dir="$LIVE/airbench94_leave_one_out"
        done
    done
}
[ "$NATIVE_BF16" = 1 ] || fp32_leave_one_out
# 5c. issue 28's item 4, the published trade-offs: each trick left out at the epochs its author found it needs to
#     reach 94% (whitening 22, dirac 12.7, BN-bias lr 14.2, lookahead 10.7, alternating flip 10.8): each should
#     land at the full recipe's accuracy on this copy. Seed by seed: seed 0 of all five (about 2 h in bf16 beside
#     the ResNet-18 lane) gives the first reading of every trade-off, each run short enough to land within a
#     session (whitening and dirac are in); seed 1 of all five after them.
#     (in bf16 against the bf16 full recipe where bf16 is native, in fp32 against the fp32 one elsewhere: a folder
#     each, so that no report pools the two)
PUBLISHED=(airbench94_published_epochs)           # the folder, then the precision override where not the default
[ "$NATIVE_BF16" = 1 ] && PUBLISHED=(airbench94_published_epochs_bf16 trainer.precision=bf16)
published_epochs() {   # published_epochs SEED: each trick left out at its published epochs
    local pair seed=$1
    for pair in "model.whiten=false 22" "model.dirac_init=false 12.7" "optim.norm_lr_scale=1 14.2" \
                "trainer.lookahead=false 10.7" "aug.ops.1.op=flip 10.8"; do
        set -- $pair
        run ablate -m experiment=airbench94 seed="$seed" "$1" trainer.epochs="$2" "${PUBLISHED[@]:1}" $COMMON \
            hydra.sweep.dir="$LIVE/${PUBLISHED[0]}"
    done
}
# 5d. issue 30's run 2, does the lesson's ~88% come with width: the top rung at 64-128-256-512, 100 epochs, seed 0.
#     About 1.8x the FLOPs of a 48-wide run (2-3 h beside the ResNet-18 lane): longer than what is left of most
#     sessions, so carry.sh commits its checkpoint at a session's end, as it does ResNet-18's. It runs before the
#     rest of item 4: issue 28 is resolved (item 4 as far as the campaign got), issue 30 waits on this run.
run ablate experiment=ladder rung=2_cosine 'model.widths=[64,128,256,512]' seed=0 $COMMON \
    hydra.sweep.dir="$LIVE/ladder_widths64"
published_epochs 0
published_epochs 1
# 5. the ResNet-18 recipe (CIFAR stem, about 94% on a GPU), seed 0: about 6 h in bf16 + channels_last on an AMX
#    Xeon, far more in fp32 on a CPU without native bf16 (precision=auto picks fp32 there). The lane above trains
#    it; this step resumes it where the lane died, and skips it once its record is complete.
run ablate experiment=resnet18_94 seed=0 $COMMON hydra.sweep.dir="$LIVE/resnet18_94"

# 6. seeds 3 and 4 (the ladder's own seed range, 0-4): at seeds 0-2 the cosine step and the 2x2 interaction stay
#    unresolved, mostly from rung 1's spread (a constant lr leaves its final epoch 1-2 points from where its
#    neighbours' ended); the report puts 5 seeds a side at 80% power. So rungs 0-2 and the fourth cell first (the
#    four cells of the 2x2), rung 3 last (its step, -0.04 points at seeds 0-2, is far below seed noise: the report
#    puts 463 seeds a side at 80% power; seeds 3-4 only complete the ladder's own seed range)
for seed in 3 4; do
    run ablate experiment=ladder rung=0_baseline,1_cropflip,2_cosine seed=$seed $COMMON \
        hydra.sweep.dir="$LIVE/ladder"
    run ablate -m aug=none schedule=cosine seed=$seed $COMMON hydra.sweep.dir="$LIVE/readme_2x2"
done
run ablate experiment=ladder rung=3_label_smoothing seed=3,4 $COMMON hydra.sweep.dir="$LIVE/ladder"
# last, where bf16 is native: item 3 in fp32 too, a cross-check of the bf16 leave-one-outs' order
[ "$NATIVE_BF16" = 1 ] && fp32_leave_one_out
wait   # the ResNet-18 lane
