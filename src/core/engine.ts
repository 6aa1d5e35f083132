// The CMT engine, in-process: memorize files into the memory bank, answer questions from it.
// Used by the engine process (server.ts), tests and tools. Loads native modules (onnxruntime,
// LanceDB): UIs should run it in a child process through EngineClient (client.ts).
// A facade: it opens the pack, the bank and the graphs, serialises the writes, and hands the work
// to the pipelines: memorize.ts (memorize) and ask.ts (ask, search); forget, rename and status are here.
import * as path from 'node:path';
import { Aggregator } from './aggregate';
import { ask, AskContext, search } from './ask';
import { BankOpenOptions, MemoryBank } from './bank';
import { BankAccess, connectOptionsFor, displayUri, replicaDirFor } from './bankStore';
import { Compressor } from './compress';
import { Decoder } from './decode';
import { Embedder } from './embed';
import { EngineMemorizeOptions, MemorizeContext, Memorizer } from './memorize';
import { loadPack, Pack } from './pack';
import { normalizeRel } from './paths';
import { engineSwitches } from './processEnv';
import { releaseSessions } from './runtime';
import { Serial } from './serial';
import {
  AskOptions,
  AskResponse,
  CmtError,
  Device,
  EngineSettings,
  errorMessage,
  ForgetResult,
  Logger,
  MemorizeSummary,
  ProviderReport,
  RenameResult,
  SearchOptions,
  SearchResult,
  StatusResult,
} from './types';

export type { EngineMemorizeOptions };

export interface EngineOpenOptions {
  packDir: string;
  bankUri: string;
  device?: Device;
  settings?: EngineSettings;
  /** The bank's index options (default: as the environment sets them, processEnv.ts engineSwitches). */
  bank?: Pick<BankOpenOptions, 'textIndex' | 'vectorIndex'>;
  /** Read-only, endpoint, region (bankStore.ts; credentials come from the standard places, never from here). */
  access?: BankAccess;
  /** Verify every pack file's sha256 on open (default true). */
  verifyHashes?: boolean;
  /** Warnings of the engine and its bank (default: none are shown). */
  log?: Logger;
}

const openPacks = new Map<string, number>(); // pack dir -> open engines (session cache sharing)

