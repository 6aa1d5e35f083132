"""Measure the decoder.onnx precisions on a real GGUF base model and recommend one.

    PYTHONPATH=training .venv/bin/python -m cmt.experiments.quant_report --gguf PATH [--text FILE ...]
    PYTHONPATH=training .venv/bin/python -m cmt.experiments.quant_report agree PACK_A PACK_B [--gguf PATH] [--questions 60]

``agree``: answer top-1 token agreement between two packs' decoders on a fixed prompt set (the
first questions of the vendored squad-notre-dame-dev and workspace-dev fixtures, each with its gold
document in the pack's "context" prompt, as the memory+chunk / top-chunk modes show it): each
decoder answers greedily; the other is fed that answer and must put its top-1 on every answer token
(stop token included). With --gguf, both are also scored against the fp32 graph of the GGUF itself.

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

import numpy as np

from .. import paths
from ..pack.graph import build_decoder, decoder_feeds


def _session(path: str, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _feeds(cfg, ids: np.ndarray, past_len: int = 0, past=None, start: int = 0) -> dict[str, np.ndarray]:
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


def speed(sess, cfg, prompt_len: int = 100, steps: int = 32) -> dict[str, float]:
    names = [o.name for o in sess.get_outputs()]
    ids = (np.arange(prompt_len, dtype=np.int64) % 1000 + 100)[None]
    sess.run(names, decoder_feeds(sess, _feeds(cfg, ids)))  # warm-up
    ttfts = []
    for _ in range(3):
        t = time.perf_counter()
        out = sess.run(names, decoder_feeds(sess, _feeds(cfg, ids)))
        ttfts.append(time.perf_counter() - t)
    past, tok, S = out[1:], int(out[0][0, -1].argmax()), prompt_len
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        out = sess.run(names, decoder_feeds(sess, _feeds(cfg, np.array([[tok]]), S, past, S)))
        ts.append(time.perf_counter() - t)
        past, tok, S = out[1:], int(out[0][0, -1].argmax()), S + 1
    return {"ttft_s": round(float(np.median(ttfts)), 4), "decode_tok_s": round(1.0 / float(np.median(ts)), 1),
            "decode_ms_p10_p90": [round(1e3 * float(np.percentile(ts, 10)), 2), round(1e3 * float(np.percentile(ts, 90)), 2)]}


AGREE_DATASETS = ("test/fixtures/squad/notre-dame-dev.json", "test/fixtures/workspace-qa-dev.json")


def agree_prompts(tok, template: str, per_dataset: int, max_context_tokens: int = 256) -> list[np.ndarray]:
    """The fixed prompt set: the first ``per_dataset`` questions of each AGREE_DATASETS file, one per
    document first (round-robin), each with its document (cut to max_context_tokens) as {context}."""
    out = []
    for rel in AGREE_DATASETS:
        with open(os.path.join(paths.REPO, rel), encoding="utf-8") as f:
            data = json.load(f)["data"]
        paras = [(p["context"], p["qas"]) for art in data for p in art["paragraphs"]]
        picked, r = [], 0
        while len(picked) < per_dataset and any(r < len(q) for _, q in paras):
            for ctx, qas in paras:
                if r < len(qas) and len(picked) < per_dataset:
                    picked.append((ctx, qas[r]["question"]))
            r += 1
        for ctx, q in picked:
            ids = tok.encode(ctx, add_special_tokens=False).ids[:max_context_tokens]
            ctx = tok.decode(ids)
            text = template.replace("{context}", ctx).replace("{question}", q)
            out.append(np.array(tok.encode(text, add_special_tokens=False).ids, np.int64))
    return out


def greedy(sess, cfg, prompt: np.ndarray, max_new: int, stop: set) -> list[int]:
    names = [o.name for o in sess.get_outputs()]
    out = sess.run(names, decoder_feeds(sess, _feeds(cfg, prompt[None])))
    past, S, ans = out[1:], len(prompt), []
    for _ in range(max_new):
        t = int(out[0][0, -1].argmax())
        ans.append(t)
        if t in stop:
            break
        out = sess.run(names, decoder_feeds(sess, _feeds(cfg, np.array([[t]], np.int64), S, past, S)))
        past, S = out[1:], S + 1
    return ans


def forced_top1(sess, cfg, prompt: np.ndarray, answer: list[int]) -> np.ndarray:
    """The decoder's top-1 at every answer position when fed prompt + answer (teacher forcing)."""
    ids = np.concatenate([prompt, np.array(answer[:-1], np.int64)])
    logits = sess.run(["logits"], decoder_feeds(sess, _feeds(cfg, ids[None])))[0][0]
    return logits[len(prompt) - 1:].argmax(-1)


