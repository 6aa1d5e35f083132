"""An upper bound for the memory prefix: what the frozen base answers when its prefix is not a
compressed memory but the document's own, exact key/value cache (all of it, or only the answer's
line). No CMT weights are involved. If the base cannot read even a lossless prefix, a memory-alone
answer needs the trained modules to teach it to read, not only to compress.

Variants (each answers with greedy decoding, at most 16 tokens, stopping at <|im_end|>):
- closed_book: the one-shot context prompt with no document.
- exact_kv_before_prompt: the document encoded on its own, its cache placed before the chat
  prompt (the product's prefix place), the memory-only question prompt after it.
- exact_kv_in_turn_standalone: the same cache rotated to sit inside the user turn of the one-shot
  context prompt, but still encoded without seeing that prompt.
- exact_kv_in_context: the cache as the base computes it after the one-shot head (= RAG-in-context).
- answer_line_kv_in_context: only the head and the answer line's entries of that cache.
"""
import json
import time

import torch

from ..metrics import exact_match, f1_score
from ..model.decode import generate

VARIANTS = ("closed_book", "exact_kv_before_prompt", "exact_kv_in_turn_standalone", "exact_kv_in_context",
            "answer_line_kv_in_context")


def _questions(squad_path: str, n: int):
    """One question per document (the first), in file order."""
    with open(squad_path, encoding="utf-8") as f:
        raw = json.load(f)
    out = []
    for art in raw["data"]:
        for para in art["paragraphs"]:
            qa = para["qas"][0]
            out.append((para["context"], qa["question"], [a["text"] for a in qa["answers"]], qa["answers"][0]["answer_start"]))
    return out[:n]


def _select(cache, index: list[int]):
    ix = torch.tensor(index, dtype=torch.long)
    return [(k[:, :, ix], v[:, :, ix]) for k, v in cache]


@torch.no_grad()
def _encode(base, ids: list[int], start: int, past=None):
    n = len(ids)
    past_len = 0 if past is None else past[0][0].shape[2]
    _, cache = base(input_ids=torch.tensor([ids]), position_ids=torch.arange(start, start + n).unsqueeze(0),
                    attention_mask=torch.ones(1, past_len + n, dtype=torch.long), past_key_values=past)
    return cache


def run(squad_path: str, n: int = 40, gguf=None, log=print) -> dict:
    from .. import paths
    from ..pack.recipe import CONTEXT_TEMPLATE, QUESTION_TEMPLATE, STOP_TOKEN_IDS, find_gguf
    from .recipe_model import load_base, tokenizer_of

    base, imported = load_base(find_gguf(gguf))
    tok = tokenizer_of(imported, paths.SMOLLM2_WORK)
    at = CONTEXT_TEMPLATE.index("{context}")
    totals = {v: [0.0, 0.0] for v in VARIANTS}
    examples = []
    t0 = time.time()
    items = _questions(squad_path, n)
    def answer(prompt, cache, start):
        return generate(base, tok, prompt, cache, max_new_tokens=16, stop_strings=[], start_pos=start, stop_ids=STOP_TOKEN_IDS)

    for context, question, golds, start in items:
        doc, spans = tok.encode_with_offsets(context)
        line_start = context.rfind("\n", 0, start) + 1
        line_end = context.find("\n", start)
        line_end = len(context) if line_end < 0 else line_end
        line = [i for i, (a, b) in enumerate(spans) if b > line_start and a < line_end]
        head = tok.encode(CONTEXT_TEMPLATE[:at].format(question=question))
        tail = tok.encode("\n" + CONTEXT_TEMPLATE[at + len("{context}"):].format(question=question))
        h, d = len(head), len(doc)
        head_kv = _encode(base, head, 0)
        alone_before = _encode(base, doc, -d)
        alone_in_turn = _encode(base, doc, h)
        in_context = _encode(base, doc, h, past=head_kv)
        joined = [(torch.cat([hk, k], 2), torch.cat([hv, v], 2)) for (hk, hv), (k, v) in zip(head_kv, alone_in_turn, strict=True)]
        question_prompt = tok.encode(QUESTION_TEMPLATE.format(question=question))
        preds = {
            "closed_book": answer(tail, head_kv, h),
            "exact_kv_before_prompt": answer(question_prompt, alone_before, 0),
            "exact_kv_in_turn_standalone": answer(tail, joined, h + d),
            "exact_kv_in_context": answer(tail, in_context, h + d),
            "answer_line_kv_in_context": answer(tail, _select(in_context, list(range(h)) + [h + i for i in line]), h + d),
        }
        for v, p in preds.items():
            totals[v][0] += exact_match(p, golds)
            totals[v][1] += f1_score(p, golds)
        if len(examples) < 6:
            examples.append({"question": question, "gold": golds[0], "answer_line_tokens": len(line), "document_tokens": d, **preds})
    nq = max(1, len(items))
    result = {"dataset": squad_path, "questions": len(items),
              "variants": {v: {"em": round(100 * em / nq, 1), "f1": round(100 * f1 / nq, 1)} for v, (em, f1) in totals.items()},
              "examples": examples, "wall_s": round(time.time() - t0, 1)}
    for v, m in result["variants"].items():
        log(f"{v:30s} EM {m['em']:5.1f}  F1 {m['f1']:5.1f}")
    return result
