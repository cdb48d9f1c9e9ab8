#!/usr/bin/env bash
# The trainer's speed options and the sweep throughput on full-size epochs (45,000 images), for the ladder's
# small_cnn (32-64-128-256). Run from the repository root with nothing else using the CPU:
#   bash experiments/bench/run_cpu_full_epochs.sh
# (the CPU campaign was paused with SIGSTOP while these ran). Each JSON carries its provenance.
set -euo pipefail
out=experiments/bench
python -m ablate.bench.options --device cpu --images 45000 --epochs 1 --batch-size 128 --widths 32 64 128 256 \
    --out $out/cpu_small_cnn32_options_full_epochs.json
python -m ablate.bench.sweep_throughput --jobs 1 2 --runs 2 --out $out/cpu_sweep_throughput_full_epochs.json \
    data=synthetic data.num_train=45200 data.val_size=200 data.num_test=1000 "model.widths=[32,64,128,256]" \
    trainer.epochs=1 trainer.precision=fp32
