#!/usr/bin/env bash
# Installs what the project needs, once: Debian's PyTorch for the trainer (only when missing) and
# the npm dependencies (only when node_modules is missing or older than the lockfile).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need_apt=()
/usr/bin/python3 -c "import torch, onnx, numpy" 2>/dev/null || need_apt+=(python3-torch python3-onnx python3-numpy)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need_apt+=(libopenblas0-pthread)  # without it torch is ~10x slower
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== apt-get install ${need_apt[*]} =="
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "warning: missing Debian packages ${need_apt[*]} (needed for the trainer); install them with apt-get as root" >&2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm install (from package-lock.json) =="
  # onnxruntime-node's install step downloads CUDA binaries from NuGet; the CPU provider ships inside
  # the package, so skipping that step loses nothing on a CPU machine (set ONNXRUNTIME_NODE_INSTALL
  # yourself to keep it where NuGet is reachable and a GPU is present).
  # `npm install`, not `npm ci`: the registry reachable here does not serve LanceDB's binaries for
  # other platforms (darwin, win32, arm64), so the lockfile cannot list them and `npm ci` refuses it;
  # `npm install` installs exactly the locked versions and skips the unavailable optional ones.
  ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}" npm install --no-audit --no-fund
fi
