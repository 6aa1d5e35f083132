"""ONNX graphs of the frozen base LM (decoder.onnx) and of the compressor Θ (compressor.onnx),
written directly with ``onnx.helper`` from numpy weights -- no torch needed.

This is how a user builds a model pack on their own machine from a GGUF file (numpy + gguf +
onnx only).  The math is the same as ``cmt.model.base.LlamaForCausalLM.forward`` and
``cmt.model.compress.Compressor.forward`` (fp32 RMSNorm, RoPE rotate_half at the given position_ids --
NOT offset by past --, additive bias as ``make_attn_bias``, grouped KV heads, SwiGLU, tied
lm_head); the graph contracts are those of docs/model-pack.md.

Precisions of the linear layers:
  * ``fp32``  plain MatMul with the float32 weights;
  * ``int8``  com.microsoft MatMulNBits, 8 bits, symmetric, one fp32 scale per block of
              ``block_size`` input features (lossless for a GGUF Q8_0 tensor);
  * ``int4``  MatMulNBits, 4 bits, asymmetric round-to-nearest with a uint8 zero point per block
              (the fast MLAS path; lossy for GGUF Q4_1 data, whose zero points are not integral);
  * ``int4f`` MatMulNBits, 4 bits, float zero point = -min/scale per block: min/max of a
              dequantized Q4_1 block are exactly its q=0 and q=15 values, so this is a (near)
              lossless repack of Q4_1 -- but ORT's CPU kernel has no fast path for float zero points.
  * ``q4_1``  GGUF Q4_1's own form, w = q*d + m per block (q 0..15, d and m float16), on the fast
              path: MatMulNBits 4 bits WITHOUT zero points computes sum x*(q-8)*d, and the missing
              sum x*(m+8d) is one small fp32 MatMul of the activations' block sums
              [.., K/32] @ (m+8d)^T [K/32, N]. Lossless for a dequantized Q4_1 tensor (exactly the
              GGUF's weights), 0.625 bytes a weight on disk (d and m stored as float16, cast once).
The tied lm_head is quantized too (``lm_head_precision``, default int8 for the quantized
precisions: reading a 49152x576 fp32 matrix per token dominates decode time otherwise). The token
embedding is an fp32 Gather, except with ``q4_1`` (``embed_precision`` int8): int8 blocks with a
float16 scale (GGUF Q8_0's own form, lossless for it) read by com.microsoft GatherBlockQuantized,
and the tied lm_head's MatMulNBits reads the SAME bytes and scales (one copy of the table).
Quantization is deterministic numpy round-to-nearest (quantize.py).

Graphs that hold the same base tensors (decoder.onnx and compressor.onnx share the embedding and
the first layers) can be written with ``save_models`` so those tensors are stored once, in an ONNX
external data file next to them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..config import BaseConfig, CMTConfig
from .quantize import lossless_f16, quantize_blockwise, quantize_int8_f16, quantize_q4_min

OPSET = 17
MS_DOMAIN = "com.microsoft"
PRECISIONS = ("fp32", "int8", "int4", "int4f", "q4_1")
F32_MIN = float(np.finfo(np.float32).min)


# ----------------------------------------------------------------------------- graph helper

class _Graph:
    def __init__(self, precision: str, block_size: int, accuracy_level: int, fused_rope: bool = False):
        self.fused_rope = fused_rope
        self.rope_cache: tuple[str, str, str] | None = None  # (position_ids, cos_cache, sin_cache)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        self.block_size = block_size
        self.accuracy_level = accuracy_level
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0
        self._consts: dict[tuple, str] = {}

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, domain: str = "", out: Sequence[str] | None = None,
           **attrs) -> object:
        outs = list(out) if out is not None else [self.name(f"{op_type.lower()}") for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.name(op_type),
                                           domain=domain or None, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def init(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def const(self, arr, dtype=np.int64) -> str:
        a = np.asarray(arr, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self._consts:
            self._consts[key] = self.init(self.name("const"), a)
        return self._consts[key]

    def f16(self, name: str, arr16: np.ndarray) -> str:
        """A float16 initializer read as float32 (a Cast that onnxruntime folds once at load)."""
        return self.op("Cast", [self.init(name, np.asarray(arr16, np.float16))], to=TensorProto.FLOAT)

    def weight(self, name: str, arr: np.ndarray, min_size: int = 1024) -> str:
        """A float32 weight, stored as float16 when that loses nothing (trained weights saved in fp16)."""
        a = np.asarray(arr, dtype=np.float32)
        if a.size >= min_size and lossless_f16(a):
            return self.f16(name + "_f16", a.astype(np.float16))
        return self.init(name, a)

    # -- layers ---------------------------------------------------------------------------------

    def linear(self, x: str, w: np.ndarray, name: str, precision: str | None = None) -> str:
        """x [..., K] @ w[N, K]^T."""
        precision = precision or self.precision
        N, K = w.shape
        if precision == "fp32":
            wt = self.init(f"{name}.weight_t", np.ascontiguousarray(w.T.astype(np.float32)))
            return self.op("MatMul", [x, wt])
        if precision == "q4_1":
            return self.linear_q4_min(x, w, name)
        bits = 8 if precision == "int8" else 4
        packed, scales, zp = quantize_blockwise(w, bits, self.block_size, float_zero_point=(precision == "int4f"))
        ins = [x, self.init(f"{name}.qweight", packed), self.init(f"{name}.scales", scales)]
        if zp is not None:
            ins.append(self.init(f"{name}.zero_points", zp))
        return self.op("MatMulNBits", ins, domain=MS_DOMAIN, K=K, N=N, bits=bits, block_size=self.block_size,
                       accuracy_level=self.accuracy_level)

    def linear_q4_min(self, x: str, w: np.ndarray, name: str) -> str:
        """x [B, T, K] @ w^T with w stored as ``quantize_q4_min`` blocks (q*d + m). MatMulNBits without
        zero points reads (q - 8)*d; the rest, x . (m + 8d) per block, is blocksum(x) @ (m + 8d)^T."""
        N, K = w.shape
        bs = self.block_size
        nb = K // bs
        packed, d16, m16 = quantize_q4_min(w, bs)
        scales = self.f16(f"{name}.scales_f16", d16)
        y = self.op("MatMulNBits", [x, self.init(f"{name}.qweight", packed), scales], domain=MS_DOMAIN, K=K, N=N,
                    bits=4, block_size=bs, accuracy_level=self.accuracy_level)
        offset = self.op("Add", [self.f16(f"{name}.mins_f16", m16),
                                 self.op("Mul", [self.op("Reshape", [scales, self.const([N, nb])]), self.const(8.0, np.float32)])])
        offset_t = self.op("Transpose", [offset], perm=[1, 0])  # [nb, N]
        sums = self.op("ReduceSum", [self.op("Reshape", [x, self.const([0, 0, nb, bs])]), self.const([-1])], keepdims=0)
        return self.op("Add", [y, self.op("MatMul", [sums, offset_t])])

    def embedding(self, ids: str, w: np.ndarray, name: str, precision: str) -> str:
        """Token embedding rows of ``w`` [V, H] for ``ids`` [B, T] -> [B, T, H]. ``fp32``: a Gather of the
        table. ``int8``: ``quantize_int8_f16`` blocks read by GatherBlockQuantized; a tied lm_head in int8
        (``linear_tied_int8``) reads the same initializers."""
        if precision == "fp32":
            return self.op("Gather", [self.init(name, w.astype(np.float32)), ids], axis=0)
        if precision != "int8":
            raise ValueError(f"embedding precision must be fp32 or int8, got {precision!r}")
        qw, scales = self._int8_table(w, name)
        V, nb = w.shape[0], w.shape[1] // self.block_size
        rows = self.op("GatherBlockQuantized", [qw, ids, self.op("Reshape", [scales, self.const([V, nb, 1])])],
                       domain=MS_DOMAIN, gather_axis=0, quantize_axis=2, block_size=self.block_size, bits=8)
        return self.op("Reshape", [rows, self.const([0, 0, w.shape[1]])])

    def linear_tied_int8(self, x: str, w: np.ndarray, name: str) -> str:
        """x @ w^T with the int8 table ``embedding(..., "int8")`` stored (same initializers, one copy)."""
        qw, scales = self._int8_table(w, name)
        V, H = w.shape
        return self.op("MatMulNBits", [x, qw, scales], domain=MS_DOMAIN, K=H, N=V, bits=8, block_size=self.block_size,
                       accuracy_level=self.accuracy_level)

    def _int8_table(self, w: np.ndarray, name: str) -> tuple[str, str]:
        key = ("int8_table", name)
        if key not in self._consts:
            packed, s16 = quantize_int8_f16(w, self.block_size)
            self._consts[key] = (self.init(f"{name}.qweight", packed), self.f16(f"{name}.scales_f16", s16))
        return self._consts[key]

    def rms_norm(self, x: str, w: np.ndarray, eps: float, name: str) -> str:
        # Pow -> ReduceMean -> Add -> Sqrt -> Div -> Mul: the pattern ORT fuses into SimplifiedLayerNormalization.
        sq = self.op("Pow", [x, self.const(2.0, np.float32)])
        var = self.op("ReduceMean", [sq], axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.const(eps, np.float32)])])
        h = self.op("Div", [x, std])
        return self.op("Mul", [h, self.init(f"{name}.weight", w.astype(np.float32))])

    def rope(self, x: str, cos: str, sin: str, hd: int) -> str:
        """x [B,H,T,hd] * cos + rotate_half(x) * sin."""
        if self.rope_cache is not None:  # com.microsoft RotaryEmbedding (rotate_half = interleaved 0)
            pos, cc, sc = self.rope_cache
            return self.op("RotaryEmbedding", [x, pos, cc, sc], domain=MS_DOMAIN, interleaved=0)
        x1, x2 = self.op("Split", [x, self.const([hd // 2, hd // 2])], n_out=2, axis=-1)
        rot = self.op("Concat", [self.op("Neg", [x2]), x1], axis=-1)
        return self.op("Add", [self.op("Mul", [x, cos]), self.op("Mul", [rot, sin])])


def _rotary_cos_sin(g: _Graph, position_ids: str, cfg: BaseConfig, head_axis: int = 1) -> tuple[str, str]:
    """position_ids [B,T] int64 -> cos, sin [B,1,T,hd] (as RotaryEmbedding in base.py, float32); with
    head_axis 2, [B,T,1,hd] (for activations laid out [B,T,heads,hd])."""
    hd = cfg.hd
    inv_freq = (1.0 / (np.float64(cfg.rope_theta) ** (np.arange(0, hd, 2, dtype=np.float64) / hd))).astype(np.float32)
    if g.fused_rope:
        # cos/sin tables for positions 0..max_position_embeddings-1 (float32 product as in torch)
        freqs = np.arange(cfg.max_position_embeddings, dtype=np.float32)[:, None] * inv_freq[None, :]
        g.rope_cache = (position_ids, g.init("rope.cos_cache", np.cos(freqs.astype(np.float64)).astype(np.float32)),
                        g.init("rope.sin_cache", np.sin(freqs.astype(np.float64)).astype(np.float32)))
        return "", ""
    pos = g.op("Unsqueeze", [g.op("Cast", [position_ids], to=TensorProto.FLOAT), g.const([2])])  # [B,T,1]
    freqs = g.op("Mul", [pos, g.init("rope.inv_freq", inv_freq)])  # [B,T,hd/2]
    emb = g.op("Concat", [freqs, freqs], axis=-1)
    cos = g.op("Unsqueeze", [g.op("Cos", [emb]), g.const([head_axis])])
    sin = g.op("Unsqueeze", [g.op("Sin", [emb]), g.const([head_axis])])
    return cos, sin


def _attn_bias(g: _Graph, attention_mask: str, T: str, S: str) -> str:
    """make_attn_bias: attention_mask [B,S] -> additive bias [B,1,1,T,S] (extra axis for the GQA
    grouping).  T, S: int64 scalars.  Slot j visible to token i iff mask[j] != 0 and j <= S-T+i."""
    past = g.op("Sub", [S, T])
    j = g.op("Range", [g.const(0), S, g.const(1)])  # [S]
    i = g.op("Range", [past, S, g.const(1)])  # [T]: past + i
    causal = g.op("LessOrEqual", [j, g.op("Unsqueeze", [i, g.const([1])])])  # [T,S]
    pad = g.op("Cast", [attention_mask], to=TensorProto.BOOL)  # [B,S]
    pad = g.op("Unsqueeze", [pad, g.const([1, 2, 3])])  # [B,1,1,1,S]
    visible = g.op("And", [causal, pad])  # [B,1,1,T,S]
    return g.op("Where", [visible, g.const(0.0, np.float32), g.const(F32_MIN, np.float32)])


def _layer(g: _Graph, cfg: BaseConfig, tensors: dict[str, np.ndarray], li: int, h: str, cos: str, sin: str,
           bias: str, past: tuple[str, str] | None, present: tuple[str, str] | None,
           lora: dict[str, tuple[np.ndarray, np.ndarray, float]] | None = None,
           gqa: tuple[str, str] | None = None) -> str:
    """One DecoderLayer.  h [B,T,H]; returns new h.  With ``lora`` (compressor) q/k/v/o get
    y += ((x A^T) B^T) * scale on top of the base projections. With ``gqa`` (seqlens_k, total_sequence_length
    int32 tensors) attention is GroupQueryAttention (_gqa_attention); cos/sin are then [B,T,1,hd]."""
    p = f"model.layers.{li}."
    Hq, Hkv, D, nrep = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hd, cfg.n_rep
    x = g.rms_norm(h, tensors[p + "input_layernorm.weight"], cfg.rms_norm_eps, p + "input_layernorm")
    wq, wk, wv = (tensors[p + f"self_attn.{n}_proj.weight"] for n in ("q", "k", "v"))
    # q, k and v in one fused matmul (the decoder and the compressor then hold the same base tensors)
    qkv = g.linear(x, np.concatenate([wq, wk, wv], axis=0), p + "self_attn.qkv_proj")
    q, k, v = g.op("Split", [qkv, g.const([Hq * D, Hkv * D, Hkv * D])], n_out=3, axis=-1)
    if lora is not None:
        q, k, v = (_add_lora(g, x, y, lora[n], p + f"self_attn.{n}_proj") for n, y in (("q", q), ("k", k), ("v", v)))
    if cfg.attention_bias:
        q = g.op("Add", [q, g.init(p + "self_attn.q_proj.bias", tensors[p + "self_attn.q_proj.bias"].astype(np.float32))])
        k = g.op("Add", [k, g.init(p + "self_attn.k_proj.bias", tensors[p + "self_attn.k_proj.bias"].astype(np.float32))])
        v = g.op("Add", [v, g.init(p + "self_attn.v_proj.bias", tensors[p + "self_attn.v_proj.bias"].astype(np.float32))])
    if gqa is not None:
        return _layer_tail(g, cfg, tensors, p, h, _gqa_attention(g, cfg, q, k, v, cos, sin, past, present, gqa), lora)
    # [B,T,N*D] -> [B,N,T,D]
    q = g.op("Transpose", [g.op("Reshape", [q, g.const([0, 0, Hq, D])])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [k, g.const([0, 0, Hkv, D])])], perm=[0, 2, 1, 3])
    v = g.op("Transpose", [g.op("Reshape", [v, g.const([0, 0, Hkv, D])])], perm=[0, 2, 1, 3])
    q = g.rope(q, cos, sin, D)
    k = g.rope(k, cos, sin, D)
    if past is not None:
        k = g.op("Concat", [past[0], k], axis=2, out=[present[0]])
        v = g.op("Concat", [past[1], v], axis=2, out=[present[1]])
    # GQA without repeating K/V: the n_rep query heads of kv head j are rows of one matmul.
    # q [B,Hq,T,D] -> [B,Hkv,nrep,T,D] (HF order: q head j*nrep+r uses kv head j)
    qg = g.op("Reshape", [q, g.const([0, Hkv, nrep, -1, D])])  # [B,Hkv,nrep,T,D]
    kt = g.op("Unsqueeze", [g.op("Transpose", [k], perm=[0, 1, 3, 2]), g.const([2])])  # [B,Hkv,1,D,S]
    scores = g.op("MatMul", [qg, kt])  # [B,Hkv,nrep,T,S]
    scores = g.op("Mul", [scores, g.const(1.0 / math.sqrt(D), np.float32)])
    probs = g.op("Softmax", [g.op("Add", [scores, bias])], axis=-1)
    out = g.op("MatMul", [probs, g.op("Unsqueeze", [v, g.const([2])])])  # [B,Hkv,nrep,T,D]
    out = g.op("Reshape", [out, g.const([0, Hq, -1, D])])  # [B,Hq,T,D]
    out = g.op("Reshape", [g.op("Transpose", [out], perm=[0, 2, 1, 3]), g.const([0, 0, Hq * D])])
    return _layer_tail(g, cfg, tensors, p, h, out, lora)


def _gqa_attention(g: _Graph, cfg: BaseConfig, q: str, k: str, v: str, cos: str, sin: str, past: tuple[str, str],
                   present: tuple[str, str], gqa: tuple[str, str]) -> str:
    """Attention by com.microsoft GroupQueryAttention on q [B,T,Hq*D], k/v [B,T,Hkv*D] (BSNH, no
    transposes). RoPE stays outside the op (do_rotary 0) at the given position_ids, as in the Concat
    graph. The op writes the new keys/values after each row's past (seqlens_k = the row's total length
    - 1): fed the same buffer as past and present, it appends in place (docs/model-pack.md)."""
    Hq, Hkv, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hd
    seqlens_k, total = gqa

    def rope3(x: str, n: int) -> str:  # [B,T,n*D] -> rope per head -> [B,T,n*D]
        if g.rope_cache is not None:
            return g.rope(x, cos, sin, D)  # RotaryEmbedding reads [B,T,n*D] directly
        x4 = g.op("Reshape", [x, g.const([0, 0, n, D])])
        return g.op("Reshape", [g.rope(x4, cos, sin, D), g.const([0, 0, n * D])])

    q, k = rope3(q, Hq), rope3(k, Hkv)
    return g.op("GroupQueryAttention", [q, k, v, past[0], past[1], seqlens_k, total], domain=MS_DOMAIN,
                out=[g.name("gqa_out"), present[0], present[1]], num_heads=Hq, kv_num_heads=Hkv,
                scale=1.0 / math.sqrt(D), do_rotary=0)[0]


def _layer_tail(g: _Graph, cfg: BaseConfig, tensors: dict[str, np.ndarray], p: str, h: str, out: str,
                lora: dict[str, tuple[np.ndarray, np.ndarray, float]] | None) -> str:
    """o_proj of the attention output out [B,T,Hq*D], the residual, and the MLP block."""
    o = g.linear(out, tensors[p + "self_attn.o_proj.weight"], p + "self_attn.o_proj")
    if lora is not None:
        o = _add_lora(g, out, o, lora["o"], p + "self_attn.o_proj")
    h = g.op("Add", [h, o])
    x = g.rms_norm(h, tensors[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps, p + "post_attention_layernorm")
    inter = cfg.intermediate_size
    gu = g.linear(x, np.concatenate([tensors[p + "mlp.gate_proj.weight"], tensors[p + "mlp.up_proj.weight"]], axis=0),
                  p + "mlp.gate_up_proj")
    gate, up = g.op("Split", [gu, g.const([inter, inter])], n_out=2, axis=-1)
    act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
    return g.op("Add", [h, g.linear(act, tensors[p + "mlp.down_proj.weight"], p + "mlp.down_proj")])


def _add_lora(g: _Graph, x: str, y: str, ab: tuple[np.ndarray, np.ndarray, float], name: str) -> str:
    a, b, scale = ab
    xa = g.op("MatMul", [x, g.weight(f"{name}.lora_a_t", np.ascontiguousarray(a.T.astype(np.float32)))])
    xab = g.op("MatMul", [xa, g.weight(f"{name}.lora_b_t", np.ascontiguousarray(b.T.astype(np.float32)))])
    return g.op("Add", [y, g.op("Mul", [xab, g.const(scale, np.float32)])])


def _model(g: _Graph, inputs, outputs, name: str) -> onnx.ModelProto:
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)],
                              producer_name="cmt.graph")
    model.ir_version = 8
    return model


def _check_tensors(cfg: BaseConfig, tensors: dict[str, np.ndarray], layers: int) -> None:
    H, D = cfg.hidden_size, cfg.hd
    want = {"model.embed_tokens.weight": (cfg.vocab_size, H)}
    for i in range(layers):
        p = f"model.layers.{i}."
        want.update({p + "self_attn.q_proj.weight": (cfg.num_attention_heads * D, H),
                     p + "self_attn.k_proj.weight": (cfg.num_key_value_heads * D, H),
                     p + "self_attn.v_proj.weight": (cfg.num_key_value_heads * D, H),
                     p + "self_attn.o_proj.weight": (H, cfg.num_attention_heads * D),
                     p + "mlp.gate_proj.weight": (cfg.intermediate_size, H),
                     p + "mlp.up_proj.weight": (cfg.intermediate_size, H),
                     p + "mlp.down_proj.weight": (H, cfg.intermediate_size),
                     p + "input_layernorm.weight": (H,), p + "post_attention_layernorm.weight": (H,)})
    want["model.norm.weight"] = (H,)
    for k, shape in want.items():
        if k not in tensors:
            raise ValueError(f"missing tensor {k}")
        if tuple(tensors[k].shape) != shape:
            raise ValueError(f"tensor {k}: shape {tuple(tensors[k].shape)} != expected {shape}")


# ----------------------------------------------------------------------------- decoder

def default_embed_precision(precision: str) -> str:
    """The token embedding's storage for a layer precision: int8 (shared with the tied lm_head) for
    quantized layers, fp32 for fp32 graphs. The GGUF's table is Q8_0, whose own form this int8 is:
    the stored values are the GGUF's, and the table takes 30 MB instead of 113 MB of fp32."""
    return "fp32" if precision == "fp32" else "int8"


