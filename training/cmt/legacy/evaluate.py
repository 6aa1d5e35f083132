"""Streaming-QA evaluation (MAC/CMT protocol): every document of a split enters one bank, then
every question is answered against the whole bank. Metrics: strict EM, prefix EM (MAC's), SQuAD
F1, and retrieval recall@1/5 of the gold document. Variants share one base model and one
compressed bank so they are directly comparable."""
import collections
import math
import re
import time
from collections.abc import Sequence

import torch

from ..metrics import exact_match, f1_score, prefix_exact_match
from ..model.cmt import CMTModel
from ..model.decode import answer_ids, answer_loss, generate, memory_aware_logits, prompt_ids

VARIANTS = ("closed_book", "rag_in_context", "cmt", "cmt_alpha0", "cmt_no_topk", "cmt_no_self_matching")


class TfIdf:
    """Keyword retrieval used for the "without self-matching" ablation (full-text search only)."""

    def __init__(self, texts: Sequence[str]):
        self.docs = [collections.Counter(self._words(t)) for t in texts]
        df = collections.Counter(w for d in self.docs for w in d)
        n = len(texts)
        self.idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}

    @staticmethod
    def _words(t: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", t.lower())

    def scores(self, query: str) -> torch.Tensor:
        q = set(self._words(query))
        return torch.tensor([sum(self.idf.get(w, 0.0) * (1 + math.log(d[w])) for w in q if w in d) for d in self.docs])


@torch.no_grad()
def gold_answer_nll(base, prompt: list[int], answer: list[int], prefix=None, alpha: float = 0.0) -> float:
    """Teacher-forced NLL (nats/token) of the gold answer: more sensitive than EM when a small model
    gets the format right but digits wrong."""
    dev = next(base.parameters()).device
    ids = torch.tensor([prompt + answer], device=dev)
    t = ids.shape[1]
    p = 0 if prefix is None else prefix[0][0].shape[2]
    pos = torch.arange(t, device=dev).unsqueeze(0)
    target = torch.zeros((1, t), dtype=torch.long, device=dev)
    target[0, len(prompt):] = 1
    logits, _ = base(input_ids=ids, attention_mask=torch.ones((1, p + t), dtype=torch.long, device=dev),
                     position_ids=pos, past_key_values=prefix)
    if prefix is not None and alpha:
        plain, _ = base(input_ids=ids, position_ids=pos)
        logits = memory_aware_logits(logits, plain, alpha)
    return answer_loss(logits, ids, target).item()


@torch.no_grad()
def compress_all(model: CMTModel, seqs: list[list[int]], pad_id: int, batch_size: int = 32):
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    mems, keys = [None] * len(seqs), [None] * len(seqs)
    for s in range(0, len(order), batch_size):
        chunk = order[s: s + batch_size]
        m, k = model.compress([seqs[i] for i in chunk], pad_id)
        for j, i in enumerate(chunk):
            mems[i], keys[i] = m[j], k[j]
    return torch.stack(mems), torch.stack(keys)


@torch.no_grad()
def evaluate(model: CMTModel, tok, dataset, top_k: int = 4, alpha: float = 0.5,
             variants: Sequence[str] = VARIANTS, max_questions: int = None, max_new_tokens: int = 16,
             rag_max_tokens: int = 400, log=print) -> dict:
    model.eval()
    cfg = model.cfg
    t0 = time.time()
    docs = dataset.documents
    index = {d.id: i for i, d in enumerate(docs)}
    doc_seqs = [([tok.bos_id] + tok.encode(d.text))[: cfg.max_doc_tokens] for d in docs]
    mem, keys = compress_all(model, doc_seqs, tok.pad_id)
    tfidf = TfIdf([d.text for d in docs])
    questions = dataset.questions[:max_questions] if max_questions else dataset.questions
    totals = {v: collections.Counter() for v in variants}
    retrieval = collections.Counter()
    examples = []
    for n, qa in enumerate(questions):
        gold = index[qa.doc_id]
        qmem, qkey = model.compress([([tok.bos_id] + tok.encode(qa.question))[: cfg.max_question_tokens]], tok.pad_id)
        scores = (qkey @ keys.t())[0]
        ranked = scores.argsort(descending=True)
        kw_ranked = tfidf.scores(qa.question).argsort(descending=True).to(mem.device)
        retrieval["key@1"] += float(gold in ranked[:1].tolist())
        retrieval["key@5"] += float(gold in ranked[:5].tolist())
        retrieval["tfidf@1"] += float(gold in kw_ranked[:1].tolist())
        retrieval["tfidf@5"] += float(gold in kw_ranked[:5].tolist())
        prompt = prompt_ids(tok, qa.question)
        gold_ids = answer_ids(tok, qa.answers[0])
        preds = {}
        for v in variants:
            if v == "closed_book":
                preds[v] = generate(model.base, tok, prompt, None, 0.0, max_new_tokens)
                totals[v]["nll"] += gold_answer_nll(model.base, prompt, gold_ids)
                continue
            if v == "rag_in_context":
                ctx: list[int] = []
                for i in ranked[:top_k].tolist():
                    ids = tok.encode(docs[i].text + "\n")
                    if len(ctx) + len(ids) + len(prompt) > rag_max_tokens:
                        break
                    ctx += ids
                rag_prompt = [tok.bos_id] + ctx + prompt[1:]
                preds[v] = generate(model.base, tok, rag_prompt, None, 0.0, max_new_tokens)
                totals[v]["nll"] += gold_answer_nll(model.base, rag_prompt, gold_ids)
                continue
            if v == "cmt_no_topk":
                idx = ranked  # aggregate the whole bank
            elif v == "cmt_no_self_matching":
                idx = kw_ranked[:top_k]
            else:
                idx = ranked[:top_k]
            selected = mem[idx].unsqueeze(0)
            prefix = model.aggregator(qmem, selected, torch.ones((1, selected.shape[1]), dtype=torch.long, device=mem.device))
            a = 0.0 if v == "cmt_alpha0" else alpha
            preds[v] = generate(model.base, tok, prompt, prefix, a, max_new_tokens)
            totals[v]["nll"] += gold_answer_nll(model.base, prompt, gold_ids, prefix, a)
        for v, p in preds.items():
            totals[v]["em"] += exact_match(p, qa.answers)
            totals[v]["prefix_em"] += prefix_exact_match(p, qa.answers)
            totals[v]["f1"] += f1_score(p, qa.answers)
        if n < 12:
            examples.append({"question": qa.question, "answers": qa.answers, **preds})
    nq = max(1, len(questions))
    result = {
        "documents": len(docs), "questions": len(questions), "top_k": top_k, "alpha": alpha,
        "variants": {v: {**{m: round(100 * c[m] / nq, 2) for m in ("em", "prefix_em", "f1")},
                         "answer_nll": round(c["nll"] / nq, 3)} for v, c in totals.items()},
        "retrieval": {m: round(100 * c / nq, 2) for m, c in retrieval.items()},
        "examples": examples, "wall_s": round(time.time() - t0, 1),
    }
    log(format_table(result))
    return result


def format_table(result: dict) -> str:
    lines = ["| variant | EM | prefix EM | F1 | gold-answer NLL (nats/token) |", "|---|---|---|---|---|"]
    for v, m in result["variants"].items():
        nll = f"{m['answer_nll']:.3f}" if "answer_nll" in m else "—"
        lines.append(f"| {v} | {m['em']:.2f} | {m['prefix_em']:.2f} | {m['f1']:.2f} | {nll} |")
    r = result["retrieval"]
    lines.append("")
    lines.append(f"retrieval recall@1/@5: self-matching keys {r['key@1']:.1f}/{r['key@5']:.1f}, "
                 f"tf-idf {r['tfidf@1']:.1f}/{r['tfidf@5']:.1f} "
                 f"({result['documents']} documents, {result['questions']} questions)")
    return "\n".join(lines)
