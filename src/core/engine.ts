// The CMT engine, in-process: memorize files into the memory bank, answer questions from it.
// Used by the engine process (server.ts), tests and tools. Loads native modules (onnxruntime,
// LanceDB): UIs should run it in a child process through EngineClient (client.ts).
//
// memorize: files.ts walks/classifies -> chunk.ts chunks to the pack's maxDocTokens (template and
//   bos included) -> compress.ts compresses (batched across files) -> bank.ts upserts per file.
//   Unchanged files (same sha256 as stored) cost a read and a hash, no compression. Every skipped
//   file is reported with its reason; a failing file is reported and the rest go on.
// ask: question -> (truncate to maxQuestionTokens) -> compressor (query template) -> match.ts top-K
//   (hybrid by default) -> aggregate.ts prefix -> decode.ts generate (streamed, stop strings,
//   abortable, with the memory contrast measured in the same batched pass). Citations are the
//   matched memories; ground.ts gives the answer its verdict ('found' with the quoted line, or
//   'not-sure' with the most relevant lines) from the cited chunks' full text and that contrast.
// search: the same retrieval as ask (retrieve()), returning the matched chunks and no answer; the
//   question is compressed only when the pack's fusion uses its key.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Aggregator } from './aggregate';
import { BankOpenOptions, MemoryBank } from './bank';
import { chunkFile, chunkHeader } from './chunk';
import { definitionsOf } from './syntax';
import { Compressor } from './compress';
import { Decoder } from './decode';
import { classifyFile, DEFAULT_MAX_FILE_SIZE, isForceIncluded, isGitignored, SkipReason, skipReasonText, walkWorkspace, WalkedFile } from './files';
import { groundAnswer } from './ground';
import { Embedder, embedTextOf } from './embed';
import { fusionOf, keySearchUsed, match } from './match';
import { loadPack, Pack, promptOwnText } from './pack';
import { normalizeRel, relativeInside, toPosix } from './paths';
import { engineSwitches } from './processEnv';
import { releaseSessions } from './runtime';
import { Serial } from './serial';
import {
  AskOptions,
  AskResponse,
  Chunk,
  Citation,
  CmtError,
  CompressedChunk,
  Device,
  EngineSettings,
  FileIssue,
  ForgetResult,
  Logger,
  MatchedMemory,
  MAX_SEARCH_K,
  MemorizeOptions,
  MemorizeProgress,
  MemorizeSummary,
  ProviderReport,
  RenameResult,
  SearchResult,
  StatusResult,
} from './types';

export interface EngineOpenOptions {
  packDir: string;
  bankUri: string;
  device?: Device;
  settings?: EngineSettings;
  /** The bank's index options (default: as the environment sets them, processEnv.ts engineSwitches). */
  bank?: Pick<BankOpenOptions, 'textIndex' | 'vectorIndex'>;
  /** Verify every pack file's sha256 on open (default true). */
  verifyHashes?: boolean;
  /** Warnings of the engine and its bank (default: none are shown). */
  log?: Logger;
}

export interface EngineMemorizeOptions extends MemorizeOptions {
  signal?: AbortSignal;
  /** After every file (memorized, unchanged, skipped or failed). */
  onProgress?: (p: MemorizeProgress) => void;
}

/** Skip codes that are errors (reported under `failed`), not decisions. */
const FAILURE_CODES = new Set<SkipReason>(['unreadable']);

const EXCERPT_CHARS = 300;
/** Chunks per compressor run: 54.6 ms/chunk at 4 vs 56.0 at 8, and 115 MiB less resident (docs/RESULTS.md, "Memory"). */
const DEFAULT_BATCH_SIZE = 4;
const openPacks = new Map<string, number>(); // pack dir -> open engines (session cache sharing)

function issue(p: string, code: SkipReason | string, detail?: string): FileIssue & { code: string } {
  return { path: p, code, reason: skipReasonText(code, detail) };
}