export class Engine {
  private closed = false;
  /** The pack's sentence embedder (null: the pack has none); its vectors fill the bank's `emb` column. */
  embedder: Embedder | null = null;
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
    private readonly log: Logger,
  ) {}

  static async open(opts: EngineOpenOptions): Promise<Engine> {
    const device = opts.device ?? 'auto';
    const pack = await loadPack(opts.packDir, { verifyHashes: opts.verifyHashes });
    const m = pack.manifest;
    const meta = { packId: m.packId, memorySlots: m.cmt.memorySlots, memoryDim: m.cmt.memoryDim, embedDim: m.embedder?.dim ?? 0 };
    const access = opts.access ?? {};
    const connectOptions = connectOptionsFor(opts.bankUri, access);
    const replicaDir = replicaDirFor(opts.bankUri, access) ?? undefined;
    const bank = await MemoryBank.open(opts.bankUri, meta, { ...(opts.bank ?? engineSwitches().bank), readOnly: access.readOnly, connectOptions, replicaDir, log: opts.log });
    if (access.readOnly) await Engine.checkConsumer(bank, opts.bankUri, connectOptions);
    openPacks.set(pack.dir, (openPacks.get(pack.dir) ?? 0) + 1);
    try {
      const [compressor, aggregator, decoder] = await Promise.all([
        Compressor.create(pack, device),
        // The reader (aggregator + decoder: ~280 MB resident) loads at the first question, so a
        // process that only memorizes never holds it.
        Aggregator.create(pack, device, { lazy: true }),
        Decoder.create(pack, device, { lazy: true }),
      ]);
      const engine = new Engine(pack, bank, compressor, aggregator, decoder, opts.bankUri, opts.settings ?? {}, opts.log ?? (() => undefined));
      engine.embedder = await Embedder.create(pack, device);
      return engine;
    } catch (e) {
      bank.close();
      await Engine.releasePack(pack.dir);
      throw e;
    }
  }

  /** A read-only consumer of a bank that only other packs wrote would answer from nothing: say which pack to use. */
  private static async checkConsumer(bank: MemoryBank, uri: string, connectOptions: BankOpenOptions['connectOptions']): Promise<void> {
    if ((await bank.countRows()) > 0) return;
    const others = (await MemoryBank.listPacks(uri, connectOptions)).filter((p) => p.packId !== bank.meta.packId);
    if (others.length === 0) return;
    bank.close();
    const names = others.map((p) => p.packId).join(', ');
    throw new CmtError('BANK_PACK_MISMATCH', `the memory bank ${displayUri(uri)} was written by another pack (${names}), not by ${bank.meta.packId}. Fix: use the pack it was written with (--pack / cmtMemory.packPath)`);
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

  /** memorize, forget and rename: not on a read-only bank (the error says how to write). */
  private assertWritable(): void {
    this.assertOpen();
    if (this.bank.readOnly) {
      throw new CmtError('BANK_UNAVAILABLE', `the memory bank ${displayUri(this.bankUri)} is open read-only (--read-only / CMT_BANK_READ_ONLY=1 / cmtMemory.bankReadOnly): memorize and forget need a writer`);
    }
  }

  /** What the ask and search pipelines use (the embedder as it is now: a caller may turn it off). */
  private get askContext(): AskContext {
    const { pack, bank, compressor, aggregator, decoder, embedder, settings, log } = this;
    return { pack, bank, compressor, aggregator, decoder, embedder, settings, log };
  }

  /** What the memorize pipeline uses. */
  private get memorizeContext(): MemorizeContext {
    const { pack, bank, compressor, embedder, settings } = this;
    return { pack, bank, compressor, embedder, settings, scrub: () => this.scrubOldVersions() };
  }

  /** Memorizes files and folders (memorize.ts); one memorize, forget or rename at a time. */
  memorize(paths: string[], opts: EngineMemorizeOptions = {}): Promise<MemorizeSummary> {
    this.assertWritable();
    return this.writes.run(async () => {
      const summary = await new Memorizer(this.memorizeContext).memorize(paths, opts);
      if (this.bank.isShared) await this.publishIndexes();
      return summary;
    });
  }

  /** The chunks a question retrieves, without an answer: exactly the ask path's retrieval (ask.ts). */
  async search(query: string, opts: SearchOptions & { signal?: AbortSignal } = {}): Promise<SearchResult> {
    this.assertOpen();
    return search(this.askContext, query, opts);
  }

  /** An answer from the memories, with its citations and grounding verdict (ask.ts). */
  async ask(question: string, opts: AskOptions = {}): Promise<AskResponse> {
    this.assertOpen();
    return ask(this.askContext, question, opts);
  }

  // -------------------------------------------------------------------------------------------
  // forget / rename / status / close

  /** Removes a file's memories, or every file's under a folder path. */
  forget(p: string): Promise<ForgetResult> {
    this.assertWritable();
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
    this.assertWritable();
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
   * A shared bank's readers never write, so the writer leaves the indexes built: the full-text
   * indexes now, and the ANN index if one is due (a CI job must not exit before it is committed).
   */
  private async publishIndexes(): Promise<void> {
    try {
      await this.bank.refreshTextIndex();
      await this.bank.whenIndexed();
    } catch (e) {
      this.log(`could not build the shared bank's indexes (readers search unindexed rows meanwhile): ${errorMessage(e)}`);
    }
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
      this.log(`could not compact the bank after removing memories: ${errorMessage(e)}`);
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
      bankUri: displayUri(this.bankUri),
      readOnly: this.bank.readOnly,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes.run(() => Promise.resolve()); // let a running write finish
    try {
      this.bank.close();
    } finally {
      await Engine.releasePack(this.pack.dir);
    }
  }
}
