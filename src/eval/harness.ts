// Streaming-QA harness on the real engine: documents are written as files into a scratch
// workspace and memorized by Engine.memorize (files.ts -> chunk.ts -> compress.ts -> bank.ts,
// LanceDB) into a FRESH bank; questions are answered with the engine's own pieces
// (compressor, match.ts over the LanceDB bank, aggregator, decoder) so that every variant shares
// one base model, one bank and one question compression.

import type { Prefix } from '../core/aggregate';
import { groundAnswer } from '../core/ground';
import { copySources } from '../core/copy';
import { fusionOf, FusionWeights, match } from '../core/match';
import { promptOwnText } from '../core/pack';
import { DEFAULT_FOCUS, readerView } from '../core/readerFocus';
import { ort } from '../core/runtime';
import type { MatchedMemory, MemoryRecord } from '../core/types';
import type { EvalQuestion } from '../measure/dataset';
import { containsAnswer, exactMatch, f1Score, prefixExactMatch } from '../measure/metrics';
import { ScratchBank } from '../measure/scratchBank';
import { now, round } from '../measure/stats';
import { AnswerSettings, chunkText, MODE_OF, QuestionOutcome, Variant } from './variants';

/** The scratch bank of measure/scratchBank.ts, plus the eval's question answering with every variant. */
export class StreamingBank extends ScratchBank {
  /**
   * Aggregates any number of memories (the engine's Aggregator caps at maxSelected; the graph's K
   * axis is dynamic). No memories: one zero memory with memory_mask 0, so ψ attends to its null
   * memory alone and the prefix comes from the question only.
   */
  async aggregateAny(qmem: Float32Array, mems: Float32Array[]): Promise<Prefix | null> {
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
    const a: Asked = { bank: this, qa, s, want: new Set(variants), q, tq, qEmb, weights, prompt: e.decoder.buildPrompt(text), out, vecRecs, retrMs };
    await answerVariants(a, variants);
    return out;
  }
}

/** One question being answered: what its variants share. */
interface Asked {
  bank: StreamingBank;
  qa: EvalQuestion;
  s: AnswerSettings;
  want: Set<Variant>;
  /** The compressed question, and the ms it took. */
  q: { key: Float32Array; memory: Float32Array };
  tq: number;
  qEmb?: Float32Array;
  weights: FusionWeights;
  /** The question's prompt ids (no context). */
  prompt: number[];
  out: QuestionOutcome;
  /** Vector search's candidates (for cmt_no_topk), and the ms the diagnostics' searches took. */
  vecRecs: MemoryRecord[];
  retrMs: number;
}

/** Generates variant v's answer, grounds and scores it into a.out. sources: the chunks the variant answered from (its citations), as Engine.ask grounds them. */
async function gen(a: Asked, v: Variant, ids: number[], prefix: Prefix | null, alpha: number, extraMs: number, sources: MemoryRecord[] = [], inPrompt: MemoryRecord[] = []): Promise<void> {
  const { s, qa, out } = a;
  const e = a.bank.engine;
  const t = now();
  // As Engine.ask: the memory-gain rule only applies to answers from the memory prefix alone, and
  // copy decoding (the pack's defaults.copyAnswer, or the copy variant) to the chunks in the prompt.
  const copy = inPrompt.length > 0 && (v === 'cmt_plus_chunk_copy' || e.pack.manifest.defaults.copyAnswer);
  const copyFrom = copy ? copySources(inPrompt, qa.question) : undefined;
  const r = await e.decoder.generate(ids, { prefix, alpha, maxNewTokens: s.maxNewTokens, numBeams: s.numBeams, measureMemoryGain: !v.startsWith('cmt_plus_'), copyFrom });
  const mode = MODE_OF[v];
  const input = { question: qa.question, answer: r.text, sources, memoryGain: r.memoryGain ?? null, confidence: r.score, promptText: promptOwnText(e.pack.manifest.prompt) };
  const g = groundAnswer({ ...input, minConfidence: mode ? s.minAnswerConfidence[mode] : null });
  const inSource = g.verdict === 'found' || (g.reason === 'low-confidence' && groundAnswer(input).verdict === 'found');
  out.grounding[v] = { verdict: g.verdict, reason: g.reason, memoryGain: g.memoryGain, inSource, confidence: round(r.score, 4) };
  out.preds[v] = r.text;
  out.latencyMs[v] = extraMs + (now() - t);
  out.promptTokens[v] = ids.length + (prefix ? prefix.length : 0);
  out.scores[v] = { em: exactMatch(r.text, qa.answers), prefixEm: prefixExactMatch(r.text, qa.answers), f1: f1Score(r.text, qa.answers), contains: containsAnswer(r.text, qa.answers) };
}

/** The question's top-K as the engine matches it (hybrid with the pack's fusion, or vector search only), timed. */
async function viaMatch(a: Asked, hybrid: boolean): Promise<{ matched: MatchedMemory[]; ms: number }> {
  const bank = a.bank.engine.bank;
  const text = a.qa.question;
  const t = now();
  const matched = hybrid
    ? await match(bank, { key: a.q.key, text, emb: a.qEmb }, { topK: a.s.topK, hybrid, weights: a.weights })
    : await match(bank, { key: a.q.key, text }, { topK: a.s.topK, hybrid });
  return { matched, ms: now() - t };
}

