"""Next-token pretraining of the small base LM from scratch (the from-scratch pipeline's `pretrain` step)."""
import time
from collections.abc import Callable, Sequence

import torch

from ..train import lr_at


def token_stream(tok, texts: Sequence[str]) -> torch.Tensor:
    ids: list[int] = []
    for t in texts:
        ids.append(tok.bos_id)
        ids.extend(tok.encode(t))
        ids.append(tok.eos_id)
    return torch.tensor(ids, dtype=torch.long)


def pretrain(base, tok, texts: Sequence[str], steps: int, seq_len: int = 256, batch_size: int = 16,
             lr: float = 3e-3, seed: int = 0, log: Callable[[str], None] = print,
             time_budget_s: float | None = None) -> list[dict]:
    """Next-token pretraining on random windows of the concatenated corpus. Returns the loss curve."""
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    stream = token_stream(tok, texts)
    log(f"pretrain: {len(stream):,} tokens in stream (tokenized in {time.time() - t0:.0f}s)")
    device = next(base.parameters()).device
    base.train()
    opt = torch.optim.AdamW(base.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    curve = []
    t0 = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr, max(1, steps // 20))
        starts = torch.randint(0, len(stream) - seq_len - 1, (batch_size,), generator=g)
        x = torch.stack([stream[s: s + seq_len] for s in starts]).to(device)
        logits, _ = base(input_ids=x)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(base.parameters(), 1.0)
        opt.step()
        elapsed = time.time() - t0
        if step % 20 == 0 or step == steps - 1:
            tps = (step + 1) * batch_size * seq_len / max(elapsed, 1e-9)
            curve.append({"step": step, "loss": loss.item(), "elapsed_s": round(elapsed, 1)})
            log(f"pretrain step {step}/{steps} loss {loss.item():.3f} ({tps:,.0f} tok/s)")
        if time_budget_s is not None and elapsed > time_budget_s:
            log(f"pretrain: time budget reached at step {step}")
            curve.append({"step": step, "loss": loss.item(), "elapsed_s": round(elapsed, 1)})
            break
    base.eval()
    return curve