KV_CACHES = ("concat", "shared-buffer")  # pack.json decoderCache: how decoder.onnx's cache is fed (docs/model-pack.md)
LOGITS_TO_KEEP = "logits_to_keep"  # decoder input: int64 scalar, logits for the last N positions (0 = all)


def decoder_feeds(sess, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``feeds`` plus logits_to_keep = 0 (all positions) when the onnxruntime session ``sess``'s graph
    has that input and it is not given."""
    if LOGITS_TO_KEEP not in feeds and any(i.name == LOGITS_TO_KEEP for i in sess.get_inputs()):
        return {**feeds, LOGITS_TO_KEEP: np.array(0, dtype=np.int64)}
    return feeds


def build_decoder(cfg: BaseConfig, tensors: dict[str, np.ndarray], precision: str = "int4", block_size: int = 32,
                  lm_head_precision: str | None = None, accuracy_level: int = 4,
                  fused_rope: bool = False, embed_precision: str | None = None,
                  kv_cache: str = "concat") -> onnx.ModelProto:
    """decoder.onnx (docs/model-pack.md) from HF-named float32 numpy weights.

    ``lm_head_precision`` defaults to fp32 for fp32 graphs and int8 otherwise.
    ``embed_precision`` (fp32 | int8; default ``default_embed_precision(precision)``): with int8 and a
    tied int8 lm_head both read one int8 table.
    ``accuracy_level`` is MatMulNBits' (4 = int8 activations, the fast CPU path; 0 = fp32).
    ``fused_rope`` uses com.microsoft RotaryEmbedding with cos/sin tables of
    max_position_embeddings rows (positions must stay below it) instead of primitive ops.
    ``kv_cache`` (KV_CACHES): ``concat`` = attention by primitive ops, present = Concat(past, new);
    ``shared-buffer`` = com.microsoft GroupQueryAttention: row r's cache is its first
    sum(attention_mask[r]) slots (right-padded rows), the new keys/values are written after row r's
    past, and a past buffer fed again as the present output is appended to in place.
    """
    if kv_cache not in KV_CACHES:
        raise ValueError(f"kv_cache must be one of {KV_CACHES}, got {kv_cache!r}")
    _check_tensors(cfg, tensors, cfg.num_hidden_layers)
    g = _Graph(precision, block_size, accuracy_level, fused_rope)
    gqa: tuple[str, str] | None = None  # set below for the shared-buffer cache
    L, Hkv, D, V = cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.hd, cfg.vocab_size
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info(LOGITS_TO_KEEP, TensorProto.INT64, [])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "logits_length", V])]
    if kv_cache == "shared-buffer":
        gqa = ("", "")
    for i in range(L):
        for kv in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", TensorProto.FLOAT,
                                                        ["batch_size", Hkv, "past_sequence_length", D]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", TensorProto.FLOAT,
                                                         ["batch_size", Hkv, "total_sequence_length" if gqa is None
                                                          else "present_sequence_length", D]))
    emb_w = tensors["model.embed_tokens.weight"].astype(np.float32)
    embed_precision = embed_precision or default_embed_precision(precision)
    h = g.embedding("input_ids", emb_w, "model.embed_tokens" if embed_precision == "int8" else "model.embed_tokens.weight",
                    embed_precision)
    T = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(1)], axis=0)
    S = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.const(1)], axis=0)
    if kv_cache == "shared-buffer":
        bias = ""
        lens = g.op("ReduceSum", ["attention_mask", g.const([1])], keepdims=0)  # [B]: each row's total length
        gqa = (g.op("Cast", [g.op("Sub", [lens, g.const(1)])], to=TensorProto.INT32),
               g.op("Cast", [S], to=TensorProto.INT32))
    else:
        bias = _attn_bias(g, "attention_mask", T, S)
    cos, sin = _rotary_cos_sin(g, "position_ids", cfg, head_axis=2 if gqa else 1)
    for i in range(L):
        h = _layer(g, cfg, tensors, i, h, cos, sin, bias,
                   (f"past_key_values.{i}.key", f"past_key_values.{i}.value"), (f"present.{i}.key", f"present.{i}.value"),
                   gqa=gqa)
    # Only the last logits_to_keep positions reach the final norm and the lm_head (0 = all): a
    # 500-token prefill needs one row of logits, not 500 x vocab floats (98 MB) and their matmul.
    start = g.op("Neg", [g.op("Reshape", [LOGITS_TO_KEEP, g.const([1])])])
    h = g.op("Slice", [h, start, g.const([2 ** 62]), g.const([1])])
    h = g.rms_norm(h, tensors["model.norm.weight"], cfg.rms_norm_eps, "model.norm")
    head = emb_w if cfg.tie_word_embeddings else tensors["lm_head.weight"]
    if lm_head_precision is None:
        lm_head_precision = "fp32" if precision == "fp32" else "int8"
    if cfg.tie_word_embeddings and embed_precision == "int8" and lm_head_precision == "int8":
        logits = g.linear_tied_int8(h, emb_w, "model.embed_tokens")
    else:
        logits = g.linear(h, head.astype(np.float32), "lm_head", lm_head_precision)
    g.op("Identity", [logits], out=["logits"])
    return _model(g, inputs, outputs, "cmt_decoder")


# ----------------------------------------------------------------------------- compressor

def build_compressor(cfg: BaseConfig, tensors: dict[str, np.ndarray], cmt_cfg: CMTConfig,
                     cmt_tensors: dict[str, np.ndarray], precision: str = "fp32", block_size: int = 32,
                     accuracy_level: int = 4, embed_precision: str | None = None) -> onnx.ModelProto:
    """compressor.onnx (docs/model-pack.md), mirroring ``Compressor.forward``.

    ``cmt_tensors``: the Compressor's trainable state_dict entries (memory_tokens, slot_w1/b1/w2/b2,
    layers.{i}.self_attn.{q,k,v,o}_proj.lora_a / lora_b) as float32 numpy; stored as float16 where
    that is lossless (the recipe's weights are fp16). The base tensors (embedding, layers) get the
    decoder's names and, at the same precision, the same bytes: ``save_models`` stores them once.
    ``accuracy_level`` is MatMulNBits' (0 = fp32 activations: the graph then computes exactly the
    stored weights, as PyTorch does with the dequantized ones).
    """
    nl = cmt_cfg.compressor_layers
    _check_tensors(cfg, tensors, nl)
    g = _Graph(precision, block_size, accuracy_level)
    H = cfg.hidden_size
    kslots = cmt_cfg.memory_slots
    mem_tok = np.asarray(cmt_tensors["memory_tokens"], np.float32)
    if mem_tok.shape != (kslots, H):
        raise ValueError(f"memory_tokens shape {mem_tok.shape} != {(kslots, H)}")
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "sequence_length"])]
    outputs = [helper.make_tensor_value_info("memory", TensorProto.FLOAT, ["batch_size", kslots, H]),
               helper.make_tensor_value_info("key", TensorProto.FLOAT, ["batch_size", H])]
    embed_precision = embed_precision or default_embed_precision(precision)
    x = g.embedding("input_ids", tensors["model.embed_tokens.weight"].astype(np.float32),
                    "model.embed_tokens" if embed_precision == "int8" else "model.embed_tokens.weight", embed_precision)
    B = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const([0])], axis=0)  # [1]
    mem = g.op("Expand", [g.weight("memory_tokens", mem_tok[None]), g.op("Concat", [B, g.const([kslots, H])], axis=0)])
    h = g.op("Concat", [x, mem], axis=1)
    ones = g.op("Expand", [g.const(np.ones((1, kslots), np.int64)), g.op("Concat", [B, g.const([kslots])], axis=0)])
    mask = g.op("Concat", ["attention_mask", ones], axis=1)  # [B, T+k]
    pos = g.op("Max", [g.op("Sub", [g.op("CumSum", [mask, g.const(1)]), g.const(1)]), g.const(0)])
    S = g.op("Gather", [g.op("Shape", [mask]), g.const(1)], axis=0)
    bias = _attn_bias(g, mask, S, S)
    cos, sin = _rotary_cos_sin(g, pos, cfg)
    scale = float(cmt_cfg.lora_alpha) / float(cmt_cfg.lora_rank)
    for i in range(nl):
        lora = {n: (np.asarray(cmt_tensors[f"layers.{i}.self_attn.{n}_proj.lora_a"], np.float32),
                    np.asarray(cmt_tensors[f"layers.{i}.self_attn.{n}_proj.lora_b"], np.float32), scale)
                for n in ("q", "k", "v", "o")}
        h = _layer(g, cfg, tensors, i, h, cos, sin, bias, None, None, lora)
    slots = g.op("Slice", [h, g.const([-kslots]), g.const([np.iinfo(np.int64).max]), g.const([1])])
    slots = g.rms_norm(slots, tensors["model.norm.weight"], cfg.rms_norm_eps, "norm")  # [B,k,H]
    st = g.op("Transpose", [slots], perm=[1, 0, 2])  # [k,B,H]
    z = g.op("MatMul", [st, g.weight("slot_w1", np.asarray(cmt_tensors["slot_w1"], np.float32))])  # [k,B,F]
    z = g.op("Add", [g.op("Transpose", [z], perm=[1, 0, 2]), g.weight("slot_b1", np.asarray(cmt_tensors["slot_b1"], np.float32))])
    # exact GELU: x * 0.5 * (1 + erf(x / sqrt(2)))
    erf = g.op("Erf", [g.op("Mul", [z, g.const(1.0 / math.sqrt(2.0), np.float32)])])
    z = g.op("Mul", [g.op("Mul", [z, g.const(0.5, np.float32)]), g.op("Add", [erf, g.const(1.0, np.float32)])])
    y = g.op("MatMul", [g.op("Transpose", [z], perm=[1, 0, 2]), g.weight("slot_w2", np.asarray(cmt_tensors["slot_w2"], np.float32))])
    y = g.op("Transpose", [y], perm=[1, 0, 2])  # [B,k,H]
    memory = g.op("Add", [g.op("Add", [slots, y]), g.weight("slot_b2", np.asarray(cmt_tensors["slot_b2"], np.float32))],
                  out=["memory"])
    mean = g.op("ReduceMean", [memory], axes=[1], keepdims=0)
    norm = g.op("Max", [g.op("ReduceL2", [mean], axes=[-1], keepdims=1), g.const(1e-6, np.float32)])
    g.op("Div", [mean, norm], out=["key"])
    return _model(g, inputs, outputs, "cmt_compressor")


def save_model(model: onnx.ModelProto, path: str) -> None:
    """Write a model; above ~1.8 GB the weights go to an external data file next to it."""
    if model.ByteSize() > 1_800_000_000:
        import os
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data")
    else:
        onnx.save_model(model, path)


def save_models(models: dict[str, onnx.ModelProto], shared_path: str, min_bytes: int = 1 << 16,
                align: int = 4096, all_external: bool = True) -> dict[str, int]:
    """Write several graphs (path -> model) storing every large initializer in ``shared_path``, an
    ONNX external data file in the same folder that each graph references by (location, offset,
    length); one that more than one graph holds (same name, same bytes) is stored once.
    ``all_external`` False: only the shared ones go there, the rest stays inline.
    Why external: onnxruntime maps external data into memory on CPU, while inline weights are read
    into the parsed model and copied again into tensors, and that heap does not shrink back after
    load (the int8 decoder: 339 vs 297 MiB resident after load).  onnxruntime reads only the ranges
    a graph names. Nothing to store: no file is written.
    Returns the bytes written per file (``shared_path`` included when written)."""
    import hashlib
    import os

    def key(t: onnx.TensorProto):
        return (t.name, hashlib.sha256(t.raw_data).hexdigest()) if t.HasField("raw_data") and len(t.raw_data) >= min_bytes else None

    seen: dict[tuple[str, str], int] = {}
    for m in models.values():
        for k in {key(t) for t in m.graph.initializer} - {None}:
            seen[k] = seen.get(k, 0) + 1
    shared = {k for k, n in seen.items() if n > 1 or all_external}
    sizes: dict[str, int] = {}
    loc: dict[tuple[str, str], tuple[int, int]] = {}
    if shared:
        folder = {os.path.dirname(os.path.abspath(p)) for p in models}
        if folder != {os.path.dirname(os.path.abspath(shared_path))}:
            raise ValueError("save_models: the graphs and the shared data file must be in one folder")
        with open(shared_path, "wb") as f:
            for m in models.values():
                for t in m.graph.initializer:
                    k = key(t)
                    if k in shared and k not in loc:
                        pad = (-f.tell()) % align
                        f.write(b"\0" * pad)
                        loc[k] = (f.tell(), len(t.raw_data))
                        f.write(t.raw_data)
            sizes[shared_path] = f.tell()
    for path, m in models.items():
        m = onnx.ModelProto.FromString(m.SerializeToString()) if shared else m  # the caller's models stay whole
        for t in m.graph.initializer:
            k = key(t)
            if k in shared:
                off, n = loc[k]
                t.ClearField("raw_data")
                t.data_location = onnx.TensorProto.EXTERNAL
                del t.external_data[:]
                for name, value in (("location", os.path.basename(shared_path)), ("offset", str(off)), ("length", str(n))):
                    e = t.external_data.add()
                    e.key, e.value = name, value
        save_model(m, path)
        sizes[path] = os.path.getsize(path)
    return sizes
