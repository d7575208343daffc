#!/usr/bin/env bash
# The GPU check, on a machine with CuPy and PyTorch CUDA installed (nothing downloaded):
#   1. the device parity suite (tests/device) on real CuPy: every op-table row, layer and
#      optimizer on the GPU against the CPU, the device API, fit on the GPU;
#   2. the speed table (benchmarks/bench_gpu.py): training steps/s against PyTorch CUDA.
# Output goes to stdout and, when $OUT is set, to $OUT/gpu_check.log.
# Usage: scripts/gpu_check.sh [python]
set -uo pipefail
cd "$(dirname "$0")/.."
py=${1:-python3}
log=${OUT:-/tmp}/gpu_check.log
export PYTHONPATH=$PWD
{
  echo "== environment"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  "$py" -c "import sys, numpy, cupy, torch; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  echo "== parity suite on cuda"
  SHENJING_TEST_DEVICES=cuda timeout 120 "$py" -m pytest tests/device -q -p no:cacheprovider \
    -p no:xdist --maxfail=40 > "${OUT:-/tmp}/parity.log" 2>&1
  grep -E "^(FAILED|ERROR)" "${OUT:-/tmp}/parity.log" | head -40
  tail -3 "${OUT:-/tmp}/parity.log"
  echo "== shenjing train --device cuda (smoke)"
  timeout 60 "$py" -m shenjing.cli train --device cuda --limit 2048 --epochs 2 --quiet \
    --out /tmp/train-run 2>&1 | tail -3
  echo "== speed (training steps/s)"
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 timeout 150 \
    "$py" -m benchmarks.bench_gpu 2>&1 | tail -30
} 2>&1 | tee "$log"
