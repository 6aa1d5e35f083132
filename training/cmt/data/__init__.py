"""The trainer's data: a synthetic "user workspace" QA generator, a SQuAD v1.1 loader, the real
projects' questions (real.py) and the tokenized training examples made from them (examples.py).

Public API (the training code and the committed fixtures' commands depend on it):

    Document(id, path, text)
    QA(doc_id, question, answers)          # answers[0] = canonical short answer
    Dataset(documents, questions)
    workspace_qa(split, n_docs, seed=0) -> Dataset   # split in {"train", "dev", "test"}
    load_squad(path) -> Dataset
    to_squad_json(ds, version, source) -> dict
    write_workspace(ds, root) -> None
    write_sample(root_dir) -> None         # (re)creates samples/workspace + samples/questions.json

One module per concept: dataset (the types), names (made-up names and the held-out partitions),
facts (value pools, fact kinds, sentence facts), formats (the 12 file renderers), workspace (the
generator, SQuAD-format export, the sample workspace), squad, real, examples. Importing this
package loads only the torch-free modules; `cmt.data.examples` and `cmt.data.real` need torch.
"""
from .dataset import QA, SPLITS, Dataset, Document
from .facts import FACT_KINDS
from .formats import MAX_DOC_CHARS
from .squad import load_squad
from .workspace import QUESTIONS_PER_FACT, to_squad_json, workspace_qa, write_sample, write_workspace

__all__ = [
    "Document", "QA", "Dataset", "workspace_qa", "load_squad", "to_squad_json", "write_workspace", "write_sample",
    "SPLITS", "QUESTIONS_PER_FACT", "MAX_DOC_CHARS", "FACT_KINDS",
]
