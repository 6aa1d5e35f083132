#!/usr/bin/env python3
"""Generate the real-project benchmark's questions by rules, from what the files really say.

    python3 benchmarks/real/generate.py [--cache DIR] [NAME ...]

For every project of benchmarks/real/projects.json (fetched by fetch.py into .cache/real-repos/ws/)
this writes benchmarks/real/questions/<name>.json: questions of three kinds, each with accepted
answers and the gold file and lines that hold the answer.

  config  pyproject.toml, setup.cfg, tox.ini, package.json, Cargo.toml, CI workflows and other YAML,
          .editorconfig, editor settings, pinned requirements
  code    module constants, default arguments, class attributes, exception bases, docstring and
          JSDoc first sentences, CLI options (click) and their defaults and help, Rust consts, C
          #defines, express settings, commander error codes
  docs    install commands, the opening sentence of a README/docs section, release dates

Parsers: Python's ast (.py/.pyi), tomllib, json, configparser; JavaScript/TypeScript through the
TypeScript compiler API (js_defs.mjs); YAML, Rust, C and Cython by line rules. A question is kept
only when its gold file is one the memorizer reads (check.py's rules), its subject is defined in
one memorized file only (a sentence answer must appear in one file only), the value is not None,
a boolean or longer than 80 characters (120 for sentences). Each rule gives at most a quarter of a
project's questions. Deterministic: the same workspaces give byte-identical files.
"""
from __future__ import annotations

import argparse
import ast
import configparser
import json
import random
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import check  # noqa: E402  (shared rules: memorized files, gold exclusions, normalisation)

SEED = 20240917
MAX_VALUE = 80
MAX_SENTENCE = 120
RULE_SHARE = 0.25
TARGET = {
    "requests": 62, "attrs": 62, "click": 70, "commander": 30, "mkdocs": 66, "flask": 70,
    "msgpack": 48, "express": 48, "pyyaml": 62, "httpx": 66, "orjson": 56, "zod": 36,
}
DISPLAY = {"pyyaml": "PyYAML", "httpx": "HTTPX", "mkdocs": "MkDocs"}


# ---------------------------------------------------------------------------------------------
# helpers

def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (
        any(p in ("tests", "test", "testing", "__tests__", "legacy_tests", "benchmarks", "bench") for p in parts[:-1])
        or name.startswith("test_") or name.endswith(("_test.py", "tests.py")) or name == "conftest.py"
    )


def locate(lines: list[str], answer: str, lo: int, hi: int) -> tuple[int, int] | None:
    """Tightest 1-based window of lines[lo-1:hi] whose normalised text holds the answer."""
    target = check.norm(answer)
    lo = max(1, lo)
    hi = min(len(lines), hi)
    best = None
    for i in range(lo, hi + 1):
        for j in range(i, min(hi, i + check.MAX_LINES - 1) + 1):
            if target in check.norm(" ".join(lines[i - 1:j])):
                if best is None or (j - i) < (best[1] - best[0]):
                    best = (i, j)
                break
    return best


