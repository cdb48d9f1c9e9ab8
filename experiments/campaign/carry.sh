#!/usr/bin/env bash
# Carry a run longer than a session to the next machine. A new machine (after a steering turn) starts with no live
# folders, and the ResNet-18 run (about 13 h on one thread, 22 epochs a session) was lost with its machine five
# times. This copies the newest resume checkpoint of each unfinished job of the folders in CARRIED (folders.sh)
# into experiments/campaign/carried/LIVE_FOLDER/JOB/checkpoint.pt, to be committed at the end of a session: one
# file a job (about 90 MB for ResNet-18: weights and momentum in fp32, so the resume stays exact), replaced each
# time. restore.sh puts it back into a live job that has no checkpoint of its own; carry.sh drops it once the
# job's record is committed (collect.sh copies it there). Run from anywhere, at the end of a session:
#   bash experiments/campaign/carry.sh && git add experiments/campaign/carried && git commit -m "carry ..."
set -euo pipefail
cd "$(dirname "$0")/../.."
LIVE=${LIVE:-/root/campaign}
. experiments/campaign/folders.sh
epoch() { python -c "import sys, torch; print(torch.load(sys.argv[1], map_location='cpu', weights_only=True, \
mmap=True)['state']['epoch'])" "$1"; }
carried=0
for live in $CARRIED; do
    for ckpt in "$LIVE/$live"/*/checkpoint.pt; do
        [ -f "$ckpt" ] || continue
        job=$(dirname "$ckpt")
        grep -qs '"status": "completed"' "$job/results.json" && continue
        dest="$CARRY_DIR/$live/$(basename "$job")"
        if [ -f "$dest/checkpoint.pt" ] && cmp -s "$ckpt" "$dest/checkpoint.pt"; then
            echo "unchanged: $dest (epoch $(epoch "$ckpt"))"; continue
        fi
        mkdir -p "$dest"
        # a copy under another name, then a rename: an interrupted copy never leaves half a checkpoint here
        cp "$ckpt" "$dest/checkpoint.pt.tmp" && mv "$dest/checkpoint.pt.tmp" "$dest/checkpoint.pt"
        echo "carried: $dest (epoch $(epoch "$dest/checkpoint.pt"), $(du -h "$dest/checkpoint.pt" | cut -f1))"
        carried=$((carried + 1))
    done
done
# a carried checkpoint has done its work once its job's record is complete and committed (collect.sh)
while read -r live committed; do
    [ -n "$live" ] || continue
    for job in "$CARRY_DIR/$live"/*/; do
        if [ -d "$job" ] && grep -qs '"status": "completed"' "$committed/$(basename "$job")/results.json"; then
            rm -rf "$job" && echo "dropped the carried checkpoint of $(basename "$job"): its record is committed"
        fi
    done
done <<< "$CAMPAIGN_FOLDERS"
echo "carried $carried checkpoint(s) into $CARRY_DIR"
