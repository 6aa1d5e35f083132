"""Self-matching: score memories against a compressed question, pick the top-K, and the L_sm loss.

L_sm = −cos(q_i, M_i) + λ · log Σ_{j≠i} exp(−‖M_i − M_j‖²)
with cos and the distances taken on the mean-pooled, L2-normalised keys (the brief leaves pooling
open; on unit vectors ‖a−b‖² ∈ [0, 4], so the separation term neither vanishes nor explodes).
"""
import torch


def match_scores(question_keys: torch.Tensor, memory_keys: torch.Tensor) -> torch.Tensor:
    """Cosine similarity [Bq, N] between L2-normalised question keys [Bq,d] and memory keys [N,d]."""
    return question_keys @ memory_keys.t()


def select_top_k(scores: torch.Tensor, k: int, force: torch.Tensor = None) -> torch.Tensor:
    """Indices [Bq, K] of the K best memories per question. `force` (index per question) is put in
    the last place when missing: used only to warm up training while keys are still random."""
    k = min(k, scores.shape[1])
    idx = scores.topk(k, dim=1).indices
    if force is not None:
        present = (idx == force.unsqueeze(1)).any(dim=1)
        idx = idx.clone()
        idx[~present, -1] = force[~present]
    return idx


def self_matching_loss(question_keys: torch.Tensor, memory_keys: torch.Tensor, lam: float) -> torch.Tensor:
    """L_sm over a batch where question i belongs to memory i."""
    n = memory_keys.shape[0]
    pull = -(question_keys * memory_keys).sum(-1)
    if n < 2:
        return pull.mean()
    dist2 = torch.cdist(memory_keys, memory_keys).pow(2)
    eye = torch.eye(n, dtype=torch.bool, device=memory_keys.device)
    push = torch.logsumexp((-dist2).masked_fill(eye, float("-inf")), dim=1)
    return (pull + lam * push).mean()


def recall_at(scores: torch.Tensor, gold: torch.Tensor, k: int) -> float:
    """Share of questions whose gold memory index is among the top-k."""
    k = min(k, scores.shape[1])
    hits = (scores.topk(k, dim=1).indices == gold.unsqueeze(1)).any(dim=1)
    return hits.float().mean().item()
