// KV-cache decoding on decoder.onnx (Optimum / transformers.js input and output names).
// Greedy or beam search (length-normalised), stop tokens and stop strings, memory-aware logit
// contrast (1+α)·l(with prefix) − α·l(without prefix) computed in ONE batched run (the no-prefix
// rows see the prefix slots masked out: logits.ts, kvCache.ts), abort signal, and streaming of
// decoded text that never emits broken characters or a stop string's start (decodeText.ts).
//
// Prefix convention (docs/model-pack.md): the prefix fills the first P cache slots but no
// positions; the prompt's position_ids start at 0; attention_mask covers prefix + tokens.
// Cache protocols (pack.json decoderCache): 'concat' and 'shared-buffer' (kvCache.ts, sharedStep.ts).

import { copyConstraint, type CopyConstraint, type CopySources } from './copy';
import { CmtError, Device } from './types';
import type { Pack } from './pack';
import { contextPrompt, questionPrompt } from './prompt';
import { Prefix } from './aggregate';
import { createSession, CreatedSession, ort, ProviderReport, SessionOptions } from './runtime';
import { TextStreamer, repetitionLoop } from './decodeText';
import { AnyCache, emptyCache, gatherRows, isShared, KvCache, prefixCache, sharedCache } from './kvCache';
import { allLogitsShared, runShared } from './sharedStep';

import { argmax, contrastLogits, logSumExp, topN } from './logits';

export interface GenerateOptions {
  prefix?: Prefix | null;
  /** Default: pack defaults.maxNewTokens. Capped so positions stay below baseModel.maxPositions. */
  maxNewTokens?: number;
  /** 1 = greedy (default: pack defaults.numBeams); >1 = beam search with length-normalised scores. */
  numBeams?: number;
  /** Default: the pack's prompt.stopTokens, else [eos]. Generation stops at these (they are not part of the output). */
  stopTokenIds?: number[];
  /** Default: pack prompt.stop. The text is cut before the first occurrence. */
  stopStrings?: string[];
  /** Memory-aware contrast; 0 (default) = plain decoding. No effect without a prefix. */
  alpha?: number;
  /** Beam score = sum logprob / length^lengthPenalty (default 1). */
  lengthPenalty?: number;
  signal?: AbortSignal;
  /** Streamed text increments; their concatenation equals the final `text`. */
  onToken?: (textDelta: string) => void;
  /** Stop when the tokens fall into a repetition loop (repetitionLoop; default true). Speed benchmarks that time N tokens turn it off. */
  stopOnLoop?: boolean;
  /** Copy decoding (copy.ts): answers restricted to spans of these texts, and naming more than the question quotes. */
  copyFrom?: CopySources;
  /** Use the beam-search code path even for numBeams = 1 (tests). */
  forceBeamSearch?: boolean;
  /**
   * With a prefix: also report `memoryGain`. Reuses the no-prefix rows of the α contrast (run
   * even when α = 0), so it costs no second decode.
   */
  measureMemoryGain?: boolean;
}

export interface GenerateResult {
  /** Decoded answer, cut at the first stop string, surrounding whitespace trimmed. */
  text: string;
  /** Generated ids (stop token excluded; the token that completed a stop string included). */
  tokenIds: number[];
  /** Length-normalised log-probability (under the adjusted logits) of the generated tokens, stop token included. */
  score: number;
  /** 'loop': stopped early, the tokens had fallen into a repetition loop (repetitionLoop). */
  finishReason: 'eos' | 'stop' | 'length' | 'loop';
  /**
   * Mean over the generated tokens of log p(token | memory prefix) − log p(token | no prefix), under
   * the plain (not α-adjusted) logits, nats/token. Set when a prefix was given and the contrast rows
   * ran (α ≠ 0 or measureMemoryGain); 0 for an empty answer.
   */
  memoryGain?: number;
}

function isCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CmtError('CANCELLED', 'generation cancelled');
}