def first_sentence(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    para = re.split(r"\n\s*\n", text, maxsplit=1)[0]
    para = re.sub(r"\s+", " ", para).strip()
    m = re.match(r"(.+?[.!?])(?:\s|$)", para)
    s = m.group(1) if m else para
    # "e.g." / "i.e." / "etc." cut a sentence short: extend past them
    while re.search(r"\b(e\.g|i\.e|etc|vs|approx|incl)\.$", s) and len(s) < len(para):
        m = re.match(re.escape(s) + r"(.+?[.!?])(?:\s|$)", para)
        if not m:
            break
        s = s + m.group(1)
    return s.strip()


def good_sentence(s: str | None) -> bool:
    if not s or not (20 <= len(s) <= MAX_SENTENCE):
        return False
    if s.startswith((":", "..", ">>>", "|", "<", "!", "[", "{", "#", "-", "*", "@", "(", "`")) and not s.startswith("``"):
        return False
    if any(t in s for t in (">>>", "::", "http://", "https://", "TODO", "XXX", "\\")):
        return False
    if len(s.split()) < 4:
        return False
    if s.lower().startswith(("deprecated", "see ", "same as", "alias", "internal", "private", "this is an internal", "copyright")):
        return False
    return True


def trivial(value: str) -> bool:
    v = value.strip()
    return (
        not v or len(v) > MAX_VALUE or v in ("None", "True", "False", "true", "false", "null", "undefined", "...", "''", '""', "[]", "{}", "()", "0", "-1", "1")
        or "\n" in v
    )


def variants(value: str, *, list_like: bool = False, unit: str | None = None) -> list[str]:
    out = [value]
    if list_like:
        items = [x.strip().strip("'\"") for x in value.strip("[]() ").split(",") if x.strip()]
        if items:
            out.append(", ".join(items))
            out.append(" ".join(items))
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", value):
        out.append(str(int(value, 16)))
    if re.fullmatch(r"\d[\d_]*", value) and "_" in value:
        out.append(value.replace("_", ""))
    if re.fullmatch(r"[\d\s*+()]+", value) and any(op in value for op in "*+"):
        try:
            out.append(str(eval(value, {"__builtins__": {}})))  # noqa: S307  (digits and * + only)
        except Exception:
            pass
    if unit and re.fullmatch(r"[\d.]+", value):
        out.append(f"{value} {unit}")
    if value.endswith(".") and len(value) > 20:
        out.append(value[:-1])
    seen = []
    for v in out:
        if v not in seen:
            seen.append(v)
    return seen


def unit_for(name: str) -> str | None:
    n = name.lower()
    if "timeout" in n or n.endswith(("_seconds", "_secs", "delay", "interval")):
        return "seconds"
    if "retries" in n or "retry" in n:
        return "retries"
    return None


def module_name(rel: str) -> str:
    if "/" not in rel or rel.startswith(("examples/", "docs/")):
        return rel
    p = rel
    for prefix in ("src/", "lib/", "pysrc/"):
        if p.startswith(prefix):
            p = p[len(prefix):]
            break
    p = re.sub(r"\.pyi?$", "", p).replace("/", ".")
    return re.sub(r"\.__init__$", "", p)


# ---------------------------------------------------------------------------------------------
# the project

class Project:
    def __init__(self, meta: dict, ws: Path):
        self.meta = meta
        self.name = meta["name"]
        self.disp = DISPLAY.get(self.name, self.name)
        self.ws = ws
        self.rng = random.Random(f"{SEED}-{self.name}")
        self.files = sorted(check.memorized_files(str(ws)))
        self.gold_ok = {f for f in self.files if check.static_exclusion(f, ws, self.name) is None}
        self.defs: dict[str, set[str]] = defaultdict(set)  # 'top:X' / 'cls:C.x' -> files defining it
        self.stub_defs: dict[str, list] = defaultdict(list)  # the same for .pyi stubs: key -> [(rel, node)]
        self.cands: list[dict] = []
        self._norm_cache: dict[str, str] = {}
        self.js: dict[str, dict] = {}

    def lines(self, rel: str) -> list[str]:
        return check.file_lines(str(self.ws / rel))

    def text(self, rel: str) -> str:
        return "\n".join(self.lines(rel))

    def normtext(self, rel: str) -> str:
        if rel not in self._norm_cache:
            self._norm_cache[rel] = check.norm(self.text(rel))
        return self._norm_cache[rel]

    def unique_def(self, *keys: str, stubs: bool = False) -> bool:
        """Each key is defined in at most one memorized file (with stubs=True, .pyi stubs count too)."""
        return all(len(self.defs.get(k, ())) + (len(self.stub_defs.get(k, ())) if stubs else 0) <= 1 for k in keys)

    def stub_default(self, key: str, arg: str) -> bool:
        """Does a .pyi stub give `arg` of function `key` a default other than `...`?"""
        for _, node in self.stub_defs.get(key, ()):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                pos = a.posonlyargs + a.args
                pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
                for x, d in pairs:
                    if x.arg == arg and d is not None and not (isinstance(d, ast.Constant) and d.value is Ellipsis):
                        return True
        return False

    def text_unique(self, rel: str, answer: str) -> bool:
        """The answer's text appears in no other memorized file."""
        t = check.norm(answer)
        return not any(t in self.normtext(f) for f in self.files if f != rel)

    def pick(self, templates: list[str], **kw) -> str:
        return self.rng.choice(templates).format(p=self.disp, **kw)

    def add(self, rule: str, kind: str, rel: str, question: str, answers: list[str], lo: int, hi: int | None = None) -> bool:
        if rel not in self.gold_ok or is_test_path(rel) and kind != "config":
            return False
        answers = [a for a in answers if a and a.strip()]
        if not answers or trivial(answers[0]) and rule not in ("doc_first_sentence", "js_doc", "docs_section", "cli_help") or len(answers[0]) > MAX_SENTENCE:
            return False
        if rel.startswith("examples/") and rel not in question:
            question = question.rstrip("?") + f" (in the example `{rel}`)?"
        # metadata repeated across files (the version in pyproject.toml and __init__.py, the license,
        # the description): the question's file is not the only one that answers it
        if rule in ("py_constant", "toml_setting", "ini_setting", "json_setting", "yaml_setting", "package_field", "py_class_attr") \
                and re.search(r"version|licen[cs]e|description|summary|author|url|homepage|name\b", question, re.I) \
                and not self.text_unique(rel, answers[0]):
            return False
        lines = self.lines(rel)
        hi = hi or lo
        win = locate(lines, answers[0], lo, hi)
        if not win:
            return False
        self.cands.append({"question": question, "answers": answers, "file": rel, "lines": [win[0], win[1]], "kind": kind, "rule": rule})
        return True


# ---------------------------------------------------------------------------------------------
# definitions index (for the uniqueness rule)

def index_python(p: Project, rel: str, tree: ast.Module) -> None:
    if rel.endswith(".pyi"):
        # stubs: kept apart; a question about a .py definition checks what the stub says (stub_says)
        for node in tree.body:
            for n in py_assigned_names(node, stub=True):
                p.stub_defs[f"top:{n}"].append((rel, node))
            if isinstance(node, ast.ClassDef):
                for m in node.body:
                    for n in py_assigned_names(m, stub=True):
                        p.stub_defs[f"cls:{node.name}.{n}"].append((rel, m))
        return
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            p.defs[f"top:{node.name}"].add(rel)
            if isinstance(node, ast.ClassDef):
                for m in node.body:
                    for n in py_assigned_names(m, stub=rel.endswith(".pyi")):
                        p.defs[f"cls:{node.name}.{n}"].add(rel)
        else:
            for n in py_assigned_names(node, stub=rel.endswith(".pyi")):
                p.defs[f"top:{n}"].add(rel)
        if isinstance(node, (ast.If, ast.Try)):  # definitions under `if TYPE_CHECKING:` / try-import
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    p.defs[f"top:{sub.name}"].add(rel)


def py_assigned_names(node: ast.AST, stub: bool) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and (node.value is not None):
        return [node.target.id]
    return []


CY_DEF = re.compile(r"^(\s*)(?:cp?def|def|class|cdef\s+class|ctypedef)\s+(?:(?:inline|public|api|extern|object|int|long|bint|size_t|Py_ssize_t|char\s*\*|unsigned\s+\w+|double|float|\w+\s*\*)\s+)*(\w+)\s*[(:=]", re.M)
CY_ASSIGN = re.compile(r"^(\w+)\s*=", re.M)


def index_regex(p: Project, rel: str) -> None:
    text = p.text(rel)
    ext = rel.rsplit(".", 1)[-1]
    if ext in ("pyx", "pxd", "pxi"):
        cls = None
        for line in text.splitlines():
            m = re.match(r"^(\s*)(?:cdef\s+class|class)\s+(\w+)", line)
            if m and not m.group(1):
                cls = m.group(2)
                p.defs[f"top:{cls}"].add(rel)
                continue
            m = re.match(r"^(\s*)(?:cp?def|def)\s+(?:[\w*]+\s+)*?(\w+)\s*\(", line)
            if m:
                if m.group(1) and cls:
                    p.defs[f"cls:{cls}.{m.group(2)}"].add(rel)
                else:
                    cls = None if not m.group(1) else cls
                    p.defs[f"top:{m.group(2)}"].add(rel)
            m = re.match(r"^(?:cdef\s+(?:\w+\s+)*)?(\w+)\s*=", line)
            if m:
                p.defs[f"top:{m.group(1)}"].add(rel)
    elif ext == "rs":
        for m in re.finditer(r"\b(?:fn|const|static|struct|enum|trait|type|mod)\s+(\w+)", text):
            p.defs[f"top:{m.group(1)}"].add(rel)
    elif ext in ("h", "c"):
        for m in re.finditer(r"^\s*#\s*define\s+(\w+)", text, re.M):
            p.defs[f"top:{m.group(1)}"].add(rel)


def run_js_defs(p: Project, rels: list[str]) -> dict:
    node = shutil.which("node")
    if not node or not rels:
        return {}
    out: dict = {}
    for i in range(0, len(rels), 40):
        r = subprocess.run([node, str(HERE / "js_defs.mjs"), "defs", str(p.ws), *rels[i:i + 40]], capture_output=True, text=True, cwd=check.REPO)
        if r.returncode != 0:
            raise SystemExit(f"js_defs.mjs failed: {r.stderr[:500]}")
        out.update(json.loads(r.stdout))
    return out


# ---------------------------------------------------------------------------------------------
# code rules: Python

def src(p: Project, rel: str, node: ast.AST) -> str | None:
    seg = ast.get_source_segment(p.text(rel), node)
    return seg


def literal_answer(p: Project, rel: str, node: ast.AST) -> tuple[str, bool] | None:
    """(answer as written, list-like?) for a literal value, or None."""
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, bool) or node.value is Ellipsis:
            return None
        if isinstance(node.value, str):
            return (node.value, False) if node.value.strip() and "\n" not in node.value else None
        if isinstance(node.value, bytes):
            s = src(p, rel, node)
            return (s, False) if s else None
        s = src(p, rel, node)
        return (s, False) if s else None
    try:
        ast.literal_eval(node)
        ok = True
    except Exception:
        ok = isinstance(node, ast.BinOp) and all(isinstance(n, (ast.Constant, ast.BinOp, ast.operator, ast.UnaryOp, ast.unaryop)) for n in ast.walk(node))
    if not ok:
        return None
    if isinstance(node, ast.Dict):
        return None
    s = src(p, rel, node)
    if not s or "\n" in s:
        return None
    return s, isinstance(node, (ast.Tuple, ast.List, ast.Set))


def py_rules(p: Project, rel: str, tree: ast.Module) -> None:
    mod = module_name(rel)
    lines = p.lines(rel)
    stub = rel.endswith(".pyi")

    def const_q(name: str, where: str) -> list[str]:
        return [
            f"What is `{name}` set to in `{where}`?",
            f"Where is `{name}` defined in {p.disp} and what is its value?",
            f"What's the value of `{where}.{name}`?" if not where.endswith(".py") else f"What's the value of `{name}` in {p.disp}'s `{where}`?",
            f"In {p.disp}, what value does the constant `{name}` in `{where}` have?",
        ]

    assigned: Counter = Counter()
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Assign):
            for t in sub.targets:
                if isinstance(t, ast.Name):
                    assigned[t.id] += 1
        elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
            assigned[sub.target.id] += 1
    for node in tree.body:
        # module constants
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not stub:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and node.value is not None:
                name = targets[0].id
                if re.fullmatch(r"_?[A-Z][A-Z0-9_]+", name) and p.unique_def(f"top:{name}", stubs=True) and assigned.get(name, 0) == 1:
                    la = literal_answer(p, rel, node.value)
                    if la:
                        ans, list_like = la
                        p.add("py_constant", "code", rel, p.rng.choice(const_q(name, mod)), variants(ans, list_like=list_like, unit=unit_for(name)), node.lineno, node.end_lineno)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            py_function(p, rel, node, None, mod)
        if isinstance(node, ast.ClassDef):
            py_class(p, rel, node, mod)


