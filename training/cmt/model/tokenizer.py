"""The real base model's tokenizer (its tokenizer.json) through the `tokenizers` library."""
from collections.abc import Iterable


class HFTokenizer:
    """A real model's tokenizer.json through the `tokenizers` library (the Rust implementation that
    @huggingface/tokenizers mirrors in the engine), with the small API the trainer uses."""

    def __init__(self, path: str, bos_id: int, eos_id: int, pad_id: int):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(path)
        self.bos_id, self.eos_id, self.pad_id = bos_id, eos_id, pad_id

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_with_offsets(self, text: str):
        """(ids, [(start, end) character span of each token])."""
        enc = self._tok.encode(text, add_special_tokens=False)
        return enc.ids, list(enc.offsets)

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=skip_special_tokens)
