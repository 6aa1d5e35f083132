"""aggregator.onnx built with onnx.helper (no torch) computes what cmt.model.aggregate.Aggregator computes."""
import unittest

import numpy as np
import onnx
import onnxruntime as ort
import torch

from cmt.config import CMTConfig
from cmt.model.aggregate import Aggregator
from cmt.pack.graph_aggregate import build_aggregator


def _run(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds), strict=True))


class AggregatorGraph(unittest.TestCase):
    def check(self, cfg: CMTConfig, d=32, layers=3, hkv=2, hd=8, batch=2, big_k=3):
        torch.manual_seed(0)
        agg = Aggregator(cfg, d, layers, hkv, hd).eval()
        with torch.no_grad():
            for p in agg.parameters():  # non-trivial values everywhere (zeros/ones hide layout bugs)
                p.add_(torch.randn_like(p) * 0.1)
        state = {k: v.numpy() for k, v in agg.state_dict().items()}
        model = build_aggregator(cfg, state, d, layers, hkv, hd)
        qm = torch.randn(batch, cfg.memory_slots, d)
        mems = torch.randn(batch, big_k, cfg.memory_slots, d)
        mask = torch.ones(batch, big_k, dtype=torch.long)
        mask[1, 1:] = 0  # second example: only one real memory
        with torch.no_grad():
            want = agg(qm, mems, mask)
        got = _run(model, {"question_memory": qm.numpy(), "memories": mems.numpy(), "memory_mask": mask.numpy()})
        worst = 0.0
        for i, (k, v) in enumerate(want):
            self.assertEqual(got[f"prefix.{i}.key"].shape, tuple(k.shape))
            worst = max(worst, float(np.abs(got[f"prefix.{i}.key"] - k.numpy()).max()),
                        float(np.abs(got[f"prefix.{i}.value"] - v.numpy()).max()))
        self.assertLess(worst, 1e-4)
        return worst

    def test_fp16_weights_are_stored_as_fp16_and_still_match(self):
        # the recipe's weights are saved in fp16: the graph stores them as fp16 (half the bytes) and
        # computes exactly what PyTorch computes with them upcast to fp32
        cfg = CMTConfig(memory_slots=4, aggregator_layers=2, aggregator_heads=4, aggregator_mlp_ratio=2, prefix_per_slot=1)
        torch.manual_seed(0)
        agg = Aggregator(cfg, 32, 3, 2, 8).eval()
        with torch.no_grad():
            for p in agg.parameters():
                p.add_(torch.randn_like(p) * 0.1)
                p.copy_(p.half().float())
        state = {k: v.numpy() for k, v in agg.state_dict().items()}
        model = build_aggregator(cfg, state, 32, 3, 2, 8)
        f16 = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
        self.assertIn("align.weight_t_f16", [i.name for i in f16])
        qm, mems = torch.randn(2, 4, 32), torch.randn(2, 3, 4, 32)
        mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
        with torch.no_grad():
            want = agg(qm, mems, mask)
        got = _run(model, {"question_memory": qm.numpy(), "memories": mems.numpy(), "memory_mask": mask.numpy()})
        for i, (k, v) in enumerate(want):
            self.assertLess(float(np.abs(got[f"prefix.{i}.key"] - k.numpy()).max()), 1e-4)
            self.assertLess(float(np.abs(got[f"prefix.{i}.value"] - v.numpy()).max()), 1e-4)

    def test_matches_torch(self):
        self.check(CMTConfig(memory_slots=4, aggregator_layers=2, aggregator_heads=4, aggregator_mlp_ratio=2, prefix_per_slot=1))

    def test_matches_torch_with_two_prefix_tokens_per_slot(self):
        self.check(CMTConfig(memory_slots=2, aggregator_layers=1, aggregator_heads=2, aggregator_mlp_ratio=2, prefix_per_slot=2))

    def test_matches_torch_without_the_query_residual(self):
        self.check(CMTConfig(memory_slots=4, aggregator_layers=2, aggregator_heads=4, aggregator_mlp_ratio=2,
                             prefix_per_slot=1, query_residual=False))

    def test_without_the_query_residual_the_question_only_chooses(self):
        """query_residual=False: with nothing to choose from (every memory masked, only the null
        memory visible), the prefix no longer depends on the question at all; with the residual it does."""
        for residual, same in ((False, True), (True, False)):
            cfg = CMTConfig(memory_slots=2, aggregator_layers=1, aggregator_heads=2, prefix_per_slot=1, query_residual=residual)
            torch.manual_seed(2)
            agg = Aggregator(cfg, 16, 2, 1, 8).eval()
            mems = torch.randn(1, 2, 2, 16)
            mask = torch.zeros(1, 2, dtype=torch.long)
            with torch.no_grad():
                a = agg(torch.randn(1, 2, 16), mems, mask)[1][0]
                b = agg(torch.randn(1, 2, 16), mems, mask)[1][0]
            self.assertEqual(torch.allclose(a, b, atol=1e-6), same, f"query_residual={residual}")

    def test_masked_memories_do_not_matter(self):
        cfg = CMTConfig(memory_slots=2, aggregator_layers=1, aggregator_heads=2, prefix_per_slot=1)
        torch.manual_seed(1)
        agg = Aggregator(cfg, 16, 2, 1, 8).eval()
        model = build_aggregator(cfg, {k: v.numpy() for k, v in agg.state_dict().items()}, 16, 2, 1, 8)
        qm = np.random.RandomState(0).randn(1, 2, 16).astype(np.float32)
        mems = np.random.RandomState(1).randn(1, 2, 2, 16).astype(np.float32)
        mask = np.array([[1, 0]], dtype=np.int64)
        a = _run(model, {"question_memory": qm, "memories": mems, "memory_mask": mask})
        mems2 = mems.copy()
        mems2[0, 1] = 100.0  # the masked memory changes: the output must not
        b = _run(model, {"question_memory": qm, "memories": mems2, "memory_mask": mask})
        self.assertLess(float(np.abs(a["prefix.1.value"] - b["prefix.1.value"]).max()), 1e-5)


if __name__ == "__main__":
    unittest.main()
