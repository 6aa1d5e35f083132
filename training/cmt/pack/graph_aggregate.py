"""aggregator.onnx (ψ then π) written with ``onnx.helper`` from numpy weights: no torch needed.

Mirrors ``cmt.model.aggregate.Aggregator.forward`` op for op (pre-LayerNorm cross-attention blocks with
an always-visible null memory, exact-erf GELU MLP, final LayerNorm, then one linear map to every
layer's key/value prefix). Contract: aggregator.onnx in docs/model-pack.md. ``tensors`` are the
Aggregator module's state_dict names (blocks.0.ln_q.weight, ..., align.weight), float32; weights
whose values are all float16 values (the recipe's are) are stored as float16, losslessly.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..config import CMTConfig
from .quantize import lossless_f16

OPSET = 17
NEG = -1e9  # as aggregate.NEG


class _G:
    """A tiny graph-building helper: unique names, initializers, nodes."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value, hint: str = "c", dtype=np.float32) -> str:
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), n))
        return n

    def weight(self, arr: np.ndarray, name: str) -> str:
        """A float32 weight; stored as float16 (read through a Cast that onnxruntime folds at load) when
        that loses nothing: the recipe's trained weights are saved in fp16, so the graph still computes
        exactly what PyTorch computes with them, at half the size."""
        a = np.ascontiguousarray(arr, dtype=np.float32)
        if a.size >= 1024 and lossless_f16(a):
            self.inits.append(numpy_helper.from_array(a.astype(np.float16), name + "_f16"))
            return self.op("Cast", [name + "_f16"], hint=name, to=TensorProto.FLOAT)
        self.inits.append(numpy_helper.from_array(a, name))
        return name

    def op(self, op_type: str, inputs, hint: str = None, n_out: int = 1, **attrs):
        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x: str, w: np.ndarray, b: np.ndarray, prefix: str) -> str:
        """x @ w.T + b for a torch nn.Linear weight w [out, in]."""
        y = self.op("MatMul", [x, self.weight(w.T, prefix + ".weight_t")])
        return self.op("Add", [y, self.weight(b, prefix + ".bias")])

    def layer_norm(self, x: str, t: dict[str, np.ndarray], prefix: str) -> str:
        return self.op("LayerNormalization", [x, self.weight(t[prefix + ".weight"], prefix + ".weight"),
                                              self.weight(t[prefix + ".bias"], prefix + ".bias")],
                       axis=-1, epsilon=1e-5)

    def gelu(self, x: str) -> str:
        e = self.op("Erf", [self.op("Div", [x, self.const(math.sqrt(2.0))])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, self.const(1.0)])]), self.const(0.5)])


def _block(g: _G, x: str, mem: str, bias: str, t: dict[str, np.ndarray], p: str, heads: int, dim: int,
           residual: bool = True) -> str:
    hd = dim // heads
    q = g.linear(g.layer_norm(x, t, p + ".ln_q"), t[p + ".q.weight"], t[p + ".q.bias"], p + ".q")
    q = g.op("Transpose", [g.op("Reshape", [q, g.const([0, -1, heads, hd], dtype=np.int64)])], perm=[0, 2, 1, 3])
    kv = g.linear(g.layer_norm(mem, t, p + ".ln_kv"), t[p + ".kv.weight"], t[p + ".kv.bias"], p + ".kv")
    kv = g.op("Transpose", [g.op("Reshape", [kv, g.const([0, -1, 2, heads, hd], dtype=np.int64)])], perm=[2, 0, 3, 1, 4])
    k = g.op("Gather", [kv, g.const(0, dtype=np.int64)], axis=0)
    v = g.op("Gather", [kv, g.const(1, dtype=np.int64)], axis=0)
    att = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    att = g.op("Add", [g.op("Mul", [att, g.const(hd ** -0.5)]), bias])
    y = g.op("MatMul", [g.op("Softmax", [att], axis=-1), v])
    y = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), g.const([0, -1, dim], dtype=np.int64)])
    out = g.linear(y, t[p + ".out.weight"], t[p + ".out.bias"], p + ".out")
    x = g.op("Add", [x, out]) if residual else out
    h = g.linear(g.layer_norm(x, t, p + ".ln_mlp"), t[p + ".mlp.0.weight"], t[p + ".mlp.0.bias"], p + ".mlp.0")
    h = g.linear(g.gelu(h), t[p + ".mlp.2.weight"], t[p + ".mlp.2.bias"], p + ".mlp.2")
    return g.op("Add", [x, h])


