// The types of `cmt eval --retrieval-only` (retrieval.ts): a question's ranked lists, the scores,
// the runs and the report.
import type { FusionWeights, Retriever } from '../core/match';
import type { MachineInfo } from '../measure/machine';
import type { DataError, ProjectMemorize } from '../measure/realRepos';

export interface Scores {
  recall1: number;
  recall5: number;
  mrr: number;
}

/** The retrievers every pack has (key, text) or may have (emb); the others (def, path, …) come from RETRIEVERS. */
export const BASE: Retriever[] = ['text', 'emb', 'key'];

/** A retriever's hit, reduced to what scoring needs; `s`: BM25 score (text) or cosine similarity (key, emb). */
export interface Hit {
  id: string;
  path: string;
  s?: number;
  startLine?: number;
  endLine?: number;
}

/** One question's ranked lists, reduced to what scoring needs. */
export interface QLists {
  gold: string;
  /** Real-project questions: the gold lines (scores are then file-level, plus line hits). */
  lines?: [number, number];
  kind?: string;
  project?: string;
  id?: string;
  /** Each retriever's hits, best first. */
  lists: Partial<Record<Retriever, Hit[]>>;
}

/** Line-level scores: % of questions with a top-1 / top-5 chunk of the gold file containing the gold lines. */
export interface LineScores {
  hit1: number;
  hit5: number;
}

/** Per question kind: the fusion's file recall@1/@5 and line hit@5. */
export interface KindScores {
  questions: number;
  fileRecall1: number;
  fileRecall5: number;
  lineHit5: number;
}

export type Scored = Retriever | 'fusion' | 'rrf';

export interface RealProjectRun {
  project: string;
  /** Questions scored (gold file memorized). */
  questions: number;
  dataErrors: number;
  memorize: ProjectMemorize & { memorizeNoEmbedderMs?: number };
  questionFiles: string[];
  retrievers: Partial<Record<Scored, Scores>>;
  lines: Partial<Record<Scored, LineScores>>;
}

/** What a real-project run adds: the per-project memorize summaries and scores, line hits, kinds, data errors. */
export interface RealRun {
  projects: RealProjectRun[];
  /** Over all scored questions of the split (micro average). */
  lines: Partial<Record<Scored, LineScores>>;
  byKind: Record<string, KindScores>;
  /** Questions whose gold file was not memorized: excluded from every score. */
  dataErrors: DataError[];
  /** Projects of the split without a question file (left out). */
  withoutQuestions: string[];
}

export interface RetrievalRun {
  dataset: string;
  source: string;
  documents: number;
  questions: number;
  chunks: number;
  memorizeMs: number;
  embedderMs: number;
  /** Memorize wall time with the embedder off (measureEmbedderCost), same documents. */
  memorizeNoEmbedderMs?: number;
  questionMs: { p50: number; p95: number };
  /** Chunk-level gold-document scores; FILE-level (distinct files) on real-project datasets. */
  retrievers: Partial<Record<Scored, Scores>>;
  real?: RealRun;
}

export interface RetrievalReport {
  kind: 'cmt-eval-retrieval';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; embedder: string | null };
  fusion: FusionWeights;
  runs: RetrievalRun[];
  fit?: { retrieval: { weights: { key: number; emb: number; text: number } & Partial<Record<Retriever, number>>; rrfK: number; textGate: number; fittedOn: unknown }; datasets: string[] };
  files: string[];
  wallMs: number;
}
