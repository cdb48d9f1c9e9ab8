#!/usr/bin/env bash
# Start or resume the CPU campaign in the background, on this machine or on a new one: one command a session.
#   bash experiments/campaign/start.sh
# It makes what is missing first: a clone of this repository at $LIVE/src (brought up to date with this one's
# branch), a venv at $VENV with it installed, CIFAR-10 at $DATA from the offline copy in shared/. Then it runs
# cpu_ladder.sh detached (setsid), at the lowest priority, appending to $LIVE/campaign.log; that script skips
# what is committed or complete and resumes what has a checkpoint. A campaign already running is left alone.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LIVE=${LIVE:-/root/campaign}
DATA=${DATA:-/root/data}
VENV=${VENV:-/root/venv}
OFFLINE=${OFFLINE:-$REPO/../shared/data}
if pgrep -f "bash experiments/campaign/cpu_ladder.sh" > /dev/null; then
    echo "the campaign is running already (log: $LIVE/campaign.log)"
    exit 0
fi
mkdir -p "$LIVE"
[ -d "$LIVE/src/.git" ] || git clone -q "$REPO" "$LIVE/src"
git -C "$LIVE/src" pull -q --ff-only "$REPO" "$(git -C "$REPO" rev-parse --abbrev-ref HEAD)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
(cd / && "$VENV/bin/python" -c "import ablate, hydra") 2> /dev/null ||
    "$VENV/bin/pip" install -q -e "$LIVE/src[dev]" > "$LIVE/pip.log" 2>&1
[ -d "$DATA/cifar-10-batches-py" ] || "$VENV/bin/python" "$OFFLINE/prepare_cifar10.py" "$DATA"
# Fashion-MNIST (experiment=mnist_to_cifar; its report's gallery reads the test images): Debian's package, which
# cpu_ladder.sh links where the loader looks
[ -d /usr/share/datasets/fashion-mnist ] || apt-get install -y -q dataset-fashion-mnist > "$LIVE/apt.log" 2>&1 ||
    echo "note: no Fashion-MNIST (apt-get install dataset-fashion-mnist failed, see $LIVE/apt.log)"
cd "$LIVE/src"
(LIVE=$LIVE DATA=$DATA PATH="$VENV/bin:$PATH" setsid nohup nice -n 19 bash experiments/campaign/cpu_ladder.sh \
    >> "$LIVE/campaign.log" 2>&1 < /dev/null &)
echo "campaign started at $(git rev-parse --short HEAD): tail -f $LIVE/campaign.log"
. "$REPO/experiments/campaign/folders.sh"
echo "watch it:  python -m ablate.status --hide-completed$(live_folders)"
echo "pause it for a test run:  bash experiments/campaign/pause.sh stop   (then: cont)"
echo "before the session ends:  bash experiments/campaign/carry.sh && git add experiments/campaign/carried && git commit"
echo "   (the unfinished long runs' checkpoints, so that a new machine resumes them)"
