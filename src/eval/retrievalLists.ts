// Where `cmt eval --retrieval-only`'s ranked lists come from: every retriever's top candidates for
// each question, on a fresh bank per SQuAD-format dataset or per real project (memorized whole).
// Engine code is loaded by the runner (retrieval.ts) only when it runs.
import * as path from 'node:path';
import type { Engine } from '../core/engine';
import { RETRIEVERS, Retriever } from '../core/match';
import type { Device, MemoryRecord } from '../core/types';
import { loadDataset, questionsOf } from '../measure/dataset';
import { checkGold, loadRealDataset, memorizeWorkspace, realSourceOf, sampleRealQuestions } from '../measure/realRepos';
import { memorizeFresh, ScratchBank } from '../measure/scratchBank';
import { now, p50p95Upper, round } from '../measure/stats';
import { StreamingBank } from './harness';
import { BASE, Hit, QLists, RealProjectRun, RealRun, RetrievalRun } from './retrievalTypes';
import type { ResolvedRetrievalEvalOptions } from './types';

/** A bank search by question text (the retrievers beyond key/emb/text: `def` -> bank.defSearch, `path` -> bank.pathSearch, …). */
type TextSearchFn = (query: string, limit: number) => Promise<Array<{ record: MemoryRecord; score?: number }>>;

/**
 * THE place where a question's ranked lists come from: every retriever's top `C` for one question.
 * Key search (the compressed question's CMT key), the sentence embedder (packs with one), BM25, and
 * every other retriever of match.ts RETRIEVERS whose bank search `<name>Search(question, limit)`
 * exists (a new retriever needs nothing here beyond that).
 */
export async function rankedLists(e: Engine, question: string, C: number): Promise<QLists['lists']> {
  const hasEmb = !!e.embedder && e.bank.embedDim > 0;
  const q = await e.compressor.compressQuestion(question);
  const qe = hasEmb ? await e.embedder!.embedOne(question) : undefined;
  const bank = e.bank as unknown as Record<string, unknown>;
  const extra = RETRIEVERS.filter((r) => !BASE.includes(r) && typeof bank[`${r}Search`] === 'function');
  const [vec, em, txt, ...more] = await Promise.all([
    e.bank.vectorSearch(q.key, C),
    qe ? e.bank.embedSearch(qe, C) : Promise.resolve([]),
    e.bank.textSearch(question, C),
    ...extra.map((r) => (bank[`${r}Search`] as TextSearchFn).call(e.bank, question, C)),
  ]);
  const slim = (hs: Array<{ record: MemoryRecord; score?: number; distance?: number }>): Hit[] =>
    hs.map((h) => ({
      id: h.record.id,
      path: h.record.path,
      s: h.score ?? (h.distance === undefined ? undefined : 1 - h.distance),
      startLine: h.record.startLine,
      endLine: h.record.endLine,
    }));
  const out: QLists['lists'] = { key: slim(vec), text: slim(txt), ...(qe ? { emb: slim(em) } : {}) };
  extra.forEach((r, i) => (out[r] = slim(more[i])));
  return out;
}

/** What a dataset's run needs: the options, the pack, the candidates per retriever, the retrievers seen so far (filled in). */
export interface ListsContext {
  o: ResolvedRetrievalEvalOptions;
  packDir: string;
  device: Device;
  repoRoot: string;
  /** Candidates fetched per retriever. */
  C: number;
  available: Set<Retriever>;
  log: (m: string) => void;
}

