"""pack.json pieces shared by the trainer's export (torch) and the pack build (no torch):
file hashes, the packId and the baseModel entry. Format: docs/model-pack.md."""
import hashlib
import json
import os

from ..config import BaseConfig

FORMAT_VERSION = 1
WEIGHT_FILES = ("tokenizer.json", "compressor.onnx", "aggregator.onnx", "decoder.onnx")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hashes(out_dir: str) -> dict[str, str]:
    """sha256 of every file under out_dir except pack.json, keyed by '/'-separated relative path."""
    files = {}
    for root, _, names in os.walk(out_dir):
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(root, n), out_dir).replace(os.sep, "/")
            if rel != "pack.json":
                files[rel] = sha256_file(os.path.join(root, n))
    return dict(sorted(files.items()))


def pack_id(name: str, files: dict[str, str], embedder: dict | None = None) -> str:
    """name + the first 12 hex of a hash over the weights: changes whenever the weights change. With a
    sentence embedder, its files and settings count too: its vectors fill the bank's `emb` column, so
    a bank written with another embedder, or the same one cut at another maxTokens, is another pack's."""
    parts = [files[f] for f in WEIGHT_FILES]
    if embedder:
        parts += [h for f, h in sorted(files.items()) if f.startswith("embedder/")]
        parts.append(json.dumps(embedder, sort_keys=True))
    return f"{name}-{hashlib.sha256(''.join(parts).encode()).hexdigest()[:12]}"


def base_model_entry(bc: BaseConfig, description: str) -> dict:
    return {
        "architecture": bc.model_type, "description": description,
        "vocabSize": bc.vocab_size, "hiddenSize": bc.hidden_size, "intermediateSize": bc.intermediate_size,
        "numLayers": bc.num_hidden_layers, "numHeads": bc.num_attention_heads, "numKvHeads": bc.num_key_value_heads,
        "headDim": bc.hd, "ropeTheta": bc.rope_theta, "rmsNormEps": bc.rms_norm_eps,
        "maxPositions": bc.max_position_embeddings, "tieWordEmbeddings": bc.tie_word_embeddings,
        "attentionBias": bc.attention_bias,
    }
