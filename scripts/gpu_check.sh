#!/usr/bin/env bash
# The GPU check: one prepared run, under 8 minutes on a 1-GPU, 16-core machine with CuPy,
# PyTorch CUDA and mpi4py installed (nothing is downloaded). Each section has its own
# timeout, so one that hangs or fails costs only its own time and the next one runs:
#   1. parity (<= 120 s): tests/device on real CuPy (every op-table row, layer and
#      optimizer on the GPU against the CPU, the CUDA-graph step, the fused chain kernels,
#      the LSTM/GRU step kernels) and tests/graph/test_cuda_graph.py;
#   2. speed (<= 150 s): benchmarks/bench_gpu.py, training steps/s of the MLP (batch 512),
#      LeNet-5 (256) and the LSTM (256): shenjing eager, sj.compile, sj.compile with a CUDA
#      graph, against PyTorch CUDA eager and PyTorch with torch.cuda.CUDAGraph; LeNet-5 on
#      the GPU against shenjing's one-thread CPU step;
#   3. mixed precision (<= 75 s): benchmarks/bench_bf16.py, LeNet-5 bf16 autocast against
#      float32 test accuracy, same seed, bundled Fashion-MNIST subset; on the CPU's cores,
#      since CuPy has no bfloat16;
#   4. scaling (<= 90 s): benchmarks/bench_scaling.py, MPI at 1/2/4/8 ranks of one thread
#      for LeNet-5 and the MLP, against PyTorch DDP (gloo), with efficiencies;
#   5. a smoke run of `shenjing train --device cuda` (<= 15 s).
# Output: stdout and $OUT (default /tmp/gpu_check): gpu_check.log, one log per section
# (parity.log, speed.log, bf16.log, scaling.log, train.log), summary.md (each section:
# ok, FAILED with its exit status, or TIMED OUT), and the markdown tables gpu_speed.md,
# gpu_bf16.md, scaling.md (written row by row, so a timeout keeps what was measured), all
# of them in gpu_tables.md for docs/benchmarks.md (GPU section) and docs/scaling.md.
#
# Usage: scripts/gpu_check.sh [python]
#        GPU_CHECK_DRY=1 scripts/gpu_check.sh [python]   # no GPU: every section at a tiny
#   size on the strict CuPy stand-in / the CPU, to find the script's own mistakes first.
set -uo pipefail
cd "$(dirname "$0")/.."
py=${1:-python3}
out=${OUT:-/tmp/gpu_check}
dry=${GPU_CHECK_DRY:-0}
mkdir -p "$out"
export PYTHONPATH=$PWD
one_thread=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
: > "$out/summary.md"

# section NAME SECONDS LOG COMMAND...: runs COMMAND under `timeout`, its whole output in
# $out/LOG, the last lines on stdout; then records and prints how it ended.
section() {
  local name=$1 seconds=$2 log=$3
  shift 3
  echo "== $name (up to ${seconds} s, $(date -u +%H:%M:%S))"
  local start=$SECONDS
  timeout --kill-after=5 "$seconds" "$@" > "$out/$log" 2>&1
  local rc=$?
  tail -n 25 "$out/$log"
  local verdict="ok"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    verdict="TIMED OUT after ${seconds} s"
  elif [ "$rc" -ne 0 ]; then
    verdict="FAILED (exit status $rc)"
  fi
  echo "-- $name: $verdict in $((SECONDS - start)) s (full output: $out/$log)"
  echo "| $name | $verdict | $((SECONDS - start)) s | $log |" >> "$out/summary.md"
}

{
  echo "== environment ($(date -u +%H:%M:%S)); dry run: $dry"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  "$py" -c "import os, sys, numpy, torch; print(sys.version.split()[0], 'numpy', numpy.__version__, 'torch', torch.__version__, 'torch cuda', torch.cuda.is_available(), 'cores', os.cpu_count())"
  "$py" -c "import cupy; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceCount(), 'device(s)')" \
    || echo "no usable CuPy"

  if [ "$dry" = 1 ]; then
    section "1. parity suite (dry: strict stand-in with host-built kernels)" 300 parity.log \
      env SHENJING_TEST_DEVICES=strict SHENJING_TEST_HOST_KERNELS=1 "$py" -m pytest \
      tests/device tests/graph/test_cuda_graph.py -q -p no:cacheprovider -p no:xdist
    section "2. speed (dry: stand-in, batch 8)" 300 speed.log \
      "${one_thread[@]}" "$py" -m benchmarks.bench_gpu --dry-run --min-time 0.05 \
      --out "$out/gpu_speed.md"
    section "3. bf16 autocast LeNet-5 against float32 (dry: 600 images)" 300 bf16.log \
      "$py" -m benchmarks.bench_bf16 --device cpu --limit 600 --epochs 1 \
      --out "$out/gpu_bf16.md"
    section "4. MPI scaling (dry: 1 and 2 ranks, few steps)" 300 scaling.log \
      "${one_thread[@]}" "$py" -m benchmarks.bench_scaling --ranks 1 2 --steps-scale 0.05 \
      --out "$out/scaling.md"
    section "5. shenjing train (dry: --device cpu)" 120 train.log \
      "$py" -m shenjing.cli train --device cpu --limit 512 --epochs 1 --quiet \
      --out "$out/train-run"
  else
    section "1. parity suite on cuda" 120 parity.log \
      env SHENJING_TEST_DEVICES=cuda "$py" -m pytest tests/device \
      tests/graph/test_cuda_graph.py --ignore=tests/device/test_host_kernels.py -q \
      -p no:cacheprovider -p no:xdist --maxfail=60
    section "2. speed (training steps/s)" 150 speed.log \
      "${one_thread[@]}" "$py" -m benchmarks.bench_gpu --min-time 0.5 \
      --out "$out/gpu_speed.md"
    section "3. bf16 autocast LeNet-5 against float32" 75 bf16.log \
      "$py" -m benchmarks.bench_bf16 --device cpu --limit 6000 --epochs 2 \
      --out "$out/gpu_bf16.md"
    section "4. MPI scaling, one thread per rank" 90 scaling.log \
      "${one_thread[@]}" "$py" -m benchmarks.bench_scaling --ranks 1 2 4 8 \
      --steps-scale 0.5 --out "$out/scaling.md"
    section "5. shenjing train --device cuda (smoke)" 15 train.log \
      "$py" -m shenjing.cli train --device cuda --limit 2048 --epochs 1 --quiet \
      --out "$out/train-run"
  fi

  {
    echo "## Sections"; echo; echo "| section | result | time | log |"; echo "|---|---|---|---|"
    cat "$out/summary.md"
    echo; echo "## Speed (docs/benchmarks.md, GPU)"; echo; cat "$out/gpu_speed.md" 2>/dev/null
    echo; echo "## bf16 autocast"; echo; cat "$out/gpu_bf16.md" 2>/dev/null
    echo; echo "## MPI scaling (docs/scaling.md)"; echo; cat "$out/scaling.md" 2>/dev/null
  } > "$out/gpu_tables.md"
  echo "== summary"
  cat "$out/summary.md"
  echo "written: $out/gpu_tables.md"
  echo "== done ($(date -u +%H:%M:%S))"
} 2>&1 | tee "$out/gpu_check.log"
