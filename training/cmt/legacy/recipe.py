"""The from-scratch pipeline's recipe: everything that decides the old default pack (sizes, steps,
learning rates), and its steps in order. Torch-free: the command line reads the defaults."""
import dataclasses

STEPS = ("corpus", "tokenizer", "pretrain", "train", "evaluate", "export")


@dataclasses.dataclass
class Recipe:
    """Everything that decides the default pack. Changing a value here changes the pack."""
    seed: int = 0
    corpus_bytes: int = 3_000_000
    vocab: int = 4096
    train_docs: int = 20_000
    dev_docs: int = 300
    test_docs: int = 300
    base: dict = dataclasses.field(default_factory=lambda: dict(
        vocab_size=4096, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512))
    pretrain_steps: int = 700
    pretrain_batch: int = 16
    pretrain_seq: int = 256
    pretrain_lr: float = 3e-3
    pretrain_qa_docs: int = 8000      # synthetic train docs shown in context with their questions
    cmt: dict = dataclasses.field(default_factory=dict)
    cmt_steps: int = 1500
    cmt_batch: int = 16
    cmt_lr: float = 1e-3
    time_budget_pretrain_s: float = 35 * 60
    time_budget_cmt_s: float = 35 * 60
    eval_questions: int = 200

    @classmethod
    def quick(cls) -> "Recipe":
        return cls(corpus_bytes=200_000, vocab=600, train_docs=300, dev_docs=20, test_docs=20,
                   base=dict(vocab_size=600, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512),
                   pretrain_steps=5, pretrain_batch=4, pretrain_seq=64, pretrain_qa_docs=50,
                   cmt=dict(memory_slots=4, compressor_layers=1, aggregator_layers=1, aggregator_heads=2, max_selected=4, top_k=2,
                            slot_hidden=32),
                   cmt_steps=5, cmt_batch=4, eval_questions=10)
