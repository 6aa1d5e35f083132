// The controller (src/extension/controller.ts) against a fake engine and a stub `vscode`: no engine
// process, no editor. node --test out/test/extension/controller.test.js
import { config, extensionContext, openFolders } from './vscodeStub';
import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { EngineClientOptions } from '../../src/core/client';
import type { InitializeResult, MemorizeParams, MemorizeSummary, ProgressParams, StatusResult } from '../../src/core/protocol';
import { CmtError } from '../../src/core/types';
import { EngineLike, MemoryController } from '../../src/extension/controller';
import { StatusLog } from '../../src/extension/statusLog';

const REPO = path.resolve(__dirname, '..', '..', '..'); // out/test/extension -> repo
const TINY = path.join(REPO, 'test', 'fixtures', 'tiny-pack');

/** An engine that keeps a memory count and answers memorize/status like the real one. */
class FakeEngine extends EventEmitter {
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
    for (let i = 1; i <= n; i++) opts.onProgress?.({ done: i, total: n, path: `f${i}` } as ProgressParams);
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
  async ask(): Promise<never> {
    throw new Error('not used here');
  }
  async shutdown(): Promise<void> {
    this.state = 'disposed';
  }
  dispose(): void {
    this.state = 'disposed';
  }
}

function setup(opts: { pack?: string } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-ctrl-'));
  const ws = path.join(tmp, 'ws');
  fs.mkdirSync(ws);
  openFolders(ws);
  config.cmtMemory = { packPath: opts.pack ?? TINY };
  const engines: FakeEngine[] = [];
  const ctrl = new MemoryController(
    extensionContext(REPO, path.join(tmp, 'storage')) as never,
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
  return { ctrl, ws, engines, cleanup };
}

test('start: the engine starts with the pack and bank from the settings; the counts are read', async () => {
  const { ctrl, engines, cleanup } = setup();
  try {
    await ctrl.start();
    assert.equal(engines.length, 1);
    assert.equal(engines[0].opts.init.packDir, TINY);
    assert.equal(ctrl.state.phase, 'ready');
    assert.equal(ctrl.state.packName, 'Fake pack');
    assert.equal(ctrl.state.memories, 2);
  } finally {
    await cleanup();
  }
});

test('counts are fresh when a memorize resolves (sidebar and status bar; was "2 memories" after 2,023 files)', async () => {
  const { ctrl, ws, cleanup } = setup();
  try {
    await ctrl.start();
    const seen: (number | undefined)[] = [];
    ctrl.onDidChangeState((s) => seen.push(s.memories));
    const { summary } = await ctrl.memorize([path.join(ws, 'a.md'), path.join(ws, 'b.md')], { trigger: 'command' });
    assert.equal(summary.memorized, 2);
    assert.equal(ctrl.state.memories, 8, 'the count is refreshed before memorize resolves');
    assert.equal(ctrl.state.indexing, null);
    assert.ok(seen.includes(8));
  } finally {
    await cleanup();
  }
});

test('memorizes run one at a time; paths outside every workspace folder are left out', async () => {
  const { ctrl, ws, engines, cleanup } = setup();
  try {
    await ctrl.start();
    await Promise.all([
      ctrl.memorize([path.join(ws, 'a.md')], { trigger: 'command' }),
      ctrl.memorize([path.join(ws, 'b.md'), path.join(os.tmpdir(), 'elsewhere.md')], { trigger: 'watch' }),
    ]);
    const e = engines[0];
    assert.equal(e.maxRunning, 1);
    assert.deepEqual(e.memorizeCalls.map((c) => c.paths.map((p) => path.basename(p))), [['a.md'], ['b.md']]);
    assert.deepEqual(e.memorizeCalls.map((c) => !!c.respectGitignore), [false, true], 'watcher saves honour .gitignore');
  } finally {
    await cleanup();
  }
});

test('a pack the engine refuses puts the view in the noPack state with the reason', async () => {
  const { ctrl, cleanup } = setup();
  try {
    // the fake refuses on its first start
    const c = ctrl as unknown as { makeEngine: (o: EngineClientOptions) => EngineLike };
    const make = c.makeEngine;
    c.makeEngine = (o) => {
      const e = make(o) as unknown as FakeEngine;
      e.failStart = new CmtError('PACK_CORRUPT', 'pack.json is not valid JSON');
      return e as unknown as EngineLike;
    };
    await ctrl.start();
    assert.equal(ctrl.state.phase, 'noPack');
    assert.match(ctrl.state.detail ?? '', /not valid JSON/);
  } finally {
    await cleanup();
  }
});

test('no pack folder: noPack without starting an engine', async () => {
  const { ctrl, engines, cleanup } = setup({ pack: path.join(os.tmpdir(), 'no-such-pack-dir') });
  try {
    await ctrl.start();
    assert.equal(ctrl.state.phase, 'noPack');
    assert.match(ctrl.state.detail ?? '', /No model pack at/);
    assert.equal(engines.length, 0);
  } finally {
    await cleanup();
  }
});
