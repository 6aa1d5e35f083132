// Streaming-QA harness on the real engine: documents are written as files into a scratch
// workspace and memorized by Engine.memorize (files.ts -> chunk.ts -> compress.ts -> bank.ts,
// LanceDB) into a FRESH bank; questions are answered with the engine's own pieces
// (compressor, match.ts over the LanceDB bank, aggregator, decoder) so that every variant shares
// one base model, one bank and one question compression.

import { fusionOf, match } from '../core/match';
import { Prefix } from '../core/aggregate';
import { groundAnswer } from '../core/ground';
import { fillTemplate, promptOwnText } from '../core/pack';
import type { Grounding } from '../core/protocol';
import { ort } from '../core/runtime';
import type { AnswerMode, MatchedMemory, MemoryRecord } from '../core/types';
import { EvalQuestion } from '../measure/dataset';
import { containsAnswer, exactMatch, f1Score, prefixExactMatch } from '../measure/metrics';
import { ScratchBank } from '../measure/scratchBank';
import { now, round } from '../measure/stats';

export type { MemorizeStats } from '../measure/scratchBank';

export const VARIANTS = [
  'closed_book',
  'rag_in_context',
  'rag_top1',
  'cmt',
  'cmt_plus_chunk',
  'cmt_plus_top2',
  'cmt_plus_chunk_other_memory',
  'cmt_plus_chunk_no_memory',
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

/** The scratch bank of measure/scratchBank.ts, plus the eval's question answering with every variant. */
export class StreamingBank extends ScratchBank {
  /**
   * Aggregates any number of memories (the engine's Aggregator caps at maxSelected; the graph's K
   * axis is dynamic). No memories: one zero memory with memory_mask 0, so ψ attends to its null
   * memory alone and the prefix comes from the question only.
   */
  private async aggregateAny(qmem: Float32Array, mems: Float32Array[]): Promise<Prefix | null> {
    const ag = this.engine.aggregator;
    if (mems.length > 0 && mems.length <= this.engine.pack.manifest.cmt.maxSelected) return ag.aggregate(qmem, mems);
    const m = this.engine.pack.manifest;
    const k = m.cmt.memorySlots;
    const d = m.cmt.memoryDim;
    const K = Math.max(1, mems.length);
    const all = new Float32Array(K * k * d);
    mems.forEach((x, i) => all.set(x, i * k * d));
    const out = await ag.run({
      question_memory: new ort.Tensor('float32', qmem, [1, k, d]),
      memories: new ort.Tensor('float32', all, [1, K, k, d]),
      memory_mask: new ort.Tensor('int64', new BigInt64Array(K).fill(mems.length ? 1n : 0n), [1, K]),
    });
    const tensors: Record<string, ort.Tensor> = {};
    let P = 0;
    for (let l = 0; l < m.baseModel.numLayers; l++) {
      for (const kv of ['key', 'value']) {
        const t = out[`prefix.${l}.${kv}`];
        P = t.dims[2];
        tensors[`past_key_values.${l}.${kv}`] = t;
      }
    }
    return { length: P, tensors, numMemories: K };
  }

  /** Answers one question with every requested variant. */
  async answer(qa: EvalQuestion, goldPath: string, variants: readonly Variant[], s: AnswerSettings): Promise<QuestionOutcome> {
    const e = this.engine;
    const want = new Set(variants);
    const t0 = now();
    const q = await e.compressor.compressQuestion(qa.question);
    const tq = now() - t0;
    const text = qa.question;

    // Retrieval diagnostics: top-5 of each retriever (match() fetches max(4K, 20) candidates per list).
    const tR = now();
    const cand = Math.max(4 * s.topK, 20);
    const [vec, txt] = await Promise.all([e.bank.vectorSearch(q.key, Math.max(cand, s.bigK)), e.bank.textSearch(text, cand)]);
    const retrMs = now() - tR;
    const vecRecs = vec.map((h) => h.record);
    const txtRecs = txt.map((h) => h.record);
    // The answering variants retrieve exactly as Engine.ask does: the question's sentence embedding
    // (when the pack has an embedder) and the pack's fitted fusion weights.
    const qEmb = e.embedder && e.bank.embedDim > 0 ? await e.embedder.embedOne(text) : undefined;
    const weights = fusionOf(e.pack.manifest.retrieval);
    const fused5 = await match(e.bank, { key: q.key, text, emb: qEmb }, { topK: 5, hybrid: true, weights });
    const rankOf = (recs: MemoryRecord[]) => {
      const i = recs.slice(0, 5).findIndex((r) => r.path === goldPath);
      return i < 0 ? 0 : i + 1;
    };
    const rank = { vector: rankOf(vecRecs), text: rankOf(txtRecs), hybrid: rankOf(fused5.map((x) => x.record)) };

    const out: QuestionOutcome = { question: qa.question, answers: qa.answers, goldPath, rank, preds: {}, scores: {}, grounding: {}, latencyMs: {}, promptTokens: {} };
    if (s.keepChunks) out.chunks = fused5.slice(0, s.keepChunks).map((x) => chunkText(x.record));
    const prompt = e.decoder.buildPrompt(text);
    // sources: the chunks the variant answered from (its citations), as Engine.ask grounds them.
    const gen = async (v: Variant, ids: number[], prefix: Prefix | null, alpha: number, extraMs: number, sources: MemoryRecord[] = []) => {
      const t = now();
      // As Engine.ask: the memory-gain rule only applies to answers from the memory prefix alone.
      const r = await e.decoder.generate(ids, { prefix, alpha, maxNewTokens: s.maxNewTokens, numBeams: s.numBeams, measureMemoryGain: !v.startsWith('cmt_plus_') });
      const mode = MODE_OF[v];
      const input = { question: text, answer: r.text, sources, memoryGain: r.memoryGain ?? null, confidence: r.score, promptText: promptOwnText(e.pack.manifest.prompt) };
      const g = groundAnswer({ ...input, minConfidence: mode ? s.minAnswerConfidence[mode] : null });
      const inSource = g.verdict === 'found' || (g.reason === 'low-confidence' && groundAnswer(input).verdict === 'found');
      out.grounding[v] = { verdict: g.verdict, reason: g.reason, memoryGain: g.memoryGain, inSource, confidence: round(r.score, 4) };
      out.preds[v] = r.text;
      out.latencyMs[v] = extraMs + (now() - t);
      out.promptTokens[v] = ids.length + (prefix ? prefix.length : 0);
      out.scores[v] = { em: exactMatch(r.text, qa.answers), prefixEm: prefixExactMatch(r.text, qa.answers), f1: f1Score(r.text, qa.answers), contains: containsAnswer(r.text, qa.answers) };
    };
    const viaMatch = async (hybrid: boolean): Promise<{ matched: MatchedMemory[]; ms: number }> => {
      const t = now();
      const matched = hybrid
        ? await match(e.bank, { key: q.key, text, emb: qEmb }, { topK: s.topK, hybrid, weights })
        : await match(e.bank, { key: q.key, text }, { topK: s.topK, hybrid });
      return { matched, ms: now() - t };
    };
    const cmtWith = async (v: Variant, recs: MemoryRecord[], alpha: number, retrievalMs: number) => {
      const t = now();
      const prefix = await this.aggregateAny(q.memory, recs.map((r) => r.memory));
      await gen(v, prompt, prefix, alpha, tq + retrievalMs + (now() - t), recs);
    };

    if (want.has('closed_book')) await gen('closed_book', prompt, null, 0, 0);
    let full: { matched: MatchedMemory[]; ms: number } | null = null;
    if (variants.some((v) => v !== 'closed_book' && !v.startsWith('cmt_no_'))) full = await viaMatch(true);
    if (want.has('rag_in_context') && full) {
      // RAG retrieves with the same hybrid top-K, which needs the compressed question key.
      const ids = this.ragPrompt(text, full.matched.map((x) => x.record), s.ragMaxTokens);
      await gen('rag_in_context', ids, null, 0, tq + full.ms, full.matched.map((x) => x.record));
    }
    if (want.has('rag_top1') && full) {
      const top = full.matched.slice(0, 1).map((x) => x.record);
      await gen('rag_top1', this.ragPrompt(text, top, s.ragMaxTokens), null, 0, tq + full.ms, top);
    }
    if (want.has('cmt') && full) await cmtWith('cmt', full.matched.map((x) => x.record), s.alpha, full.ms);
    // Memory + chunk, and what the memory contributes to it: the same prompt with the retrieved
    // memories, with other documents' memories, and with the question alone.
    const withChunks = async (v: Variant, chunks: number, memories: () => Promise<Float32Array[]>) => {
      if (!want.has(v) || !full) return;
      const recs = full.matched.map((x) => x.record);
      const t = now();
      const prefix = await this.aggregateAny(q.memory, await memories());
      const ids = this.ragPrompt(text, recs.slice(0, chunks), s.ragMaxTokens);
      await gen(v, ids, prefix, s.alpha, tq + full.ms + (now() - t), recs);
    };
    const retrieved = async () => full!.matched.map((x) => x.record.memory);
    await withChunks('cmt_plus_chunk', 1, retrieved);
    await withChunks('cmt_plus_top2', 2, retrieved);
    await withChunks('cmt_plus_chunk_other_memory', 1, async () => {
      const mine = new Set(full!.matched.map((x) => x.record.id));
      const far = await e.bank.vectorSearch(q.key.map((x) => -x), s.topK + mine.size);
      return far.filter((h) => !mine.has(h.record.id)).slice(0, Math.max(1, full!.matched.length)).map((h) => h.record.memory);
    });
    await withChunks('cmt_plus_chunk_no_memory', 1, async () => []);
    if (want.has('cmt_alpha0') && full) await cmtWith('cmt_alpha0', full.matched.map((x) => x.record), 0, full.ms);
    if (want.has('cmt_no_hybrid')) {
      const r = await viaMatch(false);
      await cmtWith('cmt_no_hybrid', r.matched.map((x) => x.record), s.alpha, r.ms);
    }
    if (want.has('cmt_no_self_matching')) {
      const t = now();
      const hits = await e.bank.textSearch(text, s.topK);
      await cmtWith('cmt_no_self_matching', hits.map((h) => h.record), s.alpha, now() - t);
    }
    if (want.has('cmt_no_topk')) {
      await cmtWith('cmt_no_topk', vecRecs.slice(0, s.bigK), s.alpha, retrMs);
    }
    return out;
  }
}

export function chunkText(r: MemoryRecord): ChunkText {
  return { path: r.path, startLine: r.startLine, endLine: r.endLine, text: r.text };
}
