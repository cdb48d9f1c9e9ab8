#!/usr/bin/env bash
# Pause or resume every training process of the campaign, e.g. around a test run that wants both cores:
#   bash experiments/campaign/pause.sh stop | cont
# A stopped job loses nothing; the time it spent stopped is left out of its epoch times (stopped_seconds).
set -u
case "${1:-}" in
    stop) sig=STOP ;;
    cont) sig=CONT ;;
    *) echo "usage: pause.sh stop|cont" >&2; exit 2 ;;
esac
if pkill -"$sig" -f "python -m ablate"; then echo "SIG$sig sent"; else echo "no ablate process is running"; fi
