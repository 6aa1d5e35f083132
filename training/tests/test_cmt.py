"""CMT pieces: shapes, the memory-aware logits, the self-matching loss against hand-computed
values, top-K selection, and that CMT training never changes the base LM."""
import math
import os
import random
import unittest

import torch

from cmt.config import BaseConfig, CMTConfig
from cmt.model.base import LlamaForCausalLM
from cmt.model.cmt import CMTModel, Example, base_fingerprint
from cmt.model.decode import answer_loss, memory_aware_logits, packed_answer_loss, predicting_positions
from cmt.model.match import match_scores, select_top_k, self_matching_loss

BASE = BaseConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
CFG = CMTConfig(memory_slots=3, compressor_layers=1, lora_rank=4, aggregator_layers=1, aggregator_heads=2,
                max_selected=4, top_k=2)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return CMTModel(LlamaForCausalLM(BASE), CFG)


def examples(n, rng):
    out = []
    for _ in range(n):
        doc = [1] + [rng.randrange(3, 50) for _ in range(rng.randrange(4, 12))]
        out.append(Example(doc=doc, query=[1] + doc[1:4], prompt=[1, 5, 6], answer=[doc[2], 2]))
    return out


class MemoryAwareLogits(unittest.TestCase):
    def test_formula_by_hand(self):
        with_m = torch.tensor([2.0, -1.0, 0.5])
        without = torch.tensor([1.0, 1.0, 0.0])
        # (1 + 0.5) * with - 0.5 * without
        expected = torch.tensor([2.5, -2.0, 0.75])
        self.assertTrue(torch.allclose(memory_aware_logits(with_m, without, 0.5), expected))
        self.assertTrue(torch.equal(memory_aware_logits(with_m, None, 0.0), with_m))

    def test_answer_loss_counts_only_answer_tokens(self):
        logits = torch.zeros(1, 3, 4)
        logits[0, 1, 2] = math.log(3.0)  # p(token 2 | pos 1) = 3 / (3 + 3) = 0.5
        ids = torch.tensor([[0, 1, 2]])
        mask = torch.tensor([[0, 0, 1]])
        self.assertAlmostEqual(answer_loss(logits, ids, mask).item(), math.log(2.0), places=5)

    def test_packed_answer_loss_equals_full_loss(self):
        torch.manual_seed(0)
        logits = torch.randn(3, 6, 11)
        ids = torch.randint(0, 11, (3, 6))
        mask = torch.tensor([[0, 0, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1]])
        at = predicting_positions(mask)
        self.assertEqual(int(at.sum()), int(mask[:, 1:].sum()))
        self.assertAlmostEqual(packed_answer_loss(logits[at], ids, mask).item(), answer_loss(logits, ids, mask).item(), places=5)


class SelfMatching(unittest.TestCase):
    def test_loss_by_hand(self):
        q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        m = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
        lam = 0.5
        # pull: -cos(q0,m0) = -1, -cos(q1,m1) = -0.8 ; ||m0-m1||^2 = 0.16 + 0.64 = 0.8
        # push_i = log(exp(-0.8)) = -0.8 for both
        expected = ((-1.0 + lam * -0.8) + (-0.8 + lam * -0.8)) / 2
        self.assertAlmostEqual(self_matching_loss(q, m, lam).item(), expected, places=5)

    def test_scores_and_top_k(self):
        q = torch.tensor([[1.0, 0.0]])
        m = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
        s = match_scores(q, m)
        self.assertEqual(select_top_k(s, 2).tolist(), [[1, 2]])
        # forcing a missing gold puts it in the last place
        self.assertEqual(select_top_k(s, 2, force=torch.tensor([0])).tolist(), [[1, 0]])


class Shapes(unittest.TestCase):
    def test_compressor_and_aggregator(self):
        model = tiny_model()
        ids = torch.tensor([[1, 5, 6, 7, 0], [1, 8, 0, 0, 0]])
        memory, key = model.compressor(ids, (ids != 0).long())
        self.assertEqual(tuple(memory.shape), (2, 3, 32))
        self.assertEqual(tuple(key.shape), (2, 32))
        self.assertTrue(torch.allclose(key.norm(dim=-1), torch.ones(2), atol=1e-5))
        prefix = model.aggregator(memory[:1], memory.unsqueeze(0), torch.tensor([[1, 0]]))
        self.assertEqual(len(prefix), BASE.num_hidden_layers)
        for k, v in prefix:
            self.assertEqual(tuple(k.shape), (1, 2, 3, 8))
            self.assertEqual(tuple(v.shape), (1, 2, 3, 8))

    def test_padding_does_not_change_memory(self):
        model = tiny_model()
        a, ka = model.compressor(torch.tensor([[1, 5, 6]]), torch.tensor([[1, 1, 1]]))
        b, kb = model.compressor(torch.tensor([[1, 5, 6, 0, 0]]), torch.tensor([[1, 1, 1, 0, 0]]))
        self.assertTrue(torch.allclose(a, b, atol=1e-5))

    def test_masked_memories_are_ignored(self):
        model = tiny_model()
        q = torch.randn(1, 3, 32)
        mems = torch.randn(1, 2, 3, 32)
        other = mems.clone()
        other[0, 1] = torch.randn(3, 32)
        mask = torch.tensor([[1, 0]])
        p1 = model.aggregator(q, mems, mask)
        p2 = model.aggregator(q, other, mask)
        self.assertTrue(torch.allclose(p1[0][0], p2[0][0], atol=1e-5))


