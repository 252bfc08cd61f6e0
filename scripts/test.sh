#!/usr/bin/env bash
# The test command: set up, lint (ruff), type-check (mypy) and run the fast test suite.
# Heavy statistical runs are marked `slow`: run them with `scripts/test.sh -m slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
# the docs site, strictly (broken links, missing pages, bad API references fail), when the
# docs extra is installed (.ci/run installs it): pip install -e '.[docs]'
if [ -x .venv/bin/mkdocs ]; then
  NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
fi
.venv/bin/python -m pytest "$@"