// ---------------------------------------------------------------------------------------------

/** Everything greedy and beam search need, resolved once by generate() from its options and the pack. */
interface DecodePlan {
  promptIds: number[];
  maxNew: number;
  numBeams: number;
  stopIds: Set<number>;
  stops: string[];
  prefix: Prefix | null;
  alpha: number;
  /** Twin no-prefix rows are run (α contrast and/or memory gain). */
  contrast: boolean;
  copy: CopyConstraint | null; // copy decoding (opts.copyFrom)
  opts: GenerateOptions;
}

/** Optional decoder input: int64 scalar, logits for the last N positions only (0 = all). */
export const LOGITS_TO_KEEP = 'logits_to_keep';

/** Makes a graph's session on first use (the engine loads the decoder at its first question): createSession. */
export type SessionLoader = () => Promise<CreatedSession>;

export class Decoder {
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly sharedBuffer: boolean;
  private hasPositionIds = false;
  private hasUseCacheBranch = false;
  /** The graph computes logits only for the last `logits_to_keep` positions (0 = all). */
  private hasLogitsToKeep = false;
  private loaded: ort.InferenceSession | null = null;
  private readonly load: SessionLoader | null;
  private providerReport?: ProviderReport;

  /** `session`: a session, or a loader run at the first generate/score (prompts need no session). */
  constructor(
    readonly pack: Pack,
    session: ort.InferenceSession | SessionLoader,
    report?: ProviderReport,
  ) {
    const bm = pack.manifest.baseModel;
    this.numLayers = bm.numLayers;
    this.numKvHeads = bm.numKvHeads;
    this.headDim = bm.headDim;
    this.vocabSize = bm.vocabSize;
    this.sharedBuffer = pack.manifest.decoderCache === 'shared-buffer';
    this.providerReport = report;
    if (typeof session === 'function') {
      this.load = session;
    } else {
      this.load = null;
      this.adopt(session);
    }
  }

  /** Which execution provider runs the decoder (undefined until a lazy decoder is loaded). */
  get report(): ProviderReport | undefined {
    return this.providerReport;
  }

  private adopt(session: ort.InferenceSession): ort.InferenceSession {
    const names = session.inputNames;
    for (const n of ['input_ids', 'attention_mask', 'past_key_values.0.key']) {
      if (!names.includes(n)) throw new CmtError('PACK_INCOMPATIBLE', `decoder.onnx has no input "${n}"`);
    }
    if (!names.includes(`past_key_values.${this.numLayers - 1}.value`) || names.includes(`past_key_values.${this.numLayers}.key`)) {
      throw new CmtError('PACK_INCOMPATIBLE', `decoder.onnx past_key_values inputs do not match numLayers=${this.numLayers}`);
    }
    for (const n of this.sharedBuffer ? ['position_ids', LOGITS_TO_KEEP] : []) {
      if (!names.includes(n)) throw new CmtError('PACK_INCOMPATIBLE', `decoder.onnx (decoderCache shared-buffer) has no input "${n}"`);
    }
    this.hasPositionIds = names.includes('position_ids');
    this.hasUseCacheBranch = names.includes('use_cache_branch');
    this.hasLogitsToKeep = names.includes(LOGITS_TO_KEEP);
    this.loaded = session;
    return session;
  }

  /**
   * The session, made now if this decoder is lazy. The loader is createSession (runtime.ts), which
   * gives concurrent callers one load and forgets a failed one, so the next call retries.
   */
  private async session(): Promise<ort.InferenceSession> {
    if (this.loaded) return this.loaded;
    const c = await this.load!();
    this.providerReport = c.report;
    return this.adopt(c.session);
  }

