"""The command line (python -m cmt): the pack build stays torch-free and inside the sources
scripts/setup.sh stamps."""
import os
import subprocess
import sys
import unittest

from cmt import paths

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


if __name__ == "__main__":
    unittest.main()
