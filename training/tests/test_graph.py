"""cmt.pack.graph: decoder.onnx / compressor.onnx written with onnx.helper from numpy weights must
compute what base.py / compress.py compute (onnxruntime vs torch), including a memory prefix
(past with position_ids starting at 0), a masked prefix row, right padding, batch 2 and cache
continuation; quantized precisions stay close to fp32."""
import dataclasses
import unittest

import numpy as np
import onnx
import torch

try:
    import onnxruntime as ort
except ImportError:  # pragma: no cover
    ort = None

from cmt.config import BaseConfig, CMTConfig
from cmt.model.base import LlamaForCausalLM
from cmt.model.compress import Compressor
from cmt.pack.graph import build_compressor, build_decoder, save_models
from cmt.pack.quantize import dequantize_blockwise, dequantize_q4_min, quantize_blockwise, quantize_int8_f16, quantize_q4_min

CFG = BaseConfig(vocab_size=600, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0)
CMT = CMTConfig(memory_slots=3, compressor_layers=1, lora_rank=4, lora_alpha=8.0, slot_hidden=16)
TOL = 1e-4


def tiny_base(seed=0):
    """Random base with weights large enough that attention and logits are far from uniform."""
    torch.manual_seed(seed)
    m = LlamaForCausalLM(CFG)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.15)
    m.eval()
    return m


def np_tensors(model):
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items() if not k.startswith("rotary.")}
    sd.pop("lm_head.weight", None)  # tied
    return sd


def session(model_proto):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_proto.SerializeToString(), so, providers=["CPUExecutionProvider"])


def run_decoder(sess, ids, mask, pos, past, logits_to_keep=0):
    feeds = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64), "position_ids": pos.astype(np.int64),
             "logits_to_keep": np.array(logits_to_keep, np.int64)}
    for i, (k, v) in enumerate(past):
        feeds[f"past_key_values.{i}.key"] = k.astype(np.float32)
        feeds[f"past_key_values.{i}.value"] = v.astype(np.float32)
    names = ["logits"] + [f"present.{i}.{kv}" for i in range(CFG.num_hidden_layers) for kv in ("key", "value")]
    out = sess.run(names, feeds)
    return out[0], [(out[1 + 2 * i], out[2 + 2 * i]) for i in range(CFG.num_hidden_layers)]


def empty_past(B):
    return [(np.zeros((B, CFG.num_key_value_heads, 0, CFG.hd), np.float32),) * 2 for _ in range(CFG.num_hidden_layers)]


def torch_decoder(model, ids, mask, pos, past):
    with torch.no_grad():
        pkv = None if past[0][0].shape[2] == 0 else [(torch.from_numpy(k), torch.from_numpy(v)) for k, v in past]
        logits, presents = model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(pos), pkv)
    return logits.numpy(), [(k.numpy(), v.numpy()) for k, v in presents]


