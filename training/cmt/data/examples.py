"""Training examples: a question (or a reconstruction request) tokenized into what CMT training
consumes: the gold document's compressor input, the question's compressor input, the decoder prompt
and the answer tokens."""
import random

from ..config import CMTConfig
from ..model.cmt import Example
from ..model.decode import QUESTION_TEMPLATE, answer_ids, context_prompt_ids, prompt_ids


def make_examples(tok, dataset, cfg: CMTConfig, template: str = QUESTION_TEMPLATE, add_bos: bool = True,
                  answer_prefix: str = " ", context_template: str | None = None, with_chunk: float = 0.0,
                  seed: int = 0) -> list[Example]:
    """One Example per question. With `context_template`, a share `with_chunk` of the questions get
    their document's text in the prompt (the engine's "memory+chunk" answer mode; the top chunk is
    the gold document for ~all workspace questions), the rest the memory-only prompt."""
    docs = {d.id: d for d in dataset.documents}
    rng = random.Random(seed)
    bos = [tok.bos_id] if add_bos else []
    doc_cache: dict[str, list[int]] = {}
    out = []
    for qa in dataset.questions:
        if qa.doc_id not in doc_cache:
            doc_cache[qa.doc_id] = (bos + tok.encode(docs[qa.doc_id].text))[: cfg.max_doc_tokens]
        chunked = bool(context_template) and rng.random() < with_chunk
        out.append(Example(
            doc=doc_cache[qa.doc_id],
            query=(bos + tok.encode(qa.question))[: cfg.max_question_tokens],
            prompt=(context_prompt_ids(tok, qa.question, chunk_text(tok, docs[qa.doc_id].text, cfg.max_doc_tokens),
                                       context_template, add_bos)
                    if chunked else prompt_ids(tok, qa.question, template, add_bos)),
            answer=answer_ids(tok, qa.answers[0], answer_prefix),
            chunked=chunked,
        ))
    return out


def chunk_text(tok, text: str, max_tokens: int) -> str:
    """The document as the engine would show it: whole if it fits in one chunk, else its first lines."""
    if len(tok.encode(text)) <= max_tokens:
        return text
    lines, out = text.split("\n"), []
    for line in lines:
        if len(tok.encode("\n".join(out + [line]))) > max_tokens:
            break
        out.append(line)
    return "\n".join(out)


RECON_INSTRUCTION = "Repeat the file word for word."


def make_recon_examples(tok, dataset, cfg: CMTConfig, template: str = QUESTION_TEMPLATE, add_bos: bool = True,
                        answer_prefix: str = " ", max_answer_tokens: int = 96) -> list[Example]:
    """One reconstruction example per document (as ICAE's autoencoding objective): from the memory
    alone, the frozen LM is asked to write the document out. Every document token is a target, so a
    step carries ~20x the supervision of a question's few answer tokens, all of it about what the
    memory holds. Long documents are cut to their first `max_answer_tokens` tokens (no eos then)."""
    bos = [tok.bos_id] if add_bos else []
    query = (bos + tok.encode(RECON_INSTRUCTION))[: cfg.max_question_tokens]
    prompt = prompt_ids(tok, RECON_INSTRUCTION, template, add_bos)
    out = []
    for d in dataset.documents:
        doc = (bos + tok.encode(d.text))[: cfg.max_doc_tokens]
        answer = answer_ids(tok, d.text, answer_prefix)
        out.append(Example(doc=doc, query=query, prompt=prompt, answer=answer[:max_answer_tokens], recon=True))
    return out
