#!/usr/bin/env bash
# The project's whole test suite: the Python trainer tests, then the TypeScript engine tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== trainer tests (python unittest) =="
/usr/bin/python3 -m unittest discover -s training/tests -t training -v
echo "== engine tests (node --test) =="
npm run --silent build
node --test --test-concurrency=1 out/test/
