#!/usr/bin/env bash
# Training-time ablations at one equal budget, each trained from scratch (same seed, so the same
# initial weights and the same batches): full CMT, no self-matching (L_sm off), no top-K (ψ reads
# every in-batch memory), α = 0 (plain answer loss). The regime is the shipped path's (run 3/6):
# every question with its document's text in the prompt, sentence facts in 60 % of the documents,
# the gold memory among the selected (training/experiments/ablation.toml). Each is then built into a
# pack and scored on the three dev splits with the shipped answer path (memory prefix + top chunk).
# Usage: bash training/ablation-sweep.sh OUT_DIR [STEPS] [QUESTIONS]   (defaults: 100 steps, 60 questions;
# ~21 min per variant on 2 idle cores). A variant whose eval report exists is skipped (resumable).
set -euo pipefail
out=${1:?usage: ablation-sweep.sh OUT_DIR [STEPS] [QUESTIONS]}
steps=${2:-100}
questions=${3:-60}
cd "$(dirname "$0")/.."
mkdir -p "$out"
py_cmt() { PYTHONPATH=training .venv/bin/python -m cmt "$@"; }
cmt() { py_cmt --threads "${THREADS:-2}" "$@"; }  # build-pack runs no torch: no --threads
for name in none no_self_matching no_top_k alpha0; do
  dir="$out/$name"
  [ -f "$dir/ablation-$name.json" ] && continue
  mkdir -p "$dir"
  if ! grep -q "^trained $steps steps" "$dir/train.log" 2>/dev/null; then
    cmt train-recipe --config training/experiments/ablation.toml --ablation "$name" --steps "$steps" \
      --out "$dir/cmt.safetensors" >"$dir/train.log" 2>&1
  fi
  py_cmt build-pack --weights "$dir/cmt.safetensors" --out "$dir/pack" >"$dir/build.log" 2>&1
  node bin/cmt.js eval --pack "$dir/pack" --dataset workspace-dev,squad-notre-dame-dev,workspace-sentences-dev \
    --max-questions "$questions" --max-new-tokens 24 --variants cmt_plus_chunk --no-curves \
    --out "$dir" --tag "ablation-$name" >"$dir/eval.log" 2>&1
  echo "$name: $(grep -o 'trained [0-9]* steps in [0-9.]* s' "$dir/train.log")"
done
