// A fresh memory bank in a scratch workspace, on the real engine: documents are written as files and
// memorized through Engine.memorize. Shared by `cmt eval` (which answers questions over it) and
// `cmt bench` (which times it).
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../core/engine';
import type { EngineSettings } from '../core/protocol';
import type { Device, MemoryRecord } from '../core/types';
import type { EvalDocument } from './dataset';
import { now } from './stats';

export interface MemorizeStats {
  documents: number;
  memorized: number;
  skipped: number;
  failed: number;
  chunks: number;
  wallMs: number;
}

/** One fresh bank + scratch workspace, on the real engine. */
export class ScratchBank {
  protected written = new Map<string, string>(); // doc id -> rel path

  constructor(
    readonly engine: Engine,
    readonly dir: string,
    readonly workspace: string,
  ) {}

  static async open<T extends ScratchBank>(
    this: new (engine: Engine, dir: string, workspace: string) => T,
    packDir: string,
    device: Device = 'cpu',
    batchSize = 8,
    settings: EngineSettings = {},
  ): Promise<T> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-eval-'));
    const workspace = path.join(dir, 'ws');
    await fsp.mkdir(workspace, { recursive: true });
    const engine = await Engine.open({ packDir, bankUri: path.join(dir, 'bank'), device, verifyHashes: false, settings: { ...settings, batchSize }, log: (m) => void process.stderr.write(`[cmt] ${m}\n`) });
    return new this(engine, dir, workspace);
  }

  pathOf(docId: string): string | undefined {
    return this.written.get(docId);
  }

  /** Streams documents in: written as files, memorized (force) through Engine.memorize. */
  async add(docs: EvalDocument[], prefix = ''): Promise<MemorizeStats> {
    const t0 = now();
    const rels: string[] = [];
    for (const d of docs) {
      const rel = prefix + d.path;
      const abs = path.join(this.workspace, rel);
      await fsp.mkdir(path.dirname(abs), { recursive: true });
      await fsp.writeFile(abs, d.text, 'utf8');
      this.written.set(d.id, rel);
      rels.push(rel);
    }
    let memorized = 0;
    let skipped = 0;
    let failed = 0;
    let chunks = 0;
    for (let i = 0; i < rels.length; i += 64) {
      const s = await this.engine.memorize(rels.slice(i, i + 64), { root: this.workspace, include: ['*'], force: true });
      memorized += s.memorized;
      skipped += s.skipped.length;
      failed += s.failed.length;
      chunks += s.chunks;
    }
    await this.engine.bank.refreshTextIndex();
    return { documents: docs.length, memorized, skipped, failed, chunks, wallMs: now() - t0 };
  }

  async memories(): Promise<number> {
    return this.engine.bank.countRows();
  }

  async close(): Promise<void> {
    await this.engine.close();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  /** Tokens of the RAG prompt: the best chunks in the pack's context template, cut to the budget. */
  ragPrompt(question: string, chunks: MemoryRecord[], budget: number): number[] {
    return this.engine.decoder.buildContextPrompt(question, chunks.map((c) => c.text), budget);
  }
}

/**
 * Memorizes `docs` into a fresh scratch bank, then removes it: the memorize stats plus the time spent
 * in the sentence embedder. `embedder: false` memorizes with the same pack's embedder switched off,
 * as a pack without one does (the with/without comparison of `cmt eval --embedder-cost` and
 * `cmt bench --sections embedder`).
 */
export async function memorizeFresh(
  packDir: string,
  docs: EvalDocument[],
  o: { device?: Device; embedder: boolean },
): Promise<MemorizeStats & { embedderMs: number }> {
  const bank = await ScratchBank.open(packDir, o.device);
  try {
    if (!o.embedder) bank.engine.embedder = null;
    const e0 = bank.engine.embedder?.totalMs ?? 0;
    const s = await bank.add(docs);
    return { ...s, embedderMs: (bank.engine.embedder?.totalMs ?? 0) - e0 };
  } finally {
    await bank.close();
  }
}
