"""cmt.pack.embedder.build_bert_onnx: the int8 graph (MatMulNBits + GatherBlockQuantized, quantized at
pack-build time from the fp32 weights) computes its stored weights and stays close to the fp32 graph.
The fp32 graph's parity with transformers' BertModel is test/core/embed.test.ts (on the real model)."""
import unittest

import numpy as np

try:
    import onnxruntime as ort
except ImportError:  # pragma: no cover
    ort = None

from cmt.pack.embedder import build_bert_onnx
from cmt.pack.quantize import dequantize_blockwise, quantize_int8_f16

CFG = {"hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128,
       "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "absolute"}


def random_bert(seed=0, vocab=300, positions=64):
    rng = np.random.default_rng(seed)
    H, INTER = CFG["hidden_size"], CFG["intermediate_size"]
    st = {"embeddings.word_embeddings.weight": rng.normal(0, 0.5, (vocab, H)),
          "embeddings.position_embeddings.weight": rng.normal(0, 0.1, (positions, H)),
          "embeddings.token_type_embeddings.weight": rng.normal(0, 0.1, (2, H)),
          "embeddings.LayerNorm.weight": 1 + rng.normal(0, 0.1, H), "embeddings.LayerNorm.bias": rng.normal(0, 0.1, H)}
    for i in range(CFG["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name, (n, k) in {"attention.self.query": (H, H), "attention.self.key": (H, H), "attention.self.value": (H, H),
                             "attention.output.dense": (H, H), "intermediate.dense": (INTER, H), "output.dense": (H, INTER)}.items():
            st[p + name + ".weight"] = rng.normal(0, 1 / np.sqrt(k), (n, k))
            st[p + name + ".bias"] = rng.normal(0, 0.05, n)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            st[p + ln + ".weight"] = 1 + rng.normal(0, 0.1, H)
            st[p + ln + ".bias"] = rng.normal(0, 0.1, H)
    return {k: np.asarray(v, np.float32) for k, v in st.items()}


def run(model, ids, mask):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]


def pooled(h, mask):
    m = mask[:, :, None].astype(np.float32)
    v = (h * m).sum(1) / m.sum(1)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@unittest.skipIf(ort is None, "onnxruntime not installed")
class EmbedderGraphTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(1)
        self.ids = rng.integers(1, 300, size=(3, 12)).astype(np.int64)
        self.mask = np.ones((3, 12), np.int64)
        self.mask[2, 7:] = 0

    def test_int8_computes_its_stored_weights(self):
        st = random_bert()
        dq = dict(st)
        for k, v in st.items():
            if v.ndim == 2 and "position" not in k and "token_type" not in k:
                packed, s16 = quantize_int8_f16(v, 32)
                dq[k] = dequantize_blockwise(packed, s16.astype(np.float32), None, 8, 32, v.shape[1])
        ref = run(build_bert_onnx(dq, CFG, "fp32"), self.ids, self.mask)
        q8 = build_bert_onnx(st, CFG, "int8")
        ops = {n.op_type for n in q8.graph.node}
        self.assertIn("GatherBlockQuantized", ops)
        self.assertNotIn("MatMulNBits", ops)  # linear layers: int8 on disk, fp32 MatMul after the load-time fold
        got = run(q8, self.ids, self.mask)
        self.assertLess(float(np.abs(got - ref).max()), 1e-4)

    def test_int8_sentence_vectors_stay_close_to_fp32(self):
        st = random_bert()
        fp = build_bert_onnx(st, CFG, "fp32")
        q8 = build_bert_onnx(st, CFG, "int8")
        self.assertLess(q8.ByteSize(), fp.ByteSize() / 2.5)
        a = pooled(run(fp, self.ids, self.mask), self.mask)
        b = pooled(run(q8, self.ids, self.mask), self.mask)
        self.assertGreater(float((a * b).sum(-1).min()), 0.999)


if __name__ == "__main__":
    unittest.main()
