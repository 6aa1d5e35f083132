#!/usr/bin/env bash
# The project's whole test suite: the trainer (Python), lint, the TypeScript unit tests (one tree, test/:
# engine, CLI, eval/bench, reliability, extension), then the end-to-end suite in a real VS Code (code-server + Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev   # .venv with the trainer's packages (torch...), the default pack, node_modules
echo "== trainer tests (python unittest) =="
.venv/bin/python -m unittest discover -s training/tests -t training -v
echo "== trainer lint (ruff, training/ruff.toml) ==" && .venv/bin/ruff check training
echo "== lint (eslint + typescript-eslint: layer rules, floating promises) =="
npm run --silent lint
echo "== unit tests: engine, CLI, eval/bench, reliability, extension (node --test, test/) =="
npm run --silent build
npm run --silent test:unit
if [ "${CMT_SKIP_E2E:-0}" = "1" ]; then
  echo "== end-to-end tests skipped (CMT_SKIP_E2E=1) =="
else
  echo "== end-to-end tests in code-server (npm run e2e) =="
  bash scripts/e2e.sh
fi
