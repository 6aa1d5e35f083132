"""docs/history/training-report-from-scratch.md (the old from-scratch pipeline) and its loss-curve plots,
written from the work directory's JSON files."""
import json
import os

from .. import paths
from .evaluate import format_table


def _load(work, name):
    p = os.path.join(work, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def plot_curves(work: str, out_png: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    pre, tr = _load(work, "pretrain.json"), _load(work, "train.json")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    if pre:
        axes[0].plot([p["step"] for p in pre["curve"]], [p["loss"] for p in pre["curve"]])
        axes[0].set_title("base LM pretraining: next-token loss")
        axes[0].set_xlabel("step")
    if tr:
        steps = [p["step"] for p in tr["curve"]]
        axes[1].plot(steps, [p["answer_nll"] for p in tr["curve"]], label="answer NLL (memory-aware)")
        axes[1].plot(steps, [p["l_sm"] for p in tr["curve"]], label="L_sm")
        axes[1].set_title("CMT training losses")
        axes[1].legend()
        axes[2].plot(steps, [p["recall@1"] for p in tr["curve"]], label="in-batch recall@1")
        axes[2].plot(steps, [p["gold_in_topk"] for p in tr["curve"]], label="gold in top-K")
        axes[2].set_title("CMT training: self-matching")
        axes[2].legend()
        for ax in axes[1:]:
            ax.set_xlabel("step")
    fig.tight_layout()
    os.makedirs(os.path.dirname(out_png), exist_ok=True)
    fig.savefig(out_png, dpi=90)
    return True


def findings(ev: dict, pre: dict) -> list:
    """An honest reading of the evaluation, computed from the numbers (not written by hand)."""
    out = ["## Findings", ""]
    for name, res in ev.items():
        v = res.get("variants", {})
        if "cmt" not in v or "closed_book" not in v or "answer_nll" not in v["cmt"]:
            continue
        em = max(m["em"] for m in v.values())
        line = (f"- **{name}**: best strict EM of any variant {em:.1f}%. Gold-answer NLL: closed book "
                f"{v['closed_book']['answer_nll']:.3f}, CMT {v['cmt']['answer_nll']:.3f}")
        if "rag_in_context" in v:
            line += f", RAG-in-context {v['rag_in_context']['answer_nll']:.3f}"
        if "cmt_no_topk" in v and "cmt_no_self_matching" in v:
            spread = max(abs(v["cmt"]["answer_nll"] - v[k]["answer_nll"]) for k in ("cmt_no_topk", "cmt_no_self_matching"))
            line += (f"; CMT without top-K / without self-matching differ from full CMT by at most {spread:.3f}"
                     + (" — the prefix barely depends on which memories were selected, so the gain over closed book"
                        " is a learned answer prior, not recalled content." if spread < 0.05 else "."))
        r = res.get("retrieval", {})
        if r:
            line += f" Retrieval recall@1: compressed keys {r['key@1']:.0f}%, TF-IDF {r['tfidf@1']:.0f}%."
        out.append(line)
    out += ["", "What limits the default pack today: the base LM (trained from scratch on CPU for "
            f"{pre['curve'][-1]['step'] + 1 if pre else '?'} steps) does not copy facts even when the document is in its "
            "prompt (RAG-in-context scores no better than closed book), so no memory mechanism on top of it can "
            "produce exact answers. The pack is useful today for retrieval and citations (the engine fuses the "
            "compressed keys with full-text search); answer quality needs a stronger base LM — a real Hugging Face "
            "checkpoint loads through `load_hf_checkpoint` when one is available — or much longer pretraining.", ""]
    return out


def write_report(work: str, recipe, out_md: str = None):
    out_md = out_md or os.path.join(paths.HISTORY, "training-report-from-scratch.md")
    png = os.path.join(paths.DOCS, "img", "training-curves.png")
    has_png = plot_curves(work, png)
    pre, tr, ev = _load(work, "pretrain.json"), _load(work, "train.json"), _load(work, "eval.json") or {}
    timings, corpus, toks = _load(work, "timings.json") or {}, _load(work, "corpus.json"), _load(work, "tokenizer-stats.json")
    lines = ["# Training report: the old from-scratch default pack (replaced; kept for comparison)", "",
             "Everything below was produced by `npm run pack:default` (= `python3 -m cmt default-pack`) on the "
             "project's 2-core CPU machine; `python3 -m cmt report` rewrites this file from `training/work/default/*.json`.", ""]
    lines += ["## Recipe", "", "```json", json.dumps({k: v for k, v in vars(recipe).items()}, indent=1), "```", ""]
    if timings:
        lines += ["## Wall time (seconds)", "", "| step | seconds |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in timings.items()] + [""]
    if corpus:
        lines += ["## Data", "", f"- Pretraining corpus: {json.dumps(corpus['stats'])}",
                  f"- Tokenizer: byte-level BPE, {toks['vocab'] if toks else '?'} tokens.",
                  f"- Synthetic workspace QA: {recipe.train_docs} train / {recipe.dev_docs} dev / {recipe.test_docs} test documents "
                  "(dev/test use held-out names, values and phrasings).", ""]
    if pre:
        lines += ["## Base LM", "", f"{pre['parameters']:,} parameters, {pre['curve'][-1]['step'] + 1} steps, "
                  f"final loss {pre['curve'][-1]['loss']:.3f}, {pre['wall_s']} s.", ""]
    if tr:
        last = tr["curve"][-1]
        lines += ["## CMT training", "", f"{tr['steps_done']} steps in {tr['wall_s']} s; last window: answer NLL "
                  f"{last['answer_nll']:.3f}, L_sm {last['l_sm']:.3f}, in-batch recall@1 {last['recall@1']:.2f}.", ""]
    if has_png:
        lines += [f"![loss curves]({os.path.relpath(png, os.path.dirname(os.path.abspath(out_md)))})", ""]
    for name, res in ev.items():
        lines += [f"## Evaluation: {name}", "", format_table(res), ""]
        if res.get("examples"):
            lines += ["<details><summary>example predictions</summary>", "", "```json",
                      json.dumps(res["examples"][:6], indent=1, ensure_ascii=False), "```", "</details>", ""]
    lines += findings(ev, pre)
    lines += ["## Reading the numbers", "", "Variants: `closed_book` = the base LM with no memory; `rag_in_context` = the top-K "
              "retrieved documents' raw text in the prompt (same base LM, same retrieval); `cmt` = full CMT; `cmt_alpha0` = no "
              "memory-aware contrast at decoding; `cmt_no_topk` = aggregate the whole bank; `cmt_no_self_matching` = "
              "retrieve by TF-IDF keywords instead of compressed keys. Ablations other than the one trained without L_sm "
              "share the trained weights and change only inference.", ""]
    with open(out_md, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out_md}")