def build_aggregator(cfg: CMTConfig, tensors: dict[str, np.ndarray], memory_dim: int, num_layers: int,
                     num_kv_heads: int, head_dim: int) -> onnx.ModelProto:
    k, d, r = cfg.memory_slots, memory_dim, cfg.prefix_per_slot
    t = {name: np.asarray(v, dtype=np.float32) for name, v in tensors.items()}
    g = _G()
    # ψ: the null memory plus the K selected memories' slots, masked by memory_mask.
    shape_b = g.op("Slice", [g.op("Shape", ["question_memory"]), g.const([0], dtype=np.int64), g.const([1], dtype=np.int64)])
    null_shape = g.op("Concat", [shape_b, g.const([1, d], dtype=np.int64)], axis=0)
    null = g.op("Expand", [g.weight(t["null_memory"], "null_memory"), null_shape])
    flat = g.op("Reshape", ["memories", g.const([0, -1, d], dtype=np.int64)])
    mem = g.op("Concat", [null, flat], axis=1)
    m = g.op("Cast", ["memory_mask"], to=TensorProto.FLOAT)
    m = g.op("Unsqueeze", [m, g.const([2], dtype=np.int64)])
    m = g.op("Expand", [m, g.const([1, 1, k], dtype=np.int64)])
    m = g.op("Reshape", [m, g.const([0, -1], dtype=np.int64)])
    ones = g.op("Add", [g.op("Mul", [g.op("Slice", [m, g.const([0], dtype=np.int64), g.const([1], dtype=np.int64),
                                                    g.const([1], dtype=np.int64)]), g.const(0.0)]), g.const(1.0)])
    visible = g.op("Concat", [ones, m], axis=1)
    bias = g.op("Mul", [g.op("Sub", [g.const(1.0), visible]), g.const(NEG)])
    bias = g.op("Unsqueeze", [bias, g.const([1, 2], dtype=np.int64)])
    x = "question_memory"
    for i in range(cfg.aggregator_layers):
        x = _block(g, x, mem, bias, t, f"blocks.{i}", cfg.aggregator_heads, d, residual=cfg.query_residual or i > 0)
    x = g.layer_norm(x, t, "ln_out")
    # π: every slot becomes r prefix tokens in every layer, for keys and values.
    p = g.linear(x, t["align.weight"], t["align.bias"], "align")
    p = g.op("Reshape", [p, g.const([0, k, num_layers, 2, r, num_kv_heads, head_dim], dtype=np.int64)])
    p = g.op("Transpose", [p], perm=[2, 3, 0, 5, 1, 4, 6])
    p = g.op("Reshape", [p, g.const([num_layers, 2, 0, num_kv_heads, k * r, head_dim], dtype=np.int64)])
    outputs = []
    for layer in range(num_layers):
        pl = g.op("Gather", [p, g.const(layer, dtype=np.int64)], axis=0)
        for j, kind in enumerate(("key", "value")):
            name = f"prefix.{layer}.{kind}"
            g.nodes.append(helper.make_node("Gather", [pl, g.const(j, dtype=np.int64)], [name], axis=0))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["B", num_kv_heads, k * r, head_dim]))
    inputs = [
        helper.make_tensor_value_info("question_memory", TensorProto.FLOAT, ["B", k, d]),
        helper.make_tensor_value_info("memories", TensorProto.FLOAT, ["B", "K", k, d]),
        helper.make_tensor_value_info("memory_mask", TensorProto.INT64, ["B", "K"]),
    ]
    graph = helper.make_graph(g.nodes, "cmt_aggregator", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="cmt.graph_aggregate")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
