import json
import os
import shutil
import subprocess
import tempfile
import unittest

from cmt.legacy.bpe import BPETokenizer, pretokenize, train_bpe

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE_PKG = os.path.join(REPO, "node_modules", "@huggingface", "tokenizers")

TRAIN_TEXT = [
    "The quick brown fox jumps over the lazy dog. It's 2024 and we're testing BPE!\n",
    "def main(argv):\n    for i in range(10):\n        print(f\"value {i}: {argv[i]!r}\")\n    return 0\n",
    "Server listens on port 8080; version 1.2.3-beta; IP 192.168.0.1\r\n",
    "Ünïcödé text: naïve café, Straße, 日本語のテキスト, Привет мир, emoji 🎉🚀👍🏽\n",
    "export interface Options { maxTokens?: number; stop: string[] }\n\t\tindented\twith tabs\n",
] * 20

TRICKY = [
    "",
    "hello world",
    "Hello  World   three   spaces",
    "  leading and trailing  ",
    "line1\nline2\r\nline3\rline4\n\n\n",
    "\ttab\t\tdouble tab \t mixed",
    "numbers 1234567890 3.14159 -42 1e-9 0x1F port:8080 v1.2.3",
    "I'm, you're, they've, he'll, she'd, it's, 'quoted' DON'T",
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": None}  # comment\n",
    "const x = async (a, b) => { await a?.b ?? c; };",
    "naïve café Straße Ωmega ñ",
    "日本語のテキストと中文文本",
    "Привет, мир! Ελληνικά",
    "emoji: 🎉🚀👍🏽 👨‍👩‍👧‍👦 ❤️",
    "mixed\u00a0nbsp\u2003emspace\u3000ideographic",
    "zero\u200bwidth\ufeffbom",
    "control \x00\x01\x07\x1b[0m chars \x7f",
    "\x1c\x1d\x1e\x1f separators \x85 nel \u2028 ls",
    "unseen bytes: \U0001F9FF \U00010348 \uFFFD \uE000",
    "<|bos|>special<|eos|> tokens <|pad|>",
    "a" * 300,
    "                                        many spaces",
    "https://example.com/path?query=1&x=y#frag",
    "$ echo \"hello\" | grep -E '^h.*o$' > out.txt 2>&1",
]


class TestTokenizer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tok = train_bpe(TRAIN_TEXT, 600, verbose=False)
        cls.tmp = tempfile.mkdtemp()
        cls.path = os.path.join(cls.tmp, "tokenizer.json")
        cls.tok.save(cls.path)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_layout(self):
        t = self.tok
        self.assertEqual((t.pad_id, t.bos_id, t.eos_id), (0, 1, 2))
        self.assertLessEqual(t.vocab_size, 600)
        self.assertGreater(t.vocab_size, 259 + 100)
        self.assertEqual(t.id_to_token[3 + ord("A")], "A")
        self.assertEqual(t.id_to_token[3 + ord(" ")], "Ġ")
        with open(self.path, encoding="utf-8") as f:
            d = json.load(f)
        self.assertEqual([a["content"] for a in d["added_tokens"]], ["<|pad|>", "<|bos|>", "<|eos|>"])
        self.assertTrue(all(a["special"] for a in d["added_tokens"]))
        self.assertEqual(d["model"]["type"], "BPE")
        self.assertEqual(sorted(d["model"]["vocab"].values()), list(range(t.vocab_size)))

    def test_pretokenize_covers_text(self):
        for s in TRICKY:
            self.assertEqual("".join(pretokenize(s)), s)
        self.assertEqual(pretokenize("port 8080"), ["port", " 8", "0", "8", "0"])

    def test_roundtrip(self):
        for s in TRICKY:
            if "<|" in s:
                continue
            ids = self.tok.encode(s)
            self.assertNotIn(0, ids)
            self.assertEqual(self.tok.decode(ids), s, repr(s))
        self.assertEqual(self.tok.decode([1] + self.tok.encode("hi") + [2]), "hi")
        self.assertEqual(self.tok.decode([1, 2], skip_special_tokens=False), "<|bos|><|eos|>")
        self.assertEqual(self.tok.encode("<|eos|>"), [2])

    def test_merges_compress(self):
        ids = self.tok.encode("The quick brown fox jumps over the lazy dog.")
        self.assertLess(len(ids), 20)

    def test_save_load(self):
        t2 = BPETokenizer.load(self.path)
        self.assertEqual(t2.vocab, self.tok.vocab)
        for s in TRICKY:
            self.assertEqual(t2.encode(s), self.tok.encode(s))

    def test_deterministic(self):
        t2 = train_bpe(TRAIN_TEXT, 600, verbose=False)
        self.assertEqual(t2.merges, self.tok.merges)

    @unittest.skipUnless(os.path.isdir(NODE_PKG) and shutil.which("node"), "node_modules or node absent")
    def test_js_parity(self):
        cases_path = os.path.join(self.tmp, "cases.json")
        with open(cases_path, "w", encoding="utf-8") as f:
            json.dump(TRICKY, f)
        script = (
            "const fs=require('fs');const {Tokenizer}=require('@huggingface/tokenizers');"
            "const tj=JSON.parse(fs.readFileSync(process.argv[1],'utf8'));"
            "const tk=new Tokenizer(tj,{clean_up_tokenization_spaces:false});"
            "const cases=JSON.parse(fs.readFileSync(process.argv[2],'utf8'));"
            "const out=cases.map(s=>{const ids=tk.encode(s,{add_special_tokens:false}).ids;"
            "return {ids, dec: ids.length? tk.decode(ids,{skip_special_tokens:true}) : ''};});"
            "process.stdout.write(JSON.stringify(out));"
        )
        r = subprocess.run(["node", "-e", script, self.path, cases_path], cwd=REPO,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode("utf-8", "replace"))
        out = json.loads(r.stdout.decode("utf-8"))
        for s, o in zip(TRICKY, out, strict=True):
            self.assertEqual(o["ids"], self.tok.encode(s), f"ids differ for {s!r}")
            self.assertEqual(o["dec"], self.tok.decode(o["ids"]), f"decode differs for {s!r}")


if __name__ == "__main__":
    unittest.main()
