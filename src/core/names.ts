// Names in questions and in code, for the two retrievers that read them: the definition index
// (the names a chunk defines, and the tokens of a question that may name one) and the path
// retriever (the files a question names). Pure string work: bank.ts stores and searches.
import { backticked, versionsIn } from './terms';

/** An identifier as one lower-case token: `merge_setting`, `mergeSetting`, `MERGE-SETTING` all give `mergesetting`. */
export function compound(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * The definition index's tokens of a chunk's defined names: each name whole (a qualified name's parts
 * too), and the versions a name holds (a changelog's `3.13 (2018-07-05)` or `Version 2.2.2` title).
 */
export function defineTerms(names: string[]): string {
  const out = new Set<string>();
  for (const n of names) {
    const c = compound(n);
    if (c.length >= 2) out.add(c);
    for (const v of versionsIn(n)) out.add(v);
  }
  return [...out].join(' ');
}

/**
 * The tokens of a question that may name a definition: each word whole (`Session.send` gives
 * `sessionsend`, `session` and `send`) and every run of 2-3 adjacent words joined, so "the default
 * timeout" reaches `DEFAULT_TIMEOUT` and "merge setting" reaches `merge_setting`.
 */
export function questionDefTerms(question: string): string {
  const words = [...question.normalize('NFKC').matchAll(/[\p{L}\p{N}_.$-]+/gu)].map((m) => m[0].replace(/^[.$-]+|[.$-]+$/g, '')).filter(Boolean);
  const out = new Set<string>();
  const plain: string[] = [];
  for (const w of words) {
    const whole = compound(w);
    out.add(whole);
    plain.push(whole);
    for (const part of w.split(/[.]/)) if (part) out.add(compound(part));
  }
  for (let i = 0; i < plain.length; i++) {
    if (i + 1 < plain.length) out.add(plain[i] + plain[i + 1]);
    if (i + 2 < plain.length) out.add(plain[i] + plain[i + 1] + plain[i + 2]);
  }
  // A version the question names, and for "Which version of `parseurl` does it depend on?" the
  // manifest's `dependencies.parseurl` key, are the surest names in it: they count SURE_WEIGHT times.
  const sure = (terms: string[]) => terms.flatMap((t) => Array<string>(SURE_WEIGHT).fill(t));
  const versions = sure(versionsIn(question));
  const quoted = backticked(question).map(compound).filter((c) => c.length >= 2);
  const deps = /\bdepend/i.test(question) ? sure(quoted.flatMap((n) => [`dependencies${n}`, `devdependencies${n}`])) : [];
  return [...versions, ...deps, ...[...out].filter((t) => t.length >= 2 && !DEF_STOP.has(t))].slice(0, 96).join(' ');
}

const SURE_WEIGHT = 3;

/** Question words that never name a definition worth finding. */
const DEF_STOP = new Set(
  'a an the is are was were be been do does did what which who whom whose where when why how of in on at to for from by with without and or not no it its this that these those there here i you we they my your our their can could should would will shall may might must if then than as into about default value set use used using name named called file files'.split(' '),
);

/** File stems a question names without a file word. */
const KNOWN_FILES = new Set([
  'readme', 'changelog', 'changes', 'history', 'news', 'contributing', 'license', 'licence', 'copying', 'authors', 'notice', 'security',
  'makefile', 'dockerfile', 'pyproject', 'setup', 'tox', 'noxfile', 'manifest', 'package', 'cargo', 'tsconfig', 'gemfile', 'justfile', 'conftest', 'requirements',
]);

/** Words that make the word beside them a file's name. */
const FILE_WORDS = new Set(['file', 'files', 'module', 'modules', 'script', 'stub', 'header', 'page', 'workflow', 'config', 'configuration', 'manifest', 'template', 'stylesheet']);

interface PathEntry {
  path: string;
  base: string;
  stem: string;
  ext: string;
  /** Folder names, lower case, without a leading dot. */
  dirs: string[];
}

/** What a question says that may name a file. */
interface QuestionWords {
  words: Set<string>;
  /** Words and their dot-separated parts ("sessions.py" gives "sessions" and "py"). */
  bare: Set<string>;
  /** Extensions written with their dot (".pyi"). */
  exts: Set<string>;
  /** Words next to a file word ("the sessions module"). */
  cued: Set<string>;
}

function questionWords(question: string): QuestionWords {
  const q = question.normalize('NFKC');
  const lower = q.split(/[^\p{L}\p{N}_.-]+/u).map((w) => w.replace(/^[.-]+|[.-]+$/g, '').toLowerCase()).filter(Boolean);
  const cued = new Set<string>();
  lower.forEach((w, i) => {
    if (FILE_WORDS.has(lower[i + 1] ?? '') || FILE_WORDS.has(lower[i - 1] ?? '')) cued.add(w);
  });
  return {
    words: new Set(lower),
    bare: new Set(lower.flatMap((w) => w.split(/[.]/)).filter(Boolean)),
    exts: new Set([...q.toLowerCase().matchAll(/(?:^|\s)\.([a-z0-9]{1,8})\b/g)].map((m) => m[1])),
    cued,
  };
}

/**
 * A bank's file names, indexed by base name, stem and folder so that a question is matched against
 * the few files its words can name, not every file (100K memories: a few thousand files).
 */
export class PathIndex {
  private readonly byName = new Map<string, PathEntry[]>();

  constructor(paths: Iterable<string>) {
    for (const p of paths) {
      const parts = p.toLowerCase().split('/');
      const base = parts[parts.length - 1];
      const dot = base.lastIndexOf('.');
      const e: PathEntry = { path: p, base, stem: dot > 0 ? base.slice(0, dot) : base, ext: dot > 0 ? base.slice(dot + 1) : '', dirs: parts.slice(0, -1).map((d) => d.replace(/^\./, '')) };
      for (const key of new Set([e.base, e.stem, ...e.dirs, ...e.dirs.map((d) => d.replace(/s$/, ''))])) {
        const l = this.byName.get(key);
        if (l) l.push(e);
        else this.byName.set(key, [e]);
      }
    }
  }

  /**
   * The files a question names, best first: the whole file name ("pyproject.toml", "tox.ini")
   * scores 3; its stem 2 when it is a well-known file ("the README", "the Makefile") or a file word
   * is beside it ("the sessions module"); each folder or extension named ("the tests folder", "the
   * .pyi stub", "the CI workflow") 1. A file needs 2 or more: a project's name alone ("Express")
   * names no file.
   */
  mentions(question: string): Array<{ path: string; score: number }> {
    const q = questionWords(question);
    const seen = new Set<PathEntry>();
    for (const w of new Set([...q.words, ...q.bare])) for (const e of this.byName.get(w) ?? []) seen.add(e);
    const out: Array<{ path: string; score: number }> = [];
    for (const e of seen) {
      let score = 0;
      if (q.words.has(e.base)) score += 3;
      else if (e.stem.length >= 2 && (q.bare.has(e.stem) || q.words.has(e.stem)) && (KNOWN_FILES.has(e.stem) || q.cued.has(e.stem))) score += 2;
      for (const d of e.dirs) if (d.length >= 3 && (q.bare.has(d) || q.bare.has(d.replace(/s$/, '')))) score += 1;
      if (e.ext && q.exts.has(e.ext)) score += 1;
      if (score >= 2) out.push({ path: e.path, score });
    }
    return out.sort((a, b) => b.score - a.score || a.path.length - b.path.length || (a.path < b.path ? -1 : 1));
  }
}

/** The files a question names among `paths` (PathIndex.mentions on a one-off index). */
export function pathMentions(question: string, paths: Iterable<string>): Array<{ path: string; score: number }> {
  return new PathIndex(paths).mentions(question);
}