@unittest.skipIf(ort is None, "onnxruntime not installed")
class DecoderGraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = tiny_base()
        cls.tensors = np_tensors(cls.model)
        cls.fp32 = session(build_decoder(CFG, cls.tensors, "fp32"))
        rng = np.random.default_rng(1)
        cls.ids = rng.integers(3, CFG.vocab_size, size=(2, 7)).astype(np.int64)
        cls.mask = np.ones((2, 7), np.int64)
        cls.mask[1, 5:] = 0  # right padding
        cls.pos = np.tile(np.arange(7), (2, 1)).astype(np.int64)

    def assertClose(self, a, b, tol=TOL, what=""):
        self.assertEqual(a.shape, b.shape, what)
        d = float(np.abs(a - b).max()) if a.size else 0.0
        self.assertLessEqual(d, tol, f"{what}: max abs diff {d}")

    def compare(self, ids, mask, pos, past):
        ref_l, ref_p = torch_decoder(self.model, ids, mask, pos, past)
        got_l, got_p = run_decoder(self.fp32, ids, mask, pos, past)
        # only positions whose token is real are meaningful for padded rows, but the graph must match everywhere
        self.assertClose(got_l, ref_l, what="logits")
        for i in range(CFG.num_hidden_layers):
            self.assertClose(got_p[i][0], ref_p[i][0], what=f"present.{i}.key")
            self.assertClose(got_p[i][1], ref_p[i][1], what=f"present.{i}.value")
        self.assertGreater(float(np.abs(ref_l).max()), 0.5, "logits too small for a meaningful comparison")
        return got_l, got_p

    def test_inputs_outputs_follow_the_contract(self):
        ins = [i.name for i in self.fp32.get_inputs()]
        outs = [o.name for o in self.fp32.get_outputs()]
        self.assertEqual(ins[:4], ["input_ids", "attention_mask", "position_ids", "logits_to_keep"])
        self.assertEqual(ins[4:], [f"past_key_values.{i}.{kv}" for i in range(2) for kv in ("key", "value")])
        self.assertEqual(outs, ["logits"] + [f"present.{i}.{kv}" for i in range(2) for kv in ("key", "value")])

    def test_logits_to_keep_gives_the_last_rows_and_the_whole_cache(self):
        all_l, all_p = run_decoder(self.fp32, self.ids, self.mask, self.pos, empty_past(2), 0)
        for keep in (1, 3, 7, 50):
            got_l, got_p = run_decoder(self.fp32, self.ids, self.mask, self.pos, empty_past(2), keep)
            self.assertClose(got_l, all_l[:, -min(keep, 7):], tol=1e-5, what=f"logits_to_keep={keep}")
            for (k, v), (k0, v0) in zip(got_p, all_p, strict=True):
                self.assertClose(k, k0, tol=0.0, what="present key")
                self.assertClose(v, v0, tol=0.0, what="present value")

    def test_fp32_no_past_right_padding_batch2(self):
        self.compare(self.ids, self.mask, self.pos, empty_past(2))

    def test_fp32_memory_prefix_positions_from_zero(self):
        rng = np.random.default_rng(2)
        P = 3
        past = [(rng.normal(size=(2, CFG.num_key_value_heads, P, CFG.hd)).astype(np.float32),
                 rng.normal(size=(2, CFG.num_key_value_heads, P, CFG.hd)).astype(np.float32))
                for _ in range(CFG.num_hidden_layers)]
        mask = np.concatenate([np.ones((2, P), np.int64), self.mask], axis=1)
        mask[1, :P] = 0  # contrast row: prefix masked out
        logits, _ = self.compare(self.ids, mask, self.pos, past)
        # the prefix matters (row 0) and positions are not offset by past
        no_prefix, _ = torch_decoder(self.model, self.ids, self.mask, self.pos, empty_past(2))
        self.assertGreater(float(np.abs(logits[0] - no_prefix[0]).max()), 100 * TOL)
        shifted, _ = torch_decoder(self.model, self.ids, mask, self.pos + P, past)
        self.assertGreater(float(np.abs(logits - shifted).max()), 100 * TOL)

    def test_fp32_fused_rope_matches_torch(self):
        sess = session(build_decoder(CFG, self.tensors, "fp32", fused_rope=True))
        rng = np.random.default_rng(3)
        past = [(rng.normal(size=(2, CFG.num_key_value_heads, 2, CFG.hd)).astype(np.float32),) * 2
                for _ in range(CFG.num_hidden_layers)]
        mask = np.concatenate([np.ones((2, 2), np.int64), self.mask], axis=1)
        pos = self.pos + np.array([[0], [40]])
        ref, _ = torch_decoder(self.model, self.ids, mask, pos, past)
        got, _ = run_decoder(sess, self.ids, mask, pos, past)
        self.assertClose(got, ref, what="fused rope logits")

    def test_fp32_cache_continuation_matches_full_pass(self):
        ids = self.ids[:1]
        full, _ = run_decoder(self.fp32, ids, np.ones((1, 7), np.int64), self.pos[:1], empty_past(1))
        first, past = run_decoder(self.fp32, ids[:, :4], np.ones((1, 4), np.int64), self.pos[:1, :4], empty_past(1))
        for t in range(4, 7):
            step, past = self.compare(ids[:, t:t + 1], np.ones((1, t + 1), np.int64), np.array([[t]], np.int64), past)
            self.assertClose(step[0, 0], full[0, t], what=f"step {t}")
        self.assertClose(first[0], full[0, :4], what="prefill")

    def test_shared_buffer_gqa_decoder_matches_torch(self):
        """kv_cache="shared-buffer" (GroupQueryAttention): the engine's protocol -- one [B,Hkv,M,D] buffer per
        layer fed as past and bound as present (appended in place); a memory prefix in row 0's first P slots,
        a contrast row without it (its cache holds the prompt only), each row's prompt run alone, then
        batched steps with per-row lengths (right padding) -- gives torch's logits with the prefix masked."""
        sess = session(build_decoder(CFG, self.tensors, "fp32", kv_cache="shared-buffer"))
        rng = np.random.default_rng(4)
        P, T, N, Hkv, D, L = 3, 5, 3, CFG.num_key_value_heads, CFG.hd, CFG.num_hidden_layers
        M = P + T + N
        prefix = [(rng.normal(size=(1, Hkv, P, D)).astype(np.float32), rng.normal(size=(1, Hkv, P, D)).astype(np.float32))
                  for _ in range(L)]
        bufs = [[np.zeros((2, Hkv, M, D), np.float32) for _ in range(2)] for _ in range(L)]
        for i in range(L):
            bufs[i][0][0, :, :P], bufs[i][1][0, :, :P] = prefix[i]
        vals = [[ort.OrtValue.ortvalue_from_numpy(b) for b in layer] for layer in bufs]
        rows = [[ort.OrtValue.ortvalue_from_numpy(b[r:r + 1]) for b in layer] for r in range(2) for layer in bufs]

        def run(ids, lens, pos, kv):  # kv: per layer (key, value) OrtValues, fed and bound in place
            io = sess.io_binding()
            S = max(lens)
            mask = np.array([[1] * n + [0] * (S - n) for n in lens], np.int64)
            for n, a in (("input_ids", ids), ("attention_mask", mask), ("position_ids", pos), ("logits_to_keep", np.array(1, np.int64))):
                io.bind_cpu_input(n, a)
            io.bind_output("logits")
            for i, (k, v) in enumerate(kv):
                io.bind_ortvalue_input(f"past_key_values.{i}.key", k)
                io.bind_ortvalue_input(f"past_key_values.{i}.value", v)
                io.bind_ortvalue_output(f"present.{i}.key", k)
                io.bind_ortvalue_output(f"present.{i}.value", v)
            sess.run_with_iobinding(io)
            return io.copy_outputs_to_cpu()[0][:, -1]

        ids = rng.integers(3, CFG.vocab_size, size=(1, T + N - 1)).astype(np.int64)
        pos = np.arange(T + N - 1)[None]
        got = [np.concatenate([run(ids[:, :T], [P * (1 - r) + T], pos[:, :T], rows[r * L:(r + 1) * L]) for r in range(2)])]
        for t in range(T, T + N - 1):
            got.append(run(np.repeat(ids[:, t:t + 1], 2, 0), [P + t + 1, t + 1], np.repeat(pos[:, t:t + 1], 2, 0), vals))
        for b in (bufs[0][0], bufs[0][1]):  # the appended keys/values landed in the shared buffers
            self.assertGreater(float(np.abs(b[0, :, P + T + N - 2]).max()), 0.0)
            self.assertGreater(float(np.abs(b[1, :, T + N - 2]).max()), 0.0)
        past2 = [(np.concatenate([k, k]), np.concatenate([v, v])) for k, v in prefix]
        mask = np.ones((2, P + T + N - 1), np.int64)
        mask[1, :P] = 0  # the contrast row: prefix masked out
        ref, _ = torch_decoder(self.model, np.repeat(ids, 2, 0), mask, np.repeat(pos, 2, 0), past2)
        for j, g in enumerate(got):
            self.assertClose(g, ref[:, T - 1 + j], what=f"step {j}")
        # the plain protocol (no shared buffer: past of length P, present = past + new) gives the same
        plain, _ = run_decoder(sess, ids[:, :T], np.ones((1, P + T), np.int64), pos[:, :T], prefix)
        self.assertClose(plain[0, -1], got[0][0], what="plain feeds")

    def dequantized_reference(self, bits, float_zp):
        """fp32 graph (untied lm_head) of exactly the weights a quantized graph stores."""
        dq = {}
        for k, v in self.tensors.items():
            if v.ndim == 2:
                p, s, z = quantize_blockwise(v, bits, 32, float_zero_point=float_zp)
                dq[k] = dequantize_blockwise(p, s, z, bits, 32, v.shape[1])
            else:
                dq[k] = v
        dq["lm_head.weight"] = dq["model.embed_tokens.weight"]
        dq["model.embed_tokens.weight"] = self.tensors["model.embed_tokens.weight"]  # the embedding stays fp32
        cfg = dataclasses.replace(CFG, tie_word_embeddings=False)
        return run_decoder(session(build_decoder(cfg, dq, "fp32")), self.ids, self.mask, self.pos, empty_past(2))[0]

    def test_quantized_graphs_compute_their_dequantized_weights(self):
        # Random weights have no structure, so 4-bit error on them is large; what must hold exactly is
        # that MatMulNBits computes the dequantized weights (layout, packing, zero points, fused qkv).
        real = self.mask.astype(bool)
        fp32 = run_decoder(self.fp32, self.ids, self.mask, self.pos, empty_past(2))[0]
        for prec, bits, fz in (("int8", 8, False), ("int4", 4, False), ("int4f", 4, True)):
            with self.subTest(prec):
                ref = self.dequantized_reference(bits, fz)
                self.assertGreater(float(np.abs(ref - fp32).max()), 100 * TOL, "quantization changed nothing?")
                exact = session(build_decoder(CFG, self.tensors, prec, lm_head_precision=prec, accuracy_level=0,
                                              embed_precision="fp32"))
                got, pres = run_decoder(exact, self.ids, self.mask, self.pos, empty_past(2))
                self.assertClose(got, ref, what=f"{prec} accuracy_level=0")
                self.assertEqual(pres[0][0].shape, (2, CFG.num_key_value_heads, 7, CFG.hd))
                # default: int8 activations (accuracy_level=4) -- close, same argmax almost everywhere
                fast = session(build_decoder(CFG, self.tensors, prec, lm_head_precision=prec, embed_precision="fp32"))
                got = run_decoder(fast, self.ids, self.mask, self.pos, empty_past(2))[0]
                rel = np.abs(got - ref)[real].max() / np.abs(ref[real]).max()
                self.assertLessEqual(rel, 0.1, f"{prec}: relative max diff {rel}")
                agree = (got.argmax(-1) == ref.argmax(-1))[real].mean()
                self.assertGreaterEqual(agree, 0.8, f"{prec}: top-1 agreement {agree}")


    def test_q4_1_graph_computes_its_stored_weights(self):
        # q4_1: every layer as q*d + m blocks (MatMulNBits without zero points + the block-sum offset
        # MatMul), the embedding and the tied lm_head as ONE int8 table read by GatherBlockQuantized
        # and MatMulNBits. With fp32 activations it computes exactly those weights.
        real = self.mask.astype(bool)
        ref = run_decoder(session(build_decoder(CFG, q4_1_weights(self.tensors), "fp32")), self.ids, self.mask, self.pos,
                          empty_past(2))[0]
        fp32 = run_decoder(self.fp32, self.ids, self.mask, self.pos, empty_past(2))[0]
        self.assertGreater(float(np.abs(ref - fp32).max()), 100 * TOL, "quantization changed nothing?")
        proto = build_decoder(CFG, self.tensors, "q4_1", accuracy_level=0)
        tables = [i for i in proto.graph.initializer if i.name.startswith("model.embed_tokens")]
        self.assertEqual(sorted(i.name for i in tables), ["model.embed_tokens.qweight", "model.embed_tokens.scales_f16"])
        users = [n.op_type for n in proto.graph.node if "model.embed_tokens.qweight" in n.input]
        self.assertEqual(sorted(users), ["GatherBlockQuantized", "MatMulNBits"])  # one copy, two readers
        got, pres = run_decoder(session(proto), self.ids, self.mask, self.pos, empty_past(2))
        self.assertClose(got, ref, what="q4_1 accuracy_level=0")
        self.assertEqual(pres[0][0].shape, (2, CFG.num_key_value_heads, 7, CFG.hd))
        fast = session(build_decoder(CFG, self.tensors, "q4_1"))  # int8 activations
        got = run_decoder(fast, self.ids, self.mask, self.pos, empty_past(2))[0]
        rel = np.abs(got - ref)[real].max() / np.abs(ref[real]).max()
        self.assertLessEqual(rel, 0.1, f"q4_1: relative max diff {rel}")
        self.assertGreaterEqual((got.argmax(-1) == ref.argmax(-1))[real].mean(), 0.8)

    def test_save_models_stores_the_shared_base_tensors_once(self):
        import os
        import tempfile
        comp = build_compressor(CFG, self.tensors, CMT, random_cmt_tensors(), "q4_1", accuracy_level=0)
        dec = build_decoder(CFG, self.tensors, "q4_1")
        want = run_decoder(session(dec), self.ids, self.mask, self.pos, empty_past(2))[0]
        want_m = session(comp).run(["memory"], {"input_ids": self.ids, "attention_mask": self.mask})[0]
        with tempfile.TemporaryDirectory() as d:
            sizes = save_models({os.path.join(d, "decoder.onnx"): dec, os.path.join(d, "compressor.onnx"): comp},
                                os.path.join(d, "base.onnx.data"), min_bytes=1024)
            self.assertEqual(sorted(os.listdir(d)), ["base.onnx.data", "compressor.onnx", "decoder.onnx"])
            shared = [i.name for i in dec.graph.initializer if i.name.startswith(("model.embed_tokens", "model.layers.0."))
                      and len(i.raw_data) >= 1024]
            self.assertIn("model.embed_tokens.qweight", shared)
            self.assertIn("model.layers.0.self_attn.qkv_proj.qweight", shared)
            self.assertGreaterEqual(sizes[os.path.join(d, "base.onnx.data")], sum(
                len(i.raw_data) for i in dec.graph.initializer if i.name in shared))
            self.assertLess(sizes[os.path.join(d, "compressor.onnx")], comp.ByteSize() / 2)
            # every large tensor is external (mapped by onnxruntime), each shared one stored once
            saved = onnx.load(os.path.join(d, "decoder.onnx"), load_external_data=False)
            self.assertEqual([i.name for i in saved.graph.initializer if len(i.raw_data) >= 1024], [])
            def big(m):
                return {(i.name, i.raw_data) for i in m.graph.initializer if len(i.raw_data) >= 1024}
            both = big(dec) | big(comp)
            self.assertLess(sizes[os.path.join(d, "base.onnx.data")], sum(len(r) for _, r in both) + 4096 * (len(both) + 1))
            self.assertLess(sizes[os.path.join(d, "base.onnx.data")], sum(len(r) for _, r in big(dec)) + sum(len(r) for _, r in big(comp)))
            so = ort.SessionOptions()
            so.intra_op_num_threads = 2
            got = run_decoder(ort.InferenceSession(os.path.join(d, "decoder.onnx"), so, providers=["CPUExecutionProvider"]),
                              self.ids, self.mask, self.pos, empty_past(2))[0]
            got_m = ort.InferenceSession(os.path.join(d, "compressor.onnx"), so, providers=["CPUExecutionProvider"]).run(
                ["memory"], {"input_ids": self.ids, "attention_mask": self.mask})[0]
        self.assertClose(got, want, tol=0.0, what="decoder from files")
        self.assertClose(got_m, want_m, tol=0.0, what="compressor from files")


