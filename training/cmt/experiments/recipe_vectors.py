"""`python -m cmt recipe-vectors`: packs/recipe/test-vectors, the references the engine's parity
test checks the built pack against."""
from __future__ import annotations

import json
import os
import shutil

from .. import paths
from ..pack.recipe import CMT_WEIGHTS, RECIPE_DIR, find_gguf
from .recipe_model import build_model, load_base, load_cmt_weights, tokenizer_of

# Beyond pack.vectors.TOKENIZER_SAMPLES (the trainer's usual tricky strings): numbers, identifiers and paths,
# and scripts whose digits are not ASCII (llama.cpp's \p{N} split must hold for them too).
EXTRA_TOKENIZER_SAMPLES = [
    "x = 1234567890.12e-5; snake_case_name camelCaseName kebab-case path/to/file.ts:12-34",
    "Ὀδυσσεύς ٣٤٥ ١٢ ⅫⅦ ½ \u00a0non-breaking\u2009thin 😀👍🏽👨‍👩‍👧",
]
DECODER_TOLERANCE = 1e-3


def write_vectors(gguf: str | None = None, pack_dir: str = paths.DEFAULT_PACK) -> str:
    """packs/recipe/test-vectors: inputs and reference outputs for every graph of the built pack.

    Compressor and aggregator (fp32 graphs): references computed by PyTorch (cmt.model.compress /
    cmt.model.aggregate with the committed fp16 weights) -- the TS engine must match them to 1e-4.
    Decoder (quantized weights, int8 activations inside MatMulNBits): the reference is onnxruntime
    (Python) running the same graph, so the case proves that the engine feeds the cache, masks and
    positions exactly as the trainer does; the graph's agreement with PyTorch is proven by
    training/tests/test_graph.py and quantified by `python -m cmt.experiments.quant_report`.
    """
    import onnxruntime as ort
    import torch

    from ..model.decode import pad_batch
    from ..pack.graph import decoder_feeds
    from ..pack.vectors import TOKENIZER_SAMPLES, VectorWriter

    torch.set_num_threads(2)
    base, imported = load_base(find_gguf(gguf))
    tok = tokenizer_of(imported, paths.SMOLLM2_WORK)
    model = build_model(base)
    load_cmt_weights(model, os.path.join(RECIPE_DIR, CMT_WEIGHTS))
    model.eval()
    root = os.path.join(RECIPE_DIR, "test-vectors")
    shutil.rmtree(root, ignore_errors=True)
    w = VectorWriter(root)
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        texts = ["billing:\n  port: 8431\n  retries: 7", "What port does billing use?"]
        ids, mask = pad_batch([tok.encode(t) for t in texts], tok.pad_id)
        memory, key = model.compressor(ids, mask)
        w.case("compressor", "compressor", {"input_ids": ids, "attention_mask": mask}, {"memory": memory, "key": key})
        k, d = model.compressor.k, model.compressor.memory_dim
        mems = torch.randn((1, 3, k, d), generator=g)
        mems[0, 0] = memory[0]
        mems[0, 2] = 0
        mmask = torch.tensor([[1, 1, 0]], dtype=torch.long)
        prefix = model.aggregator(memory[1:2], mems, mmask)
        outs = {}
        for i, (pk, pv) in enumerate(prefix):
            outs[f"prefix.{i}.key"], outs[f"prefix.{i}.value"] = pk, pv
        w.case("aggregator", "aggregator", {"question_memory": memory[1:2], "memories": mems, "memory_mask": mmask}, outs)
    sess = ort.InferenceSession(os.path.join(pack_dir, "decoder.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    prompt = torch.tensor([tok.encode("port of billing?")])
    p = prefix[0][0].shape[2]
    t = prompt.shape[1]
    inputs = {"input_ids": prompt, "attention_mask": torch.ones((1, p + t), dtype=torch.long),
              "position_ids": torch.arange(t).unsqueeze(0)}
    for i, (pk, pv) in enumerate(prefix):
        inputs[f"past_key_values.{i}.key"], inputs[f"past_key_values.{i}.value"] = pk, pv
    got = dict(zip(names, sess.run(None, decoder_feeds(sess, {n: v.numpy() for n, v in inputs.items()})), strict=True))
    w.case("decoder", "decoder_prefix", inputs, {n: torch.from_numpy(v) for n, v in got.items()})
    w.cases[-1].update({"reference": "onnxruntime-python", "tolerance": {"absolute": DECODER_TOLERANCE}})
    for c in w.cases[:-1]:
        c["reference"] = "pytorch"
    cases = [{"text": s, "ids": tok.encode(s)} for s in TOKENIZER_SAMPLES + EXTRA_TOKENIZER_SAMPLES]
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump({"tolerance": {"absolute": 1e-4}, "cases": w.cases, "tokenizer": cases}, f, indent=1)
    return root