def py_function(p: Project, rel: str, node, cls: str | None, mod: str) -> None:
    name = node.name
    public = not name.startswith("_") or name == "__init__"
    key = f"cls:{cls}.{name}" if cls else f"top:{name}"
    if not p.unique_def(key) or (cls and not p.unique_def(f"top:{cls}")):
        return
    # `Class.method`, `package.module.function`, or `function` in `path/script.py` outside a package
    subject = f"`{cls}.{name}`" if cls else (f"`{name}` in `{mod}`" if mod.endswith(".py") else f"`{mod}.{name}`")
    # default arguments
    a = node.args
    pos = a.posonlyargs + a.args
    pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults)) + [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    if public and not rel.endswith(".pyi"):
        for arg, default in pairs:
            la = literal_answer(p, rel, default)
            if not la or arg.arg in ("self", "cls") or p.stub_default(key, arg.arg):
                continue
            ans, list_like = la
            if name == "__init__" and cls:
                qs = [
                    f"When you create a `{cls}` in {p.disp}, what is the default `{arg.arg}`?",
                    f"What does `{arg.arg}` default to in `{cls}.__init__`?",
                    f"If I don't pass `{arg.arg}` to `{cls}(...)`, what value does {p.disp} use?",
                ]
            else:
                qs = [
                    f"What's the default `{arg.arg}` in {subject}?",
                    f"What does the `{arg.arg}` parameter of {subject} default to?",
                    f"If I call {subject} without `{arg.arg}`, what value is used?",
                    f"In {p.disp}, what is the default value of `{arg.arg}` for {subject}?",
                ]
            p.add("py_default_arg", "code", rel, p.rng.choice(qs), variants(ans, list_like=list_like, unit=unit_for(arg.arg)), default.lineno, default.end_lineno)
    # docstring first sentence
    doc = ast.get_docstring(node, clean=True)
    if public and name != "__init__" and doc and not rel.startswith("examples/") and node.body and isinstance(node.body[0], ast.Expr):
        s = first_sentence(doc)
        if good_sentence(s) and p.text_unique(rel, s):
            qs = [
                f"What does {subject} do?",
                f"What is {subject} for in {p.disp}?",
                f"Briefly, what's the purpose of {subject}?",
                f"In {p.disp}, what does the docstring of {subject} say it does?",
            ]
            d = node.body[0]
            p.add("doc_first_sentence", "code", rel, p.rng.choice(qs), variants(s), d.lineno, d.end_lineno)
    # click options on a command function
    if not cls:
        py_click_options(p, rel, node)


def py_class(p: Project, rel: str, node: ast.ClassDef, mod: str) -> None:
    cls = node.name
    if not p.unique_def(f"top:{cls}"):
        return
    public = not cls.startswith("_")
    stub = rel.endswith(".pyi")
    # exception classes and what they subclass
    bases = [ast.unparse(b) for b in node.bases]
    if public and bases and not stub and p.unique_def(f"top:{cls}", stubs=True) and (re.search(r"(Error|Exception|Warning|Exit|Abort)$", cls) or any(re.search(r"(Error|Exception|Warning)$", b) for b in bases)):
        if bases != ["object"]:
            seg = ", ".join(src(p, rel, b) or ast.unparse(b) for b in node.bases)
            qs = [
                f"What does {p.disp}'s `{cls}` exception subclass?",
                f"Which base class(es) does `{mod}.{cls}` inherit from?",
                f"What is `{cls}` derived from in {p.disp}?",
            ]
            alts = [seg] + ([" and ".join(bases)] if len(bases) > 1 else [])
            p.add("py_exception_base", "code", rel, p.rng.choice(qs), alts, node.lineno, node.lineno + 2)
    # class docstring
    doc = ast.get_docstring(node, clean=True)
    if public and doc and not stub and not rel.startswith("examples/"):
        s = first_sentence(doc)
        if good_sentence(s) and p.text_unique(rel, s):
            qs = [
                f"What is the `{cls}` class in `{mod}`?",
                f"What does {p.disp}'s `{cls}` class represent?",
                f"Describe `{mod}.{cls}` in one sentence." if not mod.endswith(".py") else f"Describe the `{cls}` class of `{mod}` in one sentence.",
            ]
            d = node.body[0]
            p.add("doc_first_sentence", "code", rel, p.rng.choice(qs), variants(s), d.lineno, d.end_lineno)
    for m in node.body:
        if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
            py_function(p, rel, m, cls, mod)
        elif isinstance(m, (ast.Assign, ast.AnnAssign)) and public and not stub and m.value is not None:
            targets = m.targets if isinstance(m, ast.Assign) else [m.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                continue
            attr = targets[0].id
            if attr.startswith("__") or not p.unique_def(f"cls:{cls}.{attr}", stubs=True):
                continue
            la = literal_answer(p, rel, m.value)
            if not la or "[(" in la[0] or rel.split("/")[-1] == "setup.py":
                continue
            ans, list_like = la
            if "exit_code" in attr:
                qs = [f"What exit code does {p.disp}'s `{cls}` use?", f"Which exit status does `{mod}.{cls}` exit with?"]
            else:
                qs = [
                    f"What is `{cls}.{attr}` set to?",
                    f"What's the class attribute `{attr}` of `{cls}` in {p.disp}?",
                    f"In `{mod}`, which value does `{cls}` give `{attr}`?",
                ]
            p.add("py_class_attr", "code", rel, p.rng.choice(qs), variants(ans, list_like=list_like, unit=unit_for(attr)), m.lineno, m.end_lineno)


def py_click_options(p: Project, rel: str, fn) -> None:
    cmd = fn.name.replace("_command", "").replace("_", "-")
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr in ("command", "group"):
            if dec.args and isinstance(dec.args[0], ast.Constant) and isinstance(dec.args[0].value, str):
                cmd = dec.args[0].value
    for dec in fn.decorator_list:
        if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "option"):
            continue
        flags = [a.value for a in dec.args if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("-")]
        if not flags:
            continue
        flag = max(flags, key=len).split("/")[0]
        kw = {k.arg: k.value for k in dec.keywords if k.arg}
        if "default" in kw:
            la = literal_answer(p, rel, kw["default"])
            if la:
                ans, ll = la
                qs = [
                    f"What's the default of the `{flag}` option of `{cmd}` in {p.disp}?",
                    f"If I don't pass `{flag}` to the `{cmd}` command, what value does {p.disp} use?",
                    f"What does `{flag}` default to for {p.disp}'s `{cmd}` command?",
                ]
                p.add("cli_option_default", "code", rel, p.rng.choice(qs), variants(ans, list_like=ll), kw["default"].lineno, kw["default"].end_lineno)
        if "help" in kw and isinstance(kw["help"], ast.Constant) and isinstance(kw["help"].value, str):
            h = re.sub(r"\s+", " ", kw["help"].value).strip()
            s = first_sentence(h) or h
            if 12 <= len(s) <= MAX_SENTENCE and p.text_unique(rel, s):
                qs = [
                    f"What does the `{flag}` flag of `{cmd}` do in {p.disp}?",
                    f"What is `{flag}` for on the {p.disp} `{cmd}` command?",
                    f"How is the `{flag}` option of `{cmd}` described?",
                ]
                p.add("cli_help", "code", rel, p.rng.choice(qs), variants(s), kw["help"].lineno, kw["help"].end_lineno)


# ---------------------------------------------------------------------------------------------
# code rules: JavaScript / TypeScript, Rust, C

def js_rules(p: Project, rel: str, info: dict) -> None:
    lines = p.lines(rel)
    for d in info["defs"]:
        q = d["qual"]
        if q.startswith("proto."):
            stem = rel.split("/")[-2] if rel.endswith("/index.js") else rel.split("/")[-1].split(".")[0]
            q = stem[:1].upper() + stem[1:] + q[len("proto"):]
        k = d["kind"]
        key = f"cls:{q}" if "." in q else f"top:{q}"
        doc = d.get("doc") or {}
        private = q.split(".")[-1].startswith("_") or "private" in doc.get("tags", []) or "api" in doc.get("tags", []) and "private" in (doc.get("text") or "")
        if k == "function" and not d.get("nested"):
            if not p.unique_def(key):
                continue
            text = doc.get("text") or ""
            s = first_sentence(text)
            if s and not private and good_sentence(s) and p.text_unique(rel, s):
                qs = [
                    f"What does `{q}` do in {p.disp}?",
                    f"In {p.disp}, what is `{q}` for?",
                    f"What's the one-line description of {p.disp}'s `{q}`?",
                    f"Briefly, what does {p.disp}'s `{q}()` do?",
                ]
                p.add("js_doc", "code", rel, p.rng.choice(qs), variants(s), doc["start"], doc["end"])
            for prm in d.get("params", []):
                default = prm.get("default") or doc.get("defaults", {}).get(prm.get("name") or "")
                if prm.get("name") and default and not trivial(default) and not private:
                    qs = [
                        f"What's the default `{prm['name']}` of `{q}` in {p.disp}?",
                        f"What does the `{prm['name']}` parameter of {p.disp}'s `{q}` default to?",
                    ]
                    lo, hi = (prm["line"], prm["line"]) if prm.get("default") else (doc["start"], doc["end"])
                    p.add("js_default_arg", "code", rel, p.rng.choice(qs), variants(default.strip("'\"")), lo, hi)
        elif k == "const":
            if d.get("value") is None or trivial(d["value"]):
                continue
            if not d.get("scope") and not p.unique_def(key):
                continue
            if d.get("scope") and not p.unique_def(f"cls:{d['scope']}" if "." in d["scope"] else f"top:{d['scope']}"):
                continue
            if len(q) < 4:
                continue
            if d.get("scope"):
                qs = [
                    f"In {p.disp}'s `{d['scope']}`, what is `{q}` initialised to?",
                    f"What value does `{d['scope']}` give the local `{q}` in {p.disp}?",
                ]
            else:
                qs = [f"What is `{q}` set to in {p.disp}'s `{rel}`?", f"What's the value of the {p.disp} constant `{q}`?"]
            p.add("js_constant", "code", rel, p.rng.choice(qs), variants(d["value"]), d["line"], d["line"] + 1)
        elif k == "member":
            if d.get("value") is None or trivial(d["value"]) or not p.unique_def(key) and not d.get("inFn"):
                continue
            cls = q.split(".")[0]
            qs = [
                f"What is `{q.split('.', 1)[1]}` initialised to in {p.disp}'s `{cls}`?",
                f"What initial value does a new `{cls}` give `this.{q.split('.', 1)[1]}` in {p.disp}?",
            ]
            p.add("js_member_init", "code", rel, p.rng.choice(qs), variants(d["value"]), d["line"], d["line"] + 1)
        elif k == "setcall":
            fn = d["fn"]
            if fn.endswith("defaultConfiguration"):
                qs = [
                    f"What is the default value of the `{q}` setting of an {p.disp} app?",
                    f"Out of the box, what does {p.disp} set `{q}` to?",
                    f"Which default does `app.defaultConfiguration` give the `{q}` setting?",
                ]
            else:
                qs = [f"Which value does {p.disp}'s `{fn}` set the `{q}` header to?", f"In {p.disp}, what does `{fn}` set `{q}` to?"]
            p.add("js_setting", "code", rel, p.rng.choice(qs), variants(d["value"]), d["line"], d["line"])
        elif k == "errcode":
            qs = [
                f"Which error code does {p.disp} report from `{d['fn']}`?",
                f"What `code` does the error raised in {p.disp}'s `{d['fn']}` carry?",
            ]
            p.add("js_error_code", "code", rel, p.rng.choice(qs), variants(d["value"]), d["line"], d["line"])
        elif k == "class" and d.get("extends") and p.unique_def(key):
            qs = [f"What does {p.disp}'s `{q}` class extend?", f"Which class is `{q}` derived from in {p.disp}?"]
            p.add("js_class_extends", "code", rel, p.rng.choice(qs), [d["extends"][0]], d["line"], d["line"])


RS_CONST = re.compile(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?(const|static)\s+([A-Z][A-Z0-9_]+)\s*:\s*([^=]+?)\s*=\s*([^;]+);", re.M)


def rust_rules(p: Project, rel: str) -> None:
    text = p.text(rel)
    for m in RS_CONST.finditer(text):
        name, value = m.group(2), m.group(4).strip()
        if trivial(value) or not p.unique_def(f"top:{name}") or len(value) > 60:
            continue
        line = text.count("\n", 0, m.start(2)) + 1
        qs = [
            f"What is the Rust constant `{name}` set to in {p.disp}?",
            f"In {p.disp}'s `{rel}`, what value does `{name}` have?",
            f"What's `{name}` defined as in the {p.disp} Rust source?",
        ]
        p.add("rust_const", "code", rel, p.rng.choice(qs), variants(value), line, line + 1)


C_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w+)[ \t]+([^\n\\]+?)\s*(?:/\*.*)?$", re.M)


def c_rules(p: Project, rel: str) -> None:
    text = p.text(rel)
    for m in C_DEFINE.finditer(text):
        name, value = m.group(1), m.group(2).strip()
        if trivial(value) or not re.fullmatch(r"[\w.()\"'<>+\-* ]{1,40}", value) or not p.unique_def(f"top:{name}") or name.startswith("_"):
            continue
        if len(re.findall(r"^\s*#\s*define\s+" + re.escape(name) + r"\b", text, re.M)) != 1:
            continue
        line = text.count("\n", 0, m.start(1)) + 1
        qs = [f"What does `{name}` expand to in {p.disp}'s `{rel}`?", f"What is the C macro `{name}` defined as in {p.disp}?"]
        p.add("c_define", "code", rel, p.rng.choice(qs), variants(value.strip('"')), line, line)


# ---------------------------------------------------------------------------------------------
# config rules

def toml_key_line(lines: list[str], section: str | None, key: str) -> int | None:
    start = 0
    if section:
        hdr = re.compile(r"^\s*\[{1,2}\s*" + re.escape(section) + r"\s*\]{1,2}\s*$")
        found = [i for i, l in enumerate(lines) if hdr.match(l)]
        if len(found) != 1:
            return None
        start = found[0] + 1
    kre = re.compile(r'^\s*["\']?' + re.escape(key) + r'["\']?\s*=')
    for i in range(start, len(lines)):
        if i > start and section is not None and re.match(r"^\s*\[", lines[i]) and not lines[i].strip().startswith("[["):
            if re.match(r"^\s*\[[^\]]", lines[i]) and "=" not in lines[i]:
                return None
        if kre.match(lines[i]):
            return i + 1
    return None


def toml_rules(p: Project, rel: str) -> None:
    try:
        data = tomllib.loads(p.text(rel))
    except tomllib.TOMLDecodeError:
        return
    lines = p.lines(rel)
    fname = rel

    def scalar(v) -> str | None:
        if isinstance(v, bool) or v is None:
            return None
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return v if "\n" not in v else None
        return None

    proj = data.get("project", {})
    if rel == "pyproject.toml":
        if "requires-python" in proj and not any("python_requires" in p.text(f) for f in ("setup.py", "setup.cfg") if f in p.files):
            v = proj["requires-python"]
            qs = [
                f"What is the minimum Python version {p.disp} supports according to pyproject.toml?",
                f"Which Python versions does {p.disp} declare in `requires-python`?",
                f"What does {p.disp}'s pyproject.toml set `requires-python` to?",
            ]
            ln = toml_key_line(lines, "project", "requires-python")
            if ln:
                p.add("pyproject_requires_python", "config", rel, p.rng.choice(qs), variants(v) + [v.lstrip(">=~ ")], ln)
        bs = data.get("build-system", {})
        if "build-backend" in bs:
            ln = toml_key_line(lines, "build-system", "build-backend")
            qs = [f"Which build backend does {p.disp} use?", f"What is the `build-backend` in {p.disp}'s pyproject.toml?", f"How is {p.disp} built: which PEP 517 backend does pyproject.toml name?"]
            if ln:
                p.add("pyproject_build_backend", "config", rel, p.rng.choice(qs), [bs["build-backend"]], ln)
        for script, target in proj.get("scripts", {}).items():
            ln = toml_key_line(lines, "project.scripts", script)
            qs = [f"Which function does the `{script}` console script of {p.disp} call?", f"What entry point does {p.disp}'s pyproject.toml give the `{script}` command?"]
            if ln:
                p.add("pyproject_script", "config", rel, p.rng.choice(qs), [target], ln)
        deps = [(None, d) for d in proj.get("dependencies", [])] + [(g, d) for g, ds in proj.get("optional-dependencies", {}).items() for d in ds]
        for group, dep in deps:
            m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*([<>=!~].*?)\s*(;.*)?$", dep)
            if not m or not m.group(3):
                continue
            pkg, spec = m.group(1), m.group(3)
            hits = [i + 1 for i, l in enumerate(lines) if dep in l]
            if len(hits) != 1 or not p.text_unique(rel, dep):
                continue
            if group:
                qs = [f"Which version of `{pkg}` does {p.disp}'s `{group}` extra require?", f"In pyproject.toml, what version constraint does the `{group}` optional dependency group put on `{pkg}`?"]
            else:
                qs = [f"Which version of `{pkg}` does {p.disp} depend on?", f"What version constraint does {p.disp}'s pyproject.toml put on `{pkg}`?"]
            p.add("pyproject_dependency", "config", rel, p.rng.choice(qs), [dep.split(";")[0].strip(), spec], hits[0])
    # [tool.*] settings (pyproject.toml), Cargo.toml sections, .cargo/config.toml
    def walk(prefix: list[str], d: dict):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from walk(prefix + [k], v)
            else:
                yield prefix, k, v

    for prefix, key, v in walk([], data):
        if rel == "pyproject.toml" and (not prefix or prefix[0] != "tool"):
            continue
        if rel == "Cargo.toml" and prefix and prefix[0] in ("dependencies", "build-dependencies", "dev-dependencies") and len(prefix) <= 2:
            # `serde = { version = "1" ... }` or `serde = "1"`
            pkg = prefix[1] if len(prefix) == 2 else key
            if (len(prefix) == 2 and key != "version") or (len(prefix) == 1 and not isinstance(v, str)):
                continue
            ver = v
            hits = [i + 1 for i, l in enumerate(lines) if re.match(r"^\s*" + re.escape(pkg) + r"\s*=", l)]
            if len(hits) != 1:
                continue
            qs = [f"Which version of the `{pkg}` crate does {p.disp} use?", f"What version of `{pkg}` does {p.disp}'s Cargo.toml ask for?"]
            p.add("cargo_dependency", "config", rel, p.rng.choice(qs), [ver], hits[0], hits[0])
            continue
        if isinstance(v, list):
            if not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v) or not v:
                continue
            sv = None
        else:
            sv = scalar(v)
            if sv is None:
                continue
        section = ".".join(prefix) if prefix else None
        ln = toml_key_line(lines, section, key)
        if not ln:
            continue
        if sv is None:
            raw = lines[ln - 1].split("=", 1)[1].strip()
            if not (raw.startswith("[") and raw.endswith("]")):
                continue
            sv = raw
            alts = variants(raw, list_like=True)
        else:
            alts = variants(sv)
        if trivial(sv):
            continue
        sect = f"[{section}]" if section else "the top level"
        qs = [
            f"In {p.disp}'s `{fname}`, what is `{key}` set to under `{sect}`?",
            f"What value does {p.disp}'s `{fname}` give `{key}` in `{sect}`?",
            f"What's the `{key}` setting of `{sect}` in {p.disp}'s {fname}?",
        ]
        p.add("toml_setting", "config", rel, p.rng.choice(qs), alts, ln)