def q4_1_weights(tensors):
    """The weights a q4_1 graph stores, dequantized: layers as q*d+m blocks, the embedding as int8 blocks."""
    dq = {}
    for k, v in tensors.items():
        if v.ndim == 2 and k != "model.embed_tokens.weight":
            dq[k] = dequantize_q4_min(*quantize_q4_min(v, 32), 32)
        else:
            dq[k] = v
    emb = tensors["model.embed_tokens.weight"]
    packed, s16 = quantize_int8_f16(emb, 32)
    dq["model.embed_tokens.weight"] = dequantize_blockwise(packed, s16.astype(np.float32), None, 8, 32, emb.shape[1])
    return dq


def random_cmt_tensors(seed=4, fp16=False):
    """Trainable compressor weights (LoRA, memory tokens, slot MLP) of a Compressor(tiny_base(), CMT)."""
    base = tiny_base(3)
    torch.manual_seed(seed)
    comp = Compressor(base, CMT)
    with torch.no_grad():
        for _, p in comp.named_parameters():
            if p.requires_grad:
                p.normal_(0.0, 0.2)
                if fp16:
                    p.copy_(p.half().float())
    return {k: v.detach().numpy().astype(np.float32) for k, v in comp.named_parameters() if v.requires_grad}


class QuantizeTest(unittest.TestCase):
    def test_q4_1_blocks_repack_losslessly_on_the_fast_path(self):
        # quantize_q4_min keeps GGUF Q4_1's form (q*d + m, d and m float16): exact, with no float zero point
        rng = np.random.default_rng(1)
        d = rng.uniform(0.01, 0.1, size=(4, 2, 1)).astype(np.float16)
        m = rng.uniform(-0.5, 0.0, size=(4, 2, 1)).astype(np.float16)
        q = rng.integers(0, 16, size=(4, 2, 32)).astype(np.float32)
        q[:, :, 0], q[:, :, 1] = 0, 15  # ggml's Q4_1 always uses both ends
        w = (d.astype(np.float32) * q + m.astype(np.float32)).reshape(4, 64)
        packed, d16, m16 = quantize_q4_min(w, 32)
        self.assertEqual(packed.shape, (4, 2, 16))
        self.assertTrue(np.array_equal(d16, d.reshape(-1)) and np.array_equal(m16, m.reshape(4, 2)))
        self.assertTrue(np.array_equal(dequantize_q4_min(packed, d16, m16, 32), w))

    def test_q4_min_error_bounded_by_half_step(self):
        w = np.random.default_rng(0).normal(size=(5, 96)).astype(np.float32)
        packed, d16, m16 = quantize_q4_min(w, 32)
        back = dequantize_q4_min(packed, d16, m16, 32)
        step = np.repeat(d16.astype(np.float32).reshape(5, 3), 32, axis=1)
        self.assertTrue(np.all(np.abs(back - w) <= 0.5 * step + 1e-3 * np.abs(w).max()))
        self.assertGreater(float(np.abs(back - w).max()), 0.0)

    def test_q8_0_blocks_repack_losslessly_with_float16_scales(self):
        rng = np.random.default_rng(2)
        d = rng.uniform(0.001, 0.01, size=(3, 2, 1)).astype(np.float16)
        q = rng.integers(-127, 128, size=(3, 2, 32)).astype(np.float32)
        q[:, :, 0] = -127
        w = (d.astype(np.float32) * q).reshape(3, 64)
        packed, s16 = quantize_int8_f16(w, 32)
        self.assertTrue(np.array_equal(s16, d.reshape(-1)))
        self.assertTrue(np.array_equal(dequantize_blockwise(packed, s16.astype(np.float32), None, 8, 32, 64), w))
        w = rng.normal(size=(3, 64)).astype(np.float32)  # any weights: within half a step, never clipped
        packed, s16 = quantize_int8_f16(w, 32)
        back = dequantize_blockwise(packed, s16.astype(np.float32), None, 8, 32, 64)
        self.assertTrue(np.all(np.abs(back - w) <= 0.5 * np.repeat(s16.astype(np.float32).reshape(3, 2), 32, axis=1) + 1e-7))

    def test_roundtrip_error_bounded_by_half_step(self):
        rng = np.random.default_rng(0)
        w = rng.normal(size=(5, 96)).astype(np.float32)
        for bits, fz in ((8, False), (4, False), (4, True)):
            packed, scales, zp = quantize_blockwise(w, bits, 32, float_zero_point=fz)
            self.assertEqual(packed.shape, (5, 3, 32 * bits // 8))
            back = dequantize_blockwise(packed, scales, zp, bits, 32, 96)
            step = np.repeat(scales.reshape(5, 3), 32, axis=1)
            self.assertTrue(np.all(np.abs(back - w) <= 0.5 * step + 1e-6), (bits, fz))
            self.assertGreater(float(np.abs(back - w).max()), 0.0)

    def test_q4_1_blocks_repack_losslessly_with_float_zero_points(self):
        rng = np.random.default_rng(1)
        d = rng.uniform(0.01, 0.1, size=(4, 2, 1)).astype(np.float16).astype(np.float32)
        m = rng.uniform(-0.5, 0.0, size=(4, 2, 1)).astype(np.float16).astype(np.float32)
        q = rng.integers(0, 16, size=(4, 2, 32)).astype(np.float32)
        q[:, :, 0], q[:, :, 1] = 0, 15  # ggml's Q4_1 always uses both ends
        w = (d * q + m).reshape(4, 64)
        packed, scales, zp = quantize_blockwise(w, 4, 32, float_zero_point=True)
        back = dequantize_blockwise(packed, scales, zp, 4, 32, 64)
        self.assertLess(float(np.abs(back - w).max()), 1e-6)
        packed, scales, zp = quantize_blockwise(w, 4, 32)  # integer zero points cannot
        self.assertGreater(float(np.abs(dequantize_blockwise(packed, scales, zp, 4, 32, 64) - w).max()), 1e-4)

    def test_q8_0_blocks_repack_losslessly(self):
        rng = np.random.default_rng(2)
        d = rng.uniform(0.001, 0.01, size=(3, 2, 1)).astype(np.float16).astype(np.float32)
        q = rng.integers(-127, 128, size=(3, 2, 32)).astype(np.float32)
        q[:, :, 0] = 127
        w = (d * q).reshape(3, 64)
        packed, scales, zp = quantize_blockwise(w, 8, 32)
        self.assertIsNone(zp)
        self.assertLess(float(np.abs(dequantize_blockwise(packed, scales, zp, 8, 32, 64) - w).max()), 1e-7)


@unittest.skipIf(ort is None, "onnxruntime not installed")
class CompressorGraphTest(unittest.TestCase):
    def test_matches_torch_compressor(self):
        base = tiny_base(3)
        torch.manual_seed(4)
        comp = Compressor(base, CMT)
        with torch.no_grad():
            for p in comp.parameters():
                if p.requires_grad:
                    p.normal_(0.0, 0.2)
        comp.eval()
        trainable = {k: v.detach().numpy().astype(np.float32) for k, v in comp.named_parameters() if v.requires_grad}
        self.assertIn("layers.0.self_attn.q_proj.lora_a", trainable)
        sess = session(build_compressor(CFG, np_tensors(base), CMT, trainable))
        rng = np.random.default_rng(5)
        ids = rng.integers(3, CFG.vocab_size, size=(2, 9)).astype(np.int64)
        mask = np.ones((2, 9), np.int64)
        mask[0, 6:] = 0
        ids[0, 6:] = 0
        with torch.no_grad():
            ref_m, ref_k = comp(torch.from_numpy(ids), torch.from_numpy(mask))
        got_m, got_k = sess.run(["memory", "key"], {"input_ids": ids, "attention_mask": mask})
        self.assertEqual(got_m.shape, (2, CMT.memory_slots, CFG.hidden_size))
        self.assertEqual(got_k.shape, (2, CFG.hidden_size))
        self.assertLessEqual(float(np.abs(got_m - ref_m.numpy()).max()), TOL)
        self.assertLessEqual(float(np.abs(got_k - ref_k.numpy()).max()), TOL)
        self.assertGreater(float(np.abs(ref_m.numpy()[0] - ref_m.numpy()[1]).max()), 100 * TOL)
        # padding does not leak: the padded row equals the same text unpadded
        m1, k1 = sess.run(["memory", "key"], {"input_ids": ids[:1, :6], "attention_mask": mask[:1, :6]})
        self.assertLessEqual(float(np.abs(m1[0] - got_m[0]).max()), TOL)

    def test_q4_1_compressor_matches_torch_on_its_stored_weights(self):
        # The q4_1 compressor with fp32 activations (accuracy_level 0, what build-pack writes) computes
        # exactly the q4_1 weights; trainable weights that are fp16 values are stored as fp16, losslessly.
        base = tiny_base(3)
        tensors = np_tensors(base)
        with torch.no_grad():
            for k, v in q4_1_weights(tensors).items():
                base.state_dict()[k].copy_(torch.from_numpy(v))
        trainable = random_cmt_tensors(fp16=True)
        torch.manual_seed(4)
        comp = Compressor(base, CMT)
        with torch.no_grad():
            for k, p in comp.named_parameters():
                if p.requires_grad:
                    p.copy_(torch.from_numpy(trainable[k]))
        comp.eval()
        proto = build_compressor(CFG, tensors, CMT, trainable, "q4_1", accuracy_level=0)
        f16 = {i.name for i in proto.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
        self.assertTrue({"slot_w1_f16", "slot_w2_f16"} <= f16, f16)  # (tensors under 1,024 values stay fp32)
        rng = np.random.default_rng(5)
        ids = rng.integers(3, CFG.vocab_size, size=(2, 9)).astype(np.int64)
        mask = np.ones((2, 9), np.int64)
        mask[0, 6:] = 0
        with torch.no_grad():
            ref_m, ref_k = comp(torch.from_numpy(ids), torch.from_numpy(mask))
        got_m, got_k = session(proto).run(["memory", "key"], {"input_ids": ids, "attention_mask": mask})
        self.assertLessEqual(float(np.abs(got_m - ref_m.numpy()).max()), TOL)
        self.assertLessEqual(float(np.abs(got_k - ref_k.numpy()).max()), TOL)


if __name__ == "__main__":
    unittest.main()
