"""End to end: the quick recipe runs every step (corpus, tokenizer, pretrain, CMT training,
evaluation, export) and writes a valid pack; the tiny test pack rebuilds bit for bit."""
import json
import os
import tempfile
import unittest

import onnx

from cmt import paths
from cmt.legacy import pipeline
from cmt.pack.manifest import sha256_file


class QuickPipeline(unittest.TestCase):
    def test_default_pack_quick_end_to_end(self):
        with tempfile.TemporaryDirectory() as tmp:
            work, out = os.path.join(tmp, "work"), os.path.join(tmp, "pack")
            pipeline.default_pack(work, pipeline.Recipe.quick(), out)
            manifest = json.load(open(os.path.join(out, "pack.json")))
            self.assertEqual(manifest["format"], "cmt-pack")
            for rel, digest in manifest["files"].items():
                self.assertEqual(sha256_file(os.path.join(out, rel)), digest, rel)
            for g in ("compressor", "aggregator", "decoder"):
                onnx.checker.check_model(onnx.load(os.path.join(out, manifest["graphs"][g])))
            dec = onnx.load(os.path.join(out, "decoder.onnx"))
            names = [i.name for i in dec.graph.input]
            self.assertEqual(names[:3], ["input_ids", "attention_mask", "position_ids"])
            self.assertIn("past_key_values.0.key", names)
            self.assertIn("present.0.value", [o.name for o in dec.graph.output])
            ev = json.load(open(os.path.join(work, "eval.json")))
            self.assertIn("cmt", ev["synthetic_test"]["variants"])
            self.assertIn("key@1", ev["synthetic_test"]["retrieval"])
            self.assertIn("synthetic_test", manifest["metrics"]["dev"])


class TinyPack(unittest.TestCase):
    def test_rebuilds_the_committed_fixture(self):
        with tempfile.TemporaryDirectory() as tmp:
            manifest = pipeline.tiny_pack(os.path.join(tmp, "tiny"))
            total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(os.path.join(tmp, "tiny")) for f in fs)
            self.assertLess(total, 2 * 1024 * 1024)
        committed = json.load(open(os.path.join(paths.TINY_PACK, "pack.json")))
        self.assertEqual(manifest["packId"], committed["packId"],
                         "test/fixtures/tiny-pack is stale: rebuild it with `npm run pack:tiny`")


class PackIdCoversTheEmbedder(unittest.TestCase):
    """The bank is keyed by packId: an embedder change (files or settings) must change it."""

    def test_embedder_files_and_settings_change_the_pack_id(self):
        import hashlib

        from cmt.pack.manifest import WEIGHT_FILES, pack_id

        files = {f: hashlib.sha256(f.encode()).hexdigest() for f in WEIGHT_FILES}
        plain = pack_id("p", files)
        # no embedder: the id is what it always was (the committed tiny pack's id stands)
        self.assertEqual(plain, "p-" + hashlib.sha256("".join(files[f] for f in WEIGHT_FILES).encode()).hexdigest()[:12])
        emb = {"name": "all-MiniLM-L6-v2", "dim": 384, "maxTokens": 32}
        with_emb = dict(files, **{"embedder/model.onnx": "a" * 64, "embedder/tokenizer.json": "b" * 64})
        a = pack_id("p", with_emb, emb)
        self.assertNotEqual(a, plain)
        self.assertEqual(a, pack_id("p", dict(with_emb), dict(emb)))
        self.assertNotEqual(a, pack_id("p", with_emb, dict(emb, maxTokens=64)))
        self.assertNotEqual(a, pack_id("p", dict(with_emb, **{"embedder/model.onnx": "c" * 64}), emb))


if __name__ == "__main__":
    unittest.main()
