#!/usr/bin/env bash
# Set up (idempotent, with dev tools) and run the whole test suite plus lint and types.
# Extra arguments go to pytest, e.g. scripts/test.sh -k subtitles
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh --dev
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/ruff check localize flows tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
