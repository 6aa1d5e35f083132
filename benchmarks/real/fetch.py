#!/usr/bin/env python3
"""Download the real-project benchmark's source packages and lay each out as a workspace.

    python3 benchmarks/real/fetch.py [--split train|dev|test|all] [NAME ...] [--cache DIR] [--force]

Each project of benchmarks/real/projects.json is a pinned source package: a PyPI sdist (found
through PyPI's simple index, the same index pip reads) or an npm tarball (the registry's
`dist.tarball`). The file is downloaded into <cache>/downloads/, checked against the sha256 pinned
in projects.json (a mismatch is an error and the file is deleted), and unpacked into
<cache>/ws/<name>/ with the package's top folder stripped (`requests-2.32.3/`, `package/`), as a
clone of the project would look. Files of our own making that a repository has and a source package
lacks (a CI workflow, editor settings, a .gitignore) are copied over from benchmarks/real/extra/<name>/.
A workspace whose stamp matches is left alone (a rerun takes a second). Standard library only.
Exit status 1 with the reason on stderr when a registry is unreachable or a hash does not match.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROJECTS = HERE / "projects.json"
EXTRA = HERE / "extra"
DEFAULT_CACHE = REPO / ".cache" / "real-repos"
PYPI_SIMPLE = os.environ.get("CMT_PYPI_SIMPLE", "https://pypi.org/simple")
NPM_REGISTRY = os.environ.get("CMT_NPM_REGISTRY", "https://registry.npmjs.org")
TIMEOUT = 120
GENERATED = ("PKG-INFO",)


class FetchError(Exception):
    pass


def load_projects() -> list[dict]:
    return json.loads(PROJECTS.read_text())["projects"]


def _get(url: str, accept: str | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    last: Exception | None = None
    for attempt in range(3):
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            raise FetchError(f"{url}: the registry answered HTTP {e.code}") from e
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            last = e
            time.sleep(1 + 2 * attempt)
    raise FetchError(f"{url}: registry unreachable ({last}); check the network or proxy, then rerun")


def source_url(p: dict) -> str:
    """Where the pinned file is served (asked of the registry by name and version)."""
    if p["registry"] == "pypi":
        index = json.loads(_get(f"{PYPI_SIMPLE}/{p['package']}/", "application/vnd.pypi.simple.v1+json"))
        for f in index.get("files", []):
            if f["filename"] == p["file"]:
                return f["url"]
        raise FetchError(f"{p['name']}: {p['file']} is not in PyPI's index for {p['package']}")
    if p["registry"] == "npm":
        meta = json.loads(_get(f"{NPM_REGISTRY}/{p['package']}/{p['version']}"))
        return meta["dist"]["tarball"]
    raise FetchError(f"{p['name']}: unknown registry {p['registry']!r}")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(p: dict, cache: Path) -> Path:
    dest = cache / "downloads" / p["file"]
    if dest.exists() and sha256_of(dest) == p["sha256"]:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = source_url(p)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(_get(url))
    got = sha256_of(tmp)
    if got != p["sha256"]:
        tmp.unlink()
        raise FetchError(f"{p['name']}: sha256 mismatch for {p['file']} (got {got}, pinned {p['sha256']}); nothing was unpacked")
    tmp.replace(dest)
    return dest


def _safe_members(tar: tarfile.TarFile, strip: str):
    for m in tar.getmembers():
        name = m.name
        if not name.startswith(strip):
            continue
        rel = name[len(strip):]
        if not rel or rel.startswith("/") or ".." in Path(rel).parts:
            continue
        if not (m.isfile() or m.isdir()):
            continue  # no links or devices from a downloaded archive
        m.name = rel
        yield m


def unpack(p: dict, archive: Path, ws: Path) -> int:
    tmp = ws.with_name(ws.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        if len(tops) != 1:
            raise FetchError(f"{p['name']}: expected one top folder in {archive.name}, found {sorted(tops)[:5]}")
        strip = tops.pop() + "/"
        members = list(_safe_members(tar, strip))
        tar.extractall(tmp, members=members, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp, members=members)
    # Written by the sdist build, absent from a clone (PKG-INFO repeats the README as metadata).
    for generated in GENERATED:
        (tmp / generated).unlink(missing_ok=True)
    extra = EXTRA / p["name"]
    if extra.is_dir():
        shutil.copytree(extra, tmp, dirs_exist_ok=True)
    shutil.rmtree(ws, ignore_errors=True)
    tmp.replace(ws)
    return sum(1 for f in ws.rglob("*") if f.is_file())


def extra_stamp(name: str) -> str:
    h = hashlib.sha256()
    extra = EXTRA / name
    if extra.is_dir():
        for f in sorted(extra.rglob("*")):
            if f.is_file():
                h.update(str(f.relative_to(extra)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def fetch(p: dict, cache: Path, force: bool = False) -> Path:
    ws = cache / "ws" / p["name"]
    stamp_file = cache / "ws" / f".{p['name']}.stamp"
    stamp = f"{p['sha256']} {extra_stamp(p['name'])} {','.join(GENERATED)}"
    if not force and ws.is_dir() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return ws
    archive = download(p, cache)
    n = unpack(p, archive, ws)
    stamp_file.write_text(stamp)
    print(f"{p['name']} {p['version']} ({p['registry']}): {n} files -> {ws}", file=sys.stderr)
    return ws


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="project names (default: every project of --split)")
    ap.add_argument("--split", default="all", choices=["train", "dev", "test", "all"])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--force", action="store_true", help="download and unpack again")
    a = ap.parse_args(argv)
    projects = load_projects()
    known = {p["name"] for p in projects}
    unknown = [n for n in a.names if n not in known]
    if unknown:
        print(f"error: unknown project(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", file=sys.stderr)
        return 2
    chosen = [p for p in projects if (p["name"] in a.names if a.names else a.split in ("all", p["split"]))]
    failed = 0
    for p in chosen:
        try:
            ws = fetch(p, a.cache.resolve(), a.force)
            print(ws)
        except FetchError as e:
            failed += 1
            print(f"error: {e}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
