# Which live sweep folder (under $LIVE) is committed where (from the repository root): one pair a line.
# collect.sh copies completed records live -> committed; restore.sh copies them back onto a new machine.
# shellcheck disable=SC2034
CAMPAIGN_FOLDERS="
precision_parity experiments/bench/precision_parity
ladder_short experiments/results/ladder_short_cpu
ladder experiments/results/ladder_cpu/ladder
readme_2x2 experiments/results/ladder_cpu/readme_2x2
ladder_widths32 experiments/results/ladder_widths/widths_32
mnist_to_cifar experiments/results/mnist_to_cifar
airbench94 experiments/results/airbench94/full
airbench94_leave_one_out experiments/results/airbench94/leave_one_out
airbench94_published_epochs experiments/results/airbench94/published_epochs
airbench94_bf16 experiments/results/airbench94/bf16
airbench94_leave_one_out_bf16 experiments/results/airbench94/leave_one_out_bf16
airbench94_published_epochs_bf16 experiments/results/airbench94/published_epochs_bf16
resnet18_94 experiments/results/resnet18_94
resolve_ladder experiments/results/resolve_ladder
jpeg_copy_once experiments/results/jpeg_copy/once
jpeg_copy_twice experiments/results/jpeg_copy/twice
ladder_widths64 experiments/results/ladder_widths/widths_64
"
# The live folders whose unfinished jobs' checkpoints carry.sh copies into CARRY_DIR (committed at a session's
# end) and restore.sh puts back: runs longer than what is left of a session, which a new machine would otherwise
# start over (ResNet-18 about 13 h, 90 MB; the 64-wide ladder rung 2-3 h, 13 MB)
CARRIED="resnet18_94 ladder_widths64"
CARRY_DIR=${CARRY_DIR:-experiments/campaign/carried}
# live_folders: ' LIVE/name' for each live sweep folder that exists under $LIVE (start.sh's "watch it" line). An if,
# not a && chain: under set -e a chain whose last folder was missing failed the loop and ended start.sh early.
live_folders() {
    local live _
    while read -r live _; do
        if [ -n "$live" ] && [ -d "$LIVE/$live" ]; then printf ' %s' "$LIVE/$live"; fi
    done <<< "$CAMPAIGN_FOLDERS"
}
