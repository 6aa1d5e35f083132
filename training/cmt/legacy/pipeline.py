"""The from-scratch pipeline's steps (corpus, tokenizer, pretrain, train, evaluate, export), each
reading and writing files in a work directory so it can be rerun alone; `default_pack` runs them
all, `tiny_pack` writes the random-weight test pack."""
import dataclasses
import json
import os
import random
import time

import torch

from .. import paths
from ..config import BaseConfig, CMTConfig
from ..data import load_squad, workspace_qa
from ..model.base import LlamaForCausalLM, count_parameters, load_hf_checkpoint, save_hf_checkpoint
from ..model.cmt import CMTModel
from ..train import pick_device, train_cmt
from .bpe import BPETokenizer, train_bpe
from .corpus import build_corpus, read_corpus
from .evaluate import evaluate
from .export import export_pack
from .pretrain import pretrain
from .recipe import STEPS, Recipe


def _log_to(work: str, name: str):
    os.makedirs(work, exist_ok=True)
    f = open(os.path.join(work, name + ".log"), "a")

    def log(msg: str):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        f.write(line + "\n")
        f.flush()
    return log


def _write_json(path: str, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def _read_json(path: str):
    with open(path) as f:
        return json.load(f)


def _splits(r: Recipe):
    return (workspace_qa("train", r.train_docs, seed=r.seed), workspace_qa("dev", r.dev_docs, seed=r.seed),
            workspace_qa("test", r.test_docs, seed=r.seed))


def _read_corpus(work: str) -> list[str]:
    return list(read_corpus(os.path.join(work, "corpus.jsonl")))


def step_corpus(work: str, r: Recipe):
    t0 = time.time()
    stats = build_corpus(os.path.join(work, "corpus.jsonl"), max_bytes=r.corpus_bytes, seed=r.seed)
    _write_json(os.path.join(work, "corpus.json"), {"stats": stats, "wall_s": round(time.time() - t0, 1)})


def step_tokenizer(work: str, r: Recipe):
    t0 = time.time()
    train, _, _ = _splits(r)
    texts = _read_corpus(work) + [d.text for d in train.documents] + [q.question for q in train.questions]
    tok = train_bpe(texts, r.vocab)
    tok.save(os.path.join(work, "tokenizer.json"))
    _write_json(os.path.join(work, "tokenizer-stats.json"), {"vocab": tok.vocab_size, "wall_s": round(time.time() - t0, 1)})


def _tokenizer(work: str) -> BPETokenizer:
    return BPETokenizer.load(os.path.join(work, "tokenizer.json"))


def pretraining_texts(r: Recipe, corpus: list[str], train) -> list[str]:
    """Corpus text + the synthetic training documents + reading-comprehension sequences (a document
    followed by its questions and answers), so the base model knows the answer format and can
    read in-context documents (which the RAG baseline relies on)."""
    rng = random.Random(r.seed)
    by_doc: dict[str, list] = {}
    for qa in train.questions:
        by_doc.setdefault(qa.doc_id, []).append(qa)
    texts = list(corpus) + [d.text for d in train.documents]
    docs = list(train.documents)
    rng.shuffle(docs)
    for d in docs[: r.pretrain_qa_docs]:
        qas = "".join(f"Question: {q.question}\nAnswer: {q.answers[0]}\n" for q in by_doc.get(d.id, []))
        texts.append(d.text + "\n" + qas)
    rng.shuffle(texts)
    return texts


def step_pretrain(work: str, r: Recipe):
    log = _log_to(work, "pretrain")
    torch.manual_seed(r.seed)
    tok = _tokenizer(work)
    cfg = BaseConfig(**{**r.base, "vocab_size": tok.vocab_size})
    base = LlamaForCausalLM(cfg).to(pick_device())
    log(f"base LM: {count_parameters(base):,} parameters, {cfg}")
    train, _, _ = _splits(r)
    t0 = time.time()
    curve = pretrain(base, tok, pretraining_texts(r, _read_corpus(work), train), r.pretrain_steps,
                     seq_len=r.pretrain_seq, batch_size=r.pretrain_batch, lr=r.pretrain_lr, seed=r.seed, log=log,
                     time_budget_s=r.time_budget_pretrain_s)
    save_hf_checkpoint(base.cpu(), cfg, os.path.join(work, "base"))
    _write_json(os.path.join(work, "pretrain.json"), {"curve": curve, "parameters": count_parameters(base),
                                                        "wall_s": round(time.time() - t0, 1), "config": dataclasses.asdict(cfg)})


def _cmt_config(r: Recipe, ablation: str = "none") -> CMTConfig:
    cfg = CMTConfig(**r.cmt)
    if ablation == "no_self_matching":
        cfg.sm_weight = 0.0
    elif ablation == "alpha0":
        cfg.alpha = 0.0
    return cfg


def _cmt_path(work: str, ablation: str = "none") -> str:
    return os.path.join(work, "cmt.pt" if ablation == "none" else f"cmt-{ablation}.pt")


def load_cmt(work: str, r: Recipe, ablation: str = "none"):
    base, _ = load_hf_checkpoint(os.path.join(work, "base"))
    model = CMTModel(base, _cmt_config(r, ablation))
    model.load_state_dict(torch.load(_cmt_path(work, ablation), map_location="cpu"))
    model.eval()
    return model


def step_train(work: str, r: Recipe, ablation: str = "none"):
    log = _log_to(work, "train" if ablation == "none" else f"train-{ablation}")
    torch.manual_seed(r.seed)
    tok = _tokenizer(work)
    base, _ = load_hf_checkpoint(os.path.join(work, "base"))
    dev = pick_device()
    model = CMTModel(base.to(dev), _cmt_config(r, ablation)).to(dev)
    log(f"device: {dev}")
    train, _, _ = _splits(r)
    result = train_cmt(model, tok, train, model.cfg, r.cmt_steps, batch_size=r.cmt_batch, lr=r.cmt_lr,
                       seed=r.seed, log=log, time_budget_s=r.time_budget_cmt_s)
    torch.save(model.cpu().state_dict(), _cmt_path(work, ablation))
    name = "train" if ablation == "none" else f"train-{ablation}"
    _write_json(os.path.join(work, name + ".json"), {**result, "config": model.cfg.to_dict(), "ablation": ablation})


def step_evaluate(work: str, r: Recipe, squad: str = paths.SQUAD_DEV, max_questions: int = None):
    log = _log_to(work, "evaluate")
    tok = _tokenizer(work)
    model = load_cmt(work, r)
    _, dev, test = _splits(r)
    n = max_questions or r.eval_questions
    out = {}
    for name, ds in (("synthetic_dev", dev), ("synthetic_test", test)):
        log(f"== {name} ==")
        out[name] = evaluate(model, tok, ds, top_k=model.cfg.top_k, alpha=model.cfg.alpha, max_questions=n, log=log)
    if squad and os.path.exists(squad):
        log("== squad (shared/data) ==")
        out["squad"] = evaluate(model, tok, load_squad(squad), top_k=model.cfg.top_k, alpha=model.cfg.alpha,
                                max_questions=n, log=log)
    if os.path.exists(_cmt_path(work, "no_self_matching")):
        abl = load_cmt(work, r, "no_self_matching")
        log("== synthetic_test, CMT trained without L_sm ==")
        out["synthetic_test_trained_without_sm"] = evaluate(abl, tok, test, top_k=abl.cfg.top_k, alpha=abl.cfg.alpha,
                                                            variants=("cmt",), max_questions=n, log=log)
    _write_json(os.path.join(work, "eval.json"), out)
    return out


def step_export(work: str, r: Recipe, out_dir: str, description: str = None):
    tok = _tokenizer(work)
    model = load_cmt(work, r)
    pre = _read_json(os.path.join(work, "pretrain.json"))
    train = _read_json(os.path.join(work, "train.json"))
    ev = _read_json(os.path.join(work, "eval.json")) if os.path.exists(os.path.join(work, "eval.json")) else {}
    bc = model.base.config
    metrics = {"dev": {k: {"variants": v["variants"], "retrieval": v["retrieval"], "questions": v["questions"],
                           "documents": v["documents"]} for k, v in ev.items()}}
    manifest = export_pack(
        model, tok, out_dir, name="cmt-default",
        description=description or ("Default CMT Memory pack: a small Llama-style LM pretrained from scratch on this machine "
                                    "and a CMT compressor/aggregator trained on synthetic workspace QA."),
        base_description=(f"{bc.num_hidden_layers}-layer {bc.hidden_size}-wide Llama-family LM ({pre['parameters']:,} parameters) "
                          "pretrained from scratch by `python3 -m cmt pretrain`"),
        training={"command": "npm run pack:default", "steps": {"pretrain": len(pre["curve"]) and pre["curve"][-1]["step"] + 1,
                  "cmt": train["steps_done"]}, "wallTimeSeconds": round(pre["wall_s"] + train["wall_s"]),
                  "data": "corpus: text files on the build machine (node_modules, Python stdlib, /usr/share/doc); "
                          "synthetic workspace QA (training/cmt/data/)"},
        metrics=metrics)
    print(f"wrote {out_dir}: {manifest['packId']}")
    return manifest


def tiny_pack(out_dir: str = paths.TINY_PACK, seed: int = 0):
    """Random-weight pack (< 2 MB) for fast engine tests: real graphs, real tokenizer, no training."""
    torch.manual_seed(seed)
    ds = workspace_qa("train", 200, seed=seed)
    tok = train_bpe([d.text for d in ds.documents] + [q.question for q in ds.questions], 400)
    cfg = BaseConfig(vocab_size=tok.vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    base = LlamaForCausalLM(cfg)
    model = CMTModel(base, CMTConfig(memory_slots=4, compressor_layers=1, aggregator_layers=1, aggregator_heads=2, slot_hidden=32,
                                     max_doc_tokens=96, max_question_tokens=48, max_selected=4, top_k=2))
    return export_pack(model, tok, out_dir, name="cmt-tiny", description="Random weights, for tests only: answers are noise.",
                       base_description="2-layer 64-wide Llama, random weights",
                       training={"command": "python3 -m cmt tiny-pack", "data": "none (random weights)"})


def step_report(work: str, r: Recipe):
    from .report import write_report
    write_report(work, r)


def default_pack(work: str, r: Recipe, out_dir: str, start: str = "corpus"):
    """Every step in order; `start` resumes at a step, reusing the earlier steps' files and timings."""
    t0 = time.time()
    timings_path = os.path.join(work, "timings.json")
    timings = {}
    if start != "corpus" and os.path.exists(timings_path):
        done = _read_json(timings_path)
        timings = {k: v for k, v in done.items() if k in STEPS[: STEPS.index(start)]}
    run = {"corpus": lambda: step_corpus(work, r), "tokenizer": lambda: step_tokenizer(work, r),
           "pretrain": lambda: step_pretrain(work, r), "train": lambda: step_train(work, r),
           "evaluate": lambda: step_evaluate(work, r), "export": lambda: step_export(work, r, out_dir)}
    for name in STEPS[STEPS.index(start):]:
        s = time.time()
        print(f"=== {name} ===", flush=True)
        run[name]()
        timings[name] = round(time.time() - s, 1)
        os.makedirs(work, exist_ok=True)
        _write_json(timings_path, {**{k: v for k, v in timings.items() if k != "total"},
                                   "total": round(sum(v for k, v in timings.items() if k != "total"), 1)})
    print(f"default pack done in {time.time() - t0:.0f}s: {timings}", flush=True)
