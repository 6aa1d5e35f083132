"""The CMT system around a frozen base LM: compressor Θ + aggregator (ψ, π), and the training
forward pass (self-matching, top-K over the in-batch bank, memory-aware objective)."""
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import CMTConfig
from .aggregate import Aggregator
from .compress import Compressor
from .decode import memory_aware_logits, packed_answer_loss, pad_batch, predicting_positions
from .match import match_scores, recall_at, select_top_k, self_matching_loss


@dataclass
class Example:
    doc: list[int]        # compressor input for the gold document
    query: list[int]      # compressor input for the question (self-matching)
    prompt: list[int]     # decoder prompt (bos + template)
    answer: list[int]     # answer tokens + eos
    chunked: bool = False  # the prompt holds the document's text (memory+chunk mode)
    recon: bool = False    # the answer is the document itself (reconstruction from memory)
    real: bool = False     # a real project's question and chunk (real.py), not the synthetic generator's

    @property
    def kind(self) -> str:
        return "recon" if self.recon else "real" if self.real else "chunk" if self.chunked else "memory"


def answer_batch(batch: Sequence[Example], pad_id: int):
    """prompt + answer of each example, right-padded: (ids, attention mask, answer-token mask)."""
    ids, mask = pad_batch([e.prompt + e.answer for e in batch], pad_id)
    target = torch.zeros_like(mask)
    for i, e in enumerate(batch):
        target[i, len(e.prompt): len(e.prompt) + len(e.answer)] = 1
    return ids, mask, target


def base_fingerprint(base: nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(base.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class CMTModel(nn.Module):
    def __init__(self, base, cfg: CMTConfig):
        super().__init__()
        self.cfg = cfg
        self._base = [base]  # frozen and shared; never part of this module's trainable state
        for p in base.parameters():
            p.requires_grad_(False)
        base.eval()
        bc = base.config
        self.compressor = Compressor(base, cfg)
        self.aggregator = Aggregator(cfg, bc.hidden_size, bc.num_hidden_layers, bc.num_key_value_heads, bc.hd)

    @property
    def base(self):
        return self._base[0]

    @property
    def device(self) -> torch.device:
        return self.compressor.memory_tokens.device

    def trainable_parameters(self):
        return [p for p in self.parameters() if p.requires_grad]

    def assert_base_frozen(self, fingerprint: str = None):
        assert all(not p.requires_grad for p in self.base.parameters()), "base LM has trainable parameters"
        if fingerprint is not None:
            assert base_fingerprint(self.base) == fingerprint, "base LM weights changed during CMT training"

    def compress(self, seqs: Sequence[Sequence[int]], pad_id: int):
        ids, mask = pad_batch(seqs, pad_id)
        return self.compressor(ids.to(self.device), mask.to(self.device))

    def loss(self, batch: list[Example], pad_id: int, top_k: int, force_gold: bool):
        cfg = self.cfg
        b = len(batch)
        dev = self.device
        docs = [e.doc for e in batch]
        if cfg.bp_dropout > 0 and self.training:
            # Backprop dropout: gradients flow through only a share of the compressed documents.
            keep = [random.random() >= cfg.bp_dropout for _ in docs]
            keep[0] = True
            mem, dkey = self.compress(docs, pad_id)
            with torch.no_grad():
                mem_ng, dkey_ng = self.compress(docs, pad_id)
            sel = torch.tensor(keep, device=dev).view(b, 1, 1)
            mem = torch.where(sel, mem, mem_ng)
            dkey = torch.where(sel.view(b, 1), dkey, dkey_ng)
        else:
            mem, dkey = self.compress(docs, pad_id)
        qmem, qkey = self.compress([e.query for e in batch], pad_id)
        scores = match_scores(qkey, dkey)
        gold = torch.arange(b, device=dev)
        idx = select_top_k(scores.detach(), top_k, force=gold if force_gold else None)
        selected = mem[idx]  # [B,K,k,d]
        prefix = self.aggregator(qmem, selected, torch.ones(idx.shape, dtype=torch.long, device=dev))
        ids, tmask, target = (x.to(dev) for x in answer_batch(batch, pad_id))
        p = prefix[0][0].shape[2]
        t = ids.shape[1]
        pos = torch.arange(t, device=dev).unsqueeze(0).expand(b, t)
        attn = torch.cat([torch.ones((b, p), dtype=torch.long, device=dev), tmask], dim=1)
        at = predicting_positions(target)
        logits_mem, _ = self.base(input_ids=ids, attention_mask=attn, position_ids=pos, past_key_values=prefix, logits_at=at)
        if cfg.alpha != 0 and cfg.alpha_negative == "other_memory" and b > 1:
            # The next question's gold document stands in for this one's (alone, K = 1).
            other = torch.roll(gold, 1).unsqueeze(1)
            prefix_other = self.aggregator(qmem, mem[other], torch.ones(other.shape, dtype=torch.long, device=dev))
            logits_plain, _ = self.base(input_ids=ids, attention_mask=attn, position_ids=pos, past_key_values=prefix_other, logits_at=at)
        elif cfg.alpha != 0:
            with torch.no_grad():
                logits_plain, _ = self.base(input_ids=ids, attention_mask=tmask, position_ids=pos, logits_at=at)
        else:
            logits_plain = None
        l_ans = packed_answer_loss(memory_aware_logits(logits_mem, logits_plain, cfg.alpha), ids, target)
        l_sm = self_matching_loss(qkey, dkey, cfg.sm_lambda)
        loss = l_ans + cfg.sm_weight * l_sm
        stats = {"loss": loss.item(), "answer_nll": l_ans.item(), "l_sm": l_sm.item(),
                 "recall@1": recall_at(scores.detach(), gold, 1),
                 "gold_in_topk": (idx == gold.unsqueeze(1)).any(1).float().mean().item(), "selected": float(idx.shape[1])}
        return loss, stats