  /** `lazy`: the session is made at the first generate/score, not now (a process that only memorizes never holds it). */
  static async create(pack: Pack, device: Device = 'auto', opts: SessionOptions & { lazy?: boolean } = {}): Promise<Decoder> {
    const { lazy, ...sessionOpts } = opts;
    const load = () => createSession(pack.graphPath('decoder'), device, { memPattern: false, ...sessionOpts });
    if (lazy) return new Decoder(pack, load);
    const { session, report } = await load();
    return new Decoder(pack, session, report);
  }

  /** Decoder prompt for a question: [bos] + tokens of prompt.question (prompt.ts). */
  buildPrompt(question: string): number[] {
    return questionPrompt(this.pack, question);
  }

  /** Decoder prompt with raw text in it, `texts` cut to fit `budget` tokens in all (prompt.ts). */
  buildContextPrompt(rawQuestion: string, texts: readonly string[], budget: number): number[] {
    return contextPrompt(this.pack, rawQuestion, texts, budget);
  }

  // -- graph plumbing ---------------------------------------------------------------------------

  /**
   * The graph's inputs for `tokens` (one row of T ids per cache row) at positions pos..pos+T-1 after
   * `cache`; masked[r] leading cache slots are hidden from row r; logits for the last `keep`
   * positions where the graph can (0n: all).
   */
  private feeds(cache: KvCache, tokens: number[][], pos: number, masked: number[], keep: bigint): Record<string, ort.Tensor> {
    const R = cache.rows;
    const T = tokens[0].length;
    const S = cache.length + T;
    const ids = new BigInt64Array(R * T);
    const posIds = new BigInt64Array(R * T);
    const mask = new BigInt64Array(R * S).fill(1n);
    for (let r = 0; r < R; r++) {
      for (let t = 0; t < T; t++) {
        ids[r * T + t] = BigInt(tokens[r][t]);
        posIds[r * T + t] = BigInt(pos + t);
      }
      for (let j = 0; j < masked[r]; j++) mask[r * S + j] = 0n;
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [R, T]),
      attention_mask: new ort.Tensor('int64', mask, [R, S]),
      ...cache.tensors,
    };
    if (this.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', posIds, [R, T]);
    if (this.hasUseCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', [cache.length > 0], [1]);
    if (this.hasLogitsToKeep) feeds[LOGITS_TO_KEEP] = new ort.Tensor('int64', BigInt64Array.of(keep), []);
    return feeds;
  }

  /**
   * Runs `tokens` (one row of T ids per cache row) at positions pos..pos+T-1.
   * maskedPrefix[r] = number of leading cache slots row r must not see (the prefix, for contrast rows).
   * Returns the last-position logits of every row and the new cache.
   */
  private async step(
    cache: AnyCache,
    tokens: number[][],
    pos: number,
    maskedPrefix: number[],
  ): Promise<{ logits: Float32Array[]; cache: AnyCache }> {
    if (isShared(cache)) return { logits: (await runShared(await this.session(), cache, tokens, pos, 1n, this.numLayers)).map((l) => l.subarray(l.length - this.vocabSize)), cache };
    const session = await this.session(); // first: a lazy decoder learns its inputs here
    const R = cache.rows;
    const S = cache.length + tokens[0].length;
    const out = await session.run(this.feeds(cache, tokens, pos, maskedPrefix, 1n));
    const lt = out.logits;
    if (!lt) throw new CmtError('PACK_INCOMPATIBLE', 'decoder.onnx has no "logits" output');
    const [Tk, V] = [lt.dims[1], lt.dims[2]]; // Tk: T, or 1 where the graph keeps the last position only
    const ld = lt.data as Float32Array;
    const logits: Float32Array[] = [];
    for (let r = 0; r < R; r++) logits.push(ld.subarray((r * Tk + Tk - 1) * V, (r * Tk + Tk) * V));
    const tensors: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.numLayers; l++) {
      for (const kv of ['key', 'value']) {
        const p = out[`present.${l}.${kv}`];
        if (!p) throw new CmtError('PACK_INCOMPATIBLE', `decoder.onnx has no output present.${l}.${kv}`);
        tensors[`past_key_values.${l}.${kv}`] = p;
      }
    }
    return { logits, cache: { tensors, length: S, rows: R } };
  }

