#!/usr/bin/env bash
# Set-up included: each command creates .venv and installs shenjing into it when needed.
#   ./dev.sh train   the main job: `shenjing train` (LeNet-5 on the bundled Fashion-MNIST)
#   ./dev.sh test    the test suite
#   ./dev.sh lint    ruff
#   ./dev.sh bench   the benchmarks
#   ./dev.sh docs    the documentation site, built strictly (mkdocs); `./dev.sh docs serve` previews it
set -euo pipefail
cd "$(dirname "$0")"

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; echo "Extra arguments pass through."; }

command=${1:-}
case "$command" in
  train|test|lint|bench|docs) shift ;;
  ""|help|-h|--help) usage; exit 0 ;;
  *) echo "./dev.sh: unknown command '$command'" >&2; usage >&2; exit 2 ;;
esac

venv=.venv
stamp=$venv/.installed
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi

case "$command" in
  # shenjing train picks its own BLAS thread count (see `shenjing train --help`, --threads).
  train) exec "$venv/bin/shenjing" train "$@" ;;
  # One BLAS thread per test worker: two workers on two cores, no oversubscription.
  test)  exec env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$venv/bin/python" -m pytest -n 2 "$@" ;;
  lint)  exec "$venv/bin/ruff" check . "$@" ;;
  bench) exec env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
           "$venv/bin/python" -m benchmarks "$@" ;;
  # A warning (a broken link or reference, a docstring griffe cannot read) fails the build.
  docs)  if [ "${1:-}" = serve ]; then shift; exec env NO_MKDOCS_2_WARNING=1 "$venv/bin/mkdocs" serve "$@"
         else exec env NO_MKDOCS_2_WARNING=1 "$venv/bin/mkdocs" build --strict "$@"; fi ;;
esac
