"""Test vectors (docs/model-pack.md "test-vectors/"): a graph's inputs and reference outputs as raw
little-endian .bin files plus manifest.json entries, and the tokenizer samples every pack's vectors
include. Written by the from-scratch export (cmt/legacy/export.py) and by `recipe-vectors`
(cmt/experiments/recipe_vectors.py); the engine's parity test reads them."""
import os

import numpy as np

TOLERANCE = 1e-4
TOKENIZER_SAMPLES = [
    "Hello, world!",
    "export const MAX_RETRIES = 7;\nfunction retry(n: number) { return n * 2; }",
    "  indented\tline with  two spaces\r\nand CRLF",
    "port: 8431   # the billing service",
    "Ünïcödé — naïve café, 東京, emoji 🚀!",
    "What port does the billing service listen on?",
]


class VectorWriter:
    def __init__(self, root: str):
        self.root = root
        self.cases: list[dict] = []
        os.makedirs(root, exist_ok=True)

    def tensor(self, name: str, t) -> dict:  # t: a torch.Tensor
        arr = t.detach().cpu().numpy()
        dtype = {np.dtype("int64"): "int64", np.dtype("float32"): "float32"}[arr.dtype]
        fname = name + ".bin"
        np.ascontiguousarray(arr).astype("<" + arr.dtype.str[1:]).tofile(os.path.join(self.root, fname))
        return {"dtype": dtype, "shape": list(arr.shape), "file": fname}

    def case(self, graph: str, tag: str, inputs: dict, outputs: dict):
        self.cases.append({
            "graph": graph, "name": tag,
            "inputs": {k: self.tensor(f"{tag}.{k}", v) for k, v in inputs.items()},
            "outputs": {k: self.tensor(f"{tag}.{k}", v) for k, v in outputs.items()},
        })
