// The memorize pipeline (Engine.memorize), in three steps: resolve the targets (files.ts walks
// folders with the ignore rules), store the files (classify, skip unchanged, chunk.ts chunks to the
// pack's maxDocTokens, template and bos included; compress.ts compresses in batches across files;
// bank.ts upserts them), prune the memories of files gone from a folder memorized in full.
// Unchanged files (same sha256 as stored) cost a read and a hash, no compression. Every skipped file
// is reported with its reason; a failing file is reported and the rest go on.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { MemoryBank } from './bank';
import { chunkFile, chunkHeader } from './chunk';
import type { Compressor } from './compress';
import { Embedder, embedTextOf } from './embed';
import { classifyFile } from './classify';
import { DEFAULT_MAX_FILE_SIZE, isForceIncluded, isGitignored, SkipReason, skipReasonText } from './files';
import type { Pack } from './pack';
import { relativeInside, toPosix } from './paths';
import { definitionsOf } from './syntax';
import { walkWorkspace, WalkedFile } from './walk';
import { checkAbort, Chunk, CmtError, CompressedChunk, EngineSettings, errorMessage, FileIssue, MemorizeOptions, MemorizeProgress, MemorizeSummary } from './types';

export interface EngineMemorizeOptions extends MemorizeOptions {
  signal?: AbortSignal;
  /** After every file (memorized, unchanged, skipped or failed). */
  onProgress?: (p: MemorizeProgress) => void;
}

/** What a memorize uses of the engine. */
export interface MemorizeContext {
  pack: Pack;
  bank: MemoryBank;
  compressor: Compressor;
  /** The pack's sentence embedder (null: none); its vectors fill the bank's `emb` column. */
  embedder: Embedder | null;
  settings: EngineSettings;
  /** Compacts the bank after memories were removed (forgetting must really forget: Engine.scrubOldVersions). */
  scrub(): Promise<void>;
}

/** Skip codes that are errors (reported under `failed`), not decisions. */
const FAILURE_CODES = new Set<SkipReason>(['unreadable']);

/** Chunks per compressor run: 54.6 ms/chunk at 4 vs 56.0 at 8, and 115 MiB less resident (docs/RESULTS.md, "Memory"). */
const DEFAULT_BATCH_SIZE = 4;

/** `code`: a SkipReason, or a message of its own (e.g. 'outside the workspace root'). */
function issue(p: string, code: string, detail?: string): FileIssue & { code: string } {
  return { path: p, code, reason: skipReasonText(code, detail) };
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

/** Memorizes files for one engine (Engine.memorize runs one at a time). */
export class Memorizer {
  constructor(private readonly ctx: MemorizeContext) {}

  /** Token count exactly as the compressor sees a chunk (template and bos included). */
  private docTokens = (text: string): number => this.ctx.compressor.tokenize(text, 'document').length;

  /** One memorize, in three named steps: resolve the targets, store the files, prune stale memories. */
  async memorize(paths: string[], opts: EngineMemorizeOptions): Promise<MemorizeSummary> {
    const t0 = Date.now();
    const run = new MemorizeRun(this.ctx.settings, opts);
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
        run.failed.push({ path: rel || '.', reason: code === 'ENOENT' ? 'not found' : `unreadable (${errorMessage(e)})` });
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
      const prev = await this.ctx.bank.fileState(rel);
      if (prev && prev.contentHash === c.contentHash && !opts.force) {
        run.unchanged++;
        run.kept.add(rel);
        run.progress(rel);
        continue;
      }
      let chunks: Chunk[];
      try {
        const defs = this.ctx.settings.syntaxChunks === false ? null : await definitionsOf(rel, c.text);
        chunks = chunkFile(rel, c.text, this.docTokens, this.ctx.pack.manifest.cmt.maxDocTokens, undefined, defs);
      } catch (e) {
        run.failed.push({ path: rel, reason: `could not chunk: ${errorMessage(e)}` });
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
      run.failed.push({ path: f.rel, reason: `could not memorize: ${errorMessage(e)}` });
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
        await this.ctx.bank.upsertFiles(ready.map((r) => ({ path: r.f.rel, contentHash: r.f.contentHash, mtimeMs: r.f.mtimeMs, chunks: r.compressed.map(stripExtra) })));
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
        await this.ctx.bank.upsertFile(r.f.rel, r.f.contentHash, r.f.mtimeMs, r.compressed.map(stripExtra));
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
    const inBank = await this.ctx.bank.listFiles();
    for (const bf of inBank) {
      const under = targets.dirTargets.some((d) => d === '' || bf.path === d || bf.path.startsWith(d + '/'));
      if (!under || run.kept.has(bf.path)) continue;
      if (targets.files.has(bf.path) && !run.seenIssue.has(bf.path)) continue;
      checkAbort(run.signal, 'memorize');
      if (await this.ctx.bank.deleteFile(bf.path)) removed++;
    }
    if (removed > 0) await this.ctx.scrub();
    return removed;
  }

  /** Compresses the chunks of several files in shared batches; result i = chunks of file i. */
  private async compressFiles(batch: PendingFile[], batchSize: number, signal?: AbortSignal): Promise<CompressedChunk[][]> {
    const all = batch.flatMap((f) => f.chunks);
    const res = await this.ctx.compressor.compress(
      all.map((c) => c.text),
      { kind: 'document', batchSize, signal },
    );
    const embs = this.ctx.embedder && this.ctx.bank.embedDim > 0 ? await this.ctx.embedder.embed(all.map((c) => embedTextOf(chunkHeader(c), c.text)), { batchSize, signal }) : null;
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
