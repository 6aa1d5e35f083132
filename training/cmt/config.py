"""The two configurations every part of the trainer shares (no torch: the pack build reads them too).

`BaseConfig`: the Llama-family base language model; mirrors the fields of a Hugging Face
``config.json`` for Llama / Qwen2 / SmolLM2 models and converts to and from that format.
`CMTConfig`: the CMT modules (compressor Θ, aggregator ψ, alignment π) and their training;
`parse_overrides` turns `--set KEY=VALUE` pairs into typed CMTConfig fields.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import get_type_hints


@dataclass
class BaseConfig:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 688
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int | None = None  # None -> hidden_size // num_attention_heads (see `hd`)
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 512
    tie_word_embeddings: bool = True
    attention_bias: bool = False  # bias on q/k/v projections (Qwen2 style)
    model_type: str = "llama"

    def __post_init__(self) -> None:
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.num_attention_heads % self.num_key_value_heads != 0:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads})")
        if self.head_dim is None and self.hidden_size % self.num_attention_heads != 0:
            raise ValueError("hidden_size must be divisible by num_attention_heads "
                             "when head_dim is not given")
        if self.hd % 2 != 0:
            raise ValueError(f"head_dim must be even for RoPE, got {self.hd}")

    @property
    def hd(self) -> int:
        """Resolved head dimension."""
        return self.head_dim if self.head_dim is not None else self.hidden_size // self.num_attention_heads

    @property
    def n_rep(self) -> int:
        """Query heads per KV head."""
        return self.num_attention_heads // self.num_key_value_heads

    def to_hf_dict(self, bos_token_id: int | None = None,
                   eos_token_id: int | None = None,
                   pad_token_id: int | None = None) -> dict:
        """A Hugging Face ``config.json`` dict (LlamaForCausalLM or Qwen2ForCausalLM)."""
        is_qwen = self.model_type == "qwen2"
        d = {
            "architectures": ["Qwen2ForCausalLM" if is_qwen else "LlamaForCausalLM"],
            "model_type": "qwen2" if is_qwen else "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.hd,
            "hidden_act": "silu",
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": None,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "initializer_range": 0.02,
            "use_cache": True,
            "torch_dtype": "float32",
        }
        if is_qwen:
            # Qwen2 always has qkv bias; the field is not part of its config.
            d["use_sliding_window"] = False
            d["sliding_window"] = None
        else:
            d["attention_bias"] = self.attention_bias
            d["attention_dropout"] = 0.0
            d["mlp_bias"] = False
            d["pretraining_tp"] = 1
        if bos_token_id is not None:
            d["bos_token_id"] = bos_token_id
        if eos_token_id is not None:
            d["eos_token_id"] = eos_token_id
        if pad_token_id is not None:
            d["pad_token_id"] = pad_token_id
        return d

    @classmethod
    def from_hf_dict(cls, d: dict) -> BaseConfig:
        """Build from a real HF llama / qwen2 / SmolLM2 ``config.json`` (unknown keys ignored)."""
        model_type = str(d.get("model_type", "llama"))
        archs = d.get("architectures") or []
        if model_type not in ("llama", "qwen2", "mistral") and not any(
                a in ("LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM") for a in archs):
            raise ValueError(f"unsupported model_type {model_type!r} (architectures {archs})")
        if d.get("rope_scaling"):
            rs = d["rope_scaling"]
            kind = rs.get("rope_type", rs.get("type")) if isinstance(rs, dict) else rs
            if kind not in (None, "default"):
                raise ValueError(f"rope_scaling {rs!r} is not supported")
        if d.get("hidden_act", "silu") not in ("silu", "swish"):
            raise ValueError(f"hidden_act {d.get('hidden_act')!r} is not supported (SwiGLU/silu only)")
        if d.get("mlp_bias"):
            raise ValueError("mlp_bias=True is not supported")
        is_qwen = model_type == "qwen2" or "Qwen2ForCausalLM" in archs
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["model_type"] = "qwen2" if is_qwen else "llama"
        if is_qwen:
            kw["attention_bias"] = True
        if kw.get("num_key_value_heads") is None:
            kw["num_key_value_heads"] = d.get("num_attention_heads", cls.num_attention_heads)
        if "head_dim" not in d:
            kw["head_dim"] = None
        if "tie_word_embeddings" not in d:
            # HF PretrainedConfig default is True
            kw["tie_word_embeddings"] = True
        for k in ("rms_norm_eps", "rope_theta"):
            if k in kw:
                kw[k] = float(kw[k])
        return cls(**kw)


@dataclass
class CMTConfig:
    """Hyperparameters of the CMT modules (compressor Θ, aggregator ψ, alignment π) and of training."""

    memory_slots: int = 8            # k: memory vectors per document
    compressor_layers: int = 2       # first n layers of the frozen base LM, with LoRA, form the compressor
    lora_rank: int = 8
    lora_alpha: float = 16.0
    aggregator_layers: int = 2       # ψ: pre-LN cross-attention blocks
    aggregator_heads: int = 4
    aggregator_mlp_ratio: int = 2
    slot_hidden: int = 128           # hidden width of the per-slot MLPs of Θ
    prefix_per_slot: int = 1         # π: prefix tokens per memory slot and layer (P = k * prefix_per_slot)
    # ψ's first block adds its cross-attention output to the question's memory (a pre-LN residual).
    # That path lets ψ+π answer from the question alone, so the document memory can be ignored:
    # False starts ψ from the attention output only (M* is then made of the selected memories).
    query_residual: bool = True
    max_doc_tokens: int = 192
    max_question_tokens: int = 64
    max_selected: int = 8            # largest K seen in training
    top_k: int = 4                   # K
    alpha: float = 0.5               # memory-aware objective (1+α)·l(y|M*,q) − α·l(y|q)
    # What the objective contrasts with in training: "no_memory" (the paper's l(y|q)) or
    # "other_memory" (l(y|M*_other,q): the prefix built from another document's memory, with
    # gradient). A trained prefix is also a soft prompt: against no memory it can win by format and
    # by answers learnt from the question alone; against another document's memory only what
    # differs between documents, their content, helps. Decoding always uses no_memory.
    alpha_negative: str = "no_memory"
    sm_weight: float = 1.0           # weight of L_sm in the total loss
    sm_lambda: float = 1.0           # λ inside L_sm (memory separation term); at 0.1 the keys collapsed (L_sm = -1 + 0.1·ln(B-1))
    bp_dropout: float = 0.0          # fraction of documents compressed without gradient (MAC's backprop dropout); 0 = off

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CMTConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def parse_overrides(pairs: list[str]) -> dict:
    """KEY=VALUE pairs (CMTConfig fields) -> typed overrides of the recipe's CMT config."""
    types = get_type_hints(CMTConfig)  # the fields' classes (annotations are strings in this module)
    out: dict = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or key not in types:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(types))}")
        kind = types[key]
        if kind is bool:
            if value.lower() not in ("0", "1", "true", "false"):
                raise ValueError(f"--set {pair!r}: {key} takes 0/1/true/false")
            out[key] = value.lower() in ("1", "true")
        else:
            out[key] = kind(value)
    return out
