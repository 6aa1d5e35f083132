#!/usr/bin/env bash
# Installs code-server (VS Code in a browser, from npm) into .cache/ for the e2e tests and `npm start`.
# Offline-safe: only the npm registry and Debian apt. Idempotent (skips when already installed).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CS_VERSION="${CS_VERSION:-4.100.3}"   # last release whose engines.node is 20 (this machine's Node)
CACHE="$ROOT/.cache"
CS_DIR="$CACHE/code-server-$CS_VERSION"
mkdir -p "$CACHE"

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
if ((${#need[@]})); then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -f "$CS_DIR/.installed" ]; then exit 0; fi
echo "installing code-server $CS_VERSION into $CS_DIR (one-time, ~1-2 min)"
rm -rf "$CS_DIR" && mkdir -p "$CS_DIR/tmp"
(cd "$CACHE" && npm pack "code-server@$CS_VERSION" --silent >/dev/null)
tar xzf "$CACHE/code-server-$CS_VERSION.tgz" -C "$CS_DIR" --strip-components=1 && rm "$CACHE/code-server-$CS_VERSION.tgz"
# Pitfall: @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache already has the archive:
# seed it with Debian's rg.
for rgv in $(find "$CS_DIR" -name npm-shrinkwrap.json -exec grep -A1 '"node_modules/@vscode/ripgrep"' {} + | grep -o '"version": "[^"]*"' | cut -d'"' -f4 | sort -u); do
  tag=$(cd "$CS_DIR/tmp" && npm pack "@vscode/ripgrep@$rgv" --silent >/dev/null && tar xzf vscode-ripgrep-*.tgz -O package/lib/postinstall.js | grep -o "^const VERSION = '[^']*'" | cut -d"'" -f2)
  mkdir -p "$CS_DIR/tmp/vscode-ripgrep-cache-$rgv" "$CS_DIR/tmp/rg" && cp "$(command -v rg)" "$CS_DIR/tmp/rg/rg"
  tar czf "$CS_DIR/tmp/vscode-ripgrep-cache-$rgv/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$CS_DIR/tmp/rg" rg
done
(
  cd "$CS_DIR"
  # as root the postinstall needs unsafe_perm; ~/.npmrc may say yes=false (node-pty runs `npx node-gyp`)
  export TMPDIR="$CS_DIR/tmp" npm_config_yes=true npm_config_unsafe_perm=true
  npm install --omit=dev --no-fund --no-audit --loglevel=error >"$CACHE/code-server-install.log" 2>&1 \
    || { tail -40 "$CACHE/code-server-install.log"; exit 1; }
)
touch "$CS_DIR/.installed"
echo "code-server $CS_VERSION installed"
