"""Synthetic workspace QA
----------------------
Every document is one file of a made-up person's repo/notes (YAML/JSON/TOML configs, .env.example,
TypeScript/Python/Go constants, READMEs, design notes, meeting notes, runbooks, changelogs) about ONE
made-up entity (a service/project name built from syllables, unique within a dataset).  It states
2-5 facts (port, retries, timeout, owner, backup time, version, ...), each in the document's own
syntax.  Every fact yields QUESTIONS_PER_FACT questions with distinct phrasings; every question
names the entity, so it is answerable from exactly its document.  All answer strings (canonical and
variants) occur verbatim in the document; the canonical answers of one document are distinct.

Held-out generalisation (by construction, independent of seed and n_docs):
  * entity names: the first syllable inventory is partitioned between train / dev / test, so
    dev/test entity names (and the other made-up words: database names, hosts, channels) never
    occur in train;
  * people: first names are partitioned between the splits;
  * values: every value pool (ports, retry counts, dates, times, versions, regions, ...) is
    partitioned by a stable hash of the answer string (70% train / 15% dev / 15% test), so a
    dev/test canonical answer never occurs as a train canonical answer;
  * phrasings: every fact kind has training templates and held-out templates; train uses only
    the former; in dev/test each fact gets one held-out phrasing plus one training phrasing.
  * RNG streams are seeded with (split, seed), so splits never share documents.
"""
from __future__ import annotations

import json
import os
import random
import shutil

from .dataset import QA, SPLITS, Dataset, Document
from .facts import FACT_KINDS, SENTENCE_KIND_NAMES, SENTENCE_KINDS, VERSION_KIND
from .formats import MAX_DOC_CHARS, RENDERER_WEIGHTS, RENDERERS, render_changelog
from .names import word

QUESTIONS_PER_FACT = 2
_SPLIT_SEED = {"train": 1_000_003, "dev": 2_000_029, "test": 3_000_017}

# --------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------


def workspace_qa(split: str, n_docs: int, seed: int = 0, sentences: float = 0.0,
                 only_sentence_questions: bool = False) -> Dataset:
    """Deterministic synthetic workspace QA for (split, n_docs, seed).

    sentences: the share of documents that also state one sentence fact (SENTENCE_KINDS: the answer
    is a phrase); 0 gives exactly the value-only dataset. only_sentence_questions keeps only the
    questions about those facts (the workspace-sentences-* eval fixtures).
    """
    if split not in _SPLIT_SEED:
        raise ValueError("split must be one of %s" % (SPLITS,))
    rng = random.Random(_SPLIT_SEED[split] * 7919 + seed)
    held_out = split != "train"
    used = set()
    docs: list[Document] = []
    qas: list[QA] = []
    renderers = rng.choices(RENDERERS, weights=RENDERER_WEIGHTS, k=n_docs)
    n_facts_all = rng.choices([2, 3, 4, 5], weights=[3, 4, 3, 2], k=n_docs)
    for i in range(n_docs):
        ent = word(rng, split)
        while ent in used or len(ent) < 4:
            ent = word(rng, split)
        used.add(ent)
        render = renderers[i]
        kinds = rng.sample(FACT_KINDS, n_facts_all[i])
        if render is render_changelog and VERSION_KIND not in kinds:
            kinds[0] = VERSION_KIND
        facts = []
        seen = set()
        for k in kinds:
            v = k.gen(rng, split, ent)
            while v in seen or v in ent:
                v = k.gen(rng, split, ent)
            seen.add(v)
            facts.append((k, v))
        if sentences > 0:
            # Its own stream, so that sentences=0 leaves the value-only datasets untouched.
            srng = random.Random("sentences|%s|%d|%d" % (split, seed, i))
            if srng.random() < sentences:
                sk = srng.choice(SENTENCE_KINDS)
                facts.insert(srng.randint(0, len(facts)), (sk, sk.gen(srng, split, ent)))
        path, text = render(rng, ent, facts)
        while len(text) > MAX_DOC_CHARS and len(facts) > 2:  # rare: drop a non-version fact
            j = max(i for i, f in enumerate(facts) if f[0] is not VERSION_KIND)
            facts = facts[:j] + facts[j + 1:]
            path, text = render(rng, ent, facts)
        did = "ws-%s-%d-%06d" % (split, seed, i)
        docs.append(Document(did, path, text))
        for k, v in facts:
            answers = [v] + [a for a in (t.format(v=v) for t in k.variants) if a in text]
            if held_out:
                qs = [rng.choice(k.held_q), rng.choice(k.train_q)]
            else:
                qs = rng.sample(k.train_q, QUESTIONS_PER_FACT)
            if only_sentence_questions and k.name not in SENTENCE_KIND_NAMES:
                continue
            for q in qs:
                qas.append(QA(did, q.format(E=ent), answers))
    return Dataset(docs, qas)


# --------------------------------------------------------------------------------------------
# workspace writing + sample
# --------------------------------------------------------------------------------------------


def to_squad_json(ds: Dataset, version: str, source: str) -> dict:
    """The dataset in the SQuAD v1.1 JSON format (one article per document, `path` kept), which
    `cmt eval` reads (test/fixtures/workspace-qa-*.json)."""
    by_doc: dict[str, list[QA]] = {}
    for qa in ds.questions:
        by_doc.setdefault(qa.doc_id, []).append(qa)
    data = []
    for d in ds.documents:
        qas = [{"id": f"{d.id}-q{i}", "question": qa.question,
                "answers": [{"text": a, "answer_start": d.text.find(a)} for a in qa.answers]}
               for i, qa in enumerate(by_doc.get(d.id, []))]
        data.append({"title": d.path, "path": d.path, "paragraphs": [{"context": d.text, "qas": qas}]})
    return {"version": version, "source": source, "data": data}


def write_workspace(ds: Dataset, root: str) -> None:
    """Write each document to root/<path>, creating directories."""
    root_abs = os.path.abspath(root)
    for d in ds.documents:
        full = os.path.abspath(os.path.join(root_abs, d.path))
        if not full.startswith(root_abs + os.sep):
            raise ValueError("document path escapes root: %r" % d.path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="\n") as f:
            f.write(d.text)


SAMPLE_SPLIT, SAMPLE_N_DOCS, SAMPLE_SEED = "test", 24, 7


def sample_dataset() -> Dataset:
    """The sample workspace's documents. `.env*` files are left out: the engine never memorizes
    them by default (they are treated as secrets), so a demo question about one could not be answered."""
    ds = workspace_qa(SAMPLE_SPLIT, SAMPLE_N_DOCS * 2, seed=SAMPLE_SEED)
    docs = [d for d in ds.documents if not os.path.basename(d.path).startswith(".env")][:SAMPLE_N_DOCS]
    keep = {d.id for d in docs}
    return Dataset(documents=docs, questions=[q for q in ds.questions if q.doc_id in keep])


def write_sample(root_dir: str) -> None:
    """(Re)create <root_dir>/samples/workspace/ and <root_dir>/samples/questions.json."""
    ds = sample_dataset()
    ws = os.path.join(root_dir, "samples", "workspace")
    if os.path.isdir(ws):
        shutil.rmtree(ws)
    write_workspace(ds, ws)
    path_of = {d.id: d.path for d in ds.documents}
    out, seen = [], set()
    for qa in ds.questions:
        if qa.doc_id in seen:
            continue
        seen.add(qa.doc_id)
        out.append({"question": qa.question, "answers": qa.answers, "path": path_of[qa.doc_id]})
    with open(os.path.join(root_dir, "samples", "questions.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
        f.write("\n")

