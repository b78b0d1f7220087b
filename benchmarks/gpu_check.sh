#!/usr/bin/env bash
# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
#
# The GPU checks in one short run, from the repository root:
#
#     bash benchmarks/gpu_check.sh
#     OUT=/tmp/gpu DATA_DIR=../shared/data bash benchmarks/gpu_check.sh
#
# 1. tests/test_cuda.py (at most 2 minutes), 2. benchmarks/bench_gpu.py (at
# most 5 minutes; its own budget is 250 s): 7 minutes at most in all.
#
# With OUT set, pytest.log, bench_gpu.log and bench_gpu.json go there; without
# it the logs go to a temporary folder and the JSON to
# benchmarks/results/bench_gpu.json. DATA_DIR is the folder of
# cifar10_gray_train.npz (default: the first of ../shared/data and shared/data
# that has it; without it the benchmark records the fit as skipped). PYTHON
# picks the interpreter (default python3). COMMIT is recorded as the run's
# commit where the tree is a copy without its git folder. Packages missing
# from that Python (skorch, say) are installed, without a network, from the
# wheels in WHEELS (default .whl) into a temporary folder; fetch them
# beforehand with
#
#     pip download --no-deps --only-binary=:all: -d .whl skorch
#
# Exit status: 0 when the tests pass and the benchmark ran, 3 without a CUDA
# device, 2 when a dependency is missing, else the failing step's status.

set -u -o pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ -n "${OUT:-}" ]; then
    LOGS=$OUT
    JSON=$OUT/bench_gpu.json
else
    LOGS=$(mktemp -d)
    JSON=benchmarks/results/bench_gpu.json
fi
mkdir -p "$LOGS"

if [ -z "${DATA_DIR:-}" ]; then
    DATA_DIR=../shared/data
    for dir in ../shared/data shared/data; do
        if [ -f "$dir/cifar10_gray_train.npz" ]; then DATA_DIR=$dir; break; fi
    done
fi

deps="import numpy, scipy, sklearn, skorch, torch, joblib, safetensors, tabulate"
if ! "$PY" -c "$deps" 2>/dev/null; then
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        site=$(mktemp -d)
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --target "$site" "$WHEELS"/*.whl || exit 2
        export PYTHONPATH="$PYTHONPATH:$site"
    fi
    if ! "$PY" -c "$deps"; then
        echo "gpu_check: a dependency is missing from $PY; put its wheels in $WHEELS" >&2
        exit 2
    fi
fi

nvidia-smi -L 2>/dev/null
if ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "gpu_check: torch finds no CUDA device; nothing to check here" >&2
    exit 3
fi
"$PY" -c "import torch, skorch, sklearn; print('torch', torch.__version__, 'CUDA', \
torch.version.cuda, torch.cuda.get_device_name(0), '| skorch', skorch.__version__, \
'| scikit-learn', sklearn.__version__)"

start=$SECONDS
timeout 120 "$PY" -m pytest tests/test_cuda.py -q -p no:randomly -p no:cacheprovider \
    2>&1 | tee "$LOGS/pytest.log"
tests=$?
echo "gpu_check: tests exited $tests after $((SECONDS - start)) s"

timeout 300 "$PY" benchmarks/bench_gpu.py --data-dir "$DATA_DIR" --budget-s 250 \
    --out "$JSON" ${COMMIT:+--commit "$COMMIT"} 2>&1 | tee "$LOGS/bench_gpu.log"
bench=$?
echo "gpu_check: benchmark exited $bench after $((SECONDS - start)) s; JSON: $JSON"

[ "$tests" -ne 0 ] && exit "$tests"
exit "$bench"
