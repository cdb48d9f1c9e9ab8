#!/usr/bin/env bash
# The reverse of collect.sh: put each committed, completed record back into its live sweep folder, so that
# cpu_ladder.sh on a machine that lost (or never had) the live folders skips those jobs instead of training
# them again. A live job that already has a completed record is left as it is; a live checkpoint is never
# touched, so a job that was training resumes as before. A checkpoint that carry.sh committed goes back into a
# live job that has none, so a run longer than a session resumes on a new machine. Run from anywhere:  bash experiments/campaign/restore.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LIVE=${LIVE:-/root/campaign}
. experiments/campaign/folders.sh
restored=0
while read -r live committed; do
    [ -n "$live" ] || continue
    # resolve's looks: a resumed resolve goes on spending what is left of its alpha
    if [ -f "$committed/resolve.json" ] && [ ! -f "$LIVE/$live/resolve.json" ]; then
        mkdir -p "$LIVE/$live" && cp "$committed/resolve.json" "$LIVE/$live/"
    fi
    for rec in "$committed"/*/results.json; do
        [ -f "$rec" ] || continue
        grep -q '"status": "completed"' "$rec" || continue
        job=$(basename "$(dirname "$rec")"); out="$LIVE/$live/$job"
        grep -qs '"status": "completed"' "$out/results.json" && continue
        mkdir -p "$out"
        for f in results.json history.csv predictions.npz; do
            [ -f "$(dirname "$rec")/$f" ] && cp "$(dirname "$rec")/$f" "$out/"
        done
        restored=$((restored + 1))
    done
done <<< "$CAMPAIGN_FOLDERS"
echo "restored $restored completed record(s) into $LIVE"
# carried checkpoints (carry.sh): into a live job that has neither a checkpoint nor a completed record, so the run
# resumes at the carried epoch instead of starting over; a live checkpoint is newer than any carried one
resumed=0
for ckpt in "$CARRY_DIR"/*/*/checkpoint.pt; do
    [ -f "$ckpt" ] || continue
    job=$(dirname "$ckpt"); out="$LIVE/$(basename "$(dirname "$job")")/$(basename "$job")"
    [ -f "$out/checkpoint.pt" ] || [ -f "$out/checkpoint.prev.pt" ] && continue
    grep -qs '"status": "completed"' "$out/results.json" && continue
    mkdir -p "$out" && cp "$ckpt" "$out/checkpoint.pt.tmp" && mv "$out/checkpoint.pt.tmp" "$out/checkpoint.pt"
    resumed=$((resumed + 1))
done
echo "restored $resumed carried checkpoint(s) into $LIVE"
