"""python -m cmt.data [repo_root]: regenerate the sample workspace (samples/workspace, samples/questions.json)."""
import sys

from .. import paths
from .workspace import write_sample

write_sample(sys.argv[1] if len(sys.argv) > 1 else paths.REPO)
