"""The datasets' shape: documents, questions with their accepted answers, and the splits."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Document:
    id: str          # unique, stable
    path: str        # workspace-relative path
    text: str


@dataclass
class QA:
    doc_id: str
    question: str
    answers: list[str]   # first = canonical short answer; others = accepted variants


@dataclass
class Dataset:
    documents: list[Document] = field(default_factory=list)
    questions: list[QA] = field(default_factory=list)


SPLITS = ("train", "dev", "test")