class Training(unittest.TestCase):
    def test_base_stays_frozen_and_loss_falls(self):
        model = tiny_model()
        before = base_fingerprint(model.base)
        rng = random.Random(0)
        batch = examples(6, rng)
        opt = torch.optim.Adam(model.trainable_parameters(), lr=3e-3)
        first = None
        for _ in range(30):
            loss, stats = model.loss(batch, pad_id=0, top_k=2, force_gold=True)
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.assertLess(loss.item(), first)
        model.assert_base_frozen(before)
        self.assertFalse(any(p.requires_grad for p in model.base.parameters()))
        self.assertTrue(all(p.grad is None for p in model.base.parameters()))

    def test_frozen_assertion_fires(self):
        model = tiny_model()
        fp = base_fingerprint(model.base)
        with torch.no_grad():
            model.base.model.norm.weight.add_(1.0)
        with self.assertRaises(AssertionError):
            model.assert_base_frozen(fp)
        model.base.model.norm.weight.requires_grad_(True)
        with self.assertRaises(AssertionError):
            model.assert_base_frozen()

    def test_backprop_dropout_runs(self):
        model = CMTModel(LlamaForCausalLM(BASE), CMTConfig(**{**CFG.to_dict(), "bp_dropout": 0.75}))
        model.train()
        loss, _ = model.loss(examples(4, random.Random(1)), pad_id=0, top_k=2, force_gold=False)
        loss.backward()
        self.assertTrue(torch.isfinite(loss))



class ChunkPrompts(unittest.TestCase):
    """--with-chunk: training prompts with the document's text, tokenized as the engine does."""

    class CharTok:
        bos_id, eos_id, pad_id = 1, 2, 0

        def encode(self, text):
            return [ord(c) + 3 for c in text]

    def test_context_prompt_is_head_text_tail_in_three_pieces(self):
        from cmt.model.decode import context_prompt_ids
        tok = self.CharTok()
        ids = context_prompt_ids(tok, "Q?", "doc", "<{context}|{question}>", add_bos=False)
        self.assertEqual(ids, tok.encode("<") + tok.encode("doc\n") + tok.encode("|Q?>"))

    def test_share_of_questions_with_their_document(self):
        from cmt.data import workspace_qa
        from cmt.data.examples import chunk_text, make_examples
        from cmt.model.decode import context_prompt_ids, prompt_ids
        tok = self.CharTok()
        ds = workspace_qa("train", 6, seed=1)
        cfg = CMTConfig()
        docs = {d.id: d.text for d in ds.documents}
        plain = make_examples(tok, ds, cfg, "Q:{question}", add_bos=False)
        self.assertEqual([e.prompt for e in plain], [prompt_ids(tok, q.question, "Q:{question}", False) for q in ds.questions])
        full = make_examples(tok, ds, cfg, "Q:{question}", add_bos=False, context_template="{context}Q:{question}", with_chunk=1.0)
        for e, q in zip(full, ds.questions, strict=True):
            shown = chunk_text(tok, docs[q.doc_id], cfg.max_doc_tokens)  # as the engine's chunker would cut it
            self.assertTrue(docs[q.doc_id].startswith(shown) and len(tok.encode(shown)) <= cfg.max_doc_tokens)
            self.assertEqual(e.prompt, context_prompt_ids(tok, q.question, shown, "{context}Q:{question}", False))
        half = make_examples(tok, ds, cfg, "Q:{question}", add_bos=False, context_template="{context}Q:{question}", with_chunk=0.5)
        with_doc = sum(len(e.prompt) > len(prompt_ids(tok, q.question, "Q:{question}", False))
                       for e, q in zip(half, ds.questions, strict=True))
        self.assertTrue(0 < with_doc < len(half))


