"""Proof that the imported base is the real model, and how much better it reads than the old one.

    PYTHONPATH=training .venv/bin/python -m cmt.experiments.base_report [--gguf PATH] [--old-pack DIR] [--out FILE.json]

Prints (and writes as JSON):
  * parity: max |logits| difference of cmt.model.base (our Llama) vs transformers' LlamaForCausalLM on the
    same imported weights;
  * greedy chat answers of the base to a handful of prompts (the pack's chat template);
  * bits per byte of held-out project text (README, docs/) under the new base and, with --old-pack,
    under another pack's decoder.onnx (e.g. the old from-scratch pack: `git show` it into a folder).
    Bits per byte, not per-token perplexity: the two models have different tokenizers.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import tempfile

import numpy as np

from .. import paths
from ..pack import recipe
from ..pack.graph import decoder_feeds
from .recipe_model import load_base, tokenizer_of

PROMPTS = [
    "What is the capital of France?",
    "Context: The billing service listens on port 8431 and retries 7 times.\n\nQuestion: How many times does billing retry?",
    "Write a Python function that returns the square of a number.",
    "Who owns ledger-sync today? (You have no files about it.)",
    "Summarize in one sentence: CMT compresses documents into memory vectors that a frozen model reads.",
]


def held_out_text(max_bytes: int = 12000) -> str:
    files = [os.path.join(paths.REPO, "README.md")] + sorted(glob.glob(os.path.join(paths.DOCS, "*.md")))
    text = "\n\n".join(open(f, encoding="utf-8").read() for f in files)
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _nll_windows(logits_fn, ids: list[int], window: int) -> float:
    """Sum of next-token NLL (nats) over `ids`, in non-overlapping windows of `window` tokens."""
    total = 0.0
    for s in range(0, len(ids) - 1, window):
        chunk = ids[s: s + window + 1]
        if len(chunk) < 2:
            break
        logits = logits_fn(np.array([chunk[:-1]], dtype=np.int64))[0]
        m = logits.max(-1, keepdims=True)
        lp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
        total -= float(lp[np.arange(len(chunk) - 1), chunk[1:]].sum())
    return total


def bits_per_byte_onnx(pack_dir: str, text: str, window: int = 256) -> dict:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    manifest = json.load(open(os.path.join(pack_dir, "pack.json")))
    tok = Tokenizer.from_file(os.path.join(pack_dir, "tokenizer.json"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(os.path.join(pack_dir, manifest["graphs"]["decoder"]), so, providers=["CPUExecutionProvider"])
    bm = manifest["baseModel"]
    window = min(window, bm["maxPositions"] - 1)

    def logits(ids):
        t = ids.shape[1]
        feeds = {"input_ids": ids, "attention_mask": np.ones((1, t), np.int64), "position_ids": np.arange(t, dtype=np.int64)[None]}
        for i in range(bm["numLayers"]):
            for kv in ("key", "value"):
                feeds[f"past_key_values.{i}.{kv}"] = np.zeros((1, bm["numKvHeads"], 0, bm["headDim"]), np.float32)
        return sess.run(["logits"], decoder_feeds(sess, feeds))[0]

    ids = tok.encode(text, add_special_tokens=False).ids
    nats = _nll_windows(logits, ids, window)
    nbytes = len(text.encode("utf-8"))
    return {"pack": manifest.get("packId"), "tokens": len(ids), "bytes": nbytes,
            "bitsPerByte": round(nats / math.log(2) / nbytes, 4), "perplexityPerToken": round(math.exp(nats / len(ids)), 2)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m cmt.experiments.base_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gguf", default=None)
    p.add_argument("--new-pack", default=paths.DEFAULT_PACK)
    p.add_argument("--old-pack", default=None, help="another pack to compare bits per byte with")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    import torch
    from transformers import LlamaForCausalLM as HFLlama

    from ..model.decode import generate
    from ..pack.gguf_import import write_hf_checkpoint

    torch.set_num_threads(2)
    base, imported = load_base(recipe.find_gguf(args.gguf))
    out: dict = {"gguf": {"package": recipe.MODEL_PACKAGE, "version": recipe.MODEL_VERSION, "sha256": recipe.MODEL_SHA256,
                          "tensorTypes": sorted(set(imported.tensor_types.values()))}}
    with tempfile.TemporaryDirectory() as tmp:
        write_hf_checkpoint(imported, tmp)
        hf = HFLlama.from_pretrained(tmp, torch_dtype=torch.float32).eval()
        tok = tokenizer_of(imported, tmp)
        text = held_out_text(4000)
        ids = torch.tensor([tok.encode(text)[:256]])
        with torch.no_grad():
            a, b = base(ids)[0], hf(ids).logits
        out["parity"] = {"maxAbsDiff": float((a - b).abs().max()), "logitScale": float(b.abs().max()), "tokens": ids.shape[1],
                         "tolerance": 2e-4, "reference": "transformers LlamaForCausalLM (fp32) on the same imported weights"}
        answers = []
        for q in PROMPTS:
            prompt = tok.encode(recipe.QUESTION_TEMPLATE.format(question=q))
            answers.append({"prompt": q, "answer": generate(base, tok, prompt, max_new_tokens=48, stop_strings=[])})
        out["greedyAnswers"] = answers
    text = held_out_text()
    out["heldOutText"] = "README.md + docs/*.md, first 12,000 bytes"
    if os.path.exists(os.path.join(args.new_pack, "pack.json")):
        out["bitsPerByte"] = {"new": bits_per_byte_onnx(args.new_pack, text)}
        if args.old_pack:
            out["bitsPerByte"]["old"] = bits_per_byte_onnx(args.old_pack, text)
    print(json.dumps(out, indent=1, ensure_ascii=False))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
