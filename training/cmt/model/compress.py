"""Compressor Θ: document (or question) tokens -> k memory slots M [B,k,d] and a matching key [B,d].

Built from the frozen base LM: its embedding and its first `compressor_layers` decoder layers
(frozen copies, with LoRA on the attention projections as the PEFT module), k learned memory
tokens appended after the text, and one small MLP per slot that maps each memory token's final
hidden state into the memory space. The key is the L2-normalised mean of the slots, so cosine
similarity between a question and a memory is a dot product of keys.
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import CMTConfig
from .base import LlamaForCausalLM, make_attn_bias


class LoRALinear(nn.Module):
    """y = W x (+ b) + (B A x) · scale, with W frozen and only A, B trained."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scale


def memory_key(memory: torch.Tensor) -> torch.Tensor:
    """Mean-pool the slots and L2-normalise: the key used for self-matching (cosine = dot product)."""
    return F.normalize(memory.mean(dim=1), dim=-1, eps=1e-6)


class Compressor(nn.Module):
    def __init__(self, base: LlamaForCausalLM, cfg: CMTConfig):
        super().__init__()
        bcfg = base.config
        hidden = bcfg.hidden_size
        self.k = cfg.memory_slots
        # The base is not registered as a submodule: its weights belong to the decoder, not to Θ.
        self._base = [base]
        self.embed_tokens = copy.deepcopy(base.model.embed_tokens)
        self.embed_tokens.weight.requires_grad_(False)
        self.layers = nn.ModuleList(copy.deepcopy(base.model.layers[i]) for i in range(cfg.compressor_layers))
        for layer in self.layers:
            for p in layer.parameters():
                p.requires_grad_(False)
            attn = layer.self_attn
            for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
                setattr(attn, name, LoRALinear(getattr(attn, name), cfg.lora_rank, cfg.lora_alpha))
        self.norm = copy.deepcopy(base.model.norm)
        for p in self.norm.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            mean_embedding = base.model.embed_tokens.weight.mean(0)
        self.memory_tokens = nn.Parameter(mean_embedding.expand(self.k, hidden).clone() + 0.02 * torch.randn(self.k, hidden))
        # One small MLP per slot (as MAC): hidden -> slot_hidden -> d, residual.
        sh = cfg.slot_hidden
        self.slot_w1 = nn.Parameter(torch.randn(self.k, hidden, sh) / math.sqrt(hidden))
        self.slot_b1 = nn.Parameter(torch.zeros(self.k, sh))
        self.slot_w2 = nn.Parameter(torch.zeros(self.k, sh, hidden))
        self.slot_b2 = nn.Parameter(torch.zeros(self.k, hidden))

    @property
    def memory_dim(self) -> int:
        return self.memory_tokens.shape[1]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        b = input_ids.shape[0]
        x = self.embed_tokens(input_ids)
        mem = self.memory_tokens.unsqueeze(0).expand(b, self.k, self.memory_tokens.shape[1])
        h = torch.cat([x, mem], dim=1)
        mask = torch.cat([attention_mask, torch.ones_like(attention_mask[:, :1]).expand(b, self.k)], dim=1)
        # Memory tokens sit right after the last real token even when the text is right-padded.
        position_ids = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
        cos, sin = self._base[0].rotary(position_ids)
        bias = make_attn_bias(mask, h.shape[1], h.dtype)
        for layer in self.layers:
            h, _ = layer(h, cos, sin, bias, None)
        slots = self.norm(h[:, -self.k:, :])
        z = F.gelu(torch.einsum("bkh,khf->bkf", slots, self.slot_w1) + self.slot_b1)
        memory = slots + torch.einsum("bkf,kfd->bkd", z, self.slot_w2) + self.slot_b2
        return memory, memory_key(memory)
