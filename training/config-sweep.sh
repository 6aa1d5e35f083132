#!/usr/bin/env bash
# Equal-budget sweep of the CMT shape (k, compressor layers, prefix tokens per slot): each config is
# trained from scratch with the same steps, batch, lr, data and seed (memory-only questions, gold
# memory in the top K: training/experiments/shape-sweep.toml), then scored by `cmt dev-loss` (memory-only answer NLL on the workspace dev
# split). Usage: bash training/config-sweep.sh OUT_DIR [STEPS]   (defaults: 150 steps; ~50 min on 2 cores)
# With TRAIN_DOCS=N, each config trains on only N training documents and is also scored on those
# same documents (`dev-loss --split train`): a memorisation check of how fast each shape takes in
# content (dev-loss's content_gain), which format learning alone cannot show.
set -euo pipefail
out=${1:?usage: config-sweep.sh OUT_DIR [STEPS]}
steps=${2:-150}
cd "$(dirname "$0")/.."
mkdir -p "$out"
cmt() { PYTHONPATH=training .venv/bin/python -m cmt --threads "${THREADS:-2}" "$@"; }
declare -A configs=(
  [base-k8-l4-r1]=""
  [k16]="--set memory_slots=16"
  [layers8]="--set compressor_layers=8"
  [r2]="--set prefix_per_slot=2"
)
for name in base-k8-l4-r1 k16 layers8 r2; do
  [ -f "$out/$name/dev.json" ] && continue
  mkdir -p "$out/$name"
  # shellcheck disable=SC2086
  cmt train-recipe --config training/experiments/shape-sweep.toml --steps "$steps" \
    ${TRAIN_DOCS:+--train-docs "$TRAIN_DOCS"} \
    ${configs[$name]} --out "$out/$name/cmt.safetensors" >"$out/$name/train.log" 2>&1
  # shellcheck disable=SC2086
  cmt dev-loss --weights "$out/$name/cmt.safetensors" ${configs[$name]} >"$out/$name/dev.json"
  if [ -n "${TRAIN_DOCS:-}" ]; then
    # shellcheck disable=SC2086
    cmt dev-loss --weights "$out/$name/cmt.safetensors" ${configs[$name]} --split train --docs "$TRAIN_DOCS" >"$out/$name/train-docs.json"
  fi
  echo "$name: $(head -c 120 "$out/$name/dev.json") train $(grep -o 'trained [0-9]* steps in [0-9.]* s' "$out/$name/train.log")"
done
[ -n "${TRAIN_DOCS:-}" ] && exit 0
for k in 1 8; do
  [ -f "$out/base-k8-l4-r1/dev-topk$k.json" ] || cmt dev-loss --weights "$out/base-k8-l4-r1/cmt.safetensors" --set top_k=$k >"$out/base-k8-l4-r1/dev-topk$k.json"
done