/** A SQuAD-format dataset: its documents memorized into a fresh bank (timed, with the embedder's share), then every question's ranked lists. */
export async function squadRetrievalRun(spec: string, ctx: ListsContext): Promise<{ run: RetrievalRun; qls: QLists[] }> {
  const { o, packDir, device, repoRoot, C, log } = ctx;
  const ds = loadDataset(spec, repoRoot);
  const docs = ds.documents.slice(0, o.maxDocs ?? ds.documents.length);
  const qs = questionsOf(ds, docs, o.maxQuestions ?? Infinity);
  const bank = await StreamingBank.open(packDir, device);
  const qls: QLists[] = [];
  const lat: number[] = [];
  let run: RetrievalRun;
  try {
    const e = bank.engine;
    const hasEmb = !!e.embedder && e.bank.embedDim > 0;
    if (hasEmb) ctx.available.add('emb');
    const emb0 = e.embedder?.totalMs ?? 0;
    const mem = await bank.add(docs);
    const embMs = (e.embedder?.totalMs ?? 0) - emb0;
    log(`[eval] ${ds.name}: ${docs.length} documents -> ${mem.chunks} memories in ${(mem.wallMs / 1000).toFixed(1)} s (embedder ${(embMs / 1000).toFixed(1)} s), ${qs.length} questions`);
    for (const qa of qs) {
      const t = now();
      const gold = bank.pathOf(qa.docId) ?? '';
      const lists = await rankedLists(e, qa.question, C);
      lat.push(now() - t);
      qls.push({ gold, lists });
    }
    run = {
      dataset: ds.name,
      source: path.relative(repoRoot, ds.source),
      documents: docs.length,
      questions: qs.length,
      chunks: mem.chunks,
      memorizeMs: round(mem.wallMs, 0),
      embedderMs: round(embMs, 0),
      questionMs: p50p95Upper(lat),
      retrievers: {},
    };
  } finally {
    await bank.close();
  }
  if (o.measureEmbedderCost && run.embedderMs > 0) {
    run.memorizeNoEmbedderMs = round((await memorizeFresh(packDir, docs, { device, embedder: false })).wallMs, 0);
  }
  return { run, qls };
}

/** A real-project dataset: each project memorized whole into a fresh bank, then its questions' ranked lists. */
export async function realRetrievalRun(spec: string, ctx: ListsContext): Promise<{ run: RetrievalRun; qls: QLists[] }> {
  const { o, packDir, device, repoRoot, C, log } = ctx;
  const ds = loadRealDataset(spec, repoRoot, realSourceOf(o, log));
  const sample = sampleRealQuestions(ds.projects, o.maxQuestions ?? Infinity);
  const qls: QLists[] = [];
  const lat: number[] = [];
  const real: RealRun = { projects: [], lines: {}, byKind: {}, dataErrors: [], withoutQuestions: ds.withoutQuestions };
  for (const p of ds.projects) {
    const bank = await ScratchBank.open(packDir, device);
    let pr: RealProjectRun;
    try {
      const e = bank.engine;
      if (e.embedder && e.bank.embedDim > 0) ctx.available.add('emb');
      const mem = await memorizeWorkspace(e, p.workspace, p.name);
      const { ok, errors } = checkGold(p, sample.get(p.name) ?? [], mem);
      real.dataErrors.push(...errors);
      const m = mem.summary;
      log(
        `[eval] ${spec} ${p.name}: ${m.files} files (${(m.sourceBytes / 1e6).toFixed(2)} MB) -> ${m.chunks} memories in ${(m.wallMs / 1000).toFixed(1)} s (embedder ${(m.embedderMs / 1000).toFixed(1)} s), ` +
          `${ok.length} questions${errors.length ? `, ${errors.length} data errors (gold file not memorized)` : ''}`,
      );
      for (const q of ok) {
        const t = now();
        const lists = await rankedLists(e, q.question, C);
        lat.push(now() - t);
        qls.push({ gold: q.file, lines: q.lines, kind: q.kind, project: p.name, id: q.id, lists });
      }
      pr = { project: p.name, questions: ok.length, dataErrors: errors.length, memorize: { ...m }, questionFiles: p.questionFiles, retrievers: {}, lines: {} };
    } finally {
      await bank.close();
    }
    if (o.measureEmbedderCost && pr.memorize.embedderMs > 0) {
      const b = await ScratchBank.open(packDir, device);
      try {
        b.engine.embedder = null;
        pr.memorize.memorizeNoEmbedderMs = (await memorizeWorkspace(b.engine, p.workspace, p.name)).summary.wallMs;
      } finally {
        await b.close();
      }
    }
    real.projects.push(pr);
  }
  const sum = (f: (x: RealProjectRun) => number) => real.projects.reduce((a, x) => a + f(x), 0);
  const run: RetrievalRun = {
    dataset: ds.name,
    source: ds.source,
    documents: sum((x) => x.memorize.files),
    questions: qls.length,
    chunks: sum((x) => x.memorize.chunks),
    memorizeMs: round(sum((x) => x.memorize.wallMs), 0),
    embedderMs: round(sum((x) => x.memorize.embedderMs), 0),
    ...(o.measureEmbedderCost && real.projects.every((x) => x.memorize.memorizeNoEmbedderMs !== undefined) && real.projects.length
      ? { memorizeNoEmbedderMs: round(sum((x) => x.memorize.memorizeNoEmbedderMs!), 0) }
      : {}),
    questionMs: p50p95Upper(lat),
    retrievers: {},
    real,
  };
  return { run, qls };
}
