"""Answering with the frozen LM: the memory-aware logit contrast, the answer loss, prompts and
greedy KV-cache decoding. The TypeScript engine's decode.ts implements the same steps."""
from collections.abc import Sequence

import torch
import torch.nn.functional as F

QUESTION_TEMPLATE = "Question: {question}\nAnswer:"
STOP_STRINGS = ["\n"]

Prefix = list[tuple[torch.Tensor, torch.Tensor]] | None


def memory_aware_logits(with_memory: torch.Tensor, without_memory: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 + α) · l(y | M*, q) − α · l(y | q)."""
    if alpha == 0:
        return with_memory
    return (1.0 + alpha) * with_memory - alpha * without_memory


def answer_loss(logits: torch.Tensor, input_ids: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """Mean NLL of the tokens where target_mask is 1, predicting token t from position t−1."""
    lp = F.log_softmax(logits[:, :-1].float(), dim=-1)
    nll = -lp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = target_mask[:, 1:].to(nll.dtype)
    return (nll * m).sum() / m.sum().clamp(min=1.0)


def predicting_positions(target_mask: torch.Tensor) -> torch.Tensor:
    """bool [B,T]: the positions whose logits predict a target token (t−1 for every target t)."""
    at = torch.zeros_like(target_mask, dtype=torch.bool)
    at[:, :-1] = target_mask[:, 1:] != 0
    return at


def packed_answer_loss(logits: torch.Tensor, input_ids: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """answer_loss for logits computed only at predicting_positions (packed [N,V], row-major order)."""
    targets = input_ids[:, 1:][target_mask[:, 1:] != 0]
    return F.cross_entropy(logits.float(), targets)


def prompt_ids(tok, question: str, template: str = QUESTION_TEMPLATE, add_bos: bool = True) -> list[int]:
    ids = tok.encode(template.format(question=question))
    return ([tok.bos_id] if add_bos else []) + ids


def context_prompt_ids(tok, question: str, context, template: str, add_bos: bool = True) -> list[int]:
    """A prompt with raw text in it, tokenized in pieces exactly as the engine's
    Decoder.buildContextPrompt does (head, the text + a newline, tail; or head, each labelled block
    of several texts on its own, tail: real.labelled), so that training sees the engine's token
    boundaries. `context`: one text, or the list of blocks."""
    at = template.index("{context}")
    head = tok.encode(template[:at].format(question=question))
    tail = tok.encode(template[at + len("{context}"):].format(question=question))
    blocks = [context + "\n"] if isinstance(context, str) else list(context)
    return ([tok.bos_id] if add_bos else []) + head + [i for b in blocks for i in tok.encode(b)] + tail


def answer_ids(tok, answer: str, answer_prefix: str = " ") -> list[int]:
    """Answer tokens + eos. `answer_prefix` is what separates the answer from the prompt: a space
    after "Answer:", nothing after a chat template's assistant header."""
    return tok.encode(answer_prefix + answer) + [tok.eos_id]


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(1, max(len(s) for s in seqs))
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def _step(base, ids, past, past_len, pos):
    t = ids.shape[1]
    dev = next(base.parameters()).device
    ids = ids.to(dev)
    mask = torch.ones((1, past_len + t), dtype=torch.long, device=dev)
    position_ids = torch.arange(pos, pos + t, dtype=torch.long, device=dev).unsqueeze(0)
    logits, presents = base(input_ids=ids, attention_mask=mask, position_ids=position_ids, past_key_values=past)
    return logits[:, -1], presents


@torch.no_grad()
def generate(base, tok, prompt: list[int], prefix: Prefix = None, alpha: float = 0.0,
             max_new_tokens: int = 16, stop_strings: Sequence[str] = STOP_STRINGS,
             start_pos: int = 0, stop_ids: Sequence[int] = ()) -> str:
    """Greedy decoding of one prompt; `prefix` is the per-layer memory prefix (None = closed book).
    `start_pos`: the prompt's first RoPE position (0 for a memory prefix, which has no positions;
    the cache's length when `prefix` is a real KV cache the prompt continues). Stops at eos, at any
    of `stop_ids` and at any of `stop_strings`."""
    ids = torch.tensor([prompt], dtype=torch.long)
    p = 0 if prefix is None else prefix[0][0].shape[2]
    logits, past = _step(base, ids, prefix, p, start_pos)
    use_contrast = prefix is not None and alpha != 0
    if use_contrast:
        logits0, past0 = _step(base, ids, None, 0, 0)
    out: list[int] = []
    n = len(prompt)  # tokens after the prefix so far
    for _ in range(max_new_tokens):
        scores = memory_aware_logits(logits, logits0, alpha) if use_contrast else logits
        nxt = int(scores.argmax(-1))
        if nxt == tok.eos_id or nxt in stop_ids:
            break
        out.append(nxt)
        text = tok.decode(out)
        if any(s in text for s in stop_strings):
            break
        step = torch.tensor([[nxt]], dtype=torch.long)
        logits, past = _step(base, step, past, p + n, start_pos + n)
        if use_contrast:
            logits0, past0 = _step(base, step, past0, n, n)
        n += 1
    text = tok.decode(out)
    for s in stop_strings:
        text = text.split(s)[0]
    return text.strip()
