"""Llama-family causal LM with Hugging Face parameter names, ONNX-exportable.

RMSNorm (float32), RoPE (HF rotate_half convention), SwiGLU MLP, grouped KV heads,
optional qkv bias (Qwen2), optional tied embeddings.  Plain matmul/softmax only
(torch 1.13, opset 17 export).  Also: safetensors checkpoint reader/writer written
with the standard library + numpy.

KV-cache convention: ``past_key_values`` is a list with one ``(k, v)`` per layer,
each ``[B, Hkv, past, hd]``; keys in the cache are already rotated (or, for a memory
prefix, used as given).  RoPE is applied to the NEW tokens only, at ``position_ids``.
``position_ids`` defaults to ``arange(T)`` -- NOT offset by ``past``: when continuing a
cache of real tokens the caller must pass explicit position_ids (``past + arange(T)``).
This is what the CMT prefix convention needs (prefix occupies cache slots, no positions).
"""
from __future__ import annotations

import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import BaseConfig

KV = tuple[torch.Tensor, torch.Tensor]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.eps)
        return self.weight * h.to(dtype)


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        self.head_dim = head_dim
        self.theta = theta
        self.register_buffer("inv_freq", self._inv_freq(torch.device("cpu")), persistent=False)

    def _inv_freq(self, device: torch.device) -> torch.Tensor:
        return 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64, device=device).float()
                                     / self.head_dim))

    def _apply(self, fn):
        # keep inv_freq in float32 whatever dtype the model is cast to
        super()._apply(fn)
        self.inv_freq = self._inv_freq(self.inv_freq.device)
        return self

    def forward(self, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """position_ids [B,T] -> (cos, sin) each [B,1,T,hd] (float32)."""
        freqs = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq.to(torch.float32)  # [B,T,hd/2]
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos.to(x.dtype) + rotate_half(x) * sin.to(x.dtype)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[B,Hkv,S,hd] -> [B,Hkv*n_rep,S,hd] (HF order: kv head h serves q heads h*n_rep..)."""
    if n_rep == 1:
        return x
    return x.unsqueeze(2).expand(-1, -1, n_rep, -1, -1).flatten(1, 2)


def make_attn_bias(attention_mask: torch.Tensor, T: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """attention_mask [B,S] (S = past+T) -> additive bias [B,1,T,S].

    Cache slot j is visible to new token i iff mask[b,j] != 0 and j <= past + i.
    Masked entries get torch.finfo(dtype).min (finite: fully masked rows give a uniform
    softmax, not NaN).  `past` is derived from attention_mask.shape[1] - T (traceable).
    """
    S = attention_mask.shape[1]
    dev = attention_mask.device
    j = torch.arange(S, device=dev).unsqueeze(0)  # [1,S]
    i = torch.arange(T, device=dev).unsqueeze(1)  # [T,1]
    past = S - T
    causal = j <= (i + past)  # [T,S]
    visible = causal.unsqueeze(0).unsqueeze(0) & (attention_mask != 0).unsqueeze(1).unsqueeze(1)  # [B,1,T,S]
    return (~visible).to(dtype) * torch.finfo(dtype).min


class Attention(nn.Module):
    def __init__(self, cfg: BaseConfig):
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.num_kv_heads = cfg.num_key_value_heads
        self.head_dim = cfg.hd
        self.n_rep = cfg.n_rep
        h = cfg.hidden_size
        self.q_proj = nn.Linear(h, self.num_heads * self.head_dim, bias=cfg.attention_bias)
        self.k_proj = nn.Linear(h, self.num_kv_heads * self.head_dim, bias=cfg.attention_bias)
        self.v_proj = nn.Linear(h, self.num_kv_heads * self.head_dim, bias=cfg.attention_bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, h, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, attn_bias: torch.Tensor,
                past: KV | None = None) -> tuple[torch.Tensor, KV]:
        B, T = x.shape[0], x.shape[1]
        q = self.q_proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0].to(k.dtype), k], dim=2)
            v = torch.cat([past[1].to(v.dtype), v], dim=2)
        kr = repeat_kv(k, self.n_rep)
        vr = repeat_kv(v, self.n_rep)
        scores = torch.matmul(q, kr.transpose(2, 3)) * (1.0 / math.sqrt(self.head_dim))
        scores = scores.to(torch.float32) + attn_bias.to(torch.float32)
        probs = torch.softmax(scores, dim=-1).to(q.dtype)
        out = torch.matmul(probs, vr)  # [B,H,T,hd]
        out = out.transpose(1, 2).reshape(B, T, self.num_heads * self.head_dim)
        return self.o_proj(out), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: BaseConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: BaseConfig):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, attn_bias: torch.Tensor,
                past: KV | None = None) -> tuple[torch.Tensor, KV]:
        """hidden [B,T,H]; cos/sin [B,1,T,hd]; attn_bias [B,1,T,past+T]; past (k,v) [B,Hkv,past,hd].
        Returns (hidden, (k_all, v_all)) with k_all/v_all [B,Hkv,past+T,hd]."""
        a, kv = self.self_attn(self.input_layernorm(hidden), cos, sin, attn_bias, past)
        hidden = hidden + a
        hidden = hidden + self.mlp(self.post_attention_layernorm(hidden))
        return hidden, kv


class LlamaModel(nn.Module):
    def __init__(self, cfg: BaseConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: BaseConfig):
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.rotary = RotaryEmbedding(cfg.hd, cfg.rope_theta)
        self.reset_parameters()
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def reset_parameters(self, std: float = 0.02) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, mean=0.0, std=std)
            elif isinstance(m, RMSNorm):
                nn.init.ones_(m.weight)

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, past_key_values: list[KV] | None = None,
                inputs_embeds: torch.Tensor | None = None, logits_at: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, list[KV]]:
        """Returns (logits [B,T,V] float, presents: list of (k,v) [B,Hkv,past+T,hd] per layer).

        `logits_at` (bool [B,T]): compute logits only at these positions and return them packed as
        [N,V] (N = logits_at.sum()). With a 49K vocabulary the LM head over every position costs more
        than the whole trunk, so training asks only for the positions its loss reads.

        Defaults: attention_mask = ones [B, past+T]; position_ids = arange(T) (NOT offset by
        past -- pass explicit position_ids when continuing a cache of real tokens);
        past_key_values = None (empty cache).
        """
        if inputs_embeds is None:
            if input_ids is None:
                raise ValueError("need input_ids or inputs_embeds")
            inputs_embeds = self.model.embed_tokens(input_ids)
        h = inputs_embeds
        B, T = h.shape[0], h.shape[1]
        past_len = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if attention_mask is None:
            attention_mask = torch.ones(B, past_len + T, dtype=torch.long, device=h.device)
        if position_ids is None:
            position_ids = torch.arange(T, device=h.device).unsqueeze(0).expand(B, T)
        cos, sin = self.rotary(position_ids)
        bias = make_attn_bias(attention_mask, T, torch.float32)
        presents: list[KV] = []
        for li, layer in enumerate(self.model.layers):
            past = None if past_key_values is None else past_key_values[li]
            h, kv = layer(h, cos, sin, bias, past)
            presents.append(kv)
        if logits_at is not None:
            h = h[logits_at]
        h = self.model.norm(h)
        logits = self.lm_head(h)
        return logits, presents


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of (unique) parameters; tied weights are counted once."""
    seen = set()
    n = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        n += p.numel()
    return n


# ----------------------------------------------------------------------------- safetensors

_ST_DTYPES = {
    "F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2), "F64": (np.float64, 8),
    "I64": (np.int64, 8), "I32": (np.int32, 4), "I16": (np.int16, 2), "I8": (np.int8, 1),
    "U8": (np.uint8, 1), "BOOL": (np.bool_, 1),
}
_NP_TO_ST = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.float64): "F64",
             np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.int16): "I16",
             np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8", np.dtype(np.bool_): "BOOL"}


