// A fake engine and a controller wired to it (stub `vscode`), for the extension's unit tests.
import { config, extensionContext, openFolders } from './vscodeStub';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineClientOptions } from '../../src/core/client';
import type { AskRequestOptions, AskResponse, InitializeResult, MemorizeParams, MemorizeSummary, ProgressParams, SearchParams, SearchResult, StatusResult } from '../../src/core/protocol';
import { CmtError } from '../../src/core/types';
import { EngineLike, MemoryController } from '../../src/extension/controller';
import { StatusLog } from '../../src/extension/statusLog';

export const REPO = path.resolve(__dirname, '..', '..', '..'); // out/test/extension -> repo
export const TINY = path.join(REPO, 'test', 'fixtures', 'tiny-pack');

/** An engine that keeps a memory count and answers memorize/status like the real one. */
export class FakeEngine extends EventEmitter {
  state: EngineLike['state'] = 'idle';
  initializeResult: InitializeResult | undefined;
  memories = 2;
  files = 1;
  memorizeCalls: MemorizeParams[] = [];
  running = 0;
  maxRunning = 0;
  failStart: CmtError | undefined;
  constructor(readonly opts: EngineClientOptions) {
    super();
  }
  async start(): Promise<InitializeResult> {
    if (this.failStart) throw this.failStart;
    this.state = 'ready';
    this.initializeResult = { protocolVersion: 1, packId: 'fake', packName: 'Fake pack', provider: 'cpu', providerReport: { provider: 'cpu', tried: [] }, pid: 1 };
    return this.initializeResult;
  }
  async reinitialize(): Promise<InitializeResult> {
    return this.start();
  }
  async status(): Promise<StatusResult> {
    return { packId: 'fake', packName: 'Fake pack', provider: 'cpu', providerReport: { provider: 'cpu', tried: [] }, memories: this.memories, files: this.files, bytesOnDisk: 0, bankUri: '' };
  }
  async memorize(params: Omit<MemorizeParams, 'requestId'>, opts: { onProgress?: (p: ProgressParams) => void } = {}): Promise<MemorizeSummary> {
    this.memorizeCalls.push(params);
    this.maxRunning = Math.max(this.maxRunning, ++this.running);
    await new Promise((r) => setTimeout(r, 10));
    const n = params.paths.length;
    for (let i = 1; i <= n; i++) opts.onProgress?.({ done: i, total: n, path: `f${i}` });
    this.memories += 3 * n;
    this.files += n;
    this.running--;
    return { memorized: n, unchanged: 0, skipped: [], failed: [], chunks: 3 * n, elapsedMs: 10 };
  }
  async forget(): Promise<{ removed: number }> {
    return { removed: 0 };
  }
  async rename(): Promise<{ renamed: number }> {
    return { renamed: 0 };
  }
  /** Every search: the query and its options. */
  searchCalls: Array<{ query: string } & Omit<SearchParams, 'query'>> = [];
  /** a.md lines 1-3 (and b.md 4-6 for k >= 2); nothing when the bank is empty. */
  async search(query: string, options: Omit<SearchParams, 'query'> = {}): Promise<SearchResult> {
    this.searchCalls.push({ query, ...options });
    if (this.memories === 0) return { hits: [], matchMs: 1 };
    const hits = [
      { path: 'a.md', startLine: 1, endLine: 3, score: 0.9, text: 'db:\n  port: 5432\n  name: tirguri', symbol: 'db' },
      { path: 'b.md', startLine: 4, endLine: 6, score: 0.5, text: 'other' },
    ];
    return { hits: hits.slice(0, options.k ?? 1), matchMs: 1 };
  }
  /** Every ask: the question and the options it was asked with. */
  askCalls: Array<{ question: string; options: AskRequestOptions }> = [];
  /** Streams `answer` word by word, cites a.md lines 1-3, and says it was found there. */
  answer = 'port 5432';
  async ask(q: string, o: AskRequestOptions = {}, opts: { onToken?: (t: string) => void } = {}): Promise<AskResponse> {
    this.askCalls.push({ question: q, options: o });
    for (const w of this.answer.split(/(?= )/)) opts.onToken?.(w);
    return {
      answer: this.answer,
      citations: [{ path: 'a.md', startLine: 1, endLine: 3, score: 0.9, excerpt: 'x'.repeat(500) }],
      timings: { matchMs: 1, aggregateMs: 1, firstTokenMs: 1, totalMs: 2 },
      grounding: { verdict: 'found', reason: 'in-source', message: 'Found in your files.', quotes: [{ path: 'a.md', line: 2, text: 'port: 5432', citation: 0 }], coverage: 1, memoryGain: 0.5 },
    };
  }
  async shutdown(): Promise<void> {
    this.state = 'disposed';
  }
  dispose(): void {
    this.state = 'disposed';
  }
}

/** `pack: null` leaves cmtMemory.packPath unset (the default pack); `extensionPath` defaults to the repository. */
export function setup(opts: { pack?: string | null; extensionPath?: string } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-ctrl-'));
  const ws = path.join(tmp, 'ws');
  fs.mkdirSync(ws);
  openFolders(ws);
  config.cmtMemory = opts.pack === null ? {} : { packPath: opts.pack ?? TINY };
  const engines: FakeEngine[] = [];
  const ctx = extensionContext(opts.extensionPath ?? REPO, path.join(tmp, 'storage'));
  const ctrl = new MemoryController(
    ctx as never,
    new StatusLog(),
    { appendLine: () => undefined },
    (o) => {
      const e = new FakeEngine(o);
      engines.push(e);
      return e as unknown as EngineLike;
    },
  );
  const cleanup = async () => {
    await ctrl.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  return { ctrl, ctx, ws, tmp, engines, cleanup };
}