def ini_rules(p: Project, rel: str) -> None:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(p.text(rel))
    except configparser.Error:
        return
    lines = p.lines(rel)
    base = rel.split("/")[-1]
    for section in cp.sections():
        hdr = [i + 1 for i, l in enumerate(lines) if l.strip() == f"[{section}]"]
        if len(hdr) != 1:
            continue
        for key, value in cp.items(section, raw=True):
            if key in cp.defaults():
                continue
            val_lines = [v.strip() for v in value.strip().splitlines() if v.strip()]
            if not val_lines:
                continue
            first = val_lines[0]
            if trivial(first) or first.lower() in ("yes", "no", "on", "off"):
                continue
            ln = None
            for i in range(hdr[0], len(lines)):
                if lines[i].startswith("["):
                    break
                if re.match(r"^\s*" + re.escape(key) + r"\s*[=:]", lines[i], re.I):
                    ln = i + 1
                    break
            if not ln:
                continue
            if base == "tox.ini" and key == "commands":
                env = section.split(":", 1)[1] if ":" in section else "default"
                qs = [f"What command does tox run in {p.disp}'s `[{section}]` environment?", f"What does `tox -e {env}` execute in {p.disp}?" if env != "default" else f"Which command does {p.disp}'s tox.ini run for the test environments?"]
                rule = "tox_commands"
            elif base == "tox.ini" and key in ("envlist", "env_list"):
                first = first.rstrip(",").strip()
                qs = [f"Which environment is listed first in {p.disp}'s tox `envlist`?"]
                rule = "tox_setting"
            elif base == ".editorconfig":
                qs = [
                    f"According to {p.disp}'s .editorconfig, what is `{key}` for `{section}` files?",
                    f"What `{key}` does .editorconfig set for `{section}` in {p.disp}?",
                ]
                rule = "editorconfig"
            else:
                if len(val_lines) > 1:
                    continue  # a multi-line value: its first line alone does not answer
                qs = [
                    f"In {p.disp}'s `{rel}`, what is `{key}` under `[{section}]`?",
                    f"What does {p.disp}'s `{rel}` set `{key}` to in its `[{section}]` section?",
                ]
                rule = "ini_setting"
            p.add(rule, "config", rel, p.rng.choice(qs), variants(first), ln, min(ln + 3, len(lines)))


