// QA datasets in SQuAD v1.1 JSON format -> documents (one per paragraph) + questions, as
// training/cmt/data/squad.py load_squad does. A document's workspace path is the article's `path`
// field when present (the synthetic workspace-QA fixture carries the real file path, which
// decides how the file is chunked), else `<title>/<paragraph>.txt` (title made path-safe).

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface EvalDocument {
  id: string;
  path: string;
  text: string;
}

export interface EvalQuestion {
  docId: string;
  question: string;
  answers: string[];
}

export interface EvalDataset {
  name: string;
  source: string;
  documents: EvalDocument[];
  questions: EvalQuestion[];
}

interface SquadJson {
  data: Array<{
    title: string;
    path?: string;
    paragraphs: Array<{ context: string; qas: Array<{ question: string; answers: Array<{ text: string }> }> }>;
  }>;
}

function safeSegment(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 80);
  return t || 'untitled';
}

function safeRelPath(p: string): string {
  const parts = p
    .replace(/\\/g, '/')
    .split('/')
    .filter((x) => x && x !== '.' && x !== '..');
  return parts.map((x) => x.replace(/[\0]/g, '_')).join('/') || 'untitled.txt';
}

/** Parses SQuAD-format JSON text. */
export function parseSquad(json: string, name: string, source: string): EvalDataset {
  const raw = JSON.parse(json) as SquadJson;
  if (!raw || !Array.isArray(raw.data)) throw new Error(`${source}: not SQuAD format (no "data" array)`);
  const documents: EvalDocument[] = [];
  const questions: EvalQuestion[] = [];
  const usedPaths = new Set<string>();
  for (const art of raw.data) {
    art.paragraphs.forEach((para, pi) => {
      const id = `squad-${art.title}-${pi}`;
      let p = art.path && art.paragraphs.length === 1 ? safeRelPath(art.path) : `${safeSegment(art.title)}/${pi}.txt`;
      for (let n = 2; usedPaths.has(p); n++) p = `${p.replace(/(\.[^./]*)?$/, '')}-${n}${path.posix.extname(p)}`;
      usedPaths.add(p);
      documents.push({ id, path: p, text: para.context });
      for (const qa of para.qas) {
        const answers: string[] = [];
        for (const a of qa.answers) if (!answers.includes(a.text)) answers.push(a.text);
        questions.push({ docId: id, question: qa.question, answers });
      }
    });
  }
  return { name, source, documents, questions };
}

/**
 * Built-in names (files vendored in test/fixtures/), or a file path. `-dev` splits are what choices
 * may be fitted on; `-test` splits (and the whole SQuAD sample) are for reporting.
 */
export const BUILTIN_DATASETS: Record<string, string> = {
  'squad-notre-dame': 'test/fixtures/squad/notre-dame.json',
  'squad-notre-dame-dev': 'test/fixtures/squad/notre-dame-dev.json',
  'squad-notre-dame-test': 'test/fixtures/squad/notre-dame-test.json',
  'workspace-dev': 'test/fixtures/workspace-qa-dev.json',
  'workspace-test': 'test/fixtures/workspace-qa-test.json',
  // Held-out sentence facts (answer = a phrase: what a service does, why it moved, what to do when it is down)
  'workspace-sentences-dev': 'test/fixtures/workspace-sentences-dev.json',
  'workspace-sentences-test': 'test/fixtures/workspace-sentences-test.json',
  // 1,000 train-split documents (no questions): filler for the retention curve at ≥ 1,000 documents
  'workspace-filler': 'test/fixtures/workspace-filler.json',
};

export function resolveDataset(spec: string, repoRoot: string): { name: string; file: string } {
  if (BUILTIN_DATASETS[spec]) return { name: spec, file: path.resolve(repoRoot, BUILTIN_DATASETS[spec]) };
  const file = path.resolve(spec);
  return { name: path.basename(file).replace(/\.json$/i, ''), file };
}

export function loadDataset(spec: string, repoRoot: string): EvalDataset {
  const { name, file } = resolveDataset(spec, repoRoot);
  if (!fs.existsSync(file)) throw new Error(`dataset not found: ${file}`);
  return parseSquad(fs.readFileSync(file, 'utf8'), name, file);
}

/** The questions of the given documents, in document order, at most `max` (spread over the documents). */
export function questionsOf(ds: EvalDataset, docs: EvalDocument[], max = Infinity): EvalQuestion[] {
  const ids = new Set(docs.map((d) => d.id));
  const qs = ds.questions.filter((q) => ids.has(q.docId));
  if (qs.length <= max) return qs;
  // Round-robin over documents so every document keeps some questions.
  const byDoc = new Map<string, EvalQuestion[]>();
  for (const q of qs) (byDoc.get(q.docId) ?? byDoc.set(q.docId, []).get(q.docId)!).push(q);
  const out: EvalQuestion[] = [];
  for (let r = 0; out.length < max; r++) {
    let any = false;
    for (const d of docs) {
      const l = byDoc.get(d.id);
      if (l && r < l.length) {
        out.push(l[r]);
        any = true;
        if (out.length >= max) break;
      }
    }
    if (!any) break;
  }
  return out;
}
