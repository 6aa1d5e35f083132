"""The reader's real-project training data (cmt/data/real.py): which chunk a question is shown, and the
prompt pieces exactly as the engine's Decoder.buildContextPrompt writes them."""
import json
import os
import tempfile
import unittest

from cmt.config import CMTConfig


class CharTok:
    bos_id, eos_id, pad_id = 1, 2, 0

    def encode(self, text):
        return [ord(c) + 3 for c in text]


def line(question, answers, top, gold, file="a.py", shown=None):
    def chunk(t):
        return {"path": file, "startLine": 1, "endLine": 2, "text": t}

    out = {"project": "p", "id": question, "kind": "code", "question": question, "answers": answers, "file": file,
           "lines": [1, 2], "top": [chunk(t) for t in top], "gold": [chunk(t) for t in gold]}
    if shown is not None:
        out["shown"] = shown
    return out


class PickContext(unittest.TestCase):
    def test_top_chunk_when_it_holds_the_answer_else_the_gold_chunk(self):
        from cmt.data.real import pick_context
        self.assertEqual(pick_context(line("q", ["42"], ["x = 42", "y"], ["x = 42"]), two=False), (["x = 42"], "x = 42"))
        self.assertEqual(pick_context(line("q", ["42"], ["y = 1", "x = 42"], ["gold: 42"]), two=False), (["gold: 42"], "gold: 42"))
        self.assertIsNone(pick_context(line("q", ["42"], ["y"], ["z"]), two=False))

    def test_what_the_engine_shows_the_reader_first_with_its_whole_chunk_as_the_document(self):
        from cmt.data.real import pick_context
        top = ["y = 1", "a = 0\nx = 42\nb = 2", "z"]
        # The engine read the second chunk's middle line: that is the prompt; the chunk is the memory's document.
        self.assertEqual(pick_context(line("q", ["42"], top, ["g 42"], shown="x = 42"), two=False), (["x = 42"], top[1]))
        # What it showed misses the answer, or is from no top chunk: as before (top chunk, else gold).
        self.assertEqual(pick_context(line("q", ["42"], top, ["g 42"], shown="b = 2"), two=False), (["g 42"], "g 42"))
        self.assertEqual(pick_context(line("q", ["42"], ["x = 42"], ["g 42"], shown="w = 42"), two=False), (["x = 42"], "x = 42"))

    def test_two_chunks_are_the_products_top_two_when_one_holds_the_answer(self):
        from cmt.data.real import pick_context
        self.assertEqual(pick_context(line("q", ["42"], ["y = 1", "x = 42", "z"], ["x = 42"]), two=True), (["y = 1", "x = 42"], "x = 42"))
        # Neither of the top two holds it: the gold chunk, then the best other chunk as a distractor.
        self.assertEqual(pick_context(line("q", ["42"], ["y", "z"], ["g 42"]), two=True), (["g 42", "y"], "g 42"))

    def test_answers_are_matched_case_insensitively_and_blank_answers_never_match(self):
        from cmt.data.real import holds_answer
        self.assertTrue(holds_answer("Mimetype = 'Application/JSON'", ["application/json"]))
        self.assertFalse(holds_answer("anything", ["  "]))


class Prompts(unittest.TestCase):
    def test_blocks_as_the_engine_writes_them(self):
        from cmt.data.real import labelled
        from cmt.model.decode import context_prompt_ids
        tok = CharTok()
        self.assertEqual(labelled(["one"]), ["one\n"])
        self.assertEqual(labelled([" one\n", "two "]), ["[Document 1]\none\n\n", "[Document 2]\ntwo\n\n"])
        ids = context_prompt_ids(tok, "Q?", labelled(["a", "b"]), "<{context}|{question}>", add_bos=False)
        self.assertEqual(ids, tok.encode("<") + tok.encode("[Document 1]\na\n\n") + tok.encode("[Document 2]\nb\n\n") + tok.encode("|Q?>"))
        # One text as a string or as its one block: the same tokens.
        self.assertEqual(context_prompt_ids(tok, "Q", "t", "{context}{question}", False),
                         context_prompt_ids(tok, "Q", labelled(["t"]), "{context}{question}", False))

    def test_examples_from_a_dump(self):
        from cmt.data.real import real_examples
        tok = CharTok()
        rows = [line("Which port?", ["8080"], ["port = 8080", "other"], ["port = 8080"]),
                line("Who?", ["nobody"], ["x"], ["y"])]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ctx.jsonl")
            with open(path, "w") as f:
                f.write("".join(json.dumps(r) + "\n" for r in rows))
            exs, docs = real_examples(tok, path, CMTConfig(), "{context}Q:{question}", log=lambda m: None)
        self.assertEqual(len(exs), 1)  # the second question's answer is in no chunk: left out
        e = exs[0]
        self.assertEqual((e.kind, e.chunked), ("real", True))
        self.assertEqual(e.doc, tok.encode("port = 8080"))
        self.assertEqual(e.answer, tok.encode("8080") + [tok.eos_id])
        self.assertEqual(e.prompt, tok.encode("port = 8080\n") + tok.encode("Q:Which port?"))
        self.assertEqual(len(docs), 1)


if __name__ == "__main__":
    unittest.main()