class BatchesAndSelection(unittest.TestCase):
    """The training options behind the memory-alone runs and the no-top-K ablation."""

    class Tok:
        pad_id = 0

    def dataset(self, n_docs, per_doc):
        from types import SimpleNamespace
        qs = [SimpleNamespace(doc_id=f"d{d}") for d in range(n_docs) for _ in range(per_doc)]
        return SimpleNamespace(questions=qs, documents=[SimpleNamespace(id=f"d{d}") for d in range(n_docs)])

    def test_a_batch_comes_from_one_pool_of_distinct_documents(self):
        from cmt.train import sample_batch
        rng = random.Random(0)
        exs = examples(40, rng)
        for i, e in enumerate(exs):
            e.chunked = i % 4 == 0
        doc_of = [f"d{i // 2}" for i in range(40)]
        pools = [(30, [i for i, e in enumerate(exs) if not e.chunked]), (10, [i for i, e in enumerate(exs) if e.chunked])]
        kinds = []
        for _ in range(200):
            batch = sample_batch(exs, doc_of, 4, rng, pools)
            self.assertEqual(len({e.chunked for e in batch}), 1)
            self.assertEqual(len({doc_of[exs.index(e)] for e in batch}), 4)
            kinds.append(batch[0].chunked)
        share = sum(kinds) / len(kinds)
        self.assertTrue(0.1 < share < 0.45, share)  # the chunked pool has 1/4 of the weight

    def test_gold_always_selected_and_no_top_k_takes_every_memory(self):
        from cmt.train import train_cmt
        ds = self.dataset(8, 2)
        exs = examples(16, random.Random(2))
        model = tiny_model(1)
        out = train_cmt(model, self.Tok(), ds, CFG, steps=6, batch_size=4, warmup_force_gold=1.0, examples=exs,
                        log=lambda m: None, all_memories=True)
        self.assertTrue(all(p["gold_in_topk"] == 1.0 and p["selected"] == 4.0 for p in out["curve"]))
        out = train_cmt(tiny_model(1), self.Tok(), ds, CFG, steps=30, batch_size=4, warmup_force_gold=1.0, examples=exs,
                        log=lambda m: None)
        self.assertTrue(all(p["gold_in_topk"] == 1.0 and p["selected"] <= CFG.max_selected for p in out["curve"]))

    def test_reconstruction_examples_and_pool_shares(self):
        from cmt.data import workspace_qa
        from cmt.data.examples import RECON_INSTRUCTION, make_recon_examples
        from cmt.model.decode import prompt_ids
        from cmt.train import train_cmt
        tok = ChunkPrompts.CharTok()
        tok.bos_id, tok.eos_id = 1, 2
        ds = workspace_qa("train", 3, seed=2)
        rec = make_recon_examples(tok, ds, CFG, "Q:{question}", add_bos=False, answer_prefix="", max_answer_tokens=40)
        self.assertEqual(len(rec), len(ds.documents))
        for e, d in zip(rec, ds.documents, strict=True):
            self.assertEqual(e.kind, "recon")
            self.assertEqual(e.answer, (tok.encode(d.text) + [2])[:40])
            self.assertEqual(e.prompt, prompt_ids(tok, RECON_INSTRUCTION, "Q:{question}", False))
        # only the pools with a share are drawn
        exs = examples(16, random.Random(3))
        for e in exs[8:]:
            e.recon = True
        ds2 = self.dataset(16, 1)
        out = train_cmt(tiny_model(2), self.Tok(), ds2, CFG, steps=8, batch_size=4, examples=exs, log=lambda m: None,
                        pool_shares={"recon": 1.0, "memory": 0.0})
        self.assertTrue(all("nll_recon" in p and "nll_memory" not in p and p["selected"] == 1.0 for p in out["curve"]))


if __name__ == "__main__":
    unittest.main()


class ConfigOverrides(unittest.TestCase):
    def test_typed_values_and_clear_errors(self):
        from cmt.config import parse_overrides

        got = parse_overrides(["memory_slots=16", "alpha=0.25", "compressor_layers=8"])
        self.assertEqual(got, {"memory_slots": 16, "alpha": 0.25, "compressor_layers": 8})
        self.assertIsInstance(got["memory_slots"], int)
        self.assertEqual(parse_overrides([]), {})
        self.assertEqual(parse_overrides(["query_residual=0"]), {"query_residual": False})
        self.assertEqual(parse_overrides(["query_residual=true"]), {"query_residual": True})
        with self.assertRaisesRegex(ValueError, "0/1"):
            parse_overrides(["query_residual=maybe"])
        with self.assertRaisesRegex(ValueError, "KEY=VALUE"):
            parse_overrides(["memory_slots"])
        with self.assertRaisesRegex(ValueError, "memory_slots"):
            parse_overrides(["slots=4"])

    def test_training_device(self):
        import torch

        from cmt.experiments.recipe_model import resolve_device

        self.assertEqual(resolve_device("cpu").type, "cpu")
        self.assertEqual(resolve_device("auto").type, "cuda" if torch.cuda.is_available() else "cpu")
        with self.assertRaisesRegex(ValueError, "auto, cpu or cuda"):
            resolve_device("tpu")
        if not torch.cuda.is_available():
            with self.assertRaisesRegex(ValueError, "sees no GPU"):
                resolve_device("cuda")

    def test_shape_changes_never_overwrite_the_shipped_weights(self):
        from cmt.experiments import train_recipe

        with self.assertRaisesRegex(ValueError, "--out"):
            train_recipe.train(overrides={"memory_slots": 16})

    def test_build_pack_set_needs_the_experiments_weights(self):
        import contextlib
        import io
        import tempfile

        from cmt.pack import build

        err = io.StringIO()
        with tempfile.TemporaryDirectory() as d, contextlib.redirect_stderr(err):
            self.assertEqual(build.main(["--set", "query_residual=0", "--out", os.path.join(d, "pack")]), 2)
            self.assertFalse(os.path.exists(os.path.join(d, "pack")))
        self.assertIn("--weights", err.getvalue())


