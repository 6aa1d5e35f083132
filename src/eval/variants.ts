// The variants `cmt eval` compares (the baselines, CMT and its ablations), the engine answer mode
// each reproduces, and what a question's outcome records. Declarations only (no engine code): the
// eval sections, the grounding fit and `cmt eval --help` read them; harness.ts answers with them.
import type { Grounding } from '../core/protocol';
import type { AnswerMode, MemoryRecord } from '../core/types';

export const VARIANTS = [
  'closed_book',
  'rag_in_context',
  'rag_top1',
  'cmt',
  'cmt_plus_chunk',
  'cmt_plus_top2',
  'cmt_plus_chunk_other_memory',
  'cmt_plus_chunk_no_memory',
  'cmt_plus_chunk_copy',
  'cmt_plus_chunk_rerank',
  'cmt_plus_chunk_focus',
  'cmt_no_self_matching',
  'cmt_no_topk',
  'cmt_alpha0',
  'cmt_no_hybrid',
] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABELS: Record<Variant, string> = {
  closed_book: 'closed-book (no memory)',
  rag_in_context: 'RAG-in-context (top-K raw chunks in the prompt)',
  rag_top1: 'RAG with the top chunk only (no memory)',
  cmt: 'CMT full (hybrid top-K, α)',
  cmt_plus_chunk: 'CMT memory prefix + the top chunk\'s raw text in the prompt',
  cmt_plus_top2: 'CMT memory prefix + the top two chunks\' raw text in the prompt',
  cmt_plus_chunk_other_memory: 'as memory + chunk, but the prefix built from other documents\' memories (the K farthest from the question)',
  cmt_plus_chunk_no_memory: 'as memory + chunk, but the trained modules fed only the question (no memories: ψ sees its null memory alone)',
  cmt_plus_chunk_copy: 'as memory + chunk, with copy decoding: the answer is a span of the chunk (copy.ts)',
  cmt_plus_chunk_rerank: 'as memory + chunk, the reader shown the best-covering of the top three chunks (readerChunks.ts)',
  cmt_plus_chunk_focus: 'as memory + chunk, the reader shown only the lines around the one that names what the question names (readerFocus.ts)',
  cmt_no_self_matching: 'CMT w/o self-matching (full-text search only)',
  cmt_no_topk: 'CMT w/o top-K (K = maxSelected×4, vector order)',
  cmt_alpha0: 'CMT, α = 0',
  cmt_no_hybrid: 'CMT, hybrid off (vector search only)',
};

/** The engine's answer mode each variant reproduces (ablations have none). */
export const MODE_OF: Partial<Record<Variant, AnswerMode>> = {
  closed_book: 'closed-book',
  rag_in_context: 'rag',
  rag_top1: 'top-chunk',
  cmt: 'memory',
  cmt_plus_chunk: 'memory+chunk',
  cmt_plus_top2: 'memory+chunk',
  cmt_plus_chunk_other_memory: 'memory+chunk',
  cmt_plus_chunk_no_memory: 'memory+chunk',
  cmt_plus_chunk_copy: 'memory+chunk',
  cmt_plus_chunk_rerank: 'memory+chunk',
  cmt_plus_chunk_focus: 'memory+chunk',
};

export interface AnswerSettings {
  topK: number;
  alpha: number;
  maxNewTokens: number;
  numBeams: number;
  /** K for the "without top-K" ablation. */
  bigK: number;
  /** Token budget of the RAG prompt (bos + context + question), so that answer tokens still fit. */
  ragMaxTokens: number;
  /** The pack's confidence floors of the grounding verdict, per answer mode (as Engine.ask applies them). */
  minAnswerConfidence: Partial<Record<AnswerMode, number>>;
  /** Keep this many of the fused retrieval's best chunks in each outcome (the reader's training data). */
  keepChunks?: number;
}

/** A retrieved chunk as the reader sees it. */
export interface ChunkText {
  path: string;
  startLine: number;
  endLine: number;
  text: string;
  /** Names the chunk defines (what the reader's named window looks for). */
  defines?: string[];
}

export interface QuestionOutcome {
  question: string;
  answers: string[];
  goldPath: string;
  /** 1-based rank of the first chunk of the gold document, or 0 when not in the top 5. */
  rank: { vector: number; text: number; hybrid: number };
  preds: Partial<Record<Variant, string>>;
  scores: Partial<Record<Variant, { em: number; prefixEm: number; f1: number; contains: boolean }>>;
  /** The grounding verdict of each variant's answer against the chunks that variant used (none for closed-book). */
  grounding: Partial<Record<Variant, Pick<Grounding, 'verdict' | 'reason' | 'memoryGain'> & GroundingEvidence>>;
  latencyMs: Partial<Record<Variant, number>>;
  promptTokens: Partial<Record<Variant, number>>;
  /** AnswerSettings.keepChunks: the fused retrieval's best chunks. */
  chunks?: ChunkText[];
}

/** What a confidence floor is fitted on: the verdict without any floor, and the answer's confidence. */
export interface GroundingEvidence {
  /** The text test (and memory rule) passed: "found" unless a confidence floor says otherwise. */
  inSource: boolean;
  /** Mean log-probability of the generated answer tokens (nats/token). */
  confidence: number;
}

export function chunkText(r: MemoryRecord): ChunkText {
  return { path: r.path, startLine: r.startLine, endLine: r.endLine, text: r.text, ...(r.defines ? { defines: r.defines } : {}) };
}
