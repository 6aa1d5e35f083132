"""Write a model pack (docs/model-pack.md): tokenizer.json, the compressor / aggregator / decoder
ONNX graphs, test vectors computed by PyTorch, and pack.json with every file's sha256."""
import json
import os
import shutil
import subprocess
import time

import torch
import torch.nn as nn

from ..model.cmt import CMTModel
from ..model.decode import QUESTION_TEMPLATE, STOP_STRINGS, pad_batch
from ..pack.manifest import FORMAT_VERSION, base_model_entry, file_hashes, pack_id
from ..pack.vectors import TOKENIZER_SAMPLES, TOLERANCE, VectorWriter

OPSET = 17
class CompressorGraph(nn.Module):
    def __init__(self, model: CMTModel):
        super().__init__()
        self.compressor = model.compressor

    def forward(self, input_ids, attention_mask):
        return self.compressor(input_ids, attention_mask)


class AggregatorGraph(nn.Module):
    def __init__(self, model: CMTModel):
        super().__init__()
        self.aggregator = model.aggregator

    def forward(self, question_memory, memories, memory_mask):
        out = []
        for k, v in self.aggregator(question_memory, memories, memory_mask):
            out += [k, v]
        return tuple(out)


class DecoderGraph(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.base = base

    def forward(self, input_ids, attention_mask, position_ids, *past):
        pkv = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, presents = self.base(input_ids=input_ids, attention_mask=attention_mask,
                                     position_ids=position_ids, past_key_values=pkv)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def _export(module, args, path, input_names, output_names, dynamic_axes):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True, dynamo=False)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        return ""


@torch.no_grad()
def write_test_vectors(model: CMTModel, tok, root: str, seed: int = 1234):
    g = torch.Generator().manual_seed(seed)
    base = model.base
    bc = base.config
    k, d = model.compressor.k, model.compressor.memory_dim
    w = VectorWriter(root)
    # compressor: a batch with right padding
    texts = ["The billing service listens on port 8431.", "What port does billing use?"]
    seqs = [[tok.bos_id] + tok.encode(t) for t in texts]
    ids, mask = pad_batch(seqs, tok.pad_id)
    memory, key = model.compressor(ids, mask)
    w.case("compressor", "compressor", {"input_ids": ids, "attention_mask": mask}, {"memory": memory, "key": key})
    # aggregator: K=3 with one padded memory
    qm = memory[1:2]
    mems = torch.randn((1, 3, k, d), generator=g)
    mems[0, 0] = memory[0]
    mmask = torch.tensor([[1, 1, 0]], dtype=torch.long)
    mems[0, 2] = 0
    prefix = model.aggregator(qm, mems, mmask)
    outs = {}
    for i, (pk, pv) in enumerate(prefix):
        outs[f"prefix.{i}.key"], outs[f"prefix.{i}.value"] = pk, pv
    w.case("aggregator", "aggregator", {"question_memory": qm, "memories": mems, "memory_mask": mmask}, outs)
    # decoder: (a) prompt after the memory prefix, (b) closed book with an empty cache
    prompt = [tok.bos_id] + tok.encode(QUESTION_TEMPLATE.format(question="What port does billing use?"))
    pids = torch.tensor([prompt])
    p = prefix[0][0].shape[2]
    for tag, past in (("decoder_prefix", prefix), ("decoder_empty", None)):
        plen = 0 if past is None else p
        if past is None:
            past = [(torch.zeros((1, bc.num_key_value_heads, 0, bc.hd)),) * 2 for _ in range(bc.num_hidden_layers)]
        am = torch.ones((1, plen + len(prompt)), dtype=torch.long)
        pos = torch.arange(len(prompt)).unsqueeze(0)
        logits, presents = base(input_ids=pids, attention_mask=am, position_ids=pos, past_key_values=past)
        inputs = {"input_ids": pids, "attention_mask": am, "position_ids": pos}
        outs = {"logits": logits}
        for i, ((pk, pv), (ck, cv)) in enumerate(zip(past, presents, strict=True)):
            inputs[f"past_key_values.{i}.key"], inputs[f"past_key_values.{i}.value"] = pk, pv
            outs[f"present.{i}.key"], outs[f"present.{i}.value"] = ck, cv
        w.case("decoder", tag, inputs, outs)
    tokenizer_cases = [{"text": s, "ids": tok.encode(s)} for s in TOKENIZER_SAMPLES]
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump({"tolerance": {"absolute": TOLERANCE}, "cases": w.cases, "tokenizer": tokenizer_cases}, f, indent=1)


