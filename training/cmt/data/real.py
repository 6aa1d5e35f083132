"""The reader's training data from real projects: the real-train split of benchmarks/real/.

The engine writes it (`cmt eval --dataset real-train --variants none --dump-contexts FILE`): one JSON
line per question with the fused retrieval's best three chunks and the chunks of the gold file that
hold the gold lines, exactly as the engine chunked and stored them. Training then shows the reader
what it will see in the product: the top chunk (or the top two), in the pack's context template.

Which text a question is trained on: what the engine's reader is shown (its choice among the top
chunks, cut to the lines around the question's line; `shown` in the dump) when it holds an accepted
answer (the product's case when retrieval is right), else the top chunk, else the gold chunk that
holds it (retrieval's misses still teach reading). The compressor's document is the whole chunk. A
question whose answer is in none of them is left out and counted.
"""
from __future__ import annotations

import json
import random
from collections.abc import Sequence

from ..config import CMTConfig
from ..model.cmt import Example
from ..model.decode import answer_ids, context_prompt_ids


def read_lines(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    low = text.lower()
    return any(a.strip() and a.strip().lower() in low for a in answers)


def labelled(texts: Sequence[str]) -> list[str]:
    """The context blocks as Decoder.buildContextPrompt writes them: one text plain with a newline,
    several labelled "[Document i]" (each block is tokenized on its own, as the engine does)."""
    if len(texts) == 1:
        return [texts[0] + "\n"]
    return [f"[Document {i + 1}]\n{t.strip()}\n\n" for i, t in enumerate(texts)]


def pick_context(q: dict, two: bool) -> tuple[list[str], str] | None:
    """(the texts in prompt order, the chunk they come from that holds the answer) or None when no
    chunk holds it. One text: what the engine's reader is shown (`shown`: its chunk choice and the
    lines around the question's line, written by newer dumps) when it holds an answer, else the top
    chunk, else the gold chunk."""
    top = [c["text"] for c in q.get("top", [])]
    answers = q["answers"]
    holding = next((t for t in top[:2] if holds_answer(t, answers)), None)
    gold = next((c["text"] for c in q.get("gold", []) if holds_answer(c["text"], answers)), None)
    if not two:
        shown = q.get("shown")
        source = next((t for t in top if shown and shown in t), None)
        if shown and source and holds_answer(shown, answers):
            return [shown], source
        if top and holds_answer(top[0], answers):
            return [top[0]], top[0]
        return ([gold], gold) if gold else None
    if holding is not None and len(top) >= 2:
        return top[:2], holding  # the product's two chunks, the answer in one of them
    if gold is None:
        return None
    other = next((t for t in top if t != gold), None)
    return ([gold, other] if other else [gold]), gold


def real_examples(tok, path: str, cfg: CMTConfig, context_template: str, two_chunks: float = 0.0,
                  seed: int = 0, log=print) -> tuple[list[Example], list[str]]:
    """Examples (kind "real") and each one's document id, for the with-chunk regime."""
    rng = random.Random(seed)
    out: list[Example] = []
    doc_of: list[str] = []
    left_out = 0
    for q in read_lines(path):
        picked = pick_context(q, rng.random() < two_chunks)
        if picked is None:
            left_out += 1
            continue
        texts, holding = picked
        out.append(Example(
            doc=tok.encode(holding)[: cfg.max_doc_tokens],
            query=tok.encode(q["question"])[: cfg.max_question_tokens],
            prompt=context_prompt_ids(tok, q["question"], labelled(texts), context_template, add_bos=False),
            answer=answer_ids(tok, q["answers"][0], ""),
            chunked=True,
            real=True,
        ))
        doc_of.append(f"real:{q['project']}:{q['file']}:{hash(holding) & 0xffffffff:x}")
    log(f"real-train: {len(out)} questions from {path}; {left_out} left out (no chunk holds an accepted answer)")
    return out, doc_of
