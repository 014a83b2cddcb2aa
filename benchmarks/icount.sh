#!/usr/bin/env bash
# Instructions per repetition of a benchmarks/opcount.py workload, counted by valgrind's callgrind:
# exact and repeatable, unlike wall time on a shared machine. Usage: benchmarks/icount.sh WORKLOAD
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-$here/../.venv/bin/python}
# Cheap workloads need many repetitions for the difference to dwarf the GC's timing; a fixed hash
# seed keeps dict layouts, and so the counts, the same from run to run.
case "$1" in w1|w1c|w1_numpy|w2c|w2_numpy|w3c|w3_numpy|chain) lo=${N1:-200}; hi=${N2:-1200} ;; *) lo=${N1:-2000}; hi=${N2:-12000} ;; esac
export PYTHONHASHSEED=0
# One BLAS thread (an idle OpenBLAS worker spins and is counted) and warm bytecode caches kept out
# of the tree (with PYTHONDONTWRITEBYTECODE set, every run would parse all sources again, and
# the first of the two runs would also pay for writing the caches).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-${TMPDIR:-/tmp}/microgradnet-icount-pycache}
unset PYTHONDONTWRITEBYTECODE
# This checkout's microgradnet, not whichever one the interpreter has installed (as run.py does).
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$py" "$here/opcount.py" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
"$py" "$here/opcount.py" "$1" 1 >/dev/null  # warms the caches
a=$(count "$1" "$lo")
b=$(count "$1" "$hi")
echo "$1: $(( (b - a) / (hi - lo) )) instructions per repetition"
