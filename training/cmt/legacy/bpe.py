"""Byte-level BPE tokenizer, trained in pure Python, saved as a Hugging Face tokenizer.json.

Layout of the vocabulary: ``<|pad|>``=0, ``<|bos|>``=1, ``<|eos|>``=2 (special added tokens,
also present in the model vocab), then the 256 byte-level symbols (GPT-2 bytes_to_unicode
map) in byte order (id = 3 + byte), then one token per merge in merge order.

Pre-tokenization is a ``Split`` with an ASCII-only regex (identical in Python ``re``,
JavaScript ``RegExp`` and Oniguruma) followed by ``ByteLevel(use_regex=false)``.  No
normalizer, no post-processor (the engine adds bos itself), ByteLevel decoder.

Like Hugging Face tokenizers, ``encode`` recognises the special-token strings when they
occur literally in the text (``"<|eos|>"`` -> id 2); it never adds specials itself.

JS note: @huggingface/tokenizers cleans up tokenization spaces on decode by default
(" ." -> "."); construct it with ``{clean_up_tokenization_spaces: false}`` (or pass that
option to ``decode``) to get the exact text back.
"""
from __future__ import annotations

import heapq
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>"]
N_SPECIAL = len(SPECIAL_TOKENS)

# ASCII-only classes: \s, \w, \d differ between Python, JS and Oniguruma; explicit sets do not.
_WS = r"\t\n\x0b\x0c\r "
PRETOKENIZE_PATTERN = (
    r"'(?:[sdmt]|ll|ve|re)"
    r"| ?[A-Za-z]+"
    r"| ?[0-9]"
    rf"| ?[^{_WS}A-Za-z0-9]+"
    rf"|[{_WS}]+(?![^{_WS}])"
    rf"|[{_WS}]+"
)
_PRE_RE = re.compile(PRETOKENIZE_PATTERN)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(s) for s in SPECIAL_TOKENS) + ")")


def pretokenize(text: str) -> list[str]:
    """Split text (without special tokens) into pre-tokens (Split regex, Isolated)."""
    return _PRE_RE.findall(text)


def _byte_level(s: str) -> str:
    return "".join(BYTE_ENCODER[b] for b in s.encode("utf-8"))


