"""The old from-scratch track, set apart: a 4M-parameter Llama pretrained here on the machine's own
text with a byte-level BPE trained here, CMT trained over it, and the pack exported with
torch.onnx. The default pack no longer comes from it (cmt/pack/ builds it from SmolLM2), but it
still writes the random-weight test pack the TypeScript tests run on (`npm run pack:tiny` =
`python -m cmt tiny-pack` -> test/fixtures/tiny-pack; training/tests/test_pipeline.py checks that it
rebuilds bit for bit) and `npm run pack:default` still runs it end to end.

  recipe     the Recipe dataclass (sizes, steps, learning rates) and the step names (torch-free)
  pipeline   the steps, default_pack, tiny_pack
  corpus     the pretraining corpus gathered from text on this machine
  bpe        the byte-level BPE tokenizer, trained in pure Python
  pretrain   next-token pretraining of the small base
  evaluate   streaming-QA evaluation (closed book, RAG-in-context, CMT and its ablations)
  export     a pack written with torch.onnx.export, test vectors from PyTorch
  report     docs/history/training-report-from-scratch.md and its plots
"""
