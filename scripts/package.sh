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
VSIX=cmt-memory-linux-x64.vsix
node_modules/.bin/vsce package --no-rewrite-relative-links --target linux-x64 -o "$VSIX"
# The size goal is 150 MB. Today it is not met and this only warns: the native runtimes alone take ~86 MB
# compressed (LanceDB's .node 66 MB, onnxruntime 17.5 MB) and the 135M-parameter base model at 4 bits ~70 MB
# (docs/model-pack.md, "Size of the .vsix"). CMT_VSIX_STRICT=1 makes it an error (for CI once the goal is reachable).
node -e '
const fs = require("fs"), path = require("path");
const [vsix, pack, limitMb, strict] = process.argv.slice(1);
const mb = (n) => (n / 1e6).toFixed(1);
const mib = (n) => (n / 1048576).toFixed(1);
const size = fs.statSync(vsix).size;
let packBytes = 0;
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else packBytes += fs.statSync(p).size; } };
walk(pack);
console.log(`${vsix}: ${mb(size)} MB = ${mib(size)} MiB (the model pack ${pack}: ${mb(packBytes)} MB on disk, before compression)`);
if (size > Number(limitMb) * 1e6) {
  const msg = `${vsix} is ${mb(size)} MB, above the ${limitMb} MB goal by ${mb(size - Number(limitMb) * 1e6)} MB`;
  if (strict === "1") { console.error(`error: ${msg}`); process.exit(1); }
  console.warn(`warning: ${msg} (docs/model-pack.md, "Size of the .vsix"; CMT_VSIX_STRICT=1 makes this an error)`);
}
' "$VSIX" "$PACK" 150 "${CMT_VSIX_STRICT:-0}"
