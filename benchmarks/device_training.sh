#!/usr/bin/env bash
# The GPU check of the training engine (docs/benchmarks.md, "Training on a GPU"), prepared for the
# `device` tool (one NVIDIA H100/H200; PyTorch and JAX there, no TensorFlow). Prepare from the
# project root, here:
#
#     ../shared/device/prepare.sh                     # Keras, Snakemake and the pins -> .device/
#     mkdir -p .device/before && git archive 149b21f src | tar -x -C .device/before
#
# then run it there (carry [".device"]), leaving a minute for the transfers:
#
#     source .device/setup.sh && bash benchmarks/device_training.sh     # timeout_s 540
#
# Parts, in order (each writes $OUT/<part>.json or .txt as it goes, so a cut run keeps what ended):
#   speed     Basset at 1000 bp through train_runs(): JAX std/sep/symm x float32/mixed_bfloat16
#             at batch 1024, sep at 128, PyTorch sep; and the code before (.device/before/src) on
#             the two settings the first GPU figures had (JAX sep mixed_float16 128 -> here
#             mixed_bfloat16; torch sep float32 128);
#   small     simulated TF binding, 10 seeds in one process stepped together (JAX), vs one seed;
#   offline   all training of `make reproduce`'s offline default on the GPU (JAX, 10 seeds per job,
#             --resources gpu=4, --until the training rules), wall time (/usr/bin/time) and
#             per-job times (results/benchmarks/).
# PARTS="speed small" picks parts; SMOKE=1 shrinks everything to try the script on a CPU.
set -uo pipefail
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
PARTS=${PARTS:-speed small offline}
PY=${PYTHON:-python3}
if [ "${SMOKE:-0}" = 1 ]; then EXAMPLES=512; EPOCHS=2; BIG=64; else EXAMPLES=50000; EPOCHS=3; BIG=1024; fi
PEAK=${PEAK_TFLOPS:-989}   # H100/H200 SXM dense bfloat16 tensor-core peak (NVIDIA data sheets)
export XLA_PYTHON_CLIENT_PREALLOCATE=false
{ date -u; nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; nproc; $PY -c 'import jax, keras; print("jax", jax.__version__, jax.devices(), "keras", keras.__version__)'; } > "$OUT/machine.txt" 2>&1
speed() { $PY benchmarks/training_speed.py --architecture basset --examples "$EXAMPLES" --epochs "$EPOCHS" --peak-tflops "$PEAK" --timeout 240 "$@"; }

for part in $PARTS; do
  start=$SECONDS
  case $part in
    speed)
      speed --backends jax --heads sep std symm --precisions mixed_bfloat16 float32 --batch-sizes "$BIG" --json "$OUT/speed_jax.json" > "$OUT/speed_jax.log" 2>&1
      speed --backends jax --heads sep --precisions mixed_bfloat16 --batch-sizes 128 --before-src .device/before/src --json "$OUT/speed_jax128.json" > "$OUT/speed_jax128.log" 2>&1
      speed --backends torch --heads sep --precisions float32 --batch-sizes 128 "$BIG" --before-src .device/before/src --json "$OUT/speed_torch.json" > "$OUT/speed_torch.log" 2>&1
      speed --backends torch --heads sep --precisions mixed_bfloat16 --batch-sizes "$BIG" --json "$OUT/speed_torch_bf16.json" > "$OUT/speed_torch_bf16.log" 2>&1
      ;;
    small)
      for seeds in 1 10; do
        $PY benchmarks/training_speed.py --architecture simulated_tf --backends jax --heads sep --epochs "$EPOCHS" --seeds "$seeds" --together true --timeout 240 --json "$OUT/small_seeds$seeds.json" > "$OUT/small_seeds$seeds.log" 2>&1
      done
      ;;
    offline)
      work=$(mktemp -d)
      overlay="$work/gpu.yaml"
      printf 'execution: {seeds_per_job: 10}\n' > "$overlay"
      [ "${SMOKE:-0}" = 1 ] && printf 'datasets:\n  sim_tf:\n    simulation: {per_class: {train: 40, valid: 20, test: 20}}\n    training: {max_epochs: 2}\nfigures: {training_size: {per_class: [10, 40]}}\n' >> "$overlay"
      /usr/bin/time -v $PY -m snakemake --snakefile "$PWD/Snakefile" --directory "$work" --cores "$(nproc)" \
        --configfile config/config.yaml config/offline.yaml "$overlay" --config backend=jax \
        --resources gpu=4 --until train_seeds0to9 train_lr_seed0 train_size_seeds0to1 \
        > "$OUT/offline.log" 2>&1
      echo "exit $?" >> "$OUT/offline.log"
      $PY - "$work" > "$OUT/offline_jobs.tsv" <<'EOF'
import sys, pathlib, pandas as pd
rows = []
for path in sorted(pathlib.Path(sys.argv[1], "results", "benchmarks").rglob("*.tsv")):
    t = pd.read_csv(path, sep="\t")
    rows.append({"job": str(path.relative_to(sys.argv[1])), "s": float(t["s"].iloc[0])})
table = pd.DataFrame(rows)
print(table.to_csv(sep="\t", index=False))
EOF
      cp -r "$work/logs" "$OUT/offline_logs" 2>/dev/null
      ;;
  esac
  echo "$part: $((SECONDS - start)) s" >> "$OUT/parts.txt"
done
cat "$OUT/parts.txt"
