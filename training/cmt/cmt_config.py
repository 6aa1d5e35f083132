"""Hyperparameters of the CMT modules (compressor Θ, aggregator ψ, alignment π) and of training."""
from dataclasses import dataclass, asdict, field


@dataclass
class CMTConfig:
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
    def from_dict(cls, d: dict) -> "CMTConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})