/** A CMT variant: the prefix aggregated from `recs`' memories, the question's prompt. */
async function cmtWith(a: Asked, v: Variant, recs: MemoryRecord[], alpha: number, retrievalMs: number): Promise<void> {
  const t = now();
  const prefix = await a.bank.aggregateAny(a.q.memory, (await a.bank.engine.bank.withMemory(recs)).map((r) => r.memory));
  await gen(a, v, a.prompt, prefix, alpha, a.tq + retrievalMs + (now() - t), recs);
}

/** Memory + chunk: the prefix from `memories`, the prompt with the first `chunks` retrieved chunks' text. */
async function withChunks(a: Asked, full: { matched: MatchedMemory[]; ms: number } | null, v: Variant, chunks: number, memories: () => Promise<Float32Array[]>): Promise<void> {
  if (!a.want.has(v) || !full) return;
  const recs = full.matched.map((x) => x.record);
  const t = now();
  const prefix = await a.bank.aggregateAny(a.q.memory, await memories());
  // As Engine.ask: the pack's chunk choice and line window, or the variant's (readerFocus.ts).
  const d = a.bank.engine.pack.manifest.defaults;
  const reader = { readerRerank: v === 'cmt_plus_chunk_rerank' || d.readerRerank, readerFocus: v === 'cmt_plus_chunk_focus' ? DEFAULT_FOCUS : d.readerFocus };
  const shown = readerView(a.qa.question, recs, chunks, reader, (r) => r).map((x) => ({ ...x.chunk, text: x.text, anchor: x.anchor, whole: x.whole }));
  const ids = a.bank.ragPrompt(a.qa.question, shown, a.s.ragMaxTokens);
  await gen(a, v, ids, prefix, a.s.alpha, a.tq + full.ms + (now() - t), recs, shown);
}

/** Every requested variant, in the order of VARIANTS' groups: closed-book, RAG, CMT, memory + chunk, the ablations. */
async function answerVariants(a: Asked, variants: readonly Variant[]): Promise<void> {
  const { want, s, tq, bank } = a;
  const text = a.qa.question;
  if (want.has('closed_book')) await gen(a, 'closed_book', a.prompt, null, 0, 0);
  let full: { matched: MatchedMemory[]; ms: number } | null = null;
  if (variants.some((v) => v !== 'closed_book' && !v.startsWith('cmt_no_'))) full = await viaMatch(a, true);
  if (want.has('rag_in_context') && full) {
    // RAG retrieves with the same hybrid top-K, which needs the compressed question key.
    const ids = bank.ragPrompt(text, full.matched.map((x) => x.record), s.ragMaxTokens);
    const recs = full.matched.map((x) => x.record);
    await gen(a, 'rag_in_context', ids, null, 0, tq + full.ms, recs, recs);
  }
  if (want.has('rag_top1') && full) {
    const top = full.matched.slice(0, 1).map((x) => x.record);
    await gen(a, 'rag_top1', bank.ragPrompt(text, top, s.ragMaxTokens), null, 0, tq + full.ms, top, top);
  }
  if (want.has('cmt') && full) await cmtWith(a, 'cmt', full.matched.map((x) => x.record), s.alpha, full.ms);
  // Memory + chunk, and what the memory contributes to it: the same prompt with the retrieved
  // memories, with other documents' memories, and with the question alone.
  const retrieved = () => Promise.resolve(full!.matched.map((x) => x.record.memory));
  await withChunks(a, full, 'cmt_plus_chunk', 1, retrieved);
  await withChunks(a, full, 'cmt_plus_top2', 2, retrieved);
  await withChunks(a, full, 'cmt_plus_chunk_other_memory', 1, async () => {
    const mine = new Set(full!.matched.map((x) => x.record.id));
    const far = await bank.engine.bank.vectorSearch(a.q.key.map((x) => -x), s.topK + mine.size);
    const others = far.filter((h) => !mine.has(h.record.id)).slice(0, Math.max(1, full!.matched.length));
    return (await bank.engine.bank.withMemory(others.map((h) => h.record))).map((r) => r.memory);
  });
  await withChunks(a, full, 'cmt_plus_chunk_no_memory', 1, () => Promise.resolve([]));
  await withChunks(a, full, 'cmt_plus_chunk_copy', 1, retrieved);
  await withChunks(a, full, 'cmt_plus_chunk_rerank', 1, retrieved);
  await withChunks(a, full, 'cmt_plus_chunk_focus', 1, retrieved);
  if (want.has('cmt_alpha0') && full) await cmtWith(a, 'cmt_alpha0', full.matched.map((x) => x.record), 0, full.ms);
  if (want.has('cmt_no_hybrid')) {
    const r = await viaMatch(a, false);
    await cmtWith(a, 'cmt_no_hybrid', r.matched.map((x) => x.record), s.alpha, r.ms);
  }
  if (want.has('cmt_no_self_matching')) {
    const t = now();
    const hits = await bank.engine.bank.textSearch(text, s.topK);
    await cmtWith(a, 'cmt_no_self_matching', hits.map((h) => h.record), s.alpha, now() - t);
  }
  if (want.has('cmt_no_topk')) await cmtWith(a, 'cmt_no_topk', a.vecRecs.slice(0, s.bigK), s.alpha, a.retrMs);
}
