"""The recipe's model in torch: the frozen base straight from the pinned GGUF, its tokenizer, the
CMT modules with the recipe's config (plus overrides), and the committed fp16 weights loaded into
them. Every command that runs the trained modules (train-recipe, dev-loss, kv-oracle,
recipe-vectors, the reports) starts here."""
from __future__ import annotations

import json
import os

import numpy as np

from ..pack.recipe import CMT, MODEL_SHA256, read_cmt_state


def load_base(gguf_path: str):
    """The frozen base in torch, straight from the GGUF (dequantized, Q/K unpermuted)."""
    import torch

    from ..model.base import LlamaForCausalLM
    from ..pack.gguf_import import load_gguf

    imported = load_gguf(gguf_path, MODEL_SHA256)
    base = LlamaForCausalLM(imported.config)
    state = {k: torch.tensor(v) for k, v in imported.tensors.items()}  # a copy: the GGUF arrays are read-only
    missing, unexpected = base.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != "lm_head.weight"]
    if missing or unexpected:
        raise ValueError(f"GGUF import does not fit the base: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if imported.config.tie_word_embeddings:
        base.lm_head.weight = base.model.embed_tokens.weight
    base.eval()
    return base, imported


def tokenizer_of(imported, work: str):
    from ..model.tokenizer import HFTokenizer

    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(imported.tokenizer_json, f, ensure_ascii=False)
    sp = imported.special_tokens
    return HFTokenizer(path, bos_id=sp["bos"], eos_id=sp["eos"], pad_id=sp.get("pad", sp["eos"]))


def load_cmt_weights(model, path: str) -> int:
    """Loads trained CMT weights (fp16 on disk) into `model`; returns how many tensors were loaded."""
    import torch

    state = read_cmt_state(path)
    params = dict(model.named_parameters())
    bad = [k for k in state if k not in params or tuple(params[k].shape) != state[k].shape]
    if bad:
        raise ValueError(f"{path}: tensors that do not fit this CMT config: {bad[:5]}")
    with torch.no_grad():
        for k, v in state.items():
            params[k].copy_(torch.from_numpy(v.astype(np.float32)))
    return len(state)


def resolve_device(name: str = "auto"):
    import torch

    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device {name}: expected auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no GPU here (use --device cpu or auto)")
    from ..train import pick_device

    return pick_device() if name == "auto" else torch.device(name)


def build_model(base, cmt_overrides: dict | None = None):
    from ..config import CMTConfig
    from ..model.cmt import CMTModel

    return CMTModel(base, CMTConfig(**{**CMT, **(cmt_overrides or {})}))


def round_to_fp16(model) -> None:
    """What is stored is fp16: make the in-memory model exactly that before exporting or evaluating."""
    import torch

    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(p.half().float())