  // -- generation -------------------------------------------------------------------------------

  async generate(promptIds: number[], opts: GenerateOptions = {}): Promise<GenerateResult> {
    const m = this.pack.manifest;
    if (promptIds.length === 0) throw new CmtError('BAD_INPUT', 'empty prompt');
    const maxPos = m.baseModel.maxPositions;
    if (promptIds.length >= maxPos) {
      throw new CmtError('BAD_INPUT', `prompt has ${promptIds.length} tokens; the model allows at most ${maxPos - 1}`);
    }
    const maxNew = Math.max(0, Math.min(opts.maxNewTokens ?? m.defaults.maxNewTokens, maxPos - promptIds.length));
    const numBeams = Math.max(1, Math.floor(opts.numBeams ?? m.defaults.numBeams ?? 1));
    const stopIds = new Set(opts.stopTokenIds ?? m.prompt.stopTokens ?? [m.specialTokens.eos]);
    const stops = opts.stopStrings ?? m.prompt.stop;
    const prefix = opts.prefix ?? null;
    const alpha = opts.alpha ?? 0;
    // Twin no-prefix rows: for the α contrast, and/or to measure how much the memory matters.
    const contrast = prefix !== null && (alpha !== 0 || !!opts.measureMemoryGain);
    isCancelled(opts.signal);
    const copy = opts.copyFrom ? copyConstraint(opts.copyFrom, this.pack.tokenizer) : null;
    const plan: DecodePlan = { promptIds, maxNew, numBeams, stopIds, stops, prefix, alpha, contrast, copy, opts };
    return numBeams === 1 && !opts.forceBeamSearch ? this.greedy(plan) : this.beam(plan);
  }

  /** `tokens`: slots after the prefix a shared cache holds (prompt + new tokens). */
  private initialCache(prefix: Prefix | null, contrast: boolean, tokens: number): { cache: AnyCache; masked: number[] } {
    // masked stays 0 with a shared cache: its contrast row holds no prefix instead of masking it
    if (this.sharedBuffer) return { cache: sharedCache(this, tokens, prefix, contrast), masked: contrast ? [0, 0] : [0] };
    if (!prefix) return { cache: emptyCache(this, 1), masked: [0] };
    const cache = prefixCache(prefix, contrast);
    return { cache, masked: contrast ? [0, prefix.length] : [0] };
  }

  private async greedy(plan: DecodePlan): Promise<GenerateResult> {
    const { promptIds, maxNew, stopIds, stops, prefix, alpha, contrast, copy, opts } = plan;
    const streamer = new TextStreamer(this.pack.tokenizer, stops, opts.onToken);
    const init = this.initialCache(prefix, contrast, promptIds.length + maxNew);
    const rowsTokens = (t: number[]) => (contrast ? [t, t] : [t]);
    const tokens: number[] = [];
    let sum = 0;
    let count = 0;
    let gain = 0; // sum of log p(with prefix) − log p(without), over the answer tokens
    let finishReason: GenerateResult['finishReason'] = 'length';
    if (maxNew > 0) {
      let { logits, cache } = await this.step(init.cache, rowsTokens(promptIds), 0, init.masked);
      const adj = new Float32Array(logits[0].length);
      let pos = promptIds.length;
      for (let i = 0; i < maxNew; i++) {
        isCancelled(opts.signal);
        contrastLogits(logits[0], contrast ? logits[1] : undefined, alpha, adj);
        const next = copy ? copy.pick(adj, stopIds, tokens) : argmax(adj);
        if (next < 0) {
          finishReason = 'eos'; // no token keeps the answer a span of its sources
          break;
        }
        sum += adj[next] - logSumExp(adj);
        count++;
        if (stopIds.has(next)) {
          finishReason = 'eos';
          break;
        }
        tokens.push(next);
        if (contrast) gain += logits[0][next] - logSumExp(logits[0]) - (logits[1][next] - logSumExp(logits[1]));
        if (streamer.update(tokens)) {
          finishReason = 'stop';
          break;
        }
        if (opts.stopOnLoop !== false && repetitionLoop(tokens)) {
          finishReason = 'loop';
          break;
        }
        if (i === maxNew - 1) break;
        ({ logits, cache } = await this.step(cache, rowsTokens([next]), pos, init.masked));
        pos++;
      }
    }
    isCancelled(opts.signal);
    const text = streamer.finish(tokens);
    const res: GenerateResult = { text, tokenIds: tokens, score: count ? sum / count : 0, finishReason };
    if (contrast) res.memoryGain = tokens.length ? gain / tokens.length : 0;
    return res;
  }

