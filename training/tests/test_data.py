"""Tests for training/cmt/data/.  Run: cd training && /usr/bin/python3 -m unittest tests.test_data -v"""
import json
import os
import re
import sys
import tempfile
import unittest
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
REPO = os.path.dirname(TRAINING)
if TRAINING not in sys.path:
    sys.path.insert(0, TRAINING)

from cmt import data as D  # noqa: E402
from cmt.data import facts  # noqa: E402

SQUAD = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "squad", "notre-dame.json")


def _entity(doc, question):
    """The made-up entity of a workspace doc: the path token that the question names."""
    words = set(re.findall(r"[a-z]+", question.lower()))
    for tok in re.split(r"[/.\-_]", doc.path):
        if len(tok) >= 4 and tok in words and tok not in {"services", "config", "notes", "docs", "design"}:
            return tok
    raise AssertionError("no entity for %s / %s" % (doc.path, question))


def _facts(ds):
    """(doc_id, canonical answer) -> list of questions."""
    f = defaultdict(list)
    for q in ds.questions:
        f[(q.doc_id, q.answers[0])].append(q.question)
    return f


class WorkspaceQATest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.train = D.workspace_qa("train", 6000, seed=0)
        cls.dev = D.workspace_qa("dev", 1500, seed=0)
        cls.test = D.workspace_qa("test", 1500, seed=0)
        cls.docs = {d.id: d for ds in (cls.train, cls.dev, cls.test) for d in ds.documents}

    def test_api_types(self):
        ds = self.train
        self.assertIsInstance(ds, D.Dataset)
        self.assertEqual(len(ds.documents), 6000)
        d, q = ds.documents[0], ds.questions[0]
        self.assertIsInstance(d, D.Document)
        self.assertIsInstance(q, D.QA)
        for x in (d.id, d.path, d.text, q.doc_id, q.question):
            self.assertIsInstance(x, str)
        self.assertTrue(q.answers and all(isinstance(a, str) and a for a in q.answers))
        with self.assertRaises(ValueError):
            D.workspace_qa("validation", 3)

    def test_determinism(self):
        a = D.workspace_qa("train", 400, seed=3)
        b = D.workspace_qa("train", 400, seed=3)
        self.assertEqual(a, b)
        c = D.workspace_qa("train", 400, seed=4)
        self.assertNotEqual([d.text for d in a.documents], [d.text for d in c.documents])
        self.assertEqual(D.workspace_qa("test", 50, seed=0), D.workspace_qa("test", 50, seed=0))

    def test_ids_paths_entities_unique(self):
        for ds in (self.train, self.dev, self.test):
            self.assertEqual(len({d.id for d in ds.documents}), len(ds.documents))
            self.assertEqual(len({d.path for d in ds.documents}), len(ds.documents))
            by_doc = {}
            for q in ds.questions:
                by_doc.setdefault(q.doc_id, q.question)
            ents = [_entity(self.docs[i], qq) for i, qq in by_doc.items()]
            self.assertEqual(len(set(ents)), len(ents))
            for q in ds.questions:  # every question names its document's entity
                self.assertIn(_entity(self.docs[q.doc_id], by_doc[q.doc_id]), q.question)
        self.assertEqual(len(self.docs), 9000)  # ids unique across splits

    def test_splits_disjoint(self):
        texts = {d.text for d in self.train.documents}
        for ds in (self.dev, self.test):
            self.assertFalse(texts & {d.text for d in ds.documents})
        self.assertFalse({d.text for d in self.dev.documents} & {d.text for d in self.test.documents})

        def ents(ds):
            first = {}
            for q in ds.questions:
                first.setdefault(q.doc_id, q.question)
            return {_entity(self.docs[i], qq) for i, qq in first.items()}
        tr_e = ents(self.train)
        for ds in (self.dev, self.test):
            self.assertFalse(ents(ds) & tr_e)

        tr_ans = {a for q in self.train.questions for a in q.answers}
        for ds in (self.dev, self.test):
            ans = [q.answers[0] for q in ds.questions]
            overlap = sum(a in tr_ans for a in ans) / len(ans)
            self.assertLess(overlap, 0.05, overlap)
            nums = [a for a in ans if re.fullmatch(r"[0-9.:\-]+(Mi)?", a)]
            self.assertGreater(len(nums), len(ans) // 4)
            self.assertLess(sum(a in tr_ans for a in nums) / len(nums), 0.05)

    def test_answers_verbatim_and_distinct(self):
        for ds in (self.train, self.dev, self.test):
            per_doc = defaultdict(set)
            for q in ds.questions:
                text = self.docs[q.doc_id].text
                for a in q.answers:
                    self.assertIn(a, text, (q, text))
                self.assertEqual(len(set(q.answers)), len(q.answers))
                self.assertLessEqual(len(q.answers[0].split()), 4)
                per_doc[q.doc_id].add(q.answers[0])
            facts = _facts(ds)
            n_facts = defaultdict(int)
            for (doc_id, _a) in facts:
                n_facts[doc_id] += 1
            for d in ds.documents:  # 2-5 facts per doc, canonical answers distinct within a doc
                self.assertTrue(2 <= n_facts[d.id] <= 5, n_facts[d.id])
                self.assertEqual(len(per_doc[d.id]), n_facts[d.id])

    def test_document_lengths(self):
        for ds in (self.train, self.dev, self.test):
            lens = [len(d.text) for d in ds.documents]
            self.assertLessEqual(max(lens), D.MAX_DOC_CHARS)
            self.assertGreaterEqual(min(lens), 80)
            mean = sum(lens) / len(lens)
            self.assertTrue(150 <= mean <= 450, mean)

    def test_phrasings(self):
        for ds in (self.train, self.dev, self.test):
            for key, qs in _facts(ds).items():
                self.assertGreaterEqual(len(set(qs)), 2, key)

        def templates(ds):
            out = set()
            first = {}
            for q in ds.questions:
                first.setdefault(q.doc_id, q.question)
            for q in ds.questions:
                out.add(q.question.replace(_entity(self.docs[q.doc_id], first[q.doc_id]), "{E}"))
            return out
        tr, te = templates(self.train), templates(self.test)
        held = {t for k in D.FACT_KINDS for t in k.held_q}
        self.assertFalse(tr & held)               # held-out phrasings never in train
        self.assertTrue(te - tr)                  # test has phrasings unseen in train
        self.assertGreaterEqual(len(te & held), len(held) * 0.9)
        n_held = sum(1 for q in self.test.questions
                     if q.question.replace(_entity(self.docs[q.doc_id], q.question), "{E}") in held)
        self.assertAlmostEqual(n_held / len(self.test.questions), 0.5, delta=0.05)
        for k in D.FACT_KINDS:  # every kind: several phrasings for train, others held out
            self.assertGreaterEqual(len(k.train_q), 2)
            self.assertGreaterEqual(len(k.held_q), 1)
            self.assertFalse(set(k.train_q) & set(k.held_q))

    def test_large_split(self):
        # (Its speed is not asserted here: timing belongs in benchmarks, not unit tests.)
        ds = D.workspace_qa("train", 20000, seed=11)
        self.assertEqual(len(ds.documents), 20000)
        self.assertEqual(len({d.id for d in ds.documents}), 20000)


class SentenceFactsTest(unittest.TestCase):
    """Opt-in sentence facts (answers that are phrases) and the workspace-sentences-* fixtures."""

    @classmethod
    def setUpClass(cls):
        cls.train = D.workspace_qa("train", 1500, seed=0, sentences=0.6)
        cls.held = {s: D.workspace_qa(s, 400, seed=0, sentences=1.0, only_sentence_questions=True) for s in ("dev", "test")}

    def test_off_by_default_leaves_value_datasets_unchanged(self):
        for split in ("dev", "test"):
            fx = os.path.join(REPO, "test", "fixtures", "workspace-qa-%s.json" % split)
            with open(fx, encoding="utf-8") as f:
                want = json.load(f)
            got = D.to_squad_json(D.workspace_qa(split, 300, seed=0), want["version"], want["source"])
            self.assertEqual(got, want, "the committed %s fixture must still be what the generator makes" % split)
        self.assertEqual(D.workspace_qa("train", 200, seed=1, sentences=0.0), D.workspace_qa("train", 200, seed=1))

    def test_fixtures_are_what_the_generator_makes(self):
        for split in ("dev", "test"):
            fx = os.path.join(REPO, "test", "fixtures", "workspace-sentences-%s.json" % split)
            with open(fx, encoding="utf-8") as f:
                want = json.load(f)
            ds = D.workspace_qa(split, 100, seed=0, sentences=1.0, only_sentence_questions=True)
            self.assertEqual(D.to_squad_json(ds, want["version"], want["source"]), want)

    def test_sentence_answers_are_phrases_found_verbatim(self):
        docs = {d.id: d for d in self.train.documents}
        sentence_qs = [q for q in self.train.questions if len(q.answers[0].split()) >= 4]
        share = len({q.doc_id for q in sentence_qs}) / len(self.train.documents)
        self.assertTrue(0.5 < share < 0.7, share)  # about `sentences` of the documents
        for q in sentence_qs:
            self.assertIn(q.answers[0], docs[q.doc_id].text)
        for ds in self.held.values():
            hdocs = {d.id: d for d in ds.documents}
            self.assertEqual(len(ds.documents), 400)
            self.assertEqual(len(ds.questions), 800)  # every document: one sentence fact, two questions
            for q in ds.questions:
                self.assertGreaterEqual(len(q.answers[0].split()), 4, q)
                self.assertIn(q.answers[0], hdocs[q.doc_id].text)

    def test_held_out_phrases_never_seen_in_training(self):
        train_answers = {q.answers[0] for q in self.train.questions}
        train_text = " ".join(d.text for d in self.train.documents)
        for split, ds in self.held.items():
            for q in ds.questions:
                self.assertNotIn(q.answers[0], train_answers)
            # the object noun of each held-out phrase is from the split's own partition
            objs = set(facts._S_OBJECTS[split]) | set(facts._S_INFRA[split])
            hits = [o for o in objs if o in train_text]
            self.assertEqual(hits, [], "held-out %s nouns appear in training documents" % split)
            self.assertTrue(all(any(o in q.answers[0] for o in objs) for q in ds.questions))


class SquadTest(unittest.TestCase):
    @unittest.skipUnless(os.path.exists(SQUAD), "SQuAD sample not available")
    def test_load_squad(self):
        ds = D.load_squad(SQUAD)
        self.assertEqual(len(ds.documents), 55)
        self.assertEqual(len(ds.questions), 269)
        docs = {d.id: d for d in ds.documents}
        self.assertEqual(len(docs), 55)
        self.assertEqual(ds.documents[3].path, "University_of_Notre_Dame/3.txt")
        for q in ds.questions:
            self.assertTrue(q.answers)
            for a in q.answers:
                self.assertIn(a, docs[q.doc_id].text)


class WriteTest(unittest.TestCase):
    def test_write_workspace(self):
        ds = D.workspace_qa("dev", 30, seed=1)
        with tempfile.TemporaryDirectory() as tmp:
            D.write_workspace(ds, tmp)
            for d in ds.documents:
                with open(os.path.join(tmp, d.path), encoding="utf-8") as f:
                    self.assertEqual(f.read(), d.text)
            with self.assertRaises(ValueError):
                D.write_workspace(D.Dataset([D.Document("x", "../evil.txt", "x")], []), tmp)

    def test_sample_matches_repo(self):
        with tempfile.TemporaryDirectory() as tmp:
            D.write_sample(tmp)
            ws = os.path.join(tmp, "samples", "workspace")
            files = sorted(os.path.relpath(os.path.join(r, f), ws) for r, _, fs in os.walk(ws) for f in fs)
            self.assertEqual(len(files), 24)
            size = sum(os.path.getsize(os.path.join(ws, f)) for f in files)
            size += os.path.getsize(os.path.join(tmp, "samples", "questions.json"))
            self.assertLess(size, 50_000)
            with open(os.path.join(tmp, "samples", "questions.json"), encoding="utf-8") as f:
                qs = json.load(f)
            self.assertEqual(len(qs), 24)
            for q in qs:
                self.assertEqual(set(q), {"question", "answers", "path"})
                with open(os.path.join(ws, q["path"]), encoding="utf-8") as f:
                    text = f.read()
                for a in q["answers"]:
                    self.assertIn(a, text)
            # the checked-in sample is exactly what write_sample produces
            repo_ws = os.path.join(REPO, "samples", "workspace")
            if os.path.isdir(repo_ws):
                for fpath in files:
                    with open(os.path.join(ws, fpath), encoding="utf-8") as a, \
                            open(os.path.join(repo_ws, fpath), encoding="utf-8") as b:
                        self.assertEqual(a.read(), b.read(), fpath)
                with open(os.path.join(REPO, "samples", "questions.json"), encoding="utf-8") as f:
                    self.assertEqual(json.load(f), qs)


if __name__ == "__main__":
    unittest.main()
