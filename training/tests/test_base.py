import json
import os
import shutil
import struct
import tempfile
import unittest

import torch

from cmt.config import BaseConfig
from cmt.model.base import (
    DecoderLayer,
    LlamaForCausalLM,
    count_parameters,
    load_hf_checkpoint,
    make_attn_bias,
    save_hf_checkpoint,
    write_safetensors,
)


def tiny_cfg(**kw):
    d = dict(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    d.update(kw)
    return BaseConfig(**d)


class TestConfig(unittest.TestCase):
    def test_hf_roundtrip(self):
        for cfg in (tiny_cfg(), tiny_cfg(model_type="qwen2", attention_bias=True, tie_word_embeddings=False)):
            c2 = BaseConfig.from_hf_dict(cfg.to_hf_dict())
            self.assertEqual(c2.hd, cfg.hd)
            for k in ("vocab_size", "hidden_size", "num_key_value_heads", "attention_bias",
                      "tie_word_embeddings", "model_type"):
                self.assertEqual(getattr(c2, k), getattr(cfg, k))

    def test_real_configs(self):
        qwen = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896,
                "intermediate_size": 4864, "num_attention_heads": 14, "num_key_value_heads": 2,
                "num_hidden_layers": 24, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                "tie_word_embeddings": True, "vocab_size": 151936, "max_window_layers": 21,
                "sliding_window": 32768, "use_sliding_window": False, "hidden_act": "silu"}
        c = BaseConfig.from_hf_dict(qwen)
        self.assertTrue(c.attention_bias)
        self.assertIsNone(c.head_dim)
        self.assertEqual(c.hd, 64)
        smol = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
                "intermediate_size": 1536, "num_attention_heads": 9, "num_key_value_heads": 3,
                "num_hidden_layers": 30, "rms_norm_eps": 1e-05, "rope_theta": 100000,
                "tie_word_embeddings": True, "vocab_size": 49152, "attention_bias": False,
                "rope_scaling": None, "pretraining_tp": 1, "bos_token_id": 0}
        c = BaseConfig.from_hf_dict(smol)
        self.assertFalse(c.attention_bias)
        self.assertEqual(c.hd, 64)
        self.assertIsInstance(c.rope_theta, float)