  private async beam(plan: DecodePlan): Promise<GenerateResult> {
    const { promptIds, maxNew, numBeams: N, stopIds, stops, prefix, alpha, contrast, copy, opts } = plan;
    const lp = opts.lengthPenalty ?? 1;
    const norm = (sum: number, len: number) => sum / Math.pow(Math.max(1, len), lp);
    const cutter = new TextStreamer(this.pack.tokenizer, stops);
    type Hyp = { tokens: number[]; sum: number; gain: number; norm: number; reason: GenerateResult['finishReason'] };
    const finished: Hyp[] = [];
    const addFinished = (h: Hyp) => {
      finished.push(h);
      finished.sort((a, b) => b.norm - a.norm);
      if (finished.length > N) finished.length = N;
    };

    // gain: sum over the tokens of log p(with prefix) − log p(without) (the memory contrast)
    let alive: { tokens: number[]; sum: number; gain: number; parent: number }[] = [{ tokens: [], sum: 0, gain: 0, parent: 0 }];
    if (maxNew > 0) {
      const init = this.initialCache(prefix, contrast, promptIds.length + maxNew);
      let { logits, cache } = await this.step(init.cache, contrast ? [promptIds, promptIds] : [promptIds], 0, init.masked);
      // Row layout: alive beams 0..n-1 (with prefix), then their no-prefix twins n..2n-1.
      let n = 1;
      let pos = promptIds.length;
      const adj = new Float32Array(logits[0].length);
      for (let step = 0; step < maxNew; step++) {
        isCancelled(opts.signal);
        const cands: { beam: number; tok: number; sum: number; gain: number }[] = [];
        for (let b = 0; b < n; b++) {
          contrastLogits(logits[b], contrast ? logits[n + b] : undefined, alpha, adj);
          const lse = logSumExp(adj);
          const lseW = contrast ? logSumExp(logits[b]) : 0;
          const lseWo = contrast ? logSumExp(logits[n + b]) : 0;
          // Copy decoding: each beam continues only with tokens that keep its answer a span of the sources.
          for (const t of copy ? copy.best(adj, stopIds, alive[b].tokens, 2 * N) : topN(adj, 2 * N)) {
            const g = contrast ? logits[b][t] - lseW - (logits[n + b][t] - lseWo) : 0;
            cands.push({ beam: b, tok: t, sum: alive[b].sum + adj[t] - lse, gain: alive[b].gain + g });
          }
        }
        cands.sort((a, b) => b.sum - a.sum);
        const next: { tokens: number[]; sum: number; gain: number; parent: number }[] = [];
        const len = step + 1;
        for (let i = 0; i < cands.length && next.length < N; i++) {
          const c = cands[i];
          const base = alive[c.beam].tokens;
          if (stopIds.has(c.tok)) {
            if (i < N) addFinished({ tokens: base, sum: c.sum, gain: alive[c.beam].gain, norm: norm(c.sum, len), reason: 'eos' });
            continue;
          }
          const toks = [...base, c.tok];
          if (stops.length && cutter.cut(toks).hit) {
            if (i < N) addFinished({ tokens: toks, sum: c.sum, gain: c.gain, norm: norm(c.sum, len), reason: 'stop' });
            continue;
          }
          next.push({ tokens: toks, sum: c.sum, gain: c.gain, parent: c.beam });
        }
        alive = next;
        if (alive.length === 0) break;
        if (finished.length >= N) {
          const bestAlive = Math.max(...alive.map((a) => norm(a.sum, len)));
          if (bestAlive <= finished[finished.length - 1].norm) {
            alive = [];
            break;
          }
        }
        if (step === maxNew - 1) break;
        const rows = alive.map((a) => a.parent);
        const order = contrast ? [...rows, ...rows.map((r) => n + r)] : rows;
        cache = gatherRows(cache, order);
        n = alive.length;
        const stepTokens = alive.map((a) => [a.tokens[a.tokens.length - 1]]);
        const masked = contrast ? [...new Array<number>(n).fill(0), ...new Array<number>(n).fill(init.masked[1])] : new Array<number>(n).fill(0);
        ({ logits, cache } = await this.step(cache, contrast ? [...stepTokens, ...stepTokens] : stepTokens, pos, masked));
        pos++;
      }
      for (const a of alive) addFinished({ tokens: a.tokens, sum: a.sum, gain: a.gain, norm: norm(a.sum, a.tokens.length), reason: 'length' });
    }
    isCancelled(opts.signal);
    const best = finished[0] ?? { tokens: [], sum: 0, gain: 0, norm: 0, reason: 'length' as const };
    const streamer = new TextStreamer(this.pack.tokenizer, stops, opts.onToken);
    const text = streamer.finish(best.tokens);
    const res: GenerateResult = { text, tokenIds: best.tokens, score: best.norm, finishReason: best.reason };
    if (contrast) res.memoryGain = best.tokens.length ? best.gain / best.tokens.length : 0;
    return res;
  }