def write_safetensors(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write tensors in the safetensors format (bf16 tensors are stored as BF16)."""
    header: dict[str, object] = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            arr = t.view(torch.int16).numpy().view(np.uint16)
            st = "BF16"
        else:
            arr = t.numpy()
            st = _NP_TO_ST[arr.dtype]
        b = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": st, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path: str, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Read a safetensors file; BF16/F16 are converted to float32 (then to `dtype` if given)."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", raw)
        if n > 100_000_000:
            raise ValueError(f"{path}: implausible safetensors header length {n}")
        header = json.loads(f.read(n).decode("utf-8"))
    base = 8 + n
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        st = info["dtype"]
        if st not in _ST_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {st}")
        npdt, size = _ST_DTYPES[st]
        a, b = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if b - a != count * size or base + b > data.shape[0]:
            raise ValueError(f"{path}: tensor {name!r} has inconsistent data_offsets {a},{b} for shape {shape} {st}")
        arr = np.frombuffer(data[base + a: base + b], dtype=np.dtype(npdt).newbyteorder("<")).reshape(shape)
        if st == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        elif st == "F16":
            arr = arr.astype(np.float32)
        t = torch.from_numpy(np.array(arr, dtype=arr.dtype.newbyteorder("=")))
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[name] = t
    return out


def save_hf_checkpoint(model: LlamaForCausalLM, cfg: BaseConfig, out_dir: str, **config_extra) -> None:
    """Write config.json + model.safetensors (HF layout; lm_head omitted when tied).
    Extra keyword args (e.g. bos_token_id=1, eos_token_id=2) go into config.json."""
    os.makedirs(out_dir, exist_ok=True)
    d = cfg.to_hf_dict()
    d.update(config_extra)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(d, f, indent=2)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("rotary.")}
    if cfg.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), sd, {"format": "pt"})


_IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def load_hf_checkpoint(ckpt_dir: str, dtype: torch.dtype = torch.float32) -> tuple[LlamaForCausalLM, BaseConfig]:
    """Load a HF Llama/Qwen2/SmolLM2 checkpoint directory (config.json + model.safetensors,
    or model.safetensors.index.json + shards).  Raises ValueError naming any missing,
    unexpected or wrongly shaped tensor."""
    cfg_path = os.path.join(ckpt_dir, "config.json")
    if not os.path.isfile(cfg_path):
        raise ValueError(f"{ckpt_dir}: no config.json")
    with open(cfg_path) as f:
        cfg = BaseConfig.from_hf_dict(json.load(f))
    single = os.path.join(ckpt_dir, "model.safetensors")
    index = os.path.join(ckpt_dir, "model.safetensors.index.json")
    tensors: dict[str, torch.Tensor] = {}
    if os.path.isfile(single):
        tensors = read_safetensors(single, dtype)
    elif os.path.isfile(index):
        with open(index) as f:
            wm = json.load(f)["weight_map"]
        for shard in sorted(set(wm.values())):
            tensors.update(read_safetensors(os.path.join(ckpt_dir, shard), dtype))
        missing_in_shards = sorted(set(wm) - set(tensors))
        if missing_in_shards:
            raise ValueError(f"index lists tensors absent from shards: {missing_in_shards[:5]}")
    else:
        raise ValueError(f"{ckpt_dir}: no model.safetensors or model.safetensors.index.json")

    model = LlamaForCausalLM(cfg)
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith("rotary.")}
    if cfg.tie_word_embeddings:
        expected.pop("lm_head.weight", None)
        tensors.pop("lm_head.weight", None)  # some tied checkpoints still store it
    for k in list(tensors):
        if k.endswith(_IGNORED_SUFFIXES):
            tensors.pop(k)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing:
        raise ValueError(f"checkpoint is missing tensors: {', '.join(missing[:10])}"
                         + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""))
    if unexpected:
        raise ValueError(f"checkpoint has unexpected tensors: {', '.join(unexpected[:10])}"
                         + (f" (+{len(unexpected) - 10} more)" if len(unexpected) > 10 else ""))
    for k, v in expected.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise ValueError(f"tensor {k}: checkpoint shape {tuple(tensors[k].shape)} != model shape {tuple(v.shape)}")
    with torch.no_grad():
        params = dict(model.named_parameters())
        for k in expected:
            params[k].copy_(tensors[k].to(params[k].dtype))
    model = model.to(dtype)
    if cfg.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    return model, cfg