def editorconfig_rules(p: Project, rel: str) -> None:
    # configparser needs sections first; .editorconfig starts with `root = true`
    text = p.text(rel)
    cp_text = "[__top__]\n" + text
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(cp_text)
    except configparser.Error:
        return
    lines = p.lines(rel)
    for section in cp.sections():
        if section == "__top__":
            continue
        hdr = [i + 1 for i, l in enumerate(lines) if l.strip() == f"[{section}]"]
        if len(hdr) != 1:
            continue
        for key, value in cp.items(section, raw=True):
            if value.lower() in ("true", "false"):
                continue
            ln = next((i + 1 for i in range(hdr[0], len(lines)) if re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[i])), None)
            if not ln or any(lines[j].startswith("[") for j in range(hdr[0], ln - 1)):
                continue
            qs = [
                f"According to {p.disp}'s .editorconfig, what is `{key}` for `{section}` files?",
                f"What `{key}` does {p.disp}'s .editorconfig set for `{section}`?",
            ]
            p.add("editorconfig", "config", rel, p.rng.choice(qs), variants(value), ln, ln)


def json_rules(p: Project, rel: str) -> None:
    try:
        data = json.loads(p.text(rel))
    except json.JSONDecodeError:
        return
    if not isinstance(data, dict):
        return
    lines = p.lines(rel)

    def key_line(parent: str | None, key: str) -> int | None:
        start = 0
        if parent:
            ps = [i for i, l in enumerate(lines) if re.match(r'^\s*"' + re.escape(parent) + r'"\s*:', l)]
            if len(ps) != 1:
                return None
            start = ps[0]
        for i in range(start, len(lines)):
            if re.match(r'^\s*"' + re.escape(key) + r'"\s*:', lines[i]):
                return i + 1
        return None

    if rel == "package.json":
        for name, cmd in (data.get("scripts") or {}).items():
            ln = key_line("scripts", name)
            if not ln or len(cmd) > MAX_VALUE:
                continue
            qs = [
                f"What does the `{name}` script in {p.disp}'s package.json run?",
                f"What command runs when I do `npm run {name}` in {p.disp}?",
                f"Which command is behind {p.disp}'s `{name}` npm script?",
            ]
            p.add("package_script", "config", rel, p.rng.choice(qs), [cmd], ln)
        for field in ("dependencies", "devDependencies", "peerDependencies"):
            for dep, ver in (data.get(field) or {}).items():
                ln = key_line(field, dep)
                if not ln:
                    continue
                kind = {"dependencies": "depend on", "devDependencies": "use as a dev dependency", "peerDependencies": "expect as a peer"}[field]
                qs = [f"Which version of `{dep}` does {p.disp} {kind}?", f"What version range of `{dep}` is in {p.disp}'s package.json {field}?"]
                p.add("package_dependency", "config", rel, p.rng.choice(qs), [ver], ln)
        for field, qs in (
            ("main", [f"What is the `main` entry point of the {p.disp} package?", f"Which file does {p.disp}'s package.json name as `main`?"]),
            ("types", [f"Where are {p.disp}'s TypeScript types (`types` in package.json)?"]),
            ("typings", [f"Which file does {p.disp}'s package.json give as `typings`?"]),
            ("module", [f"What is the `module` (ESM) entry of {p.disp}'s package.json?"]),
        ):
            if isinstance(data.get(field), str):
                ln = key_line(None, field)
                if ln:
                    p.add("package_field", "config", rel, p.rng.choice(qs), [data[field]], ln)
        for eng, ver in (data.get("engines") or {}).items():
            ln = key_line("engines", eng)
            if ln:
                p.add("package_field", "config", rel, p.rng.choice([f"Which {eng} versions does {p.disp} support according to `engines`?", f"What does {p.disp}'s package.json require in `engines.{eng}`?"]), [ver], ln)
        return
    # other JSON (editor settings, package-support.json): scalar leaves one or two levels down
    for key, v in data.items():
        items = v.items() if isinstance(v, dict) else [(None, v)]
        for sub, leaf in items:
            if isinstance(leaf, bool) or leaf is None or isinstance(leaf, dict):
                continue
            sv = json.dumps(leaf) if isinstance(leaf, list) else str(leaf)
            if trivial(sv):
                continue
            ln = key_line(key if sub else None, sub or key)
            if not ln:
                continue
            name = f"{key}.{sub}" if sub else key
            raw = lines[ln - 1].split(":", 1)[1].strip().rstrip(",")
            ans = raw.strip('"') if isinstance(leaf, str) else raw
            qs = [f"In {p.disp}'s `{rel}`, what is `{name}` set to?", f"What value does `{rel}` give `{name}` in {p.disp}?"]
            p.add("json_setting", "config", rel, p.rng.choice(qs), variants(ans, list_like=isinstance(leaf, list)), ln)