class CommittedWeightsFile(unittest.TestCase):
    """packs/recipe keeps the CMT weights gzip-compressed: the same tensors either way, reproducibly."""

    def test_gzip_round_trip_is_exact_and_reproducible(self):
        import tempfile

        import numpy as np
        import torch

        from cmt.pack.recipe import CMT_WEIGHTS, read_cmt_state, save_cmt

        self.assertTrue(CMT_WEIGHTS.endswith(".gz"))
        torch.manual_seed(0)
        model = torch.nn.Linear(7, 5)
        with tempfile.TemporaryDirectory() as d:
            plain, packed, again = (os.path.join(d, n) for n in ("w.safetensors", "w.safetensors.gz", "w2.safetensors.gz"))
            for path in (plain, packed, again):
                save_cmt(model, path)
            a, b = read_cmt_state(plain), read_cmt_state(packed)
            self.assertEqual(sorted(a), ["bias", "weight"])
            for k in a:
                self.assertEqual(a[k].dtype, np.float16)
                np.testing.assert_array_equal(a[k], b[k])
            with open(packed, "rb") as f, open(again, "rb") as g:
                self.assertEqual(f.read(), g.read())
            self.assertEqual(open(packed, "rb").read(2), b"\x1f\x8b")


class KvOracle(unittest.TestCase):
    """The oracle's cache plumbing: a document encoded after a head (with the head's cache as past)
    must be exactly the cache of head + document encoded at once, and answering from that cache must
    give what answering from the whole prompt gives."""

    def test_split_encoding_equals_one_pass_and_answers_match(self):
        from cmt.experiments.kv_oracle import _encode, _select
        from cmt.model.decode import generate

        torch.manual_seed(0)
        base = LlamaForCausalLM(BASE).eval()
        head, doc, tail = [1, 7, 8, 9], [11, 12, 13, 14, 15], [20, 21]
        whole = _encode(base, head + doc, 0)
        split = _encode(base, doc, len(head), past=_encode(base, head, 0))
        for (k1, v1), (k2, v2) in zip(whole, split, strict=True):
            self.assertTrue(torch.allclose(k1, k2, atol=1e-5))
            self.assertTrue(torch.allclose(v1, v2, atol=1e-5))

        class Tok:
            eos_id = -1

            def decode(self, ids):
                return " ".join(map(str, ids))

        from_cache = generate(base, Tok(), tail, split, max_new_tokens=5, stop_strings=[], start_pos=len(head) + len(doc))
        from_prompt = generate(base, Tok(), head + doc + tail, None, max_new_tokens=5, stop_strings=[])
        self.assertEqual(from_cache, from_prompt)
        self.assertEqual(len(from_cache.split()), 5)
        picked = _select(split, [0, 2, 4])
        self.assertEqual(picked[0][0].shape[2], 3)
        self.assertTrue(torch.equal(picked[1][1][:, :, 1], split[1][1][:, :, 2]))


class OtherMemoryContrast(unittest.TestCase):
    def test_contrast_with_another_documents_memory_runs_and_differs(self):
        import dataclasses

        rng = random.Random(0)
        batch = examples(4, rng)
        losses = {}
        for negative in ("no_memory", "other_memory"):
            model = tiny_model(seed=3)
            model.cfg = dataclasses.replace(CFG, alpha_negative=negative)
            loss, stats = model.loss(batch, pad_id=0, top_k=2, force_gold=True)
            loss.backward()
            self.assertTrue(math.isfinite(loss.item()))
            self.assertIsNotNone(model.aggregator.align.weight.grad)
            losses[negative] = loss.item()
        self.assertNotAlmostEqual(losses["no_memory"], losses["other_memory"], places=4)
