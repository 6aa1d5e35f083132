"""Reproducible pretraining corpus from text already on the machine.

Sources (after `npm ci` and the apt packages): TypeScript declarations / docs in the
repo's node_modules, Python sources in /usr/lib/python3/dist-packages, README-like text in
/usr/share/doc.  Files are visited in sorted order, filtered (binary, non-UTF-8, minified,
huge), capped per file, deduplicated by content hash, and written as JSONL
``{"path": ..., "source": ..., "text": ...}`` until ``max_bytes`` of text is collected.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator, Sequence

from .. import paths

REPO_ROOT = paths.REPO

# (name, root, allowed suffixes, share of max_bytes)
DEFAULT_ROOTS: list[tuple[str, str, tuple[str, ...], float]] = [
    ("node_modules", "node_modules", (".d.ts", ".ts", ".md"), 0.35),
    ("python", "/usr/lib/python3/dist-packages", (".py",), 0.45),
    ("doc", "/usr/share/doc", ("README", "README.md", "README.txt", "README.rst", ".md", ".txt", ".rst"), 0.20),
]

MAX_FILE_BYTES = 2_000_000    # skip larger files entirely
PER_FILE_CAP = 60_000         # keep at most this many characters of one file
MIN_FILE_CHARS = 200
MAX_LINE_CHARS = 400          # a longer line means minified / generated


def _walk(root: str, suffixes: Sequence[str]) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "test", "tests")]
        for fn in sorted(filenames):
            if any(fn == s or fn.endswith(s) for s in suffixes) and not fn.endswith((".min.js", ".map")):
                yield os.path.join(dirpath, fn)


def _walk_round_robin(root: str, suffixes: Sequence[str]) -> Iterator[str]:
    """Files of each top-level package (scoped npm packages count as one level deeper),
    interleaved round-robin so that one big package cannot fill the budget."""
    groups: list[str] = []
    loose: list[str] = []
    for e in sorted(os.listdir(root)):
        p = os.path.join(root, e)
        if e.startswith(".") or e in ("__pycache__",):
            continue
        if os.path.isdir(p) and not os.path.islink(p):
            if e.startswith("@"):
                groups.extend(os.path.join(p, x) for x in sorted(os.listdir(p)) if os.path.isdir(os.path.join(p, x)))
            else:
                groups.append(p)
        elif any(e == s or e.endswith(s) for s in suffixes):
            loose.append(p)
    iters = [iter(loose)] + [_walk(g, suffixes) for g in groups]
    while iters:
        alive = []
        for it in iters:
            nxt = next(it, None)
            if nxt is not None:
                yield nxt
                alive.append(it)
        iters = alive


def _read_text(path: str) -> str | None:
    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return None
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES or size == 0:
            return None
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or max(len(line) for line in lines) > MAX_LINE_CHARS:
        return None
    # mostly-printable check
    bad = sum(1 for c in text[:5000] if ord(c) < 32 and c not in "\n\t")
    if bad > 10:
        return None
    if len(text) > PER_FILE_CAP:
        cut = text.rfind("\n", 0, PER_FILE_CAP)
        text = text[: cut if cut > 0 else PER_FILE_CAP]
    text = text.strip("\n")
    if len(text) < MIN_FILE_CHARS:
        return None
    return text


def build_corpus(out_path: str, max_bytes: int = 8_000_000, roots=None, seed: int = 0) -> dict:
    """Write a JSONL corpus (one {"path","source","text"} per document) and return stats.

    roots: list of (name, root, suffixes, share) like DEFAULT_ROOTS (relative roots are
    resolved against the repository root, never the cwd); each source may fill at most
    share * max_bytes, unused budget of missing/short sources goes to the others.
    seed: documents are shuffled (deterministically) before being written.
    """
    roots = DEFAULT_ROOTS if roots is None else roots
    resolved = []
    for entry in roots:
        name, root, suffixes, share = entry
        if not os.path.isabs(root):
            root = os.path.join(REPO_ROOT, root)
        resolved.append((name, root, tuple(suffixes), float(share)))
    seen = set()
    docs: list[dict] = []
    per_source: dict[str, dict[str, int]] = {}
    used = 0
    for idx, (name, root, suffixes, share) in enumerate(resolved):
        st = per_source.setdefault(name, {"files": 0, "bytes": 0, "skipped": 0, "duplicates": 0})
        if not os.path.isdir(root):
            continue
        remaining_share = sum(r[3] for r in resolved[idx:])
        budget = int((max_bytes - used) * share / remaining_share) if remaining_share > 0 else 0
        got = 0
        for path in _walk_round_robin(root, suffixes):
            if got >= budget:
                break
            text = _read_text(path)
            if text is None:
                st["skipped"] += 1
                continue
            h = hashlib.sha1(text.encode("utf-8")).hexdigest()
            if h in seen:
                st["duplicates"] += 1
                continue
            seen.add(h)
            n = len(text.encode("utf-8"))
            rel = os.path.relpath(path, REPO_ROOT) if path.startswith(REPO_ROOT + os.sep) else path
            docs.append({"path": rel, "source": name, "text": text})
            st["files"] += 1
            st["bytes"] += n
            got += n
        used += got
    random.Random(seed).shuffle(docs)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    digest = hashlib.sha256()
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for d in docs:
            line = json.dumps(d, ensure_ascii=False)
            digest.update(line.encode("utf-8"))
            f.write(line + "\n")
    os.replace(tmp, out_path)
    return {"path": out_path, "files": len(docs), "bytes": used, "sha256": digest.hexdigest(),
            "per_source": per_source, "max_bytes": max_bytes, "seed": seed}


def read_corpus(path: str) -> Iterator[str]:
    """Yield the document texts of a corpus written by build_corpus."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["text"]
