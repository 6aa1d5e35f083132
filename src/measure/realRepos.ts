// The real-project benchmark (benchmarks/real/): pinned source packages unpacked by
// benchmarks/real/fetch.py into .cache/real-repos/ws/<name>/, and their questions in
// benchmarks/real/questions/<name>.json (rule-generated) and <name>.hand.json (hand-written), each
// with a gold FILE and gold LINES. Unlike the SQuAD-format datasets (one file per document written
// into a scratch workspace), a project is memorized WHOLE, as a user would: Engine.memorize on the
// workspace root (its tree, its .gitignore, the default exclusions; no include override).
//
// Dataset specs: `real-train`, `real-dev`, `real-test` (every project of that split) and
// `real:<name>` (one project).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../core/engine';
import type { FileIssue } from '../core/protocol';
import { now, round } from './stats';

export type RealSplit = 'train' | 'dev' | 'test';
export const REAL_SPLITS: readonly RealSplit[] = ['train', 'dev', 'test'];

/** Where the projects, their workspaces and their questions are (defaults: the repository's). */
export interface RealSource {
  /** projects.json (default benchmarks/real/projects.json). */
  projectsFile?: string;
  /** Folder holding one workspace per project (default .cache/real-repos/ws). */
  wsDir?: string;
  /** Folder of <name>.json / <name>.hand.json (default benchmarks/real/questions). */
  questionsDir?: string;
  /** Run benchmarks/real/fetch.py for missing workspaces (default false: fail with the command to run). */
  fetch?: boolean;
  log?: (m: string) => void;
}

/** The source an eval run reads: its programmatic `real` settings, then --real-questions and --fetch. */
export function realSourceOf(o: { real?: RealSource; realQuestions?: string; fetch?: boolean }, log: (m: string) => void): RealSource {
  return { ...o.real, ...(o.realQuestions ? { questionsDir: o.realQuestions } : {}), fetch: o.fetch || o.real?.fetch, log: o.real?.log ?? log };
}

export interface RealQuestion {
  id: string;
  project: string;
  question: string;
  answers: string[];
  /** Gold file, workspace-relative, forward slashes. */
  file: string;
  /** Gold lines, 1-based inclusive. */
  lines: [number, number];
  kind: string;
}

export interface RealProject {
  name: string;
  split: string;
  workspace: string;
  /** The question files read (repository-relative when inside it). */
  questionFiles: string[];
  questions: RealQuestion[];
}

export interface RealDataset {
  name: string;
  source: string;
  projects: RealProject[];
  /** Projects of the split left out because they have no question file yet. */
  withoutQuestions: string[];
}

interface ProjectsJson {
  projects: Array<{ name: string; split: string }>;
}

/** `real-dev`, `real:express`, …: a real-project dataset spec. */
export function isRealSpec(spec: string): boolean {
  return /^real-(train|dev|test)$/.test(spec) || /^real:[A-Za-z0-9._-]+$/.test(spec);
}

export const REAL_DATASET_NAMES = ['real-train', 'real-dev', 'real-test', 'real:<name>'];

function defaults(repoRoot: string, s: RealSource): Required<Omit<RealSource, 'log' | 'fetch'>> {
  return {
    projectsFile: path.resolve(repoRoot, s.projectsFile ?? 'benchmarks/real/projects.json'),
    wsDir: path.resolve(repoRoot, s.wsDir ?? '.cache/real-repos/ws'),
    questionsDir: path.resolve(repoRoot, s.questionsDir ?? 'benchmarks/real/questions'),
  };
}

/** The fetch command a user runs for these projects. */
export function fetchCommand(names: string[], split?: string): string {
  return `python3 benchmarks/real/fetch.py ${split ? `--split ${split}` : names.join(' ')}`;
}

