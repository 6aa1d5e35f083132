"""The model pack build: the pinned GGUF + the committed recipe (packs/recipe) -> packs/default, with
numpy, gguf, onnx and safetensors only (training/requirements-pack.txt). No module here imports
torch: scripts/setup.sh builds the default pack on users' machines without it
(`python -m cmt build-pack`, build.py).

  recipe          the committed recipe: the pinned base, the prompts, the CMT config, the weights file
  gguf_import     GGUF -> numpy tensors, config and tokenizer.json (Q/K un-permuted)
  graph           decoder.onnx and compressor.onnx, written with onnx.helper
  quantize        the weight block formats those graphs read (MatMulNBits int8/int4, Q8_0, Q4_1)
  graph_aggregate aggregator.onnx
  embedder        the sentence embedder's graph and pack.json section (retrieval.json: the fusion fit)
  manifest        pack.json pieces: file hashes, packId, the baseModel entry
  vectors         the test-vector format (parity references the engine checks)
"""
