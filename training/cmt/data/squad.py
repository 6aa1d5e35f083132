"""SQuAD v1.1 (the official JSON format) as a Dataset."""
from __future__ import annotations

import json

from .dataset import QA, Dataset, Document


def load_squad(path: str) -> Dataset:
    """Official SQuAD v1.1 JSON -> one Document per paragraph, one QA per question."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    docs: list[Document] = []
    qas: list[QA] = []
    for art in raw["data"]:
        title = art["title"]
        for pi, para in enumerate(art["paragraphs"]):
            did = "squad-%s-%d" % (title, pi)
            docs.append(Document(did, "%s/%d.txt" % (title, pi), para["context"]))
            for qa in para["qas"]:
                answers: list[str] = []
                for a in qa["answers"]:
                    if a["text"] not in answers:
                        answers.append(a["text"])
                qas.append(QA(did, qa["question"], answers))
    return Dataset(docs, qas)