def export_pack(model: CMTModel, tok, out_dir: str, name: str, description: str,
                base_description: str, defaults: dict = None, training: dict = None, metrics: dict = None) -> dict:
    base = model.base
    bc = base.config
    cfg = model.cfg
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    k, d = model.compressor.k, model.compressor.memory_dim
    L, hkv, hd = bc.num_hidden_layers, bc.num_key_value_heads, bc.hd
    # compressor
    ids = torch.tensor([[tok.bos_id, 5, 6, 7], [tok.bos_id, 8, tok.pad_id, tok.pad_id]])
    mask = (ids != tok.pad_id).long()
    _export(CompressorGraph(model), (ids, mask), os.path.join(out_dir, "compressor.onnx"),
            ["input_ids", "attention_mask"], ["memory", "key"],
            {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
             "memory": {0: "batch"}, "key": {0: "batch"}})
    # aggregator
    prefix_names = [f"prefix.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    _export(AggregatorGraph(model), (torch.randn(1, k, d), torch.randn(1, 3, k, d), torch.ones(1, 3, dtype=torch.long)),
            os.path.join(out_dir, "aggregator.onnx"), ["question_memory", "memories", "memory_mask"], prefix_names,
            {"question_memory": {0: "batch"}, "memories": {0: "batch", 1: "selected"},
             "memory_mask": {0: "batch", 1: "selected"}, **{n: {0: "batch"} for n in prefix_names}})
    # decoder
    past_names = [f"past_key_values.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    past = tuple(torch.randn(1, hkv, 3, hd) for _ in past_names)
    dyn = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "total"},
           "position_ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch", 1: "tokens"},
           **{n: {0: "batch", 2: "past"} for n in past_names}, **{n: {0: "batch", 2: "total"} for n in present_names}}
    _export(DecoderGraph(base), (torch.tensor([[5, 6]]), torch.ones(1, 5, dtype=torch.long), torch.tensor([[0, 1]]), *past),
            os.path.join(out_dir, "decoder.onnx"), ["input_ids", "attention_mask", "position_ids", *past_names],
            ["logits", *present_names], dyn)
    write_test_vectors(model, tok, os.path.join(out_dir, "test-vectors"))
    files = file_hashes(out_dir)
    manifest = {
        "format": "cmt-pack",
        "formatVersion": FORMAT_VERSION,
        "packId": pack_id(name, files),
        "name": name,
        "description": description,
        "baseModel": base_model_entry(bc, base_description),
        "cmt": {
            "memorySlots": k, "memoryDim": d, "prefixTokens": model.aggregator.prefix_tokens,
            "maxDocTokens": cfg.max_doc_tokens, "maxQuestionTokens": cfg.max_question_tokens,
            "maxSelected": cfg.max_selected, "keyPooling": "mean-l2",
            "compressor": {"layers": cfg.compressor_layers, "loraRank": cfg.lora_rank},
            "aggregator": {"layers": cfg.aggregator_layers, "heads": cfg.aggregator_heads},
        },
        "specialTokens": {"pad": tok.pad_id, "bos": tok.bos_id, "eos": tok.eos_id},
        "prompt": {"document": "{text}", "query": "{question}", "question": QUESTION_TEMPLATE,
                   "addBos": True, "stop": STOP_STRINGS},
        "defaults": {"topK": cfg.top_k, "alpha": cfg.alpha, "maxNewTokens": 16, "numBeams": 1, **(defaults or {})},
        "graphs": {"compressor": "compressor.onnx", "aggregator": "aggregator.onnx", "decoder": "decoder.onnx"},
        "training": {"date": time.strftime("%Y-%m-%d"), "gitCommit": _git_commit(),
                     "hyperparameters": cfg.to_dict(), **(training or {})},
        "metrics": metrics or {},
        "files": files,
    }
    with open(os.path.join(out_dir, "pack.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest
