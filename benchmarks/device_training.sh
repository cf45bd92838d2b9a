#!/usr/bin/env bash
# The GPU check of the training engine (docs/benchmarks.md, "Training on a GPU"), prepared for the
# `device` tool: one NVIDIA H100/H200 with 16 cores; PyTorch and JAX there, no TensorFlow, Keras or
# Snakemake (they come as wheels on PYTHONPATH; there is no .venv). Prepare from the project root:
#
#     ../shared/device/prepare.sh          # Keras, Snakemake and the pins -> .device/ (wheels)
#
# then run it there with carry [".device"] and timeout_s 420 (the script stops itself by 345 s;
# the rest is the wheels' install and the transfers):
#
#     source .device/setup.sh && bash benchmarks/device_training.sh
#
# and, if device time remains, benchmarks/device_paper_scale.sh (its own header).
#
# Parts, most valuable first; each appends its results as it ends, so a cut run keeps what ended.
# The device time of each is an estimate (no GPU has run this version): a process's start-up
# (Python, JAX or PyTorch, the GPU) ~8 s; XLA compiles of Basset's step and prediction ~15-30 s;
# an epoch of 51,200 Basset examples 0.5-2.5 s (100,000 to 20,000 examples/s);
#   a  basset   JAX Basset sep then std, mixed_bfloat16, batch 1024, 51,200 random 1000 bp
#               examples (50 full batches: one compiled step), 3 epochs, through train_runs();
#               training examples/s from the epoch log line (validation excluded) and the older
#               epoch-based figure beside it. 2 processes x 30-50 s = 60-100 s; cap 120 s.
#   b  small    simulated TF binding (the paper's splits, 6,400 training sequences, batch 100),
#               JAX, 10 seeds stepped together, then 1 seed, at steps_per_execution auto (a whole
#               epoch per call on a GPU), then 10 seeds at one step per call (auto's choice,
#               measured); same readout. 3 processes x 20-35 s (compile ~10-20 s, 4 epochs of
#               under 1 s) = 60-105 s; cap 120 s.
#   c  torch    PyTorch Basset sep, mixed_bfloat16, batch 1024, torch.compile (jit_compile true:
#               auto's choice on a GPU), 3 epochs. 1 process: torch.compile 40-120 s (up to 240 s
#               was seen at 149b21f) + 3 epochs = 60-130 s; cap 110 s (a cut reports "over N s").
#   d  offline  the training jobs of the offline default through Snakemake (--configfile
#               config/config.yaml config/offline.yaml + seeds_per_job: 10, --config backend=jax
#               require_gpu=True, --resources gpu=4, --until train_seeds0to9 train_lr_seed0
#               train_size_seeds0to1: 3 simulations, 15 training jobs, 4 at a time); wall time,
#               and per job its seconds (results/benchmarks/), epochs and training examples/s
#               (its log). Jobs ~25-45 s each (start-up, compile, up to 50 epochs) in 4 waves:
#               120-180 s; it gets what is left (at least 60 s) and is stopped at the budget,
#               keeping the jobs that ended.
#   e  determ.  (not in the default PARTS: a later call, PARTS=e, if device time remains) part
#               a's JAX Basset sep with training.deterministic true: what determinism costs on a
#               GPU. 1 process, 30-50 s; cap 120 s.
# Sum of the estimates: 300-515 s against a budget of 345 s (BUDGET): expect part d to be cut when
# compiles are slow. PARTS="a b" picks parts. SMOKE=1 shrinks everything to try it on a CPU, as
# the device would run it: a fresh clone, a virtual environment with only the device's packages
# (jax, torch, numpy, pandas, scipy, scikit-learn, matplotlib, h5py, numba, pyyaml, ...), the
# wheels of prepare.sh made for that Python, `source .device/setup.sh`, no .venv.
#
# Files under $OUT (the device tool returns at most 8): parts.txt (the machine, then each part's
# seconds), speed.jsonl (parts a-c: one JSON object per measurement, field "part"), offline.tsv
# (part d: one row per job, the wall time in a last row), log.txt (everything printed).
set -uo pipefail
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
PARTS=${PARTS:-a b c d}
BUDGET=${BUDGET:-345}
SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
  EXAMPLES=128 BIG=64 EPOCHS=2 SMALL_EPOCHS=2 PER_CLASS=(--per-class 50) GPU_CONFIG=""
else
  EXAMPLES=51200 BIG=1024 EPOCHS=3 SMALL_EPOCHS=4 PER_CLASS=() GPU_CONFIG="require_gpu=True"
fi
PEAK=${PEAK_TFLOPS:-989}   # H100/H200 SXM dense bfloat16 tensor-core peak (NVIDIA data sheets)
CACHE=${CACHE:-/tmp/sfcrepro-training-speed}
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
LOG=$OUT/log.txt
T0=$SECONDS
# seconds for a part: its cap, or what is left of the budget (less a margin), whichever is less
cap() { local left=$((BUDGET - (SECONDS - T0) - 5)); [ "$1" -lt "$left" ] && echo "$1" || echo "$left"; }

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  echo "cores $(nproc); smoke $SMOKE; budget $BUDGET s; PYTHONPATH=${PYTHONPATH:-}"
  $PY - <<'EOF' 2>&1
import importlib.metadata as m, platform
versions = []
for name in ("jax", "jaxlib", "torch", "keras", "snakemake", "numpy", "pandas"):
    try:
        versions.append(f"{name} {m.version(name)}")
    except m.PackageNotFoundError:
        versions.append(f"{name} -")
print("python", platform.python_version(), ", ".join(versions))
EOF
  git log -1 --format='code %h %s' 2>/dev/null || true
} > "$OUT/parts.txt"

speed() {  # training_speed.py with the part's label, capped at $1 seconds
  local seconds=$1; shift
  # the script's own --deadline ends it; the outer timeout (15 s later) only guards a hang
  timeout -k 10 $((seconds + 15)) $PY benchmarks/training_speed.py --cache "$CACHE" --deadline "$seconds" \
    --jsonl "$OUT/speed.jsonl" "$@" >> "$LOG" 2>&1
  echo "exit $?" >> "$LOG"
}

for part in $PARTS; do
  start=$SECONDS
  limit=0
  echo "=== part $part, $(date -u +%T), $((SECONDS - T0)) s in" >> "$LOG"
  case $part in
    a)
      limit=$(cap 120)
      [ "$limit" -ge 40 ] && speed "$limit" --label a_basset_jax --architecture basset \
        --backends jax --heads sep std --precisions mixed_bfloat16 --batch-sizes "$BIG" \
        --examples "$EXAMPLES" --epochs "$EPOCHS" --peak-tflops "$PEAK" --timeout 75
      ;;
    b)
      limit=$(cap 120)
      # steps per call auto (a whole epoch per call on a GPU) for 10 seeds and 1, then 10 seeds
      # at one step per call: the measurement of auto's choice on a GPU
      for run in "10 auto" "1 auto" "10 1"; do
        set -- $run
        left=$((limit - (SECONDS - start)))
        [ "$left" -ge 20 ] && speed "$left" --label "b_small_seeds${1}_steps${2}" \
          --architecture simulated_tf "${PER_CLASS[@]}" --backends jax --heads sep \
          --epochs "$SMALL_EPOCHS" --seeds "${1}" --together true --steps-per-execution "${2}" \
          --timeout 55
      done
      ;;
    c)
      limit=$(cap 110)
      # jit_compile true: what auto gives on a GPU, and what a SMOKE try on a CPU must exercise
      [ "$limit" -ge 40 ] && speed "$limit" --label c_basset_torch --architecture basset \
        --backends torch --heads sep --precisions mixed_bfloat16 --batch-sizes "$BIG" \
        --examples "$EXAMPLES" --epochs "$EPOCHS" --peak-tflops "$PEAK" --timeout 110 \
        --jit-compile true
      ;;
    e)
      limit=$(cap 120)
      # what determinism costs on a GPU: part a's JAX Basset sep with deterministic kernels
      [ "$limit" -ge 40 ] && speed "$limit" --label e_basset_jax_deterministic \
        --architecture basset --backends jax --heads sep --precisions mixed_bfloat16 \
        --batch-sizes "$BIG" --examples "$EXAMPLES" --epochs "$EPOCHS" --peak-tflops "$PEAK" \
        --timeout 110 --deterministic true
      ;;
    d)
      limit=$(cap 400)
      if [ "$limit" -ge 60 ]; then
        work=$(mktemp -d)
        overlay="$work/gpu.yaml"
        printf 'execution: {seeds_per_job: 10}\n' > "$overlay"
        [ "$SMOKE" = 1 ] && printf 'datasets:\n  sim_tf:\n    simulation: {per_class: {train: 40, valid: 20, test: 20}}\n    training: {max_epochs: 2}\nfigures: {training_size: {per_class: [10, 40]}}\n' >> "$overlay"
        began=$SECONDS
        timeout -s INT -k 20 "$limit" $PY -m snakemake --snakefile "$PWD/Snakefile" \
          --directory "$work" --cores "$(nproc)" \
          --configfile config/config.yaml config/offline.yaml "$overlay" \
          --config backend=jax $GPU_CONFIG --resources gpu=4 \
          --until train_seeds0to9 train_lr_seed0 train_size_seeds0to1 >> "$LOG" 2>&1
        status=$?
        wall=$((SECONDS - began))
        $PY - "$work" "$wall" "$status" > "$OUT/offline.tsv" 2>> "$LOG" <<'EOF'
import re, statistics, sys
from pathlib import Path

work, wall, status = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print("job\tseconds\tmax_rss_mb\tepochs\ttraining_examples_per_s\tengine")
for bench in sorted((work / "results" / "benchmarks").rglob("*.tsv")):
    rel = bench.relative_to(work / "results" / "benchmarks").with_suffix("")
    header, values = bench.read_text().splitlines()[:2]
    row = dict(zip(header.split("\t"), values.split("\t")))
    log = work / "logs" / rel.with_suffix(".log")
    text = log.read_text(errors="replace") if log.exists() else ""
    rates = [float(r) for r in re.findall(r"training ([\d.]+) examples/s\)", text)]
    epochs = re.findall(r"epoch (\d+)/\d+: ", text)
    engine = re.findall(r"\d+ run\(s\) on .*", text)
    print(
        f"{rel}\t{float(row['s']):.1f}\t{row.get('max_rss', '')}\t{max(map(int, epochs), default='')}"
        f"\t{statistics.median(rates[1:] or rates) if rates else ''}\t{engine[0] if engine else ''}"
    )
print(f"WALL (snakemake, exit {status})\t{wall}\t\t\t\t")
EOF
        # the training jobs' logs, last lines of each
        for f in $(find "$work/logs" -name '*.log' 2>/dev/null | sort); do
          echo "--- ${f#"$work"/}" >> "$LOG"; tail -n 15 "$f" >> "$LOG"
        done
      fi
      ;;
    *) echo "unknown part $part" >> "$LOG" ;;
  esac
  echo "$part: $((SECONDS - start)) s (cap ${limit} s)" >> "$OUT/parts.txt"
done
echo "total: $((SECONDS - T0)) s" >> "$OUT/parts.txt"
cat "$OUT/parts.txt"
