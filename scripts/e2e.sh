#!/usr/bin/env bash
# End-to-end test of the extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3, from npm,
# cached in .cache/) + Debian's chromium driven by playwright-core. Packages the .vsix, installs it into
# a throwaway code-server profile, opens a copy of samples/workspace (+ generated files for the lag
# benchmark), and runs e2e/run.mjs. Screenshots: artifacts/e2e/. Closing line: `e2e: N passed, M failed`.
#   E2E_DEV=1        load the working tree (extensionDevelopmentPath) instead of installing the .vsix
#   E2E_GEN_FILES=N  generated files for the bulk-memorize/lag step (default 2000)
#   PORT=…           code-server port (default 18765)
#   E2E_KEEP=1       keep the temporary run folder (profile, workspace, bank)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CS_VERSION="${CS_VERSION:-4.100.3}"
PORT="${PORT:-18765}"
t0=$(date +%s); lap() { echo "[e2e $(( $(date +%s) - t0 ))s] $*"; }

bash scripts/install-code-server.sh
CS_DIR="$ROOT/.cache/code-server-$CS_VERSION"
lap "code-server $CS_VERSION ready"

bash scripts/setup.sh

# The model pack: the bundled default when it exists, else the tiny random-weight fixture
# (random weights: the test asserts streaming and citations, not answer quality).
PACK="$ROOT/packs/default"; [ -f "$PACK/pack.json" ] || PACK="$ROOT/test/fixtures/tiny-pack"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/cmt-e2e.XXXXXX")
export XDG_CONFIG_HOME="$RUN/xdg/config" XDG_DATA_HOME="$RUN/xdg/data" XDG_CACHE_HOME="$RUN/xdg/cache"
cs() { node "$CS_DIR/out/node/entry.js" --config "$RUN/config.yaml" --user-data-dir "$RUN/user" --extensions-dir "$RUN/extensions" "$@"; }

if [ "${E2E_DEV:-0}" = "1" ]; then
  node scripts/build-extension.mjs
  # the editor extension depends on the pack extension: install it (VS Code web loads one development path)
  bash scripts/pack-extension-vsix.sh "$PACK" "$RUN/cmt-memory-pack.vsix" >"$RUN/package.log" 2>&1 || { tail -30 "$RUN/package.log"; exit 1; }
  cs --install-extension "$RUN/cmt-memory-pack.vsix" >"$RUN/install.log" 2>&1 || { cat "$RUN/install.log"; exit 1; }
  lap "extension bundled (the working tree is loaded via extensionDevelopmentPath; the pack extension installed)"
else
  # The two .vsix of a release, installed as a user installs them offline: the model pack first (the editor
  # extension names it in extensionDependencies), and no cmtMemory.packPath: the extension finds the pack itself.
  npm run --silent package >"$RUN/package.log" 2>&1 || { tail -30 "$RUN/package.log"; exit 1; }
  grep ' MB = ' "$RUN/package.log"
  for VSIX in "$ROOT/cmt-memory-pack.vsix" "$ROOT/cmt-memory-linux-x64.vsix"; do
    cs --install-extension "$VSIX" >>"$RUN/install.log" 2>&1 || { cat "$RUN/install.log"; exit 1; }
  done
  for id in cmt-memory.cmt-memory-pack- cmt-memory.cmt-memory-0; do
    ls "$RUN/extensions" | grep -q "^$id" || { echo "the .vsix of ${id%-} did not install"; cat "$RUN/install.log"; exit 1; }
  done
  lap "both .vsix installed into code-server"
fi

# Workspace: a copy of the sample workspace, plus generated files for the lag benchmark.
WS="$RUN/ws"; mkdir -p "$WS"; cp -r samples/workspace/. "$WS/"
N="${E2E_GEN_FILES:-2000}"
node -e '
const fs=require("fs"),path=require("path");const [ws,n]=[process.argv[1],+process.argv[2]];
const w=["alpha","bravo","cobalt","delta","ember","fjord","garnet","harbor","indigo","juniper"];
for(let i=0;i<n;i++){const d=path.join(ws,"gen","m"+String(i%40).padStart(2,"0"));fs.mkdirSync(d,{recursive:true});
 const a=w[i%10],b=w[(i*7)%10];
 fs.writeFileSync(path.join(d,`svc-${i}.md`),`# service ${a}-${i}\n\n- ${a}-${i} listens on port ${3000+i}.\n- It is owned by team ${b}.\n- Its database is ${b}-db-${i%17}.\n`);}' "$WS" "$N"
# A real public project for the real-repository question: express from its pinned npm tarball
# (benchmarks/real/fetch.py checks the sha256; the unit tests fetch it already).
if [ -d .cache/real-repos/ws/express ] || python3 benchmarks/real/fetch.py express >/dev/null; then
  cp -r .cache/real-repos/ws/express "$WS/express"
else
  echo "e2e: could not fetch express (benchmarks/real/fetch.py): the real-repository step will fail" >&2
fi
lap "workspace: $(find "$WS" -type f | wc -l) files"

# The installed default pack needs no setting (the test then checks the pack extension is what answers);
# the working tree (E2E_DEV) and the random-weight fallback name theirs.
PACK_SETTING="\"cmtMemory.packPath\": \"$PACK\", "
[ "${E2E_DEV:-0}" != "1" ] && [ "$PACK" = "$ROOT/packs/default" ] && PACK_SETTING=""
mkdir -p "$RUN/user/User" artifacts/e2e
rm -f artifacts/e2e/*.png artifacts/e2e/lag.json
cat > "$RUN/user/User/settings.json" <<JSON
{ "workbench.startupEditor": "none", "workbench.tips.enabled": false, "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false, "extensions.autoUpdate": false, "update.mode": "none",
  "security.workspace.trust.enabled": false, "workbench.editor.enablePreview": false,
  $PACK_SETTING"cmtMemory.device": "cpu", "cmtMemory.maxAnswerTokens": 16 }
JSON

export CMT_STATUS_FILE="$RUN/status.jsonl"
setsid node "$CS_DIR/out/node/entry.js" --config "$RUN/config.yaml" --user-data-dir "$RUN/user" \
  --extensions-dir "$RUN/extensions" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry \
  --disable-update-check --disable-workspace-trust --disable-getting-started-override --ignore-last-opened \
  >"$RUN/code-server.log" 2>&1 </dev/null &
CS_PID=$!
cleanup() {
  # code-server, its extension hosts and the engine child processes share this process group
  kill -- "-$CS_PID" 2>/dev/null || true; sleep 1; kill -9 -- "-$CS_PID" 2>/dev/null || true
  cp "$RUN/code-server.log" "$ROOT/artifacts/e2e/code-server.log" 2>/dev/null || true
  [ "${E2E_KEEP:-0}" = "1" ] || rm -rf "$RUN"
}
trap cleanup EXIT
for _ in $(seq 1 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" || { cat "$RUN/code-server.log"; exit 1; }
lap "code-server listening on 127.0.0.1:$PORT (pgid $CS_PID), pack $(basename "$PACK")"

export CS_URL="http://127.0.0.1:$PORT" EXT_DIR="$ROOT" WS OUT_DIR="$ROOT/artifacts/e2e" E2E_GEN_FILES="$N" E2E_PACK="$PACK"
rc=0
node e2e/run.mjs || rc=$?
cp "$CMT_STATUS_FILE" artifacts/e2e/status.jsonl 2>/dev/null || true
lap "done (artifacts/e2e/: screenshots, status.jsonl, lag.json, code-server.log; E2E_KEEP=1 keeps $RUN)"
exit $rc