def requirements_rules(p: Project, rel: str) -> None:
    for i, l in enumerate(p.lines(rel)):
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([\w.]+)\s*$", l.strip())
        if not m:
            continue
        pin = l.strip()
        if not p.text_unique(rel, pin):
            continue
        qs = [f"Which version of `{m.group(1)}` is pinned in {p.disp}'s `{rel}`?", f"What does `{rel}` pin `{m.group(1)}` to?"]
        p.add("requirements_pin", "config", rel, p.rng.choice(qs), [m.group(2), pin], i + 1)


def yaml_rules(p: Project, rel: str) -> None:
    """Line rules for YAML: nested `key: scalar` paths outside lists, CI matrices, test commands."""
    lines = p.lines(rel)
    is_wf = rel.startswith(".github/workflows/")
    wf = rel.split("/")[-1]
    stack: list[tuple[int, str]] = []
    list_indent: int | None = None
    for i, raw in enumerate(lines):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip())
        if list_indent is not None and indent > list_indent:
            continue
        list_indent = None
        if raw.lstrip().startswith("- "):
            list_indent = indent
            continue
        m = re.match(r"^(\s*)([\w.\-]+):\s*(.*?)\s*$", raw)
        if not m:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key, val = m.group(2), m.group(3)
        path = [k for _, k in stack] + [key]
        stack.append((indent, key))
        val = re.sub(r"\s+#.*$", "", val)
        if not val or val.startswith(("|", ">", "&", "*", "{")) or "${{" in val:
            continue
        if val.startswith("["):
            if not val.endswith("]"):
                continue
            items = [x.strip().strip("'\"") for x in val[1:-1].split(",") if x.strip()]
            if not items:
                continue
            if is_wf and "matrix" in path:
                what = {"python-version": "Python versions", "python": "Python versions", "py": "Python versions", "node-version": "Node.js versions", "node": "Node.js versions", "os": "operating systems", "typescript": "TypeScript versions"}.get(key)
                if what:
                    qs = [
                        f"Which {what} does {p.disp}'s `{wf}` CI workflow test on?",
                        f"What {what} are in the test matrix of {p.disp}'s `{rel}`?",
                        f"In {p.disp}'s GitHub Actions workflow `{wf}`, which {what} does the matrix list?",
                    ]
                    p.add("ci_matrix", "config", rel, p.rng.choice(qs), variants(val, list_like=True), i + 1)
                continue
            if len(path) >= 2:
                qs = [f"In {p.disp}'s `{rel}`, what is `{'.'.join(path)}`?"]
                p.add("yaml_setting", "config", rel, p.rng.choice(qs), variants(val, list_like=True), i + 1)
            continue
        sval = val.strip("'\"")
        if trivial(sval) or sval.lower() in ("yes", "no", "on", "off"):
            continue
        if is_wf and len(path) >= 2 and path[0] == "env":
            qs = [f"What is `{key}` set to in the `env` of {p.disp}'s `{wf}` workflow?", f"Which value does {p.disp}'s CI workflow `{wf}` give the environment variable `{key}`?"]
            p.add("ci_env", "config", rel, p.rng.choice(qs), [sval], i + 1)
            continue
        if is_wf and key in ("name", "cron"):
            continue
        if len(path) >= 2 or not is_wf:
            dotted = ".".join(path)
            qs = [
                f"In {p.disp}'s `{rel}`, what is `{dotted}` set to?",
                f"What value does `{rel}` give `{dotted}` in {p.disp}?",
            ]
            p.add("yaml_setting", "config", rel, p.rng.choice(qs), [sval], i + 1)
    if is_wf:
        # the test command: a `run:` of a step named like a test, or that runs pytest/tox/npm test
        runs = []
        for i, raw in enumerate(lines):
            m = re.match(r"^(\s*)(?:-\s+)?run:\s*(.+?)\s*$", raw)
            if not m:
                continue
            cmd = m.group(2).strip("'\"")
            if cmd in ("|", ">"):
                block = []
                for nxt in lines[i + 1:]:
                    if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= len(m.group(1)):
                        break
                    if nxt.strip():
                        block.append(nxt.strip())
                if len(block) != 1:
                    continue
                cmd = block[0]
                i = lines.index(next(x for x in lines[i + 1:] if x.strip() == cmd), i + 1)
            prev = " ".join(lines[max(0, i - 2):i]).lower()
            if re.search(r"\b(pytest|tox|npm test|npm run test|yarn test|make ci|scripts/test|unittest|test:)", cmd) or ("name:" in prev and "test" in prev):
                if "${{" in cmd and "tox" not in cmd:
                    continue
                runs.append((i + 1, cmd))
        if len(runs) == 1:
            ln, cmd = runs[0]
            qs = [
                f"Which command runs the tests in {p.disp}'s `{wf}` workflow?",
                f"How does {p.disp}'s CI (`{rel}`) run the test suite?",
                f"What test command does the `{wf}` GitHub Actions workflow of {p.disp} execute?",
            ]
            p.add("ci_test_command", "config", rel, p.rng.choice(qs), [cmd], ln)
        # pinned actions
        for i, raw in enumerate(lines):
            m = re.match(r"^\s*(?:-\s+)?uses:\s*['\"]?([\w.\-]+/[\w.\-/]+)@([\w.\-]+)['\"]?\s*$", raw)
            if m and sum(1 for l in lines if f"{m.group(1)}@" in l) == 1:
                qs = [f"Which version of `{m.group(1)}` does {p.disp}'s `{wf}` workflow use?", f"What ref is `{m.group(1)}` pinned to in {p.disp}'s `{rel}`?"]
                p.add("ci_action_version", "config", rel, p.rng.choice(qs), [m.group(2)], i + 1)
    if rel.endswith(".pre-commit-config.yaml"):
        repo = None
        for i, raw in enumerate(lines):
            m = re.match(r"^\s*-\s+repo:\s*(\S+)", raw)
            if m:
                repo = m.group(1).rstrip("/").split("/")[-1]
                continue
            m = re.match(r"^\s*rev:\s*['\"]?([\w.\-]+)['\"]?", raw)
            if m and repo:
                qs = [f"Which `{repo}` revision does {p.disp}'s pre-commit config pin?", f"What `rev` of `{repo}` is in {p.disp}'s .pre-commit-config.yaml?"]
                p.add("precommit_rev", "config", rel, p.rng.choice(qs), [m.group(1)], i + 1)
                repo = None


