"""`python -m cmt dev-loss`: a continuous score of CMT weights on the workspace dev split."""
from __future__ import annotations

import dataclasses
import time

from .. import paths
from ..pack.recipe import ANSWER_PREFIX, QUESTION_TEMPLATE, find_gguf
from .recipe_model import build_model, load_base, load_cmt_weights, round_to_fp16, tokenizer_of


def dev_loss(weights: str, overrides: dict | None = None, n_docs: int = 200, batch: int = 8,
             gguf: str | None = None, seed: int = 0, split: str = "dev") -> dict:
    """Teacher-forced answer NLL (nats/token) on the workspace *dev* split, memory-only prompt, with
    the same forward pass as training (the batch's documents are the bank, the gold memory forced
    into the top K, memory-aware logits), next to the closed-book NLL of the same answers. A
    continuous measure: it separates CMT configurations long before any of them gets an answer
    exactly right from the memory alone. content_gain = the NLL with another document's memory as
    the only one selected minus the NLL with the question's own (K = 1 both): what the memory says
    about *this* document, not only the answer's form (≈ 0 when the prefix only teaches the format)."""
    import torch

    from ..data import workspace_qa
    from ..data.examples import make_examples
    from ..model.cmt import answer_batch
    from ..model.decode import packed_answer_loss, predicting_positions

    torch.manual_seed(seed)
    base, imported = load_base(find_gguf(gguf))
    tok = tokenizer_of(imported, paths.SMOLLM2_WORK)
    model = build_model(base, {**(overrides or {}), "alpha_negative": "no_memory"})  # scored as the product decodes
    load_cmt_weights(model, weights)
    round_to_fp16(model)
    model.eval()
    ds = workspace_qa(split, n_docs, seed=seed)  # split "train" with seed 0 = what `train-recipe --train-docs N` trained on
    examples = make_examples(tok, ds, model.cfg, QUESTION_TEMPLATE, add_bos=False, answer_prefix=ANSWER_PREFIX)
    by_doc: dict[str, list] = {}
    for e, qa in zip(examples, ds.questions, strict=True):
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