  /**
   * Log-probabilities (under the α-adjusted logits) of `tokenIds` following `promptIds`, in one
   * forward pass. `stopTokenId`, if given, is scored after the tokens. Returns sum and mean.
   */
  async scoreSequence(
    promptIds: number[],
    tokenIds: number[],
    opts: { prefix?: Prefix | null; alpha?: number; stopTokenId?: number } = {},
  ): Promise<{ sum: number; mean: number; logprobs: number[] }> {
    const prefix = opts.prefix ?? null;
    const alpha = opts.alpha ?? 0;
    const contrast = prefix !== null && alpha !== 0;
    const targets = opts.stopTokenId !== undefined ? [...tokenIds, opts.stopTokenId] : tokenIds;
    const all = [...promptIds, ...tokenIds];
    const init = this.initialCache(prefix, contrast, all.length);
    const T = all.length;
    const rows = new Array<number[]>(init.cache.rows).fill(all);
    const session = await this.session(); // logits of every position, row after row:
    const ld = isShared(init.cache)
      ? await allLogitsShared(session, init.cache, rows, this.numLayers)
      : ((await session.run(this.feeds(init.cache, rows, 0, init.masked, 0n))).logits.data as Float32Array);
    const V = this.vocabSize;
    const adj = new Float32Array(V);
    const logprobs: number[] = [];
    for (let i = 0; i < targets.length; i++) {
      const t = promptIds.length - 1 + i; // position predicting targets[i]
      const w = ld.subarray(t * V, (t + 1) * V);
      const wo = contrast ? ld.subarray((T + t) * V, (T + t + 1) * V) : undefined;
      contrastLogits(w, wo, alpha, adj);
      logprobs.push(adj[targets[i]] - logSumExp(adj));
    }
    const sum = logprobs.reduce((a, b) => a + b, 0);
    return { sum, mean: logprobs.length ? sum / logprobs.length : 0, logprobs };
  }
}

