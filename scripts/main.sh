#!/usr/bin/env bash
# The main job: set up, then simulate the baseline scenario and write its results.
# Extra arguments go to `hashfleet run` (e.g. --paths 2000 --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/hashfleet run scenarios/baseline.yaml --out results/baseline "$@"