class BPETokenizer:
    def __init__(self, merges: Sequence[tuple[str, str]]):
        self.merges: list[tuple[str, str]] = [tuple(m) for m in merges]
        self.vocab: dict[str, int] = {}
        for i, s in enumerate(SPECIAL_TOKENS):
            self.vocab[s] = i
        for b in range(256):
            self.vocab[BYTE_ENCODER[b]] = N_SPECIAL + b
        for a, b in self.merges:
            tok = a + b
            if a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge ({a!r}, {b!r}) uses a token not in the vocab")
            if tok not in self.vocab:  # two merges may build the same string (HF does the same)
                self.vocab[tok] = len(self.vocab)
        self.id_to_token: list[str] = [""] * len(self.vocab)
        for t, i in self.vocab.items():
            self.id_to_token[i] = t
        self.ranks: dict[tuple[str, str], int] = {m: i for i, m in enumerate(self.merges)}
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # -- encoding -----------------------------------------------------------------------
    def _bpe(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        syms = list(word)
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            best_rank = None
            for i in range(len(syms) - 1):
                r = ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank, best = r, (syms[i], syms[i + 1])
            if best is None:
                break
            a, b = best
            out = []
            i = 0
            n = len(syms)
            while i < n:
                if i < n - 1 and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        ids = [self.vocab[s] for s in syms]
        if len(self._cache) < 200_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (no bos/eos added; literal special-token strings map to their ids)."""
        ids: list[int] = []
        for part in _SPECIAL_RE.split(text):
            if not part:
                continue
            if part in SPECIAL_TOKENS:
                ids.append(self.vocab[part])
                continue
            for pt in _PRE_RE.findall(part):
                ids.extend(self._bpe(_byte_level(pt)))
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        out = bytearray()
        pieces: list[str] = []
        for i in ids:
            i = int(i)
            if i < N_SPECIAL:
                if skip_special_tokens:
                    continue
                pieces.append(out.decode("utf-8", errors="replace"))
                out = bytearray()
                pieces.append(SPECIAL_TOKENS[i])
                continue
            if i < 0 or i >= len(self.id_to_token):
                raise ValueError(f"token id {i} out of range (vocab {self.vocab_size})")
            out.extend(BYTE_DECODER[c] for c in self.id_to_token[i])
        pieces.append(out.decode("utf-8", errors="replace"))
        return "".join(pieces)

    # -- serialisation ------------------------------------------------------------------
    def to_json_dict(self) -> dict:
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, s in enumerate(SPECIAL_TOKENS)]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {
                "type": "Sequence",
                "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": PRETOKENIZE_PATTERN},
                     "behavior": "Isolated", "invert": False},
                    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
                ],
            },
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json_dict(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path: str) -> BPETokenizer:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        model = d.get("model", {})
        if model.get("type") != "BPE":
            raise ValueError(f"{path}: not a BPE tokenizer.json")
        pre = json.dumps(d.get("pre_tokenizer"))
        if PRETOKENIZE_PATTERN.replace("\\", "\\\\") not in pre:
            raise ValueError(f"{path}: pre-tokenizer is not the one this module implements")
        merges = []
        for m in model["merges"]:
            a, b = (m.split(" ", 1) if isinstance(m, str) else m)
            merges.append((a, b))
        tok = cls(merges)
        if tok.vocab != model["vocab"]:
            raise ValueError(f"{path}: vocab does not match the merges (not written by this module?)")
        return tok


def train_bpe(texts: Iterable[str], vocab_size: int, verbose: bool = True) -> BPETokenizer:
    """Train a byte-level BPE with `vocab_size` total tokens (3 specials + 256 bytes + merges).

    Word-frequency counting, then merges with incremental pair-count updates and a lazy
    max-heap.  Ties are broken deterministically: highest count, then smallest
    (left bytes, right bytes).  Stops early if no pair is left.
    """
    t0 = time.time()
    n_merges = vocab_size - N_SPECIAL - 256
    if n_merges < 0:
        raise ValueError(f"vocab_size must be >= {N_SPECIAL + 256}")
    wc: Counter = Counter()
    nbytes = 0
    for t in texts:
        nbytes += len(t)
        for part in _SPECIAL_RE.split(t):
            if part and part not in SPECIAL_TOKENS:
                wc.update(_PRE_RE.findall(part))
    if verbose:
        print(f"[bpe] {nbytes} chars, {len(wc)} distinct pre-tokens ({time.time() - t0:.1f}s)", file=sys.stderr)

    # symbols: ids into tok_bytes
    tok_bytes: list[bytes] = [bytes([b]) for b in range(256)]
    words: list[list[int]] = []
    freqs: list[int] = []
    for w, c in sorted(wc.items()):
        words.append(list(w.encode("utf-8")))
        freqs.append(c)
    del wc

    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set] = {}
    for wi, (sy, f) in enumerate(zip(words, freqs, strict=True)):
        for p in pairwise(sy):
            pair_counts[p] = pair_counts.get(p, 0) + f
            s = where.get(p)
            if s is None:
                where[p] = s = set()
            s.add(wi)

    def key(p):
        return (-pair_counts[p], tok_bytes[p[0]], tok_bytes[p[1]], p)

    heap = [key(p) for p in pair_counts]
    heapq.heapify(heap)
    merges_ids: list[tuple[int, int]] = []
    bytes_to_id: dict[bytes, int] = {bb: i for i, bb in enumerate(tok_bytes)}
    last_print = time.time()
    while len(tok_bytes) - 256 < n_merges and heap:
        negc, _, _, p = heapq.heappop(heap)
        cur = pair_counts.get(p, 0)
        if cur <= 0:
            continue
        if -negc != cur:
            continue  # stale entry (a fresh one was pushed when the count changed)
        a, b = p
        nb = tok_bytes[a] + tok_bytes[b]
        new = bytes_to_id.get(nb)
        if new is None:
            new = len(tok_bytes)
            tok_bytes.append(nb)
            bytes_to_id[nb] = new
        merges_ids.append(p)
        changed = set()
        for wi in sorted(where.pop(p, ())):
            sy = words[wi]
            f = freqs[wi]
            n = len(sy)
            # quick check that the pair is still present
            found = False
            for i in range(n - 1):
                if sy[i] == a and sy[i + 1] == b:
                    found = True
                    break
            if not found:
                continue
            for q in pairwise(sy):
                pair_counts[q] -= f
                changed.add(q)
            out = []
            i = 0
            while i < n:
                if i < n - 1 and sy[i] == a and sy[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(sy[i])
                    i += 1
            words[wi] = out
            for q in pairwise(out):
                pair_counts[q] = pair_counts.get(q, 0) + f
                changed.add(q)
                s = where.get(q)
                if s is None:
                    where[q] = s = set()
                s.add(wi)
        pair_counts.pop(p, None)
        changed.discard(p)
        for q in changed:
            c = pair_counts.get(q, 0)
            if c > 0:
                heapq.heappush(heap, key(q))
            else:
                pair_counts.pop(q, None)
        if verbose and (time.time() - last_print > 5 or len(tok_bytes) - 256 == n_merges):
            last_print = time.time()
            print(f"[bpe] merge {len(merges_ids)}/{n_merges} count={cur} ({time.time() - t0:.1f}s)", file=sys.stderr)

    def s(i: int) -> str:
        return "".join(BYTE_ENCODER[x] for x in tok_bytes[i])

    tok = BPETokenizer([(s(a), s(b)) for a, b in merges_ids])
    if verbose:
        print(f"[bpe] done: vocab {tok.vocab_size} ({len(merges_ids)} merges) in {time.time() - t0:.1f}s",
              file=sys.stderr)
    return tok
