"""CMT training (the base frozen): the loop, its batches and learning-rate schedule."""
import math
import random
import time
from collections.abc import Callable

import torch

from .config import CMTConfig
from .data.examples import make_examples
from .model.cmt import CMTModel, Example, base_fingerprint


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def sample_batch(examples: list[Example], doc_of: list[str], batch_size: int, rng: random.Random,
                 pools: list[tuple[float, list[int]]] | None = None) -> list[Example]:
    """A batch of questions about distinct documents: the batch's documents are the in-batch bank.
    With `pools` ((weight, example indices) pairs), the whole batch comes from one pool, drawn in
    proportion to its weight: memory-only, with-chunk and reconstruction examples differ up to ~5x
    in length, and a batch is padded to its longest, so mixing them would cost the longest's time."""
    pool = None
    if pools:  # the pool whose share of the total weight holds r (the last one if rounding leaves r past them all)
        r = rng.random() * sum(w for w, _ in pools)
        for w, candidate in pools:
            pool = candidate
            if r < w:
                break
            r -= w
    seen, batch = set(), []
    while len(batch) < batch_size:
        i = pool[rng.randrange(len(pool))] if pool else rng.randrange(len(examples))
        if doc_of[i] in seen:
            continue
        seen.add(doc_of[i])
        batch.append(examples[i])
    return batch


def train_cmt(model: CMTModel, tok, train_ds, cfg: CMTConfig, steps: int, batch_size: int = 16,
              lr: float = 1e-3, warmup_force_gold: float = 0.3, seed: int = 0,
              log: Callable[[str], None] = print, time_budget_s: float | None = None,
              eval_fn: Callable[[int], dict] | None = None, eval_every: int = 0,
              examples: list[Example] | None = None, save_fn: Callable[[int], None] | None = None,
              save_every: int = 0, all_memories: bool = False, doc_of: list[str] | None = None,
              pool_shares: dict[str, float] | None = None) -> dict:
    """CMT training: only Θ (LoRA + memory tokens + slot MLPs), ψ and π are trained.

    warmup_force_gold: share of the steps whose selected set always holds the question's own
    document (1.0 = every step: what the product does when the fused retriever, not the keys,
    picks the memories). all_memories: the "no top-K" ablation, every in-batch memory is
    aggregated. doc_of: each example's document (default: train_ds.questions' order).
    pool_shares: share of the batches per example kind (memory / chunk / recon; default: by
    count)."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    fingerprint = base_fingerprint(model.base)
    model.assert_base_frozen()
    if examples is None:
        examples = make_examples(tok, train_ds, cfg)
    doc_of = doc_of or [qa.doc_id for qa in train_ds.questions]
    by_kind: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_kind.setdefault(e.kind, []).append(i)
    pools = [(pool_shares.get(kind, 0.0) if pool_shares else len(idx), idx) for kind, idx in sorted(by_kind.items())]
    pools = [p for p in pools if p[0] > 0]
    params = model.trainable_parameters()
    log(f"cmt: {len(examples):,} training questions over {len(train_ds.documents):,} documents; "
        f"{sum(p.numel() for p in params):,} trainable parameters")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    model.train()
    curve, evals = [], []
    t0 = time.time()
    window: dict[str, list[float]] = {}
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr, max(1, steps // 20))
        k = batch_size if all_memories else rng.randint(1, cfg.max_selected)
        batch = sample_batch(examples, doc_of, batch_size, rng, pools)
        if batch[0].recon and not all_memories:
            k = 1  # the instruction is the same for every document: only the memory itself says which one to write out
        loss, stats = model.loss(batch, tok.pad_id, k, force_gold=step < warmup_force_gold * steps)
        stats[f"nll_{batch[0].kind}"] = stats["answer_nll"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        for key, v in stats.items():
            window.setdefault(key, []).append(v)
        elapsed = time.time() - t0
        if step % 25 == 0 or step == steps - 1:
            point = {"step": step, "elapsed_s": round(elapsed, 1), **{k2: sum(v) / len(v) for k2, v in window.items()}}
            window = {}
            curve.append(point)
            log("cmt step {step}/{steps} loss {loss:.3f} nll {answer_nll:.3f} l_sm {l_sm:.3f} r@1 {recall@1:.2f} "
                "gold@K {gold_in_topk:.2f} ({el:.0f}s)".format(steps=steps, el=elapsed, **point)
                + "".join(f" {k2} {point[k2]:.3f}" for k2 in sorted(point) if k2.startswith("nll_")))
        if eval_fn is not None and eval_every and step > 0 and step % eval_every == 0:
            model.eval()
            evals.append({"step": step, **eval_fn(step)})
            model.train()
        if save_fn is not None and save_every and step > 0 and step % save_every == 0:
            save_fn(step)
        if time_budget_s is not None and elapsed > time_budget_s:
            log(f"cmt: time budget reached at step {step}")
            break
    model.eval()
    model.assert_base_frozen(fingerprint)
    return {"curve": curve, "evals": evals, "steps_done": step + 1, "wall_s": round(time.time() - t0, 1)}
