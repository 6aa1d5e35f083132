"""`python -m cmt train-recipe`: trains the default pack's CMT modules over the frozen real base.

It resumes from packs/recipe/cmt.safetensors.gz when it exists, so training can span several runs
(each bounded by a time budget) and every run leaves a small, committable checkpoint; a run with
`--out` (an experiment) writes its weights elsewhere and leaves packs/recipe alone.
"""
from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass

from .. import paths
from ..pack.recipe import (
    ANSWER_PREFIX,
    CMT_WEIGHTS,
    CONTEXT_TEMPLATE,
    QUESTION_TEMPLATE,
    RECIPE_DIR,
    find_gguf,
    read_recipe,
    save_cmt,
    write_recipe,
)
from .recipe_model import build_model, load_base, load_cmt_weights, resolve_device, tokenizer_of


@dataclass
class TrainPlan:
    steps: int = 400
    batch: int = 8
    lr: float = 1e-3
    train_docs: int = 4000
    time_budget_s: float = 20 * 60
    save_every: int = 25
    seed: int = 0
    device: str = "auto"  # auto: the GPU when torch sees one, else the CPU


def train(gguf: str | None = None, plan: TrainPlan | None = None, ablation: str = "none",
          work: str = paths.SMOLLM2_WORK, fresh: bool = False,
          with_chunk: float = 0.0, gold_in_topk: bool = False, init_from: str | None = None,
          recon: float = 0.0, out: str | None = None, sentences: float = 0.0,
          overrides: dict | None = None, real: str | None = None, real_share: float = 0.5,
          two_chunks: float = 0.0) -> dict:
    import torch

    from ..data import workspace_qa
    from ..data.examples import make_examples, make_recon_examples
    from ..train import train_cmt

    plan = plan or TrainPlan()
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
        from ..data.real import real_examples

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
                     "batch": plan.batch, "lr": plan.lr, "withChunk": with_chunk, "real": real,
                     "realShare": real_share if real else 0, "twoChunks": two_chunks, "goldInTopK": gold_in_topk,
                     "recon": recon, "sentences": sentences, "device": str(next(model.parameters()).device),
                     "threads": torch.get_num_threads(), "curve": result["curve"]})
        recipe["training"] = {"steps": done_before + result["steps_done"], "runs": runs,
                              "wallTimeSeconds": round(sum(r["wall_s"] for r in runs)),
                              "data": f"synthetic workspace QA, train split (training/cmt/data/), {plan.train_docs} documents per run"
                                      + (", plus the real-train split's questions with their retrieved chunks "
                                         "(training/cmt/data/real.py)" if real else ""),
                              "command": "PYTHONPATH=training .venv/bin/python -m cmt train-recipe"
                                         + (f" --with-chunk {with_chunk:g}" if with_chunk else "")
                                         + (" --gold-in-topk" if gold_in_topk else "")
                                         + (f" --recon {recon:g}" if recon else "")
                                         + (f" --sentences {sentences:g}" if sentences else "")
                                         + (f" --real {os.path.relpath(real, paths.REPO)} --real-share {real_share:g}"
                                            f" --two-chunks {two_chunks:g}" if real else "")}
        recipe["cmt"] = model.cfg.to_dict()
        write_recipe(recipe)
    report_dir = os.path.dirname(out_path) if out else work  # an experiment's report sits beside its weights
    with open(os.path.join(report_dir, f"train-{ablation}.json"), "w") as f:
        json.dump({**result, "config": model.cfg.to_dict(), "total_s": round(time.time() - t0, 1)}, f, indent=1)
    print(f"trained {result['steps_done']} steps in {result['wall_s']} s -> {out_path} "
          f"({os.path.getsize(out_path) / 1e6:.1f} MB)", flush=True)
