#!/usr/bin/env bash
# Runs the project's Python (.venv, with the trainer's pinned packages) from the repository root,
# creating/updating .venv first when needed:   bash scripts/py.sh -m cmt tiny-pack
# (npm run test:py / pack:tiny / pack:default use it; scripts/setup.sh --dev --python-only is a no-op
# once .venv is current).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev --python-only >&2
exec .venv/bin/python "$@"
