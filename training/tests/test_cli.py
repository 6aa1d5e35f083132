"""The command line (python -m cmt): the pack build stays torch-free and inside the sources
scripts/setup.sh stamps, and train-recipe reads experiment configs (training/experiments/*.toml)
with flags overriding them."""
import contextlib
import glob
import io
import os
import subprocess
import sys
import tempfile
import unittest

from cmt import paths
from cmt.__main__ import parse

TRAINING = os.path.join(paths.REPO, "training")

# Imports the whole pack build with the trainer's packages made unimportable (as on a user's machine
# with only requirements-pack.txt), runs `build-pack --help`, then prints the cmt modules it loaded.
NO_TORCH = r"""
import importlib, pkgutil, sys
for name in ("torch", "onnxruntime", "transformers", "tokenizers"):
    sys.modules[name] = None  # `import torch` now raises ImportError
import cmt.pack
for m in pkgutil.iter_modules(cmt.pack.__path__):
    importlib.import_module("cmt.pack." + m.name)
from cmt.__main__ import main
try:
    main(["build-pack", "--help"])
except SystemExit as e:
    assert e.code == 0, e.code
print("\n".join(sorted(m.__file__ for n, m in sys.modules.items() if n.split(".")[0] == "cmt")))
"""


class PackBuildWithoutTorch(unittest.TestCase):
    def test_build_pack_imports_no_torch_and_setup_stamps_every_module_it_loads(self):
        r = subprocess.run([sys.executable, "-c", NO_TORCH], cwd=paths.REPO, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": TRAINING})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("python -m cmt build-pack", r.stdout)
        loaded = [line for line in r.stdout.splitlines() if line.endswith(".py")]
        self.assertIn(os.path.join(TRAINING, "cmt", "pack", "build.py"), loaded)
        # scripts/setup.sh rebuilds packs/default when a hash of these sources changes
        sources = subprocess.run(["bash", "-c", 'eval "$(grep "^BUILDER_SOURCES=" scripts/setup.sh)"; '
                                  'printf "%s\\n" "${BUILDER_SOURCES[@]}"'],
                                 cwd=paths.REPO, capture_output=True, text=True, check=True).stdout.split()
        self.assertTrue(sources)
        stamped = [os.path.join(paths.REPO, s) for s in sources]
        for f in loaded:
            self.assertTrue(any(f == s or f.startswith(s + os.sep) for s in stamped),
                            f"{os.path.relpath(f, paths.REPO)} is imported by build-pack but not in setup.sh's BUILDER_SOURCES")


class ExperimentConfigs(unittest.TestCase):
    def write(self, text: str) -> str:
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "run.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_the_file_sets_the_flags_and_the_command_line_overrides_it(self):
        cfg = self.write('steps = 180\nlr = 5e-4\nwith-chunk = 1\ngold_in_topk = true\nout = "training/work/x/cmt.safetensors"\n'
                         '[set]\nquery_residual = false\nmemory_slots = 16\n')
        a = parse(["train-recipe", "--config", cfg])
        self.assertEqual((a.steps, a.lr, a.with_chunk, a.gold_in_topk), (180, 5e-4, 1.0, True))
        self.assertIsInstance(a.with_chunk, float)
        self.assertEqual(a.batch, 8)  # not in the file: the flag's default
        self.assertEqual(a.out, os.path.join(paths.REPO, "training", "work", "x", "cmt.safetensors"))
        self.assertEqual(a.set, ["query_residual=false", "memory_slots=16"])
        b = parse(["--threads", "2", "train-recipe", "--config", cfg, "--steps", "5", "--out", "here.safetensors",
                   "--set", "memory_slots=8"])
        self.assertEqual((b.steps, b.lr, b.out, b.threads), (5, 5e-4, "here.safetensors", 2))
        from cmt.config import parse_overrides
        self.assertEqual(parse_overrides(b.set), {"query_residual": False, "memory_slots": 8})  # the command line's pair wins

    def test_unknown_keys_and_bad_values_are_named(self):
        for text, expect in (("stepz = 3\n", "unknown key 'stepz'"), ('steps = "many"\n', "steps"),
                             ("fresh = 1\n", "true or false"), ('ablation = "none_at_all"\n', "expected one of"),
                             ("set = 3\n", "[set] must be a table"), ("steps = \n", "run.toml")):
            with self.subTest(text=text):
                err = io.StringIO()
                with self.assertRaises(SystemExit) as e, contextlib.redirect_stderr(err):
                    parse(["train-recipe", "--config", self.write(text)])
                self.assertEqual(e.exception.code, 2)
                self.assertIn(expect, err.getvalue())

    def test_the_committed_experiments_parse(self):
        files = sorted(glob.glob(os.path.join(paths.EXPERIMENTS, "*.toml")))
        self.assertIn(os.path.join(paths.EXPERIMENTS, "run10.toml"), files)
        for f in files:
            with self.subTest(config=os.path.basename(f)):
                a = parse(["train-recipe", "--config", f])
                self.assertGreater(a.steps, 0)
        run10 = parse(["train-recipe", "--config", os.path.join(paths.EXPERIMENTS, "run10.toml")])
        self.assertEqual((run10.steps, run10.lr, run10.real_share, run10.two_chunks), (180, 5e-4, 0.5, 0.3))
        self.assertTrue(run10.real.endswith(os.path.join("training", "work", "run10", "train-contexts.jsonl")))


if __name__ == "__main__":
    unittest.main()