function checkAbort(signal?: AbortSignal, what = 'operation'): void {
  if (signal?.aborted) throw new CmtError('CANCELLED', `${what} cancelled`);
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function excerpt(text: string): string {
  const t = text.trim();
  return t.length <= EXCERPT_CHARS ? t : t.slice(0, EXCERPT_CHARS - 1) + '…';
}

interface PendingFile {
  rel: string;
  contentHash: string;
  mtimeMs: number;
  chunks: Chunk[];
}

/** What step 1 of a memorize found. */
interface MemorizeTargets {
  files: Map<string, WalkedFile>; // rel -> file
  /** Rel dirs ('' = root) walked in full: stale memories under them are pruned. */
  dirTargets: string[];
  /** Files named directly (gitignore does not apply to them). */
  explicit: Set<string>;
}

/** The settings, issues, counters and progress of one memorize, shared by its steps. */
class MemorizeRun {
  readonly root: string;
  readonly include: string[];
  readonly exclude: string[];
  readonly maxFileSize: number;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  readonly skipped: FileIssue[] = [];
  readonly failed: FileIssue[] = [];
  readonly seenIssue = new Set<string>();
  /** Files that are in the bank after this run (memorized/unchanged/failed). */
  readonly kept = new Set<string>();
  total = 0;
  done = 0;
  memorized = 0;
  unchanged = 0;
  chunksDone = 0;
  truncatedChunks = 0;

  constructor(
    settings: EngineSettings,
    readonly opts: EngineMemorizeOptions,
  ) {
    this.signal = opts.signal;
    this.root = path.resolve(opts.root ?? process.cwd());
    this.include = [...(settings.include ?? []), ...(opts.include ?? [])];
    this.exclude = [...(settings.exclude ?? []), ...(opts.exclude ?? [])];
    this.maxFileSize = opts.maxFileBytes ?? settings.maxFileBytes ?? DEFAULT_MAX_FILE_SIZE;
    this.batchSize = Math.max(1, settings.batchSize ?? DEFAULT_BATCH_SIZE);
  }

  report(i: FileIssue & { code: string }): void {
    if (this.seenIssue.has(i.path)) return;
    this.seenIssue.add(i.path);
    (FAILURE_CODES.has(i.code as SkipReason) ? this.failed : this.skipped).push(i);
  }

  progress(rel: string): void {
    this.done++;
    this.opts.onProgress?.({ done: this.done, total: this.total, path: rel });
  }
}

export class Engine {
  private closed = false;
  /** The pack's sentence embedder (null: the pack has none); its vectors fill the bank's `emb` column. */
  embedder: Embedder | null = null;
  private log: Logger = () => undefined;
  /** Serialises writes (memorize/forget/rename) so two callers never interleave on one file. */
  private readonly writes = new Serial();

  private constructor(
    readonly pack: Pack,
    readonly bank: MemoryBank,
    readonly compressor: Compressor,
    readonly aggregator: Aggregator,
    readonly decoder: Decoder,
    readonly bankUri: string,
    readonly settings: EngineSettings,
  ) {}

  static async open(opts: EngineOpenOptions): Promise<Engine> {
    const device = opts.device ?? 'auto';
    const pack = await loadPack(opts.packDir, { verifyHashes: opts.verifyHashes });
    const m = pack.manifest;
    const meta = { packId: m.packId, memorySlots: m.cmt.memorySlots, memoryDim: m.cmt.memoryDim, embedDim: m.embedder?.dim ?? 0 };
    const bank = await MemoryBank.open(opts.bankUri, meta, { ...(opts.bank ?? engineSwitches().bank), log: opts.log });
    openPacks.set(pack.dir, (openPacks.get(pack.dir) ?? 0) + 1);
    try {
      const [compressor, aggregator, decoder] = await Promise.all([
        Compressor.create(pack, device),
        // The reader (aggregator + decoder: ~280 MB resident) loads at the first question, so a
        // process that only memorizes never holds it.
        Aggregator.create(pack, device, { lazy: true }),
        Decoder.create(pack, device, { lazy: true }),
      ]);
      const engine = new Engine(pack, bank, compressor, aggregator, decoder, opts.bankUri, opts.settings ?? {});
      if (opts.log) engine.log = opts.log;
      engine.embedder = await Embedder.create(pack, device);
      return engine;
    } catch (e) {
      bank.close();
      await Engine.releasePack(pack.dir);
      throw e;
    }
  }

  private static async releasePack(dir: string): Promise<void> {
    const n = (openPacks.get(dir) ?? 1) - 1;
    if (n > 0) {
      openPacks.set(dir, n);
      return;
    }
    openPacks.delete(dir);
    await releaseSessions(dir + path.sep);
  }

  get packId(): string {
    return this.pack.manifest.packId;
  }
  get packName(): string {
    return this.pack.manifest.name;
  }
  /** Execution provider of the decoder (the heaviest graph), and what was tried. */
  get providerReport(): ProviderReport {
    const r = this.decoder.report ?? this.compressor.report;
    return r ? { provider: r.provider, tried: r.tried.map((t) => ({ ...t })) } : { provider: 'cpu', tried: [] };
  }

  private assertOpen(): void {
    if (this.closed) throw new CmtError('INTERNAL', 'engine is closed');
  }

  /** Token count exactly as the compressor sees a chunk (template and bos included). */
  private docTokens = (text: string): number => this.compressor.tokenize(text, 'document').length;

  // -------------------------------------------------------------------------------------------
  // memorize

  memorize(paths: string[], opts: EngineMemorizeOptions = {}): Promise<MemorizeSummary> {
    this.assertOpen();
    return this.writes.run(() => this.memorizeLocked(paths, opts));
  }

  /** One memorize, in three named steps: resolve the targets, store the files, prune stale memories. */
  private async memorizeLocked(paths: string[], opts: EngineMemorizeOptions): Promise<MemorizeSummary> {
    const t0 = Date.now();
    const run = new MemorizeRun(this.settings, opts);
    const targets = await this.resolveTargets(paths, run);
    await this.storeFiles(targets, run);
    const removed = await this.pruneStale(targets, run);
    return {
      memorized: run.memorized,
      unchanged: run.unchanged,
      skipped: run.skipped,
      failed: run.failed,
      chunks: run.chunksDone,
      truncatedChunks: run.truncatedChunks,
      removed,
      elapsedMs: Date.now() - t0,
    };
  }

  /** Step 1. Targets -> files to look at (workspace-relative), walking folders with the ignore rules. */
  private async resolveTargets(paths: string[], run: MemorizeRun): Promise<MemorizeTargets> {
    const { root, include, exclude, maxFileSize, signal, opts } = run;
    try {
      await fsp.access(root);
    } catch {
      throw new CmtError('BAD_INPUT', `workspace root not found: ${root}`);
    }
    const files = new Map<string, WalkedFile>(); // rel -> file
    const dirTargets: string[] = []; // rel dirs ('' = root) walked in full: stale memories under them are pruned
    const explicit = new Set<string>(); // files named directly (gitignore does not apply to them)
    for (const p of paths.length ? paths : ['.']) {
      checkAbort(signal, 'memorize');
      const abs = path.resolve(root, p);
      const rel = relativeInside(root, abs);
      if (rel === null) {
        run.report(issue(toPosix(p), 'outside the workspace root', root));
        continue;
      }
      let st: import('node:fs').Stats;
      try {
        st = await fsp.stat(abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        run.failed.push({ path: rel || '.', reason: code === 'ENOENT' ? 'not found' : `unreadable (${errMsg(e)})` });
        continue;
      }
      if (st.isDirectory()) {
        dirTargets.push(rel);
        const restrict = rel ? restrictTo(rel) : [];
        const prefix = rel ? rel + '/' : '';
        for await (const f of walkWorkspace(root, {
          include,
          exclude: [...restrict, ...exclude],
          maxFileSize,
          signal,
          onSkip: (r, reason) => {
            if (!prefix || (r.startsWith(prefix) && r !== prefix)) run.report(issue(r, reason));
          },
        })) {
          if (!prefix || f.relPath.startsWith(prefix)) files.set(f.relPath, f);
        }
      } else if (st.isFile()) {
        if (opts.respectGitignore && !isForceIncluded(rel, include) && (await isGitignored(root, rel))) {
          run.report(issue(rel, 'gitignored'));
          continue;
        }
        explicit.add(rel);
        files.set(rel, { absPath: abs, relPath: rel, size: st.size, mtimeMs: st.mtimeMs });
      } else {
        run.report(issue(rel, 'not-a-file'));
      }
    }
    return { files, dirTargets, explicit };
  }

  /** Step 2. Classify, skip unchanged, chunk; compress in batches across files (storeBatch). */
  private async storeFiles(targets: MemorizeTargets, run: MemorizeRun): Promise<void> {
    const { root, include, exclude, maxFileSize, signal, batchSize, opts } = run;
    const list = [...targets.files.values()].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
    run.total = list.length;
    let pending: PendingFile[] = [];
    let pendingChunks = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      pendingChunks = 0;
      await this.storeBatch(batch, run);
    };
    for (const f of list) {
      checkAbort(signal, 'memorize');
      const rel = f.relPath;
      const c = await classifyFile(f.absPath, targets.explicit.has(rel) ? { root, include, exclude, maxFileSize } : { maxFileSize });
      if (!c.ok) {
        run.report(issue(rel, c.reason, c.reason === 'too-large' || c.reason === 'unreadable' ? c.detail : undefined));
        if (c.reason === 'unreadable') run.kept.add(rel);
        run.progress(rel);
        continue;
      }
      const prev = await this.bank.fileState(rel);
      if (prev && prev.contentHash === c.contentHash && !opts.force) {
        run.unchanged++;
        run.kept.add(rel);
        run.progress(rel);
        continue;
      }
      let chunks: Chunk[];
      try {
        const defs = this.settings.syntaxChunks === false ? null : await definitionsOf(rel, c.text);
        chunks = chunkFile(rel, c.text, this.docTokens, this.pack.manifest.cmt.maxDocTokens, undefined, defs);
      } catch (e) {
        run.failed.push({ path: rel, reason: `could not chunk: ${errMsg(e)}` });
        run.kept.add(rel);
        run.progress(rel);
        continue;
      }
      if (chunks.length === 0) {
        run.report(issue(rel, 'empty'));
        run.progress(rel);
        continue;
      }
      pending.push({ rel, contentHash: c.contentHash, mtimeMs: c.mtimeMs, chunks });
      pendingChunks += chunks.length;
      if (pendingChunks >= batchSize * 4) await flush();
    }
    await flush();
  }

  /**
   * Compresses a batch of files and upserts them: one commit for the whole batch, else file by file
   * so one bad file cannot fail the others. Progress is reported only after a file is committed.
   */
  private async storeBatch(batch: PendingFile[], run: MemorizeRun): Promise<void> {
    const { batchSize, signal } = run;
    let results: CompressedChunk[][] | null = null;
    try {
      results = await this.compressFiles(batch, batchSize, signal);
    } catch (e) {
      if (e instanceof CmtError && e.code === 'CANCELLED') throw e;
      results = null; // retry file by file below, so one bad file cannot fail the others
    }
    const fatal = (e: unknown) =>
      e instanceof CmtError && (e.code === 'CANCELLED' || e.code === 'BANK_UNAVAILABLE' || e.code === 'BANK_PACK_MISMATCH');
    const couldNot = (f: PendingFile, e: unknown) => {
      run.failed.push({ path: f.rel, reason: `could not memorize: ${errMsg(e)}` });
      run.kept.add(f.rel); // keep whatever the bank had
      run.progress(f.rel);
    };
    const ready: Array<{ f: PendingFile; compressed: CompressedChunk[] }> = [];
    for (let i = 0; i < batch.length; i++) {
      const f = batch[i];
      try {
        const compressed = results ? results[i] : (await this.compressFiles([f], batchSize, signal))[0];
        ready.push({ f, compressed });
      } catch (e) {
        if (fatal(e)) throw e;
        couldNot(f, e);
      }
    }
    const stored = (r: { f: PendingFile; compressed: CompressedChunk[] }) => {
      run.truncatedChunks += r.compressed.filter((c) => (c as CompressedChunk & { truncated?: boolean }).truncated).length;
      run.memorized++;
      run.chunksDone += r.compressed.length;
      run.kept.add(r.f.rel);
      run.progress(r.f.rel);
    };
    let batched = false;
    if (ready.length > 1) {
      try {
        await this.bank.upsertFiles(ready.map((r) => ({ path: r.f.rel, contentHash: r.f.contentHash, mtimeMs: r.f.mtimeMs, chunks: r.compressed.map(stripExtra) })));
        batched = true;
      } catch (e) {
        if (fatal(e)) throw e;
      }
    }
    for (const r of ready) {
      if (batched) {
        stored(r);
        continue;
      }
      try {
        await this.bank.upsertFile(r.f.rel, r.f.contentHash, r.f.mtimeMs, r.compressed.map(stripExtra));
        stored(r);
      } catch (e) {
        if (fatal(e)) throw e;
        couldNot(r.f, e);
      }
    }
  }

  /** Step 3. Folders walked in full: memories of files that are gone (or now skipped) are stale. */
  private async pruneStale(targets: MemorizeTargets, run: MemorizeRun): Promise<number> {
    let removed = 0;
    if (targets.dirTargets.length === 0) return removed;
    const inBank = await this.bank.listFiles();
    for (const bf of inBank) {
      const under = targets.dirTargets.some((d) => d === '' || bf.path === d || bf.path.startsWith(d + '/'));
      if (!under || run.kept.has(bf.path)) continue;
      if (targets.files.has(bf.path) && !run.seenIssue.has(bf.path)) continue;
      checkAbort(run.signal, 'memorize');
      if (await this.bank.deleteFile(bf.path)) removed++;
    }
    if (removed > 0) await this.scrubOldVersions();
    return removed;
  }

  /** Compresses the chunks of several files in shared batches; result i = chunks of file i. */
  private async compressFiles(batch: PendingFile[], batchSize: number, signal?: AbortSignal): Promise<CompressedChunk[][]> {
    const all = batch.flatMap((f) => f.chunks);
    const res = await this.compressor.compress(
      all.map((c) => c.text),
      { kind: 'document', batchSize, signal },
    );
    const embs = this.embedder && this.bank.embedDim > 0 ? await this.embedder.embed(all.map((c) => embedTextOf(chunkHeader(c), c.text)), { batchSize, signal }) : null;
    const out: CompressedChunk[][] = [];
    let i = 0;
    for (const f of batch) {
      out.push(
        f.chunks.map((c) => {
          const emb = embs ? embs[i] : undefined;
          const r = res[i++];
          return { ...c, memory: r.memory, key: r.key, truncated: r.truncated, ...(emb ? { emb } : {}) } as CompressedChunk;
        }),
      );
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // ask

  /**
   * The retrieval of the ask path, shared with search: the question cut before control tokens and
   * to maxQuestionTokens, compressed (key + memory), embedded, and matched (fused top-K, match.ts).
   * topK defaults to the pack's (or the settings') topK and is clamped to [0, maxK].
   */
  private async retrieve(
    question: string,
    opts: { topK?: number; maxK: number; hybrid?: boolean; signal?: AbortSignal; what: 'question' | 'query' },
  ): Promise<{ text: string; questionTruncated?: AskResponse['questionTruncated']; q?: Awaited<ReturnType<Compressor['compressQuestion']>>; matched: MatchedMemory[] }> {
    if (typeof question !== 'string' || question.trim() === '') throw new CmtError('BAD_INPUT', `the ${opts.what} is empty`);
    const m = this.pack.manifest;
    const defaults = { ...m.defaults, ...(this.settings.ask ?? {}) } as typeof m.defaults & { hybrid?: boolean };
    const signal = opts.signal;

    // A question that writes control tokens is cut before them (tokenizer.questionPart).
    const asked = this.pack.tokenizer.questionPart(question.trim());
    if (asked.cut) this.log(`${opts.what} held chat control tokens: cut before the first of them`);
    // Over-long question: cut to maxQuestionTokens (compressor input, template and bos included).
    let text = asked.text;
    let questionTruncated: AskResponse['questionTruncated'];
    const maxQ = m.cmt.maxQuestionTokens;
    const qTokens = this.compressor.tokenize(text, 'question').length;
    if (qTokens > maxQ) {
      const overhead = this.compressor.tokenize('', 'question').length;
      const ids = this.pack.tokenizer.encode(text).slice(0, Math.max(1, maxQ - overhead));
      text = this.pack.tokenizer.decode(ids).trim();
      questionTruncated = { tokens: qTokens, maxQuestionTokens: maxQ };
      this.log(`${opts.what} has ${qTokens} tokens; cut to maxQuestionTokens=${maxQ}`);
    }

    const topK = Math.max(0, Math.min(Math.floor(opts.topK ?? defaults.topK), opts.maxK));
    checkAbort(signal, opts.what === 'question' ? 'ask' : 'search');
    const how = { topK, hybrid: opts.hybrid ?? defaults.hybrid ?? true, weights: fusionOf(m.retrieval) };
    // ask needs the compressed question (its memory slots feed the aggregator); a search only needs
    // its key, and only when the pack's fusion runs the key search (the default pack's does not).
    let q = opts.what === 'question' ? await this.compressor.compressQuestion(text, signal) : undefined;
    const qEmb = this.embedder && this.bank.embedDim > 0 ? await this.embedder.embedOne(text, signal) : undefined;
    if (!q && keySearchUsed(this.bank, { text, emb: qEmb }, how)) q = await this.compressor.compressQuestion(text, signal);
    const matched = await match(this.bank, { key: q?.key, text, emb: qEmb }, how);
    return { text, questionTruncated, q, matched };
  }

  /** The chunks a question retrieves, without an answer: exactly the ask path's retrieval (its citations at the same k). */
  async search(query: string, opts: { k?: number; hybrid?: boolean; signal?: AbortSignal } = {}): Promise<SearchResult> {
    this.assertOpen();
    const t0 = performance.now();
    const { matched, questionTruncated } = await this.retrieve(query, { topK: opts.k, maxK: MAX_SEARCH_K, hybrid: opts.hybrid, signal: opts.signal, what: 'query' });
    return {
      hits: matched.map((x) => ({
        path: x.record.path,
        startLine: x.record.startLine,
        endLine: x.record.endLine,
        score: x.score,
        text: x.record.text,
        ...(x.record.symbol ? { symbol: x.record.symbol } : {}),
      })),
      matchMs: Math.round((performance.now() - t0) * 10) / 10,
      ...(questionTruncated ? { questionTruncated } : {}),
    };
  }

  async ask(question: string, opts: AskOptions = {}): Promise<AskResponse> {
    this.assertOpen();
    const t0 = performance.now();
    const m = this.pack.manifest;
    const defaults = { ...m.defaults, ...(this.settings.ask ?? {}) } as typeof m.defaults & { hybrid?: boolean };
    const signal = opts.signal;
    const { text, questionTruncated, q: compressed, matched } = await this.retrieve(question, { topK: opts.topK, maxK: m.cmt.maxSelected, hybrid: opts.hybrid, signal, what: 'question' });
    const q = compressed!; // always compressed for a question (retrieve)
    const tMatch = performance.now();
    checkAbort(signal, 'ask');

    const mode = opts.answerMode ?? defaults.answerMode;
    const usesMemory = mode === 'memory' || mode === 'memory+chunk';
    const prefix = usesMemory
      ? await this.aggregator.aggregate(q.memory, matched.map((x) => x.record.memory), { signal })
      : null;
    const tAgg = performance.now();
    const rawText = mode === 'memory+chunk' || mode === 'top-chunk' ? matched.slice(0, defaults.contextChunks) : mode === 'rag' ? matched : [];
    const maxNew = opts.maxNewTokens ?? defaults.maxNewTokens;
    const promptIds = rawText.length
      ? this.decoder.buildContextPrompt(text, rawText.map((x) => x.record.text), m.baseModel.maxPositions - maxNew - (prefix?.length ?? 0))
      : this.decoder.buildPrompt(text);

    let tFirst = 0;
    const gen = await this.decoder.generate(promptIds, {
      prefix,
      maxNewTokens: maxNew,
      numBeams: opts.numBeams ?? defaults.numBeams,
      alpha: usesMemory ? opts.alpha ?? defaults.alpha : 0,
      // The memory-gain rule of grounding is for answers from memory alone: with the chunk's text in
      // the prompt the answer rightly does not depend on the prefix.
      measureMemoryGain: mode === 'memory',
      signal,
      onToken: (delta) => {
        if (!tFirst) tFirst = performance.now();
        opts.onToken?.(delta);
      },
    });
    const tEnd = performance.now();

    const citations: Citation[] = matched.map((x) => ({
      path: x.record.path,
      startLine: x.record.startLine,
      endLine: x.record.endLine,
      score: x.score,
      excerpt: excerpt(x.record.text),
    }));
    const grounding = groundAnswer({
      question: text,
      answer: gen.text,
      sources: matched.map((x) => ({ path: x.record.path, startLine: x.record.startLine, text: x.record.text })),
      memoryGain: gen.memoryGain ?? null,
      confidence: gen.score,
      minConfidence: defaults.minAnswerConfidence?.[mode] ?? null,
      promptText: promptOwnText(m.prompt),
    });
    const r = (v: number) => Math.round(v * 10) / 10;
    return {
      answer: gen.text,
      citations,
      grounding,
      timings: {
        matchMs: r(tMatch - t0),
        aggregateMs: r(tAgg - tMatch),
        firstTokenMs: r((tFirst || tEnd) - t0),
        totalMs: r(tEnd - t0),
      },
      ...(questionTruncated ? { questionTruncated } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // forget / rename / status / close

  /** Removes a file's memories, or every file's under a folder path. */
  forget(p: string): Promise<ForgetResult> {
    this.assertOpen();
    return this.writes.run(async () => {
      const key = normalizeRel(p);
      let removed = 0;
      for (const f of await this.bank.listFiles()) {
        if (key === '' || f.path === key || f.path.startsWith(key + '/')) {
          if (await this.bank.deleteFile(f.path)) removed += f.chunks;
        }
      }
      if (removed > 0) await this.scrubOldVersions();
      return { removed };
    });
  }

  /** Moves a file's memories (or a folder's) to a new path, without recompressing. */
  rename(from: string, to: string): Promise<RenameResult> {
    this.assertOpen();
    return this.writes.run(async () => {
      const a = normalizeRel(from);
      const b = normalizeRel(to);
      if (!a || !b) throw new CmtError('BAD_INPUT', 'rename needs two non-empty workspace-relative paths');
      if (a === b) return { renamed: 0 };
      let renamed = 0;
      for (const f of await this.bank.listFiles()) {
        let target: string | null = null;
        if (f.path === a) target = b;
        else if (f.path.startsWith(a + '/')) target = b + f.path.slice(a.length);
        if (target !== null && (await this.bank.renameFile(f.path, target))) renamed += f.chunks;
      }
      return { renamed };
    });
  }

  /**
   * LanceDB keeps every table version: rows deleted by forget/pruning stay readable on disk in older
   * versions until compaction. Forgetting must really forget (a removed .env must not linger), so
   * compact and drop the old versions now. A failure (e.g. disk full) is logged, not thrown.
   */
  private async scrubOldVersions(): Promise<void> {
    try {
      await this.bank.compact(new Date(Date.now() + 1000));
    } catch (e) {
      this.log(`could not compact the bank after removing memories: ${errMsg(e)}`);
    }
  }

  async status(): Promise<StatusResult> {
    this.assertOpen();
    const s = await this.bank.stats();
    const pr = this.providerReport;
    return {
      packId: this.packId,
      packName: this.packName,
      provider: pr.provider,
      providerReport: pr,
      memories: s.memories,
      files: s.files,
      bytesOnDisk: s.bytesOnDisk,
      bankUri: this.bankUri,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes.run(async () => undefined); // let a running write finish
    try {
      this.bank.close();
    } finally {
      await Engine.releasePack(this.pack.dir);
    }
  }
}

function stripExtra(c: CompressedChunk): CompressedChunk {
  return {
    path: c.path,
    startLine: c.startLine,
    endLine: c.endLine,
    text: c.text,
    memory: c.memory,
    key: c.key,
    ...(c.emb ? { emb: c.emb } : {}),
    ...(c.symbol ? { symbol: c.symbol } : {}),
    ...(c.defines ? { defines: c.defines } : {}),
  };
}

/**
 * gitignore-syntax patterns that exclude everything except the folder `rel` (e.g. 'a/b'):
 * '/*', '!/a/', '/a/*', '!/a/b/'. Put BEFORE user excludes so those still apply inside.
 */
export function restrictTo(rel: string): string[] {
  const parts = rel.split('/').filter(Boolean);
  const out: string[] = [];
  let base = '';
  for (const part of parts) {
    out.push(`/${base}*`, `!/${base}${escapeGlob(part)}/`);
    base += `${escapeGlob(part)}/`;
  }
  return out;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\!#]/g, (c) => `\\${c}`);
}
