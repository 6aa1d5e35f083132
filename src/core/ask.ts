// The ask pipeline (Engine.ask) and its retrieval alone (Engine.search).
// ask: question -> (truncate to maxQuestionTokens) -> compressor (query template) -> match.ts top-K
//   (hybrid by default) -> aggregate.ts prefix -> decode.ts generate (streamed, stop strings,
//   abortable, with the memory contrast measured in the same batched pass). Citations are the
//   matched memories; ground.ts gives the answer its verdict ('found' with the quoted line, or
//   'not-sure' with the most relevant lines) from the cited chunks' full text and that contrast.
// search: the same retrieval as ask (retrieve()), returning the matched chunks and no answer; the
//   question is compressed only when the pack's fusion uses its key.
import type { Aggregator } from './aggregate';
import type { MemoryBank } from './bank';
import type { Compressor } from './compress';
import type { Decoder, GenerateResult } from './decode';
import type { Embedder } from './embed';
import { groundAnswer } from './ground';
import { copySources } from './copy';
import { fusionOf, keySearchUsed, match } from './match';
import { readerView } from './readerFocus';
import { Pack, promptOwnText } from './pack';
import type { PackDefaults } from './packManifest';
import {
  AnswerMode,
  AskOptions,
  AskResponse,
  checkAbort,
  Citation,
  CmtError,
  EngineSettings,
  Grounding,
  Logger,
  MatchedMemory,
  MAX_SEARCH_K,
  QuestionTruncated,
  SearchOptions,
  SearchResult,
} from './types';

/** What ask and search use of the engine. */
export interface AskContext {
  pack: Pack;
  bank: MemoryBank;
  compressor: Compressor;
  aggregator: Aggregator;
  decoder: Decoder;
  /** The pack's sentence embedder (null: none, or turned off). */
  embedder: Embedder | null;
  settings: EngineSettings;
  log: Logger;
}

type CompressedQuestion = Awaited<ReturnType<Compressor['compressQuestion']>>;

/** The pack's answer defaults, overridden by the engine's settings. */
type AskDefaults = PackDefaults & { hybrid?: boolean };

function defaultsOf(ctx: AskContext): AskDefaults {
  return { ...ctx.pack.manifest.defaults, ...(ctx.settings.ask ?? {}) };
}

const EXCERPT_CHARS = 300;

function excerpt(text: string): string {
  const t = text.trim();
  return t.length <= EXCERPT_CHARS ? t : t.slice(0, EXCERPT_CHARS - 1) + '…';
}

const round1 = (v: number) => Math.round(v * 10) / 10;

interface RetrieveOptions {
  topK?: number;
  maxK: number;
  hybrid?: boolean;
  signal?: AbortSignal;
  what: 'question' | 'query';
}

interface Retrieved {
  text: string;
  questionTruncated?: QuestionTruncated;
  q?: CompressedQuestion;
  matched: MatchedMemory[];
}

/** The question as the compressor reads it: cut before control tokens, then to maxQuestionTokens. */
function questionText(ctx: AskContext, question: string, what: RetrieveOptions['what']): { text: string; questionTruncated?: QuestionTruncated } {
  const { pack, compressor, log } = ctx;
  // A question that writes control tokens is cut before them (tokenizer.questionPart).
  const asked = pack.tokenizer.questionPart(question.trim());
  if (asked.cut) log(`${what} held chat control tokens: cut before the first of them`);
  // Over-long question: cut to maxQuestionTokens (compressor input, template and bos included).
  const maxQ = pack.manifest.cmt.maxQuestionTokens;
  const qTokens = compressor.tokenize(asked.text, 'question').length;
  if (qTokens <= maxQ) return { text: asked.text };
  const overhead = compressor.tokenize('', 'question').length;
  const ids = pack.tokenizer.encode(asked.text).slice(0, Math.max(1, maxQ - overhead));
  log(`${what} has ${qTokens} tokens; cut to maxQuestionTokens=${maxQ}`);
  return { text: pack.tokenizer.decode(ids).trim(), questionTruncated: { tokens: qTokens, maxQuestionTokens: maxQ } };
}

/**
 * The retrieval of the ask path, shared with search: the question cut before control tokens and
 * to maxQuestionTokens, compressed (key + memory), embedded, and matched (fused top-K, match.ts).
 * topK defaults to the pack's (or the settings') topK and is clamped to [0, maxK].
 */
async function retrieve(ctx: AskContext, question: string, opts: RetrieveOptions): Promise<Retrieved> {
  if (typeof question !== 'string' || question.trim() === '') throw new CmtError('BAD_INPUT', `the ${opts.what} is empty`);
  const { bank, compressor, embedder } = ctx;
  const defaults = defaultsOf(ctx);
  const signal = opts.signal;
  const { text, questionTruncated } = questionText(ctx, question, opts.what);
  const topK = Math.max(0, Math.min(Math.floor(opts.topK ?? defaults.topK), opts.maxK));
  checkAbort(signal, opts.what === 'question' ? 'ask' : 'search');
  const how = { topK, hybrid: opts.hybrid ?? defaults.hybrid ?? true, weights: fusionOf(ctx.pack.manifest.retrieval) };
  // ask needs the compressed question (its memory slots feed the aggregator); a search only needs
  // its key, and only when the pack's fusion runs the key search (the default pack's does not).
  let q = opts.what === 'question' ? await compressor.compressQuestion(text, signal) : undefined;
  const qEmb = embedder && bank.embedDim > 0 ? await embedder.embedOne(text, signal) : undefined;
  if (!q && keySearchUsed(bank, { text, emb: qEmb }, how)) q = await compressor.compressQuestion(text, signal);
  const matched = await match(bank, { key: q?.key, text, emb: qEmb }, how);
  return { text, questionTruncated, q, matched };
}

