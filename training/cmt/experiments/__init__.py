"""Work on the real base (SmolLM2-135M-Instruct): training the default pack's CMT modules and the
measurements behind docs/training-report.md. Needs the trainer's packages (torch...).

  recipe_model    the frozen base from the GGUF, its tokenizer, the CMT modules and their weights
  train_recipe    `train-recipe` (experiment configs: training/experiments/*.toml, `--config`)
  dev_loss        `dev-loss`: memory-only answer NLL and content gain on the workspace dev split
  kv_oracle       `kv-oracle`: the base reading the document's exact KV cache (an upper bound)
  recipe_vectors  `recipe-vectors`: packs/recipe/test-vectors
  base_report     `python -m cmt.experiments.base_report`: proof of the GGUF import
  quant_report    `python -m cmt.experiments.quant_report`: decoder precisions compared
"""