# ---------------------------------------------------------------------------------------------
# docs rules

def md_sections(lines: list[str], rst: bool) -> list[tuple[str, int, int]]:
    """(heading, heading line 1-based, body start index 0-based) for markdown and reST."""
    out = []
    in_code = False
    for i, l in enumerate(lines):
        if l.strip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r"^#{1,4}\s+(.+?)\s*#*\s*$", l)
        if m and not rst:
            out.append((m.group(1).strip(), i + 1, i + 1))
            continue
        if i + 1 < len(lines) and l.strip() and not l.startswith((" ", "\t", "..", ":")) and re.fullmatch(r"([=\-~^\"'`#*+])\1{2,}", lines[i + 1].strip()) and len(lines[i + 1].strip()) >= len(l.strip()) - 2:
            out.append((l.strip(), i + 1, i + 2))
    return out


def md_clean(s: str) -> str:
    return re.sub(r"\*+", "", s).strip("`_").strip()


def docs_rules(p: Project, rel: str) -> None:
    lines = p.lines(rel)
    rst = rel.endswith((".rst", ".txt")) or rel.split("/")[-1] in ("README", "CHANGES")
    docname = rel
    sections = md_sections(lines, rst)
    heads = Counter(h for h, _, _ in sections)
    for idx, (head, hline, body) in enumerate(sections):
        head_clean = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", head)
        head_clean = md_clean(re.sub(r"<[^>]+>", "", head_clean)).strip()
        if heads[head] > 1 or len(head_clean) < 3 or len(head_clean) > 70:
            continue
        end = sections[idx + 1][1] - 1 if idx + 1 < len(sections) else len(lines)
        # release dates (changelogs)
        vm = re.search(r"(?:^|\s|\[)v?(\d+\.\d+(?:\.\d+)?(?:[a-z]+\d*)?)\b", head_clean)
        date_re = r"(\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)? \w+,? \d{4}|\w+ \d{1,2}(?:st|nd|rd|th)?,? \d{4})"
        if vm and re.search(r"(change|history|release|news|CHANGES)", rel, re.I):
            dm = re.search(date_re, head)
            dline = hline
            if not dm:
                for j in range(body, min(body + 4, end)):
                    dm = re.search(r"Released\s+(?:on\s+)?" + date_re, lines[j])
                    if dm:
                        dline = j + 1
                        break
            if dm:
                ver = vm.group(1)
                date = dm.group(1)
                qs = [
                    f"When was {p.disp} {ver} released?",
                    f"What is the release date of {p.disp} {ver} according to `{rel}`?",
                    f"According to {p.disp}'s changelog, on what date did version {ver} come out?",
                ]
                p.add("docs_release_date", "docs", rel, p.rng.choice(qs), [date], dline)
            continue
        # install commands within the section
        in_code = False
        for j in range(body, end):
            l = lines[j]
            if l.strip().startswith(("```", "~~~")):
                in_code = not in_code
                continue
            m = re.match(r"^\s*(?:\$\s+|>\s+)?((?:python3? -m )?(?:pip3?|npm|yarn|pnpm|bun|uv pip|conda|cargo|deno)\s+(?:install|add|i)\s+[^\s#].*?)\s*$", l)
            if m and (in_code or l.startswith(("    ", "\t", "$"))):
                cmd = re.sub(r"\s+#.*$", "", m.group(1)).strip()
                if len(cmd) > MAX_VALUE or not p.text_unique(rel, cmd):
                    continue
                if sum(1 for x in lines if cmd in x) > 1:
                    continue
                words = cmd.split()
                verb = next(i for i, w in enumerate(words) if w in ("install", "add", "i"))
                pkgs = []
                for w in words[verb + 1:]:
                    w = w.strip("'\"")
                    if not w.startswith("-") and w not in pkgs:
                        pkgs.append(w)
                what = " ".join(f"`{w}`" for w in pkgs[:3]) if pkgs and not all(re.fullmatch(re.escape(p.name) + r"([<>=~@^!].*)?", w, re.I) for w in pkgs) else p.disp
                if any(w.startswith(".") for w in pkgs):
                    what = f"{p.disp} from a checkout (`{' '.join(pkgs)}`)"
                qs = [
                    f"According to {p.disp}'s `{docname}` ('{head_clean}' section), how do I install {what}?",
                    f"Which command does the '{head_clean}' section of {p.disp}'s `{docname}` give to install {what}?",
                    f"What's the install command for {what} shown under '{head_clean}' in {p.disp}'s {docname}?",
                ]
                p.add("docs_install", "docs", rel, p.rng.choice(qs), [cmd], j + 1)
        # the section's opening sentence
        para: list[int] = []
        in_code = False
        for j in range(body, min(end, body + 25)):
            l = lines[j]
            s = l.strip()
            if s.startswith(("```", "~~~")):
                break
            if not s:
                if para:
                    break
                continue
            if not para and (s.startswith(("..", ":", "|", "<", "!", "[!", ">", "-", "*", "+", "=", "#", "{", "%", "    ")) or l.startswith(("    ", "\t")) or re.fullmatch(r"([=\-~^\"'`#*+])\1{2,}", s) or re.match(r"^\d+\.\s", s)):
                if not s.startswith(("..", ":")):
                    break
                continue
            para.append(j)
        if not para:
            continue
        text = " ".join(lines[j].strip() for j in para)
        sent = first_sentence(text)
        if not good_sentence(sent) or not p.text_unique(rel, sent) or sent.endswith(":"):
            continue
        qs = [
            f"What does the '{head_clean}' section of {p.disp}'s `{docname}` say first?",
            f"According to {p.disp}'s `{docname}`, what is the opening point of '{head_clean}'?",
            f"How does {p.disp}'s `{docname}` open its '{head_clean}' section?",
            f"In {p.disp}'s docs (`{docname}`), what's the first sentence under '{head_clean}'?",
        ]
        p.add("docs_section", "docs", rel, p.rng.choice(qs), variants(sent), para[0] + 1, para[-1] + 1)


