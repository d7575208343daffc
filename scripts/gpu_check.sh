#!/usr/bin/env bash
# The GPU check: one prepared run, under 8 minutes on a 1-GPU, 16-core machine with CuPy,
# PyTorch CUDA and mpi4py installed (nothing is downloaded). Each section has its own
# timeout, so one that hangs costs only its own time:
#   1. parity (<= 120 s): tests/device on real CuPy (every op-table row, layer and
#      optimizer on the GPU against the CPU, the CUDA-graph step, the fused chain kernels)
#      and tests/graph/test_cuda_graph.py;
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
# Output: stdout and $OUT (default /tmp/gpu_check): gpu_check.log, parity.log, and the
# markdown tables gpu_speed.md, gpu_bf16.md, scaling.md, all of them in gpu_tables.md for
# docs/benchmarks.md (GPU section) and docs/scaling.md.
# Usage: scripts/gpu_check.sh [python]
set -uo pipefail
cd "$(dirname "$0")/.."
py=${1:-python3}
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
export PYTHONPATH=$PWD
one_thread=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
section() { echo "== $1 ($(date -u +%H:%M:%S))"; }
{
  section "environment"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  "$py" -c "import os, sys, numpy, cupy, torch; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cores', os.cpu_count())"

  section "1. parity suite on cuda"
  SHENJING_TEST_DEVICES=cuda timeout 120 "$py" -m pytest tests/device \
    tests/graph/test_cuda_graph.py -q -p no:cacheprovider -p no:xdist --maxfail=60 \
    > "$out/parity.log" 2>&1
  grep -E "^(FAILED|ERROR)" "$out/parity.log" | head -60
  tail -3 "$out/parity.log"

  section "2. speed (training steps/s)"
  "${one_thread[@]}" timeout 150 "$py" -m benchmarks.bench_gpu --min-time 0.5 \
    --out "$out/gpu_speed.md" 2>&1 | tail -30

  section "3. bf16 autocast LeNet-5 against float32"
  timeout 75 "$py" -m benchmarks.bench_bf16 --device cpu --limit 6000 --epochs 2 \
    --out "$out/gpu_bf16.md" 2>&1 | tail -12

  section "4. MPI scaling, one thread per rank"
  "${one_thread[@]}" timeout 90 "$py" -m benchmarks.bench_scaling --ranks 1 2 4 8 \
    --steps-scale 0.5 --out "$out/scaling.md" 2>&1 | tail -14

  section "5. shenjing train --device cuda (smoke)"
  timeout 15 "$py" -m shenjing.cli train --device cuda --limit 2048 --epochs 1 --quiet \
    --out "$out/train-run" 2>&1 | tail -3

  section "tables"
  {
    echo "## Speed (docs/benchmarks.md, GPU)"; echo; cat "$out/gpu_speed.md" 2>/dev/null
    echo; echo "## bf16 autocast"; echo; cat "$out/gpu_bf16.md" 2>/dev/null
    echo; echo "## MPI scaling (docs/scaling.md)"; echo; cat "$out/scaling.md" 2>/dev/null
  } > "$out/gpu_tables.md"
  echo "written: $out/gpu_tables.md"
  section "done"
} 2>&1 | tee "$out/gpu_check.log"