class TestBase(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)

    def test_shapes_and_keys(self):
        cfg = tiny_cfg()
        m = LlamaForCausalLM(cfg).eval()
        ids = torch.randint(3, cfg.vocab_size, (2, 5))
        logits, presents = m(ids)
        self.assertEqual(tuple(logits.shape), (2, 5, cfg.vocab_size))
        self.assertEqual(len(presents), cfg.num_hidden_layers)
        self.assertEqual(tuple(presents[0][0].shape), (2, cfg.num_key_value_heads, 5, cfg.hd))
        keys = set(m.state_dict())
        self.assertIn("model.layers.1.self_attn.k_proj.weight", keys)
        self.assertIn("lm_head.weight", keys)
        self.assertEqual(tuple(m.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape),
                         (cfg.num_key_value_heads * cfg.hd, cfg.hidden_size))
        self.assertIs(m.lm_head.weight, m.model.embed_tokens.weight)
        self.assertFalse(any("bias" in k for k in keys))
        mb = LlamaForCausalLM(tiny_cfg(attention_bias=True))
        self.assertIn("model.layers.0.self_attn.q_proj.bias", mb.state_dict())
        self.assertNotIn("model.layers.0.self_attn.o_proj.bias", mb.state_dict())
        self.assertGreater(count_parameters(m), 0)
        self.assertLess(count_parameters(m), sum(p.numel() for p in m.state_dict().values()))

    def test_gqa_equals_mha_with_repeated_kv(self):
        cfg = tiny_cfg(num_key_value_heads=2)
        m = LlamaForCausalLM(cfg).eval()
        cfg2 = tiny_cfg(num_key_value_heads=4)
        m2 = LlamaForCausalLM(cfg2).eval()
        sd = m.state_dict()
        sd2 = {}
        for k, v in sd.items():
            if k.endswith(("k_proj.weight", "v_proj.weight")):
                v = v.view(2, cfg.hd, -1).repeat_interleave(2, dim=0).reshape(4 * cfg.hd, -1)
            sd2[k] = v
        m2.load_state_dict(sd2)
        ids = torch.randint(0, cfg.vocab_size, (2, 6))
        self.assertLess((m(ids)[0] - m2(ids)[0]).abs().max().item(), 1e-5)

    def test_kv_cache_consistency(self):
        cfg = tiny_cfg()
        m = LlamaForCausalLM(cfg).eval()
        ids = torch.randint(0, cfg.vocab_size, (2, 9))
        with torch.no_grad():
            full, _ = m(ids)
            l1, past = m(ids[:, :4])
            pos = torch.arange(4, 9).unsqueeze(0).expand(2, 5)
            l2, past2 = m(ids[:, 4:], position_ids=pos, past_key_values=past)
            self.assertEqual(tuple(past2[0][0].shape), (2, cfg.num_key_value_heads, 9, cfg.hd))
            inc = torch.cat([l1, l2], 1)
            self.assertLess((full - inc).abs().max().item(), 1e-5)
            # token-by-token
            past = None
            outs = []
            for t in range(9):
                lt, past = m(ids[:, t:t + 1], position_ids=torch.full((2, 1), t), past_key_values=past)
                outs.append(lt)
            self.assertLess((full - torch.cat(outs, 1)).abs().max().item(), 1e-5)

    def test_padding_mask(self):
        cfg = tiny_cfg()
        m = LlamaForCausalLM(cfg).eval()
        ids = torch.randint(3, cfg.vocab_size, (1, 5))
        padded = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1)
        mask = torch.tensor([[1] * 5 + [0] * 3])
        with torch.no_grad():
            a, _ = m(ids)
            b, _ = m(padded, attention_mask=mask)
        self.assertLess((a - b[:, :5]).abs().max().item(), 1e-5)
        self.assertFalse(torch.isnan(b).any())

    def test_attn_bias(self):
        mask = torch.tensor([[0, 1, 1, 1, 1]])
        b = make_attn_bias(mask, 3, torch.float32)
        self.assertEqual(tuple(b.shape), (1, 1, 3, 5))
        vis = (b == 0).int()[0, 0].tolist()
        self.assertEqual(vis, [[0, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 1]])
        self.assertTrue(torch.isfinite(b).all())

    def test_prefix_as_past(self):
        cfg = tiny_cfg()
        m = LlamaForCausalLM(cfg).eval()
        B, P, T = 2, 3, 5
        ids = torch.randint(0, cfg.vocab_size, (B, T))
        past = [(torch.randn(B, cfg.num_key_value_heads, P, cfg.hd),
                 torch.randn(B, cfg.num_key_value_heads, P, cfg.hd)) for _ in range(cfg.num_hidden_layers)]
        pos = torch.arange(T).unsqueeze(0).expand(B, T)
        with torch.no_grad():
            ref, _ = m(ids)
            with_p, pres = m(ids, attention_mask=torch.ones(B, P + T, dtype=torch.long),
                             position_ids=pos, past_key_values=past)
            self.assertGreater((with_p - ref).abs().max().item(), 1e-3)
            self.assertTrue(torch.equal(pres[0][0][:, :, :P], past[0][0]))
            mask = torch.cat([torch.zeros(B, P, dtype=torch.long), torch.ones(B, T, dtype=torch.long)], 1)
            masked, _ = m(ids, attention_mask=mask, position_ids=pos, past_key_values=past)
        self.assertLess((masked - ref).abs().max().item(), 1e-5)

    def test_decoder_layer_api(self):
        cfg = tiny_cfg()
        m = LlamaForCausalLM(cfg).eval()
        B, P, T = 2, 4, 3
        h = torch.randn(B, T, cfg.hidden_size)
        cos, sin = m.rotary(torch.arange(T).unsqueeze(0).expand(B, T))
        self.assertEqual(tuple(cos.shape), (B, 1, T, cfg.hd))
        past = (torch.randn(B, cfg.num_key_value_heads, P, cfg.hd), torch.randn(B, cfg.num_key_value_heads, P, cfg.hd))
        bias = make_attn_bias(torch.ones(B, P + T), T, h.dtype)
        layer = m.model.layers[0]
        self.assertIsInstance(layer, DecoderLayer)
        out, (k, v) = layer(h, cos, sin, bias, past)
        self.assertEqual(tuple(out.shape), (B, T, cfg.hidden_size))
        self.assertEqual(tuple(k.shape), (B, cfg.num_key_value_heads, P + T, cfg.hd))

    def _roundtrip(self, **kw):
        cfg = tiny_cfg(**kw)
        m = LlamaForCausalLM(cfg).eval()
        with torch.no_grad():  # make norms/biases non-trivial
            for n, p in m.named_parameters():
                if "norm" in n or n.endswith("bias"):
                    p.add_(torch.randn_like(p) * 0.1)
        ids = torch.randint(0, cfg.vocab_size, (2, 6))
        d = tempfile.mkdtemp()
        try:
            save_hf_checkpoint(m, cfg, d, bos_token_id=1, eos_token_id=2)
            with open(os.path.join(d, "model.safetensors"), "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
                hdr = json.loads(f.read(n))
            self.assertEqual(hdr["__metadata__"], {"format": "pt"})
            self.assertEqual("lm_head.weight" in hdr, not cfg.tie_word_embeddings)
            m2, cfg2 = load_hf_checkpoint(d)
            self.assertEqual(cfg2.tie_word_embeddings, cfg.tie_word_embeddings)
            self.assertEqual(cfg2.attention_bias, cfg.attention_bias)
            with torch.no_grad():
                self.assertTrue(torch.equal(m(ids)[0], m2(ids)[0]))
            if cfg.tie_word_embeddings:
                self.assertIs(m2.lm_head.weight, m2.model.embed_tokens.weight)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_checkpoint_roundtrip(self):
        self._roundtrip()
        self._roundtrip(tie_word_embeddings=False)
        self._roundtrip(attention_bias=True)
        self._roundtrip(model_type="qwen2", attention_bias=True, tie_word_embeddings=False)

    def test_half_precision_and_errors(self):
        cfg = tiny_cfg()
        m = LlamaForCausalLM(cfg).eval()
        ids = torch.randint(0, cfg.vocab_size, (1, 6))
        d = tempfile.mkdtemp()
        try:
            save_hf_checkpoint(m, cfg, d)
            sd = {k: v for k, v in m.state_dict().items() if k != "lm_head.weight"}
            for dt in (torch.bfloat16, torch.float16):
                rounded = {k: v.to(dt) for k, v in sd.items()}
                write_safetensors(os.path.join(d, "model.safetensors"), rounded)
                m2, _ = load_hf_checkpoint(d)
                ref = LlamaForCausalLM(cfg).eval()
                ref.load_state_dict({**{k: v.float() for k, v in rounded.items()},
                                     "lm_head.weight": rounded["model.embed_tokens.weight"].float()})
                with torch.no_grad():
                    self.assertTrue(torch.equal(m2(ids)[0], ref(ids)[0]))
                self.assertEqual(m2.model.embed_tokens.weight.dtype, torch.float32)
            # sharded
            keys = sorted(sd)
            os.remove(os.path.join(d, "model.safetensors"))
            wm = {}
            for si, part in enumerate((keys[: len(keys) // 2], keys[len(keys) // 2:])):
                fn = f"model-0000{si + 1}-of-00002.safetensors"
                write_safetensors(os.path.join(d, fn), {k: sd[k] for k in part})
                wm.update({k: fn for k in part})
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {}, "weight_map": wm}, f)
            m3, _ = load_hf_checkpoint(d)
            with torch.no_grad():
                self.assertTrue(torch.equal(m3(ids)[0], m(ids)[0]))
            # errors
            os.remove(os.path.join(d, "model.safetensors.index.json"))
            bad = dict(sd)
            bad.pop("model.norm.weight")
            bad["extra.weight"] = torch.zeros(2)
            write_safetensors(os.path.join(d, "model.safetensors"), bad)
            with self.assertRaisesRegex(ValueError, "model.norm.weight"):
                load_hf_checkpoint(d)
            bad = dict(sd)
            bad["model.norm.weight"] = torch.ones(7)
            write_safetensors(os.path.join(d, "model.safetensors"), bad)
            with self.assertRaisesRegex(ValueError, "model.norm.weight"):
                load_hf_checkpoint(d)
            bad = dict(sd)
            bad["extra.weight"] = torch.zeros(2)
            write_safetensors(os.path.join(d, "model.safetensors"), bad)
            with self.assertRaisesRegex(ValueError, "extra.weight"):
                load_hf_checkpoint(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_onnx_export(self):
        import onnx
        cfg = tiny_cfg(num_hidden_layers=1)
        m = LlamaForCausalLM(cfg).eval()

        class Wrap(torch.nn.Module):
            def __init__(self, model):
                super().__init__()
                self.m = model

            def forward(self, input_ids, attention_mask, position_ids, pk, pv):
                logits, pres = self.m(input_ids, attention_mask, position_ids, [(pk, pv)])
                return logits, pres[0][0], pres[0][1]

        B, P, T = 2, 3, 4
        args = (torch.randint(0, cfg.vocab_size, (B, T)), torch.ones(B, P + T, dtype=torch.long),
                torch.arange(T).unsqueeze(0).expand(B, T).contiguous(),
                torch.randn(B, cfg.num_key_value_heads, P, cfg.hd), torch.randn(B, cfg.num_key_value_heads, P, cfg.hd))
        # tracing (what torch.onnx.export does) must not bake in batch / seq / past sizes
        w = Wrap(m)
        with torch.no_grad():
            traced = torch.jit.trace(w, args, check_trace=False)
            for (b2, p2, t2) in ((1, 0, 5), (3, 6, 2), (2, 2, 1)):
                a2 = (torch.randint(0, cfg.vocab_size, (b2, t2)), torch.ones(b2, p2 + t2, dtype=torch.long),
                      torch.arange(t2).unsqueeze(0).expand(b2, t2).contiguous(),
                      torch.randn(b2, cfg.num_key_value_heads, p2, cfg.hd),
                      torch.randn(b2, cfg.num_key_value_heads, p2, cfg.hd))
                a2[1][0, 0] = 0 if p2 else 1
                for x, y in zip(traced(*a2), w(*a2), strict=True):
                    self.assertEqual(x.shape, y.shape)
                    self.assertLess((x - y).abs().max().item(), 1e-5)
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "dec.onnx")
            names_in = ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key",
                        "past_key_values.0.value"]
            names_out = ["logits", "present.0.key", "present.0.value"]
            dyn = {"input_ids": {0: "B", 1: "T"}, "attention_mask": {0: "B", 1: "S"},
                   "position_ids": {0: "B", 1: "T"}, "past_key_values.0.key": {0: "B", 2: "past"},
                   "past_key_values.0.value": {0: "B", 2: "past"}, "logits": {0: "B", 1: "T"},
                   "present.0.key": {0: "B", 2: "S"}, "present.0.value": {0: "B", 2: "S"}}
            torch.onnx.export(Wrap(m), args, path, input_names=names_in, output_names=names_out,
                              dynamic_axes=dyn, opset_version=17, dynamo=False)
            model = onnx.load(path)
            onnx.checker.check_model(model)
            # the seq / past axes must stay symbolic (no constant folded from the trace shapes)
            graph_in = {i.name: [dd.dim_param or dd.dim_value for dd in i.type.tensor_type.shape.dim]
                        for i in model.graph.input}
            self.assertEqual(graph_in["attention_mask"], ["B", "S"])
            for node in model.graph.node:
                if node.op_type == "Constant":
                    for a in node.attribute:
                        if a.t.dims and list(a.t.dims) == [T, P + T]:
                            self.fail("attention pattern was baked in as a constant")
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