def agree_main(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="python -m cmt.experiments.quant_report agree")
    ap.add_argument("pack_a", help="the reference pack (e.g. packs/default)")
    ap.add_argument("pack_b", help="the candidate pack")
    ap.add_argument("--gguf", default=None, help="also score both against the fp32 graph of this GGUF")
    ap.add_argument("--questions", type=int, default=30, help="questions per dataset (default: %(default)s)")
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    from tokenizers import Tokenizer

    from ..config import BaseConfig
    with open(os.path.join(args.pack_a, "pack.json")) as f:
        man = json.load(f)
    bm = man["baseModel"]
    cfg = BaseConfig(vocab_size=bm["vocabSize"], hidden_size=bm["hiddenSize"], intermediate_size=bm["intermediateSize"],
                     num_hidden_layers=bm["numLayers"], num_attention_heads=bm["numHeads"],
                     num_key_value_heads=bm["numKvHeads"], head_dim=bm["headDim"],
                     max_position_embeddings=bm["maxPositions"])
    tok = Tokenizer.from_file(os.path.join(args.pack_a, "tokenizer.json"))
    prompts = agree_prompts(tok, man["prompt"]["context"], args.questions)
    stop = set(man["prompt"].get("stopTokens", [man["specialTokens"]["eos"]]))
    sessions = {"a": _session(os.path.join(args.pack_a, man["graphs"]["decoder"]), args.threads),
                "b": _session(os.path.join(args.pack_b, "decoder.onnx"), args.threads)}
    tmp = None
    if args.gguf:
        import onnx

        from ..pack.gguf_import import load_gguf
        base = load_gguf(args.gguf)
        tmp = tempfile.mkdtemp(prefix="cmt-agree-")
        onnx.save_model(build_decoder(base.config, base.tensors, "fp32"), os.path.join(tmp, "decoder.onnx"))
        del base
        sessions["fp32"] = _session(os.path.join(tmp, "decoder.onnx"), args.threads)
    answers = {k: [] for k in sessions}
    t0 = time.perf_counter()
    for i, p in enumerate(prompts):
        for k, sess in sessions.items():
            answers[k].append(greedy(sess, cfg, p, args.max_new, stop))
        if (i + 1) % 10 == 0:
            print(f"[agree] {i + 1}/{len(prompts)} prompts, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    pairs = [("b", "a"), ("a", "b")] + ([("a", "fp32"), ("b", "fp32")] if "fp32" in sessions else [])
    report = {"pack_a": args.pack_a, "pack_b": args.pack_b, "prompts": len(prompts), "datasets": list(AGREE_DATASETS),
              "questions_per_dataset": args.questions, "max_new": args.max_new}
    for who, ref in pairs:  # `who`'s top-1 on `ref`'s greedy answers
        hit = n = same = 0
        for i, p in enumerate(prompts):
            ans = answers[ref][i]
            top = forced_top1(sessions[who], cfg, p, ans)
            hit += int((top == np.array(ans)).sum())
            n += len(ans)
            same += int(answers[who][i] == ans)
        report[f"{who}_on_{ref}_answers"] = {"top1_agreement_pct": round(100.0 * hit / max(n, 1), 2), "tokens": n,
                                             "identical_answers": f"{same}/{len(prompts)}"}
    report["examples"] = [{"a": tok.decode(answers["a"][i]), "b": tok.decode(answers["b"][i])}
                          for i in range(len(prompts)) if answers["a"][i] != answers["b"][i]][:10]
    if tmp:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return report


def main(argv: list[str] = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["agree"]:
        return agree_main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m cmt.experiments.quant_report", description=__doc__.split("\n\n")[0])
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

    from ..pack.gguf_import import load_gguf

    t0 = time.perf_counter()
    base = load_gguf(args.gguf)
    cfg, tensors = base.config, base.tensors
    report: dict = {"gguf": os.path.abspath(args.gguf), "load_s": round(time.perf_counter() - t0, 2),
                    "threads": args.threads, "config": {"layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size,
                                                       "vocab": cfg.vocab_size}}
    tok = Tokenizer.from_str(json.dumps(base.tokenizer_json))
    files = args.text or sorted(glob.glob(os.path.join(paths.DOCS, "*.md")))
    text = "\n\n".join(open(f, encoding="utf-8").read() for f in files)
    ids = np.array(tok.encode(text, add_special_tokens=False).ids[: args.tokens], np.int64)
    W = args.window
    windows = [ids[i:i + W] for i in range(0, len(ids) - 1, W) if len(ids[i:i + W]) > 1]
    report["heldout"] = {"files": [os.path.relpath(f) for f in files], "tokens": int(len(ids)), "window": W}

    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if "fp32" not in precisions:
        precisions.insert(0, "fp32")
    tmp = tempfile.mkdtemp(prefix="cmt-quant-")
    ref_logits: list[np.ndarray] = []
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
        nll, n, agree = 0.0, 0, 0
        for wi, w in enumerate(windows):
            logits = sess.run(["logits"], decoder_feeds(sess, _feeds(cfg, w[None])))[0][0]
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

    from ..model.base import LlamaForCausalLM
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
