#!/usr/bin/env sh
# Fuzz the scenario loader and `validate` with mutated scenario files (tests/fuzz/scenario_fuzz.py).
#
#   scripts/fuzz-scenarios.sh                      # 100,000 inputs, seed 1
#   scripts/fuzz-scenarios.sh --n 5000 --seed 7 --run-sample 300 --save
#
# Prints loaded / rejected cleanly / crashes (exit 1 if any crash, or any accepted input that
# `run` rejects with --run-sample); --save writes minimised crashes to tests/scenario/corpus/.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
if [ "$#" -eq 0 ]; then set -- --n 100000 --seed 1; fi
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec nice "$PYTHON" tests/fuzz/scenario_fuzz.py "$@"