/** The chunks a question retrieves, without an answer: exactly the ask path's retrieval (its citations at the same k). */
export async function search(ctx: AskContext, query: string, opts: SearchOptions & { signal?: AbortSignal } = {}): Promise<SearchResult> {
  const t0 = performance.now();
  const { matched, questionTruncated } = await retrieve(ctx, query, { topK: opts.k, maxK: MAX_SEARCH_K, hybrid: opts.hybrid, signal: opts.signal, what: 'query' });
  return {
    hits: matched.map((x) => ({
      path: x.record.path,
      startLine: x.record.startLine,
      endLine: x.record.endLine,
      score: x.score,
      text: x.record.text,
      ...(x.record.symbol ? { symbol: x.record.symbol } : {}),
    })),
    matchMs: round1(performance.now() - t0),
    ...(questionTruncated ? { questionTruncated } : {}),
  };
}

/** An answer to `question`, with its citations, grounding verdict and timings. */
export async function ask(ctx: AskContext, question: string, opts: AskOptions = {}): Promise<AskResponse> {
  const t0 = performance.now();
  const defaults = defaultsOf(ctx);
  const retrieved = await retrieve(ctx, question, { topK: opts.topK, maxK: ctx.pack.manifest.cmt.maxSelected, hybrid: opts.hybrid, signal: opts.signal, what: 'question' });
  const { text, questionTruncated, matched } = retrieved;
  const tMatch = performance.now();
  checkAbort(opts.signal, 'ask');
  const mode = opts.answerMode ?? defaults.answerMode;
  const { gen, tAgg, tFirst } = await generateAnswer(ctx, retrieved, mode, opts, defaults);
  const tEnd = performance.now();
  const citations: Citation[] = matched.map((x) => ({
    path: x.record.path,
    startLine: x.record.startLine,
    endLine: x.record.endLine,
    score: x.score,
    excerpt: excerpt(x.record.text),
  }));
  return {
    answer: gen.text,
    citations,
    grounding: groundingOf(ctx, text, gen, matched, defaults.minAnswerConfidence?.[mode] ?? null),
    timings: {
      matchMs: round1(tMatch - t0),
      aggregateMs: round1(tAgg - tMatch),
      firstTokenMs: round1((tFirst || tEnd) - t0),
      totalMs: round1(tEnd - t0),
    },
    ...(questionTruncated ? { questionTruncated } : {}),
  };
}

/**
 * The answer in `mode`: the aggregated memory prefix (memory modes), the best chunks' raw text in
 * the prompt (memory+chunk, top-chunk, rag), then the decoder. Returns when the aggregation ended
 * and when the first token came (0: none).
 */
async function generateAnswer(
  ctx: AskContext,
  { text, q, matched }: Retrieved,
  mode: AnswerMode,
  opts: AskOptions,
  defaults: AskDefaults,
): Promise<{ gen: GenerateResult; tAgg: number; tFirst: number }> {
  const { aggregator, decoder } = ctx;
  const signal = opts.signal;
  const usesMemory = mode === 'memory' || mode === 'memory+chunk';
  // q is always compressed for a question (retrieve)
  const prefix = usesMemory ? await aggregator.aggregate(q!.memory, matched.map((x) => x.record.memory), { signal }) : null;
  const tAgg = performance.now();
  // The reader (and copy decoding) read the pack's choice of chunks, each cut to its line window (readerFocus.ts).
  const rawText =
    mode === 'memory+chunk' || mode === 'top-chunk'
      ? readerView(text, matched, defaults.contextChunks, defaults, (x) => x.record).map((v) => ({ ...v.chunk.record, text: v.text, anchor: v.anchor, whole: v.whole }))
      : mode === 'rag'
        ? matched.map((x) => x.record)
        : [];
  const maxNew = opts.maxNewTokens ?? defaults.maxNewTokens;
  const budget = ctx.pack.manifest.baseModel.maxPositions - maxNew - (prefix?.length ?? 0);
  const promptIds = rawText.length ? decoder.buildContextPrompt(text, rawText.map((x) => x.text), budget) : decoder.buildPrompt(text);
  let tFirst = 0;
  const gen = await decoder.generate(promptIds, {
    prefix,
    maxNewTokens: maxNew,
    numBeams: opts.numBeams ?? defaults.numBeams,
    alpha: usesMemory ? (opts.alpha ?? defaults.alpha) : 0,
    // The memory-gain rule of grounding is for answers from memory alone: with the chunk's text in
    // the prompt the answer rightly does not depend on the prefix.
    measureMemoryGain: mode === 'memory',
    // Copy decoding: the answer is a span of the chunks in the prompt (or of their paths).
    copyFrom: defaults.copyAnswer && rawText.length ? copySources(rawText, text) : undefined,
    signal,
    onToken: (delta) => {
      if (!tFirst) tFirst = performance.now();
      opts.onToken?.(delta);
    },
  });
  return { gen, tAgg, tFirst };
}

/** The answer's grounding verdict against the cited chunks' full text (ground.ts). */
function groundingOf(ctx: AskContext, question: string, gen: GenerateResult, matched: MatchedMemory[], minConfidence: number | null): Grounding {
  return groundAnswer({
    question,
    answer: gen.text,
    sources: matched.map((x) => ({ path: x.record.path, startLine: x.record.startLine, text: x.record.text })),
    memoryGain: gen.memoryGain ?? null,
    confidence: gen.score,
    minConfidence,
    promptText: promptOwnText(ctx.pack.manifest.prompt),
  });
}
