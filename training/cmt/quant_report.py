"""Measure the decoder.onnx precisions on a real GGUF base model and recommend one.

    PYTHONPATH=training .venv/bin/python -m cmt.quant_report --gguf PATH [--text FILE ...]

Prints one JSON object: the fp32 graph vs torch base.py (same tensors) max abs logit diff;
for each precision, top-1 agreement with fp32 and perplexity on held-out text (default: the
repo's docs/*.md, tokenized with the GGUF's tokenizer); decode speed in onnxruntime (batch 1,
continuing after a 100-token prompt) and time-to-first-token for that prompt; graph build
time and file size.  "fp32" is the dequantized GGUF itself (Q4_1 weights, Q8_0 embedding), so
it is the quality reference.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np

from .graph import build_decoder


def _session(path: str, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _feeds(cfg, ids: np.ndarray, past_len: int = 0, past=None, start: int = 0) -> Dict[str, np.ndarray]:
    B, T = ids.shape
    f = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones((B, past_len + T), np.int64),
         "position_ids": np.tile(np.arange(start, start + T, dtype=np.int64), (B, 1))}
    for i in range(cfg.num_hidden_layers):
        for j, kv in enumerate(("key", "value")):
            f[f"past_key_values.{i}.{kv}"] = (past[2 * i + j] if past is not None else
                                             np.zeros((B, cfg.num_key_value_heads, 0, cfg.hd), np.float32))
    return f


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def speed(sess, cfg, prompt_len: int = 100, steps: int = 32) -> Dict[str, float]:
    names = [o.name for o in sess.get_outputs()]
    ids = (np.arange(prompt_len, dtype=np.int64) % 1000 + 100)[None]
    sess.run(names, _feeds(cfg, ids))  # warm-up
    ttfts = []
    for _ in range(3):
        t = time.perf_counter()
        out = sess.run(names, _feeds(cfg, ids))
        ttfts.append(time.perf_counter() - t)
    past, tok, S = out[1:], int(out[0][0, -1].argmax()), prompt_len
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        out = sess.run(names, _feeds(cfg, np.array([[tok]]), S, past, S))
        ts.append(time.perf_counter() - t)
        past, tok, S = out[1:], int(out[0][0, -1].argmax()), S + 1
    return {"ttft_s": round(float(np.median(ttfts)), 4), "decode_tok_s": round(1.0 / float(np.median(ts)), 1),
            "decode_ms_p10_p90": [round(1e3 * float(np.percentile(ts, 10)), 2), round(1e3 * float(np.percentile(ts, 90)), 2)]}


def main(argv: List[str] = None) -> dict:
    ap = argparse.ArgumentParser(prog="cmt.quant_report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--text", nargs="*", help="held-out text files (default: docs/*.md)")
    ap.add_argument("--tokens", type=int, default=2048, help="held-out tokens to score")
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,int8,int4", help="comma list (fp32,int8,int4,int4f)")
    ap.add_argument("--lm-head", default=None, help="lm_head precision for quantized graphs (default int8)")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch parity check")
    args = ap.parse_args(argv)

    from tokenizers import Tokenizer
    from .gguf_import import load_gguf

    t0 = time.perf_counter()
    base = load_gguf(args.gguf)
    cfg, tensors = base.config, base.tensors
    report: dict = {"gguf": os.path.abspath(args.gguf), "load_s": round(time.perf_counter() - t0, 2),
                    "threads": args.threads, "config": {"layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size,
                                                       "vocab": cfg.vocab_size}}
    tok = Tokenizer.from_str(json.dumps(base.tokenizer_json))
    here = os.path.dirname(os.path.abspath(__file__))
    files = args.text or sorted(glob.glob(os.path.join(here, "..", "..", "docs", "*.md")))
    text = "\n\n".join(open(f, encoding="utf-8").read() for f in files)
    ids = np.array(tok.encode(text, add_special_tokens=False).ids[: args.tokens], np.int64)
    W = args.window
    windows = [ids[i:i + W] for i in range(0, len(ids) - 1, W) if len(ids[i:i + W]) > 1]
    report["heldout"] = {"files": [os.path.relpath(f) for f in files], "tokens": int(len(ids)), "window": W}

    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if "fp32" not in precisions:
        precisions.insert(0, "fp32")
    tmp = tempfile.mkdtemp(prefix="cmt-quant-")
    ref_logits: List[np.ndarray] = []
    results = {}
    for prec in precisions:
        t = time.perf_counter()
        model = build_decoder(cfg, tensors, prec, lm_head_precision=None if prec == "fp32" else args.lm_head)
        build_s = time.perf_counter() - t
        path = os.path.join(tmp, f"decoder.{prec}.onnx")
        import onnx
        onnx.save_model(model, path)
        del model
        sess = _session(path, args.threads)
        names = [o.name for o in sess.get_outputs()]
        nll, n, agree = 0.0, 0, 0
        for wi, w in enumerate(windows):
            logits = sess.run(["logits"], _feeds(cfg, w[None]))[0][0]
            lp = _log_softmax(logits[:-1].astype(np.float64))
            nll -= float(lp[np.arange(len(w) - 1), w[1:]].sum())
            n += len(w) - 1
            if prec == "fp32":
                ref_logits.append(logits.argmax(-1))
                if wi == 0 and not args.no_torch:
                    report["fp32_vs_torch_max_abs_diff"] = _torch_diff(cfg, tensors, w[:128], logits[:128])
            agree += int((logits.argmax(-1) == ref_logits[wi]).sum())
        r = {"build_s": round(build_s, 2), "file_mb": round(os.path.getsize(path) / 1e6, 1),
             "perplexity": round(float(np.exp(nll / n)), 3),
             "top1_agreement_pct": round(100.0 * agree / sum(len(w) for w in windows), 2)}
        r.update(speed(sess, cfg))
        results[prec] = r
        del sess
        os.remove(path)
        print(f"[quant_report] {prec}: {r}", file=sys.stderr, flush=True)
    os.rmdir(tmp)
    report["precisions"] = results
    ref = results["fp32"]
    ok = [p for p in results if p != "fp32" and results[p]["perplexity"] <= 1.03 * ref["perplexity"]
          and results[p]["top1_agreement_pct"] >= 90.0]
    best = max(ok, key=lambda p: results[p]["decode_tok_s"]) if ok else "fp32"
    report["recommended"] = best
    report["rule"] = "fastest decode among precisions with perplexity <= 1.03x fp32 and top-1 agreement >= 90%"
    print(json.dumps(report, indent=2))
    return report


def _torch_diff(cfg, tensors, ids: np.ndarray, onnx_logits: np.ndarray) -> float:
    import torch
    from .base import LlamaForCausalLM
    torch.set_num_threads(2)
    m = LlamaForCausalLM(cfg)
    sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    if cfg.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    m.load_state_dict(sd, strict=False)
    m.eval()
    with torch.no_grad():
        logits, _ = m(torch.from_numpy(ids[None].astype(np.int64)))
    return float(np.abs(logits[0].numpy() - onnx_logits).max())


if __name__ == "__main__":
    main()
