#!/usr/bin/env bash
# Paper-scale simulated accessibility (the synthetic stand-in of config/gpu_paper_scale.yaml, scale
# 0.05: about 206,000 training examples of 1000 bp) built and trained through Snakemake on one GPU,
# prepared for the `device` tool (docs/benchmarks.md, "Training on a GPU"). Run it after
# benchmarks/device_training.sh has given its figures, when device time remains, with the same
# preparation (../shared/device/prepare.sh; carry [".device"]) and timeout_s 330 (the script stops
# itself by 290 s):
#
#     source .device/setup.sh && RATE=<examples/s> bash benchmarks/device_paper_scale.sh
#
# RATE: the training examples/s of JAX Basset sep in bfloat16 from the first script (speed.jsonl,
# part a_basset_jax, "examples_per_s"); the script then sets max_epochs so that the 4 variants x 3
# seeds fit in TRAIN_BUDGET seconds of training (default 150) at that rate over the 4 jobs that
# share the GPU: max_epochs = TRAIN_BUDGET x RATE / (12 x training examples), 1 to 10 (the
# overlay's 10). MAX_EPOCHS=N sets it directly; with neither it is 3. The scores are then those of
# a shortened run: say so wherever they are quoted.
#
# The build needs pybedtools (with pysam) and the bedtools program, which the GPU machine lacks:
# prepare with them (about 19 MB of wheels and 2 MB; .device/ then holds about 64 MB, near the
# 64 MiB that travels with the working tree):
#
#     EXTRA="pybedtools pysam" ../shared/device/prepare.sh
#     mkdir -p .device/bin && cp "$(command -v bedtools)" .device/bin/   # x86-64, glibc >= 2.36
#
# The script puts .device/bin first on PATH and stops at once, saying what is missing, without them.
#
# Steps (device time, estimated; no GPU has run it):
#   1. the synthetic inputs (benchmarks/paper_scale_sim_access.py --scale 0.05): ~3 s;
#   2. the build, real rules up to the three h5 files (download of the local files, prepare_genome,
#      label_windows, tf_summits, build_sim_access): 25-40 s (53 s at scale 0.1 on 2 cores);
#   3. training and evaluation to results/summary.tsv (--configfile <inputs>/config.yaml
#      config/gpu_paper_scale.yaml + max_epochs, --config require_gpu=True, --resources gpu=4):
#      4 training jobs at once (a variant's 3 seeds in turn: start-up ~10 s, one compile per
#      job and shape ~15-30 s, shared by the seeds, the epochs), 4 evaluate_regions jobs
#      (~20-30 s), collect_metrics and summary (~10 s): ~70 s besides the epochs, which get
#      TRAIN_BUDGET.
# Total: ~270 s at the chosen epochs; stopped at BUDGET (290 s), keeping the jobs that ended.
#
# Files under $OUT: paper_scale.txt (inputs, build and training wall times, the epochs chosen,
# per-job seconds, results/summary.tsv) and paper_scale_log.txt (Snakemake's output, the jobs' logs).
# SMOKE=1 tries it on a CPU: scale 0.0002 (2,340 training examples), one seed, 1 epoch, batch 64,
# no GPU required; the same rules and scripts run (about 4 minutes on 2 cores).
set -uo pipefail
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
BUDGET=${BUDGET:-290}
TRAIN_BUDGET=${TRAIN_BUDGET:-150}
SMOKE=${SMOKE:-0}
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
T0=$SECONDS
if [ "$SMOKE" = 1 ]; then SCALE=${SCALE:-0.0002}; GPU_CONFIG=""; else SCALE=${SCALE:-0.05}; GPU_CONFIG="require_gpu=True"; fi
REPORT=$OUT/paper_scale.txt
LOG=$OUT/paper_scale_log.txt
work=$(mktemp -d)
smk() {  # snakemake on the generated configuration; targets first (--configfile takes several)
  local seconds=$1; shift
  timeout -s INT -k 20 "$seconds" $PY -m snakemake "$@" --snakefile "$PWD/Snakefile" \
    --directory "$work/run" --cores "$(nproc)" --resources gpu=4 >> "$LOG" 2>&1
}
left() { echo $((BUDGET - (SECONDS - T0) - 5)); }

[ -d .device/bin ] && export PATH=$PWD/.device/bin:$PATH
missing=""
$PY -c 'import pybedtools' 2>/dev/null || missing="$missing pybedtools+pysam"
command -v bedtools > /dev/null || missing="$missing bedtools"
if [ -n "$missing" ]; then
  echo "missing:$missing (see the header of benchmarks/device_paper_scale.sh)" | tee "$REPORT"
  exit 2
