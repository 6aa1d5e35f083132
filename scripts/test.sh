#!/usr/bin/env bash
# The project's whole test suite: the trainer (Python), the engine and CLI (node:test), the extension's
# unit tests, then the end-to-end suite in a real VS Code (code-server + Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev   # .venv with the trainer's packages (torch...), the default pack, node_modules
echo "== trainer tests (python unittest) =="
.venv/bin/python -m unittest discover -s training/tests -t training -v
echo "== lint (eslint + typescript-eslint: layer rules, floating promises) =="
npm run --silent lint
echo "== engine, CLI, reliability tests (node --test) =="
npm run --silent build
node --test --test-concurrency=1 out/test/*.test.js
echo "== extension unit tests (node --test) =="
node --test out/src/extension/test/*.test.js
if [ "${CMT_SKIP_E2E:-0}" = "1" ]; then
  echo "== end-to-end tests skipped (CMT_SKIP_E2E=1) =="
else
  echo "== end-to-end tests in code-server (npm run e2e) =="
  bash scripts/e2e.sh
fi
