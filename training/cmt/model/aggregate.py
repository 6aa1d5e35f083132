"""Aggregation: ψ folds the K selected memories into one memory M* (queries = the question's
memory), then π aligns M* to key/value prefixes for every layer of the frozen LM (P-tuning v2
style). The aggregator graph of a pack is ψ followed by π.
"""

import torch
import torch.nn as nn

from ..config import CMTConfig

NEG = -1e9


class CrossAttentionBlock(nn.Module):
    """Pre-LayerNorm cross-attention (queries from x, keys/values from memories) + MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        assert dim % heads == 0, "memory dim must divide into aggregator heads"
        self.heads = heads
        self.head_dim = dim // heads
        self.ln_q = nn.LayerNorm(dim)
        self.ln_kv = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.ln_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x, mem, bias, residual: bool = True):
        b, n, d = x.shape
        s = mem.shape[1]
        hd = self.head_dim
        q = self.q(self.ln_q(x)).view(b, n, self.heads, hd).transpose(1, 2)
        k, v = self.kv(self.ln_kv(mem)).view(b, s, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) * (hd ** -0.5) + bias
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.out(y) if residual else self.out(y)
        return x + self.mlp(self.ln_mlp(x))


class Aggregator(nn.Module):
    def __init__(self, cfg: CMTConfig, memory_dim: int, num_layers: int, num_kv_heads: int, head_dim: int):
        super().__init__()
        self.k = cfg.memory_slots
        self.r = cfg.prefix_per_slot
        self.query_residual = cfg.query_residual
        self.num_layers, self.num_kv_heads, self.head_dim = num_layers, num_kv_heads, head_dim
        # ψ
        self.null_memory = nn.Parameter(torch.zeros(1, 1, memory_dim))  # always visible: attention never has an empty set
        self.blocks = nn.ModuleList(CrossAttentionBlock(memory_dim, cfg.aggregator_heads, cfg.aggregator_mlp_ratio)
                                    for _ in range(cfg.aggregator_layers))
        self.ln_out = nn.LayerNorm(memory_dim)
        # π: each slot of M* becomes r prefix tokens in every layer, for keys and values.
        self.align = nn.Linear(memory_dim, num_layers * 2 * self.r * num_kv_heads * head_dim)
        nn.init.normal_(self.align.weight, std=0.02)
        nn.init.zeros_(self.align.bias)

    @property
    def prefix_tokens(self) -> int:
        return self.k * self.r

    def psi(self, question_memory, memories, memory_mask):
        b, kk, k, d = memories.shape
        mem = torch.cat([self.null_memory.expand(b, 1, d), memories.reshape(b, kk * k, d)], dim=1)
        visible = torch.cat([torch.ones_like(memory_mask[:, :1]), memory_mask.repeat_interleave(k, dim=1)], dim=1)
        bias = (1.0 - visible.to(question_memory.dtype)).mul(NEG).view(b, 1, 1, -1)
        x = question_memory
        for i, block in enumerate(self.blocks):
            x = block(x, mem, bias, residual=self.query_residual or i > 0)
        return self.ln_out(x)

    def pi(self, aggregated) -> list[tuple[torch.Tensor, torch.Tensor]]:
        b = aggregated.shape[0]
        p = self.align(aggregated)  # [B, k, L*2*r*Hkv*D]
        p = p.view(b, self.k, self.num_layers, 2, self.r, self.num_kv_heads, self.head_dim)
        # -> [L, 2, B, Hkv, k*r, D]
        p = p.permute(2, 3, 0, 5, 1, 4, 6).reshape(self.num_layers, 2, b, self.num_kv_heads, self.k * self.r, self.head_dim)
        return [(p[i, 0], p[i, 1]) for i in range(self.num_layers)]

    def forward(self, question_memory, memories, memory_mask):
        """question_memory [B,k,d], memories [B,K,k,d], memory_mask [B,K] -> per-layer (key, value) [B,Hkv,P,D]."""
        return self.pi(self.psi(question_memory, memories, memory_mask))
