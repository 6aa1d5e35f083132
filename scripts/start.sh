#!/usr/bin/env bash
# Launches code-server (VS Code in the browser, installed into .cache/ on first use) on 127.0.0.1 with
# the extension loaded from this working tree and a copy of samples/workspace, and prints the URL.
# Ctrl+C stops it (and everything it started).
#   PORT=…  (default 8765)   WS=folder to open (default: a fresh copy of samples/workspace)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CS_VERSION="${CS_VERSION:-4.100.3}"
PORT="${PORT:-8765}"
bash scripts/install-code-server.sh
CS_DIR="$ROOT/.cache/code-server-$CS_VERSION"
bash scripts/setup.sh
node scripts/build-extension.mjs

RUN="$ROOT/.cache/start"
mkdir -p "$RUN/user/User"
if [ -z "${WS:-}" ]; then
  WS="$RUN/workspace"
  [ -d "$WS" ] || { mkdir -p "$WS" && cp -r samples/workspace/. "$WS/"; }
fi
PACK="$ROOT/packs/default"; [ -f "$PACK/pack.json" ] || PACK="$ROOT/test/fixtures/tiny-pack"
if [ ! -f "$RUN/user/User/settings.json" ]; then
  cat > "$RUN/user/User/settings.json" <<JSON
{ "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off", "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false, "update.mode": "none", "cmtMemory.packPath": "$PACK" }
JSON
fi
export XDG_CONFIG_HOME="$RUN/xdg/config" XDG_DATA_HOME="$RUN/xdg/data" XDG_CACHE_HOME="$RUN/xdg/cache"
# The extension depends on the model-pack extension (extensionDependencies); VS Code web loads one development
# path, so the pack extension is installed, again only when the pack changed.
PACK_ID=$(node -e 'console.log(require(process.argv[1]).packId)' "$PACK/pack.json")
if ! grep -qs "\"$PACK_ID\"" "$RUN"/extensions/cmt-memory.cmt-memory-pack-*/pack/pack.json; then
  bash scripts/pack-extension-vsix.sh "$PACK" "$RUN/cmt-memory-pack.vsix" >/dev/null
  node "$CS_DIR/out/node/entry.js" --user-data-dir "$RUN/user" --extensions-dir "$RUN/extensions" \
    --install-extension "$RUN/cmt-memory-pack.vsix" --force >/dev/null
fi
setsid node "$CS_DIR/out/node/entry.js" --config "$RUN/config.yaml" --user-data-dir "$RUN/user" \
  --extensions-dir "$RUN/extensions" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry \
  --disable-update-check --disable-getting-started-override --ignore-last-opened \
  >"$RUN/code-server.log" 2>&1 </dev/null &
CS_PID=$!
trap 'kill -- "-$CS_PID" 2>/dev/null || true; sleep 1; kill -9 -- "-$CS_PID" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
payload=$(node -e 'console.log(encodeURIComponent(JSON.stringify([["extensionDevelopmentPath", `vscode-remote://127.0.0.1:${process.argv[1]}${process.argv[2]}`]])))' "$PORT" "$ROOT")
folder=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$WS")
echo "CMT Memory in code-server (pack: $PACK):"
echo "  http://127.0.0.1:$PORT/?folder=$folder&payload=$payload"
echo "log: $RUN/code-server.log — Ctrl+C to stop"
wait "$CS_PID"