/** Runs benchmarks/real/fetch.py for these projects; throws with the script's message on failure. */
export function fetchProjects(repoRoot: string, names: string[], wsDir: string, log?: (m: string) => void): void {
  const script = path.join(repoRoot, 'benchmarks', 'real', 'fetch.py');
  const args = [script, ...names];
  // fetch.py unpacks into <cache>/ws/<name>: pass the cache when the workspaces live elsewhere.
  if (path.basename(wsDir) === 'ws' && path.resolve(wsDir) !== path.resolve(repoRoot, '.cache/real-repos/ws')) args.push('--cache', path.dirname(wsDir));
  log?.(`[eval] fetching ${names.join(', ')}: python3 ${args.map((a) => path.relative(repoRoot, a) || a).join(' ')}`);
  const r = spawnSync('python3', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`could not run python3 ${path.relative(repoRoot, script)}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`python3 ${path.relative(repoRoot, script)} ${names.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
}

function readQuestions(file: string, project: string): RealQuestion[] {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { project?: string; questions?: unknown[] };
  if (!raw || !Array.isArray(raw.questions)) throw new Error(`${file}: no "questions" array`);
  if (raw.project && raw.project !== project) throw new Error(`${file}: project "${raw.project}", expected "${project}"`);
  return raw.questions.map((x, i) => {
    const q = x as Partial<RealQuestion> & { lines?: unknown };
    const where = `${file}: question ${i + 1}${q.id ? ` (${q.id})` : ''}`;
    if (typeof q.question !== 'string' || !q.question.trim()) throw new Error(`${where}: no question`);
    if (!Array.isArray(q.answers) || q.answers.length === 0 || !q.answers.every((a) => typeof a === 'string')) throw new Error(`${where}: "answers" must be a non-empty list of strings`);
    if (typeof q.file !== 'string' || !q.file) throw new Error(`${where}: no gold "file"`);
    const l = q.lines as unknown;
    if (!Array.isArray(l) || l.length !== 2 || !l.every((n) => Number.isInteger(n) && n >= 1) || l[0] > l[1]) throw new Error(`${where}: "lines" must be [start, end], 1-based`);
    return {
      id: q.id ?? `${project}-${path.basename(file)}-${i + 1}`,
      project,
      question: q.question,
      answers: q.answers,
      file: q.file.replace(/\\/g, '/').replace(/^\.\//, ''),
      lines: [l[0], l[1]],
      kind: typeof q.kind === 'string' && q.kind ? q.kind : 'unknown',
    };
  });
}

/** Loads a real-project dataset: its projects, their workspaces (fetched with `fetch`) and questions. */
export function loadRealDataset(spec: string, repoRoot: string, src: RealSource = {}): RealDataset {
  if (!isRealSpec(spec)) throw new Error(`not a real-project dataset: ${spec} (one of ${REAL_DATASET_NAMES.join(', ')})`);
  const d = defaults(repoRoot, src);
  if (!fs.existsSync(d.projectsFile)) throw new Error(`real-project list not found: ${d.projectsFile}`);
  const all = (JSON.parse(fs.readFileSync(d.projectsFile, 'utf8')) as ProjectsJson).projects;
  let chosen: ProjectsJson['projects'];
  let split: string | undefined;
  if (spec.startsWith('real:')) {
    const name = spec.slice(5);
    chosen = all.filter((p) => p.name === name);
    if (chosen.length === 0) throw new Error(`${spec}: no project "${name}" in ${path.relative(repoRoot, d.projectsFile)} (${all.map((p) => p.name).join(', ')})`);
  } else {
    split = spec.slice(5);
    chosen = all.filter((p) => p.split === split);
    if (chosen.length === 0) throw new Error(`${spec}: no project of split ${split} in ${path.relative(repoRoot, d.projectsFile)}`);
  }
  const rel = (f: string) => (f.startsWith(repoRoot + path.sep) ? path.relative(repoRoot, f).split(path.sep).join('/') : f);
  const projects: RealProject[] = [];
  const withoutQuestions: string[] = [];
  for (const p of chosen) {
    const files = [`${p.name}.json`, `${p.name}.hand.json`].map((f) => path.join(d.questionsDir, f)).filter((f) => fs.existsSync(f));
    if (files.length === 0) {
      withoutQuestions.push(p.name);
      continue;
    }
    const questions = files.flatMap((f) => readQuestions(f, p.name));
    projects.push({ name: p.name, split: p.split, workspace: path.join(d.wsDir, p.name), questionFiles: files.map(rel), questions });
  }
  if (projects.length === 0) throw new Error(`${spec}: no question file for ${withoutQuestions.join(', ')} in ${rel(d.questionsDir)} (<name>.json or <name>.hand.json)`);
  if (withoutQuestions.length) src.log?.(`[eval] ${spec}: no questions yet for ${withoutQuestions.join(', ')}: left out`);
  const missing = projects.filter((p) => !fs.existsSync(p.workspace)).map((p) => p.name);
  if (missing.length && src.fetch) {
    fetchProjects(repoRoot, missing, d.wsDir, src.log);
    const still = missing.filter((n) => !fs.existsSync(path.join(d.wsDir, n)));
    if (still.length) throw new Error(`benchmarks/real/fetch.py ran but ${still.join(', ')} is still missing under ${d.wsDir}`);
  } else if (missing.length) {
    throw new Error(
      `${spec}: workspace of ${missing.join(', ')} not found under ${rel(d.wsDir)}; fetch it with \`${fetchCommand(missing, split)}\` (or pass --fetch)`,
    );
  }
  return { name: spec, source: rel(d.projectsFile), projects, withoutQuestions };
}

/**
 * At most `max` questions spread over the projects deterministically: quotas round-robin over the
 * projects, and within a project evenly spaced over its questions (so every kind keeps some).
 */
export function sampleRealQuestions(projects: RealProject[], max = Infinity): Map<string, RealQuestion[]> {
  const quota = new Map(projects.map((p) => [p.name, 0]));
  const total = projects.reduce((a, p) => a + p.questions.length, 0);
  if (total <= max) return new Map(projects.map((p) => [p.name, p.questions]));
  let left = Math.max(0, Math.floor(max));
  while (left > 0) {
    let any = false;
    for (const p of projects) {
      if (left > 0 && quota.get(p.name)! < p.questions.length) {
        quota.set(p.name, quota.get(p.name)! + 1);
        left--;
        any = true;
      }
    }
    if (!any) break;
  }
  return new Map(
    projects.map((p) => {
      const n = quota.get(p.name)!;
      const qs = p.questions;
      return [p.name, Array.from({ length: n }, (_, i) => qs[Math.floor((i * qs.length) / n)])];
    }),
  );
}

/** What memorizing one whole project did. */
export interface ProjectMemorize {
  project: string;
  /** Files memorized (in the bank afterwards). */
  files: number;
  /** Files skipped, per reason code (a skipped folder counts once). */
  skipped: Record<string, number>;
  failed: number;
  chunks: number;
  wallMs: number;
  /** Bytes of the memorized files. */
  sourceBytes: number;
  /** Memorize seconds per MB (10^6 bytes) of memorized source. */
  secondsPerMB: number;
  /** Of wallMs: in the CMT compressor (memories and keys) and in the sentence embedder. */
  compressorMs: number;
  embedderMs: number;
}

export interface MemorizedWorkspace {
  summary: ProjectMemorize;
  /** Paths in the bank. */
  memorized: Set<string>;
  skipped: FileIssue[];
  failed: FileIssue[];
}

/** Memorizes a whole workspace as a user would (its tree, .gitignore, default exclusions) into the engine's bank. */
export async function memorizeWorkspace(engine: Engine, workspace: string, project = path.basename(workspace)): Promise<MemorizedWorkspace> {
  const t0 = now();
  const c0 = engine.compressor.totalMs;
  const e0 = engine.embedder?.totalMs ?? 0;
  const s = await engine.memorize(['.'], { root: workspace });
  const compressorMs = engine.compressor.totalMs - c0;
  const embedderMs = (engine.embedder?.totalMs ?? 0) - e0;
  await engine.bank.refreshTextIndex();
  const wallMs = now() - t0;
  const memorized = new Set((await engine.bank.listFiles()).map((f) => f.path));
  let sourceBytes = 0;
  for (const p of memorized) sourceBytes += (await fsp.stat(path.join(workspace, p)).catch(() => ({ size: 0 }))).size;
  const skipped: Record<string, number> = {};
  for (const i of s.skipped) skipped[i.code ?? i.reason] = (skipped[i.code ?? i.reason] ?? 0) + 1;
  const mb = sourceBytes / 1e6;
  return {
    summary: {
      project,
      files: memorized.size,
      skipped,
      failed: s.failed.length,
      chunks: s.chunks,
      wallMs: Math.round(wallMs),
      sourceBytes,
      secondsPerMB: mb > 0 ? round(wallMs / 1000 / mb, 2) : 0,
      compressorMs: Math.round(compressorMs),
      embedderMs: Math.round(embedderMs),
    },
    memorized,
    skipped: s.skipped,
    failed: s.failed,
  };
}

/** A question whose gold file is not in the bank: a data error, left out of the scores. */
export interface DataError {
  project: string;
  id: string;
  file: string;
  reason: string;
}

/** Why a gold file is not in the bank (the skip or failure that covers it, else whether it exists). */
export function whyNotMemorized(file: string, m: Pick<MemorizedWorkspace, 'skipped' | 'failed'>, workspace: string): string {
  const covers = (i: FileIssue) => i.path === file || (i.path.endsWith('/') && file.startsWith(i.path));
  const sk = m.skipped.find(covers);
  if (sk) return `skipped: ${sk.reason}${sk.path !== file ? ` (folder ${sk.path})` : ''}`;
  const f = m.failed.find(covers);
  if (f) return `failed: ${f.reason}`;
  return fs.existsSync(path.join(workspace, file)) ? 'not memorized' : 'not in the workspace';
}

/** Splits questions into those whose gold file is memorized and the data errors. */
export function checkGold(p: RealProject, qs: RealQuestion[], m: MemorizedWorkspace): { ok: RealQuestion[]; errors: DataError[] } {
  const ok: RealQuestion[] = [];
  const errors: DataError[] = [];
  for (const q of qs) {
    if (m.memorized.has(q.file)) ok.push(q);
    else errors.push({ project: p.name, id: q.id, file: q.file, reason: whyNotMemorized(q.file, m, p.workspace) });
  }
  return { ok, errors };
}

// ---------------------------------------------------------------------------------------------
// Scoring: a ranked list of chunks (best first) against a gold file and gold lines.

export interface RankedChunk {
  path: string;
  startLine?: number;
  endLine?: number;
}

/** The ranked chunks reduced to distinct files, in first-occurrence order. */
export function distinctFiles(recs: readonly RankedChunk[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of recs) {
    if (!seen.has(r.path)) {
      seen.add(r.path);
      out.push(r.path);
    }
  }
  return out;
}

/** 1-based rank of the gold file among the distinct files of the ranked chunks, 0 when absent. */
export function fileRank(recs: readonly RankedChunk[], gold: string): number {
  const i = distinctFiles(recs).indexOf(gold);
  return i < 0 ? 0 : i + 1;
}

/** 1-based rank of the first chunk (before file dedup) of the gold file whose lines contain the gold lines entirely, 0 when absent. */
export function lineRank(recs: readonly RankedChunk[], gold: string, lines: readonly [number, number]): number {
  const i = recs.findIndex((r) => r.path === gold && r.startLine !== undefined && r.endLine !== undefined && r.startLine <= lines[0] && r.endLine >= lines[1]);
  return i < 0 ? 0 : i + 1;
}
