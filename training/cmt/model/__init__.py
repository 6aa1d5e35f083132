"""The networks, in PyTorch: the frozen Llama-family base LM and the CMT pieces around it, named as
the TypeScript engine names them (src/core/): compress (Θ), match (self-matching and top-K),
aggregate (ψ and π), decode (the memory-aware contrast, prompts, greedy decoding), and cmt
(CMTModel: the pieces wired over the in-batch bank, with the training loss).

Nothing is imported here, so `cmt.model.<module>` loads only what it needs."""