fi

{
  date -u
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  echo "cores $(nproc); smoke $SMOKE; scale $SCALE; budget $BUDGET s"
  git log -1 --format='code %h %s' 2>/dev/null || true
} > "$REPORT"

# 1. inputs
start=$SECONDS
$PY benchmarks/paper_scale_sim_access.py --scale "$SCALE" --out "$work" >> "$REPORT" 2>> "$LOG"
echo "inputs: $((SECONDS - start)) s" >> "$REPORT"

# 2. build
start=$SECONDS
smk "$(left)" results/datasets/paper_scale/{train,valid,test}.h5 \
  --configfile "$work/config.yaml" config/gpu_paper_scale.yaml
status=$?
echo "build: $((SECONDS - start)) s (exit $status)" >> "$REPORT"
n_train=$($PY -c 'import h5py, sys; print(len(h5py.File(sys.argv[1])["sequences"]))' \
  "$work/run/results/datasets/paper_scale/train.h5" 2>> "$LOG" || echo 0)

# 3. training, evaluation, summary
if [ -n "${MAX_EPOCHS:-}" ]; then
  epochs=$MAX_EPOCHS
elif [ -n "${RATE:-}" ] && [ "$n_train" -gt 0 ]; then
  epochs=$($PY -c "import sys; print(max(1, min(10, int($TRAIN_BUDGET * float(sys.argv[1]) / (12 * $n_train)))))" "$RATE")
else
  epochs=3
fi
overlay="$work/overlay.yaml"
if [ "$SMOKE" = 1 ]; then
  epochs=1
  printf 'seeds: [0]\nexecution: {seeds_per_job: 1}\n' > "$overlay"
fi
# on a CPU a batch of 1024 Basset examples takes ~10 GB: two such jobs ran out of memory
printf 'datasets:\n  paper_scale:\n    training: {max_epochs: %s%s}\n' "$epochs" \
  "$([ "$SMOKE" = 1 ] && echo ', batch_size: 64')" >> "$overlay"
echo "training examples: $n_train; max_epochs: $epochs (MAX_EPOCHS ${MAX_EPOCHS:-unset}, RATE ${RATE:-unset}, TRAIN_BUDGET $TRAIN_BUDGET s)" >> "$REPORT"
start=$SECONDS
limit=$(left)
if [ "$limit" -ge 30 ] && [ "$n_train" -gt 0 ]; then
  smk "$limit" results/summary.tsv --configfile "$work/config.yaml" config/gpu_paper_scale.yaml \
    "$overlay" ${GPU_CONFIG:+--config $GPU_CONFIG}
  status=$?
  echo "training to summary: $((SECONDS - start)) s (exit $status, limit $limit s)" >> "$REPORT"
else
  echo "training to summary: not started ($limit s left, $n_train training examples)" >> "$REPORT"
fi

# per-job seconds (results/benchmarks/), training epochs and examples/s from the jobs' logs
$PY - "$work/run" >> "$REPORT" 2>> "$LOG" <<'EOF'
import re, statistics, sys
from pathlib import Path

run = Path(sys.argv[1])
print("job\tseconds\tepochs\ttraining_examples_per_s")
for bench in sorted((run / "results" / "benchmarks").rglob("*.tsv")):
    rel = bench.relative_to(run / "results" / "benchmarks").with_suffix("")
    header, values = bench.read_text().splitlines()[:2]
    seconds = float(dict(zip(header.split("\t"), values.split("\t")))["s"])
    log = run / "logs" / rel.with_suffix(".log")
    text = log.read_text(errors="replace") if log.exists() else ""
    rates = [float(r) for r in re.findall(r"training ([\d.]+) examples/s\)", text)]
    epochs = [int(e) for e in re.findall(r"epoch (\d+)/\d+: ", text)]
    rate = statistics.median(rates[1:] or rates) if rates else ""
    print(f"{rel}\t{seconds:.1f}\t{max(epochs, default='')}\t{rate}")
EOF
echo "--- results/summary.tsv" >> "$REPORT"
cat "$work/run/results/summary.tsv" >> "$REPORT" 2>/dev/null || echo "(none)" >> "$REPORT"
echo "total: $((SECONDS - T0)) s" >> "$REPORT"
for f in $(find "$work/run/logs" -name '*.log' 2>/dev/null | sort); do
  echo "--- ${f#"$work"/run/}" >> "$LOG"; tail -n 12 "$f" >> "$LOG"
done
cat "$REPORT"