# ---------------------------------------------------------------------------------------------
# the generation

DOC_EXT = (".md", ".rst")
DOC_NAMES = ("README", "CHANGES", "HISTORY.md", "History.md")


def generate(p: Project, scale: float = 1.0) -> list[dict]:
    py_trees: dict[str, ast.Module] = {}
    js_files = []
    for rel in p.files:
        ext = rel.rsplit(".", 1)[-1] if "." in rel.split("/")[-1] else ""
        if ext in ("py", "pyi"):
            try:
                py_trees[rel] = ast.parse(p.text(rel))
            except SyntaxError:
                continue
            index_python(p, rel, py_trees[rel])
        elif ext in ("js", "mjs", "cjs", "ts", "mts") and not p.name == "mkdocs":
            js_files.append(rel)
        elif ext in ("pyx", "pxd", "pxi", "rs", "h", "c"):
            index_regex(p, rel)
    p.js = run_js_defs(p, js_files)
    for rel, info in p.js.items():
        for n in info["names"]:
            p.defs[("cls:" if "." in n else "top:") + n].add(rel)

    for rel in p.files:
        if rel not in p.gold_ok:
            continue
        base = rel.split("/")[-1]
        ext = base.rsplit(".", 1)[-1] if "." in base else ""
        test = is_test_path(rel)
        if rel in py_trees and not test:
            py_rules(p, rel, py_trees[rel])
        elif rel in p.js and not test:
            js_rules(p, rel, p.js[rel])
        elif ext == "rs" and not test and rel != "build.rs":
            rust_rules(p, rel)
        elif ext == "h" and not test:
            c_rules(p, rel)
        elif ext == "toml":
            toml_rules(p, rel)
        elif base in ("setup.cfg", "tox.ini") or ext == "cfg" and not test:
            ini_rules(p, rel)
        elif base == ".editorconfig":
            editorconfig_rules(p, rel)
        elif ext == "json" and not test and (base == "package.json" or rel.startswith(".vscode/") or base == "package-support.json"):
            json_rules(p, rel)
        elif ext in ("yml", "yaml", "cff") and not test and rel.count("/") <= 3 and not rel.startswith(("examples/", "docs/", "data/")):
            yaml_rules(p, rel)
        elif ext == "txt" and rel.startswith("requirements"):
            requirements_rules(p, rel)
        elif (ext in ("md", "rst") or base in DOC_NAMES) and not test:
            docs_rules(p, rel)
    return select(p, scale)


def select(p: Project, scale: float = 1.0) -> list[dict]:
    # drop exact-duplicate questions (keep neither: two subjects read alike) and same-subject repeats
    qcount = Counter(check.norm(c["question"]) for c in p.cands)
    cands = [c for c in p.cands if qcount[check.norm(c["question"])] == 1]
    target = round(TARGET.get(p.name, 50) * scale)
    cap = max(3, int(target * RULE_SHARE))
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for c in cands:
        by_rule[c["rule"]].append(c)
    for rule, cs in by_rule.items():
        p.rng.shuffle(cs)
        # interleave files so one file does not fill a rule
        seen: Counter = Counter()
        ranked = []
        for c in cs:
            ranked.append((seen[c["file"]], len(ranked), c))
            seen[c["file"]] += 1
        by_rule[rule] = [c for _, _, c in sorted(ranked, key=lambda t: (t[0], t[1]))]
    chosen: list[dict] = []
    taken: Counter = Counter()
    rules = sorted(by_rule)
    while len(chosen) < target:
        progress = False
        for rule in rules:
            if len(chosen) >= target:
                break
            if taken[rule] < min(cap, len(by_rule[rule])):
                chosen.append(by_rule[rule][taken[rule]])
                taken[rule] += 1
                progress = True
        if not progress:
            break
    chosen.sort(key=lambda c: (c["kind"], c["file"], c["lines"][0], c["question"]))
    out = []
    for i, c in enumerate(chosen, 1):
        out.append({"id": f"{p.name}-r{i:04d}", "question": c["question"], "answers": c["answers"], "file": c["file"],
                    "lines": c["lines"], "kind": c["kind"], "rule": c["rule"]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--cache", type=Path, default=check.DEFAULT_CACHE)
    ap.add_argument("--candidates", action="store_true", help="print candidate counts per rule before selection")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="ask for SCALE times each project's usual number of questions (reader training data; train projects only)")
    ap.add_argument("--out", type=Path, default=check.QUESTIONS, help="folder to write <name>.json into (default: the benchmark's questions)")
    a = ap.parse_args(argv)
    if a.scale != 1.0 and a.out.resolve() == check.QUESTIONS.resolve():
        ap.error("--scale writes training data: give --out outside benchmarks/real/questions")
    projects = check.load_projects()
    a.out.mkdir(parents=True, exist_ok=True)
    totals: dict[str, Counter] = {"project": Counter(), "split": Counter(), "kind": Counter(), "rule": Counter()}
    per_project_kind: dict[str, Counter] = defaultdict(Counter)
    missing = 0
    for meta in projects:
        if a.names and meta["name"] not in a.names:
            continue
        ws = a.cache / "ws" / meta["name"]
        if not ws.is_dir():
            print(f"error: {ws} missing; run benchmarks/real/fetch.py first", file=sys.stderr)
            missing += 1
            continue
        p = Project(meta, ws)
        if a.scale != 1.0 and meta["split"] != "train":
            print(f"error: --scale is for train projects; {meta['name']} is {meta['split']}", file=sys.stderr)
            return 2
        qs = generate(p, a.scale)
        if a.candidates:
            print(meta["name"], dict(sorted(Counter(c["rule"] for c in p.cands).items())), file=sys.stderr)
        out = a.out / f"{meta['name']}.json"
        doc = {"project": meta["name"], "generatedBy": "rules (benchmarks/real/generate.py)", "questions": qs}
        out.write_text("{" + f'"project": {json.dumps(meta["name"])}, "generatedBy": {json.dumps(doc["generatedBy"])}, "questions": [\n'
                       + ",\n".join("  " + json.dumps(q, ensure_ascii=False) for q in qs) + "\n]}\n")
        for q in qs:
            totals["project"][meta["name"]] += 1
            totals["split"][meta["split"]] += 1
            totals["kind"][q["kind"]] += 1
            totals["rule"][q["rule"]] += 1
            per_project_kind[meta["name"]][q["kind"]] += 1
    print(f"{'project':<10} {'split':<6} {'total':>5} {'config':>6} {'code':>5} {'docs':>5}")
    for meta in projects:
        n = meta["name"]
        if n in totals["project"]:
            c = per_project_kind[n]
            print(f"{n:<10} {meta['split']:<6} {totals['project'][n]:>5} {c['config']:>6} {c['code']:>5} {c['docs']:>5}")
    print("split: " + ", ".join(f"{k} {v}" for k, v in sorted(totals["split"].items())))
    print("kind: " + ", ".join(f"{k} {v}" for k, v in sorted(totals["kind"].items())))
    print("rule: " + ", ".join(f"{k} {v}" for k, v in sorted(totals["rule"].items(), key=lambda kv: (-kv[1], kv[0]))))
    print(f"total: {sum(totals['project'].values())}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
