#!/usr/bin/env bash
# The test command: set up, lint (ruff), type-check (mypy) and run the fast test suite.
# Heavy statistical runs are marked `slow`: run them with `scripts/test.sh -m slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
