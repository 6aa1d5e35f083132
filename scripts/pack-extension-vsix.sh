#!/usr/bin/env bash
# Builds the model-pack extension's .vsix from a built pack (default packs/default):
#   bash scripts/pack-extension-vsix.sh [PACK_DIR] [OUT.vsix]   (default cmt-memory-pack.vsix)
# Used by `npm run package`, and by `npm start` / E2E_DEV=1, which install it beside the working tree
# (VS Code web loads one extensionDevelopmentPath only, and the editor extension depends on this one).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PACK="${1:-packs/default}"
OUT="$(realpath -m "${2:-cmt-memory-pack.vsix}")"
cd "$ROOT"
node scripts/stage-pack-extension.mjs "$PACK"
(cd dist/pack-extension && ../../node_modules/.bin/vsce package --no-rewrite-relative-links -o "$OUT")
