// Faults (issue 6): kill -9 mid-memorize, broken packs, a bank of another pack, a full disk,
// LanceDB/onnxruntime that cannot load, restarts with backoff. Each case: a clear error, no
// corruption, and the caller keeps working. Outcomes are listed in docs/RELIABILITY.md.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryBank } from '../../src/core/bank';
import { EngineClient, EngineClientOptions } from '../../src/core/client';
import type { InitializeParams } from '../../src/core/protocol';
import { CmtError } from '../../src/core/types';
import { within } from '../helpers';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');
const PACK_META = JSON.parse(fs.readFileSync(path.join(PACK, 'pack.json'), 'utf8')) as {
  packId: string;
  cmt: { memorySlots: number; memoryDim: number };
};
const META = { packId: PACK_META.packId, memorySlots: PACK_META.cmt.memorySlots, memoryDim: PACK_META.cmt.memoryDim };

let tmp: string;
const clients: EngineClient[] = [];

function client(init: Partial<InitializeParams> & { bankUri: string }, extra: Partial<EngineClientOptions> = {}): EngineClient {
  const c = new EngineClient({
    init: { packDir: PACK, device: 'cpu', ...init },
    backoffInitialMs: 100,
    backoffMaxMs: 800,
    ...extra,
  });
  clients.push(c);
  return c;
}

function write(root: string, rel: string, text: string | Buffer): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
}


async function rejectsCode(p: Promise<unknown>, code: string, bound = 15_000): Promise<CmtError> {
  let err: CmtError | undefined;
  await assert.rejects(within(bound, p, `request expected to fail with ${code}`), (e: unknown) => {
    assert.ok(e instanceof CmtError, `expected CmtError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    err = e;
    return true;
  });
  return err!;
}

/** Reads a bank from this process; checks: ids unique, one content hash per file. */
async function inspectBank(uri: string, meta = META): Promise<Map<string, { rows: number; hash: string; ranges: Array<[number, number]> }>> {
  const b = await MemoryBank.open(uri, meta, { readOnly: true });
  try {
    const table = (b as unknown as { table: { query(): { select(c: string[]): { toArray(): Promise<Record<string, unknown>[]> } } } | null }).table;
    const out = new Map<string, { rows: number; hash: string; ranges: Array<[number, number]> }>();
    if (!table) return out;
    const rows = await table.query().select(['id', 'path', 'content_hash', 'start_line', 'end_line']).toArray();
    const ids = new Set<string>();
    for (const r of rows) {
      const id = String(r.id);
      assert.ok(!ids.has(id), `duplicate id ${id}`);
      ids.add(id);
      const p = String(r.path);
      const e = out.get(p) ?? { rows: 0, hash: String(r.content_hash), ranges: [] };
      assert.equal(e.hash, String(r.content_hash), `${p}: rows from two versions`);
      e.rows++;
      e.ranges.push([Number(r.start_line), Number(r.end_line)]);
      out.set(p, e);
    }
    for (const [p, e] of out) {
      e.ranges.sort((a, b) => a[0] - b[0]);
      // Pieces of one over-long line share its line range (their ids differ by a :n suffix).
      const same = (a: [number, number], b: [number, number]) => a[0] === b[0] && a[1] === b[1];
      for (let i = 1; i < e.ranges.length; i++) {
        assert.ok(e.ranges[i][0] > e.ranges[i - 1][1] || same(e.ranges[i], e.ranges[i - 1]), `${p}: overlapping (duplicated) chunks`);
      }
    }
    return out;
  } finally {
    b.close();
  }
}

function copyPack(name: string, edit?: (dir: string) => void): string {
  const dir = path.join(tmp, 'packs', name);
  fs.cpSync(PACK, dir, { recursive: true });
  edit?.(dir);
  return dir;
}

before(() => {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-faults-test-'));
});

after(() => {
  for (const c of clients) c.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('kill -9 mid-memorize: the bank opens, every reported file is there once, a re-run completes the rest', async (t) => {
  const ws = path.join(tmp, 'kill', 'ws');
  const bankUri = path.join(tmp, 'kill', 'bank');
  const N = 120;
  const sha: Record<string, string> = {};
  for (let i = 0; i < N; i++) {
    const rel = `d${i % 6}/note-${i}.md`;
    const text = `# note ${i}\n\n` + Array.from({ length: 4 }, (_, j) => `Paragraph ${j} of note ${i}: the vardle count is ${i * 10 + j}.`).join('\n\n') + '\n';
    write(ws, rel, text);
    sha[rel] = createHash('sha256').update(text).digest('hex');
  }
  // batchSize 1: commits every few files, so the kill lands between (or inside) commits.
  const c = client({ bankUri, settings: { batchSize: 1 } });
  await c.start();
  const reported = new Set<string>();
  let killedAt = 0;
  const run = c.memorize(
    { paths: ['.'], root: ws },
    {
      onProgress: (p) => {
        reported.add(p.path);
        if (!killedAt && p.done >= 20) {
          killedAt = p.done;
          process.kill(c.pid!, 'SIGKILL');
        }
      },
    },
  );
  await rejectsCode(run, 'ENGINE_CRASHED', 20_000);
  assert.ok(killedAt > 0);
  // The client restarts the engine by itself; the bank opens.
  const st = await within(20_000, c.status(), 'status after restart');
  const bank = await inspectBank(bankUri);
  t.diagnostic(`killed at done=${killedAt}; reported ${reported.size}; in bank after kill ${bank.size} (status says ${st.files})`);
  assert.equal(st.files, bank.size);
  for (const p of reported) {
    assert.ok(bank.has(p), `${p} was reported memorized but is not in the bank`);
    assert.equal(bank.get(p)!.hash, sha[p]);
  }
  // Re-run: completes the rest, compresses nothing twice, no duplicates.
  const s = await within(60_000, c.memorize({ paths: ['.'], root: ws }), 're-run');
  assert.equal(s.memorized + s.unchanged, N, JSON.stringify(s));
  assert.equal(s.unchanged, bank.size, 'files stored before the kill are not recompressed');
  const after = await inspectBank(bankUri);
  assert.equal(after.size, N);
  for (const [p, e] of after) assert.equal(e.hash, sha[p]);
  for (const [p, e] of bank) assert.equal(after.get(p)!.rows, e.rows, `${p}: rows changed on re-run`);
  await c.shutdown();
});

test('corrupt, missing or other-version pack: clear error, no restart loop, bank untouched, caller keeps working', async () => {
  const ws = path.join(tmp, 'packs-ws');
  write(ws, 'a.md', '# jorvik\n\njorvik lives in bucket 77.\n');
  const bankUri = path.join(tmp, 'packs-bank');
  const c = client({ bankUri });
  await c.memorize({ paths: ['.'], root: ws });
  const before = await inspectBank(bankUri);
  const good = { packDir: PACK, bankUri, device: 'cpu' as const };

  const corrupt = copyPack('corrupt', (d) => {
    const f = path.join(d, 'decoder.onnx');
    const b = fs.readFileSync(f);
    b[b.length >> 1] ^= 0xff;
    fs.writeFileSync(f, b);
  });
  const missing = copyPack('missing', (d) => fs.rmSync(path.join(d, 'compressor.onnx')));
  const v99 = copyPack('v99', (d) => {
    const m = JSON.parse(fs.readFileSync(path.join(d, 'pack.json'), 'utf8'));
    m.formatVersion = 99;
    fs.writeFileSync(path.join(d, 'pack.json'), JSON.stringify(m));
  });
  const truncatedManifest = copyPack('bad-json', (d) => fs.writeFileSync(path.join(d, 'pack.json'), '{"format": "cmt-pa'));
  const cases: Array<[string, string, RegExp]> = [
    [corrupt, 'PACK_CORRUPT', /decoder\.onnx/],
    [missing, 'PACK_MISSING', /compressor\.onnx/],
    [path.join(tmp, 'packs', 'does-not-exist'), 'PACK_MISSING', /does-not-exist|pack\.json/],
    [v99, 'PACK_INCOMPATIBLE', /99/],
    [truncatedManifest, 'PACK_CORRUPT', /pack\.json/],
  ];
  for (const [packDir, code, msg] of cases) {
    const t0 = Date.now();
    const err = await rejectsCode(c.reinitialize({ ...good, packDir }), code);
    assert.match(err.message, msg);
    assert.equal(c.state, 'stopped', `${code}: no restart loop`);
    assert.equal(c.restartCount, 0);
    // Later requests fail with an answer too (they try again, they do not hang).
    await rejectsCode(c.status(), code);
    assert.ok(Date.now() - t0 < 15_000);
  }
  assert.deepEqual(await inspectBank(bankUri), before, 'the bank is untouched');
  await c.reinitialize(good);
  assert.equal((await c.status()).files, 1);
  const r = await c.ask('Where does jorvik live?');
  assert.equal(r.citations[0]?.path, 'a.md');
  await c.shutdown();
});

test('a bank written by another pack: its rows untouched, the other pack gets its own table; dims mismatch is refused', async () => {
  const ws = path.join(tmp, 'other-ws');
  write(ws, 'x.md', '# quandor\n\nquandor ships on Tuesdays.\n');
  write(ws, 'y.md', '# pellum\n\npellum ships on Fridays.\n');
  const bankUri = path.join(tmp, 'other-bank');
  const a = client({ bankUri });
  await a.memorize({ paths: ['.'], root: ws });
  await a.shutdown();
  const rowsA = await inspectBank(bankUri);

  const otherPack = copyPack('other-id', (d) => {
    const m = JSON.parse(fs.readFileSync(path.join(d, 'pack.json'), 'utf8'));
    m.packId = 'cmt-other-test-pack';
    fs.writeFileSync(path.join(d, 'pack.json'), JSON.stringify(m, null, 2));
  });
  const b = client({ bankUri, packDir: otherPack });
  assert.equal((await b.status()).files, 0, 'the other pack starts with an empty table');
  await b.memorize({ paths: ['x.md'], root: ws });
  assert.equal((await b.status()).files, 1);
  await b.shutdown();
  const tables = await MemoryBank.listPacks(bankUri);
  assert.deepEqual(tables.map((x) => x.packId).sort(), ['cmt-other-test-pack', META.packId].sort());
  assert.deepEqual(await inspectBank(bankUri), rowsA, "the first pack's rows are untouched");

  // Same packId, other dims (a changed model): refused with BANK_PACK_MISMATCH, rows untouched.
  const bankUri2 = path.join(tmp, 'dims-bank');
  const meta32 = { ...META, memoryDim: 32 };
  const mb = await MemoryBank.open(bankUri2, meta32);
  await mb.upsertFile('old.md', 'h', 1, [{ path: 'old.md', startLine: 1, endLine: 1, text: 'old', key: new Float32Array(32), memory: new Float32Array(32 * META.memorySlots) }]);
  mb.close();
  const d = client({ bankUri: bankUri2 });
  const err = await rejectsCode(d.start(), 'BANK_PACK_MISMATCH');
  assert.match(err.message, /memoryDim/);
  assert.equal(d.state, 'stopped');
  const still = await inspectBank(bankUri2, meta32);
  assert.equal(still.get('old.md')?.rows, 1);
});

test('full disk (tmpfs): clear per-file errors, no corruption, works again once space is freed', async (t) => {
  const mnt = path.join(tmp, 'tiny-disk');
  fs.mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.skip(`cannot mount a tmpfs here (${m.stderr.trim()}): full-disk case not run`);
    return;
  }
  const ws = path.join(tmp, 'disk-ws');
  const c = client({ bankUri: path.join(mnt, 'bank') });
  try {
    for (let i = 0; i < 5; i++) write(ws, `first/${i}.md`, `# first ${i}\n\nfirst batch value ${i}.\n`);
    const s1 = await c.memorize({ paths: ['first'], root: ws });
    assert.equal(s1.memorized, 5);
    const before = await inspectBank(path.join(mnt, 'bank'));
    // Fill the disk.
    const filler = path.join(mnt, 'filler');
    const fd = fs.openSync(filler, 'w');
    const block = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, block);
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    for (let i = 0; i < 30; i++) write(ws, `second/${i}.md`, `# second ${i}\n\n` + `second batch value ${i}. `.repeat(20) + '\n');
    let outcome: string;
    try {
      const s2 = await within(60_000, c.memorize({ paths: ['second'], root: ws }), 'memorize on a full disk');
      outcome = `summary: memorized ${s2.memorized}, failed ${s2.failed.length} (first: ${s2.failed[0]?.reason})`;
      assert.equal(s2.memorized, 0, JSON.stringify(s2).slice(0, 500));
      assert.equal(s2.failed.length, 30);
      assert.match(s2.failed[0].reason, /no space|ENOSPC|os error 28/i);
    } catch (e) {
      assert.ok(e instanceof CmtError && e.code !== 'ENGINE_CRASHED', `unexpected: ${String(e)}`);
      outcome = `error ${e.code}: ${e.message}`;
    }
    t.diagnostic(`full disk: ${outcome}`);
    // The engine is alive, the bank still reads, the earlier memories are intact.
    assert.equal((await c.status()).files, 5);
    assert.deepEqual(await inspectBank(path.join(mnt, 'bank')), before);
    assert.ok((await c.ask('What is the first batch value?')).citations.length >= 1);
    // Space freed: the same request now succeeds.
    fs.rmSync(filler);
    const s3 = await within(60_000, c.memorize({ paths: ['second'], root: ws }), 'memorize after freeing space');
    assert.equal(s3.memorized, 30, JSON.stringify(s3).slice(0, 500));
    assert.equal((await inspectBank(path.join(mnt, 'bank'))).size, 35);
  } finally {
    await c.shutdown();
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
  }
});

test('LanceDB or onnxruntime unable to load in the engine process: clear error, no restart loop, caller keeps working', async () => {
  // Preloaded into the child (NODE_OPTIONS=--require): makes require(<module>) fail as a missing or
  // broken native binary would.
  const hook = path.join(tmp, 'break-module.js');
  fs.writeFileSync(
    hook,
    `const Module = require('module'); const load = Module._load; const bad = process.env.CMT_TEST_BREAK_MODULE;
     Module._load = function (req, ...rest) {
       if (bad && (req === bad || req.startsWith(bad + '/'))) {
         const e = new Error("Cannot find module '" + req + "-linux-x64-gnu' (simulated load failure)"); e.code = 'MODULE_NOT_FOUND'; throw e;
       }
       return load.call(this, req, ...rest);
     };\n`,
  );
  const bankUri = path.join(tmp, 'noload-bank');
  for (const [mod, code] of [
    ['@lancedb/lancedb', 'BANK_UNAVAILABLE'],
    ['onnxruntime-node', 'DEVICE_UNAVAILABLE'],
  ] as const) {
    const c = client({ bankUri }, { env: { NODE_OPTIONS: `--require ${hook}`, CMT_TEST_BREAK_MODULE: mod } });
    const t0 = Date.now();
    const err = await rejectsCode(c.start(), code);
    assert.match(err.message, new RegExp(mod.replace(/[/@]/g, '.')));
    assert.equal(c.state, 'stopped');
    assert.equal(c.restartCount, 0, 'a load failure is an answer, not a crash to restart');
    await rejectsCode(c.status(), code); // retried on demand, still a clean answer
    assert.ok(Date.now() - t0 < 20_000);
    c.dispose();
  }
  // The caller keeps working: an engine without the fault starts on the same bank.
  const ok = client({ bankUri });
  assert.equal((await ok.status()).files, 0);
  await ok.shutdown();
});

test('restart with backoff: requests during a restart are retried or fail cleanly, never hang', async (t) => {
  const ws = path.join(tmp, 'restart-ws');
  write(ws, 'r.md', '# tindle\n\ntindle sleeps at noon.\n');
  const c = client({ bankUri: path.join(tmp, 'restart-bank') }, { backoffInitialMs: 150, backoffMaxMs: 600, maxRestarts: 4 });
  const details: string[] = [];
  c.on('state', (s: string, d?: string) => {
    if (s === 'restarting' && d) details.push(d);
  });
  await c.memorize({ paths: ['.'], root: ws });
  const outcomes: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (c.state !== 'ready') await within(20_000, new Promise<void>((r) => c.on('state', (s: string) => s === 'ready' && r())), 'ready before kill');
    await within(20_000, c.status(), 'status before kill'); // the previous restart finished
    const pid = c.pid!;
    const noticed = new Promise<void>((r) => c.on('state', (s: string) => s !== 'ready' && r()));
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
    const reqs = [c.status(), c.ask('When does tindle sleep?'), c.memorize({ paths: ['.'], root: ws }), c.forget('nothing-here.md')];
    const settled = await within(20_000, Promise.allSettled(reqs), 'requests during a restart');
    // Under load the requests can all fail on the closed pipe before the child's exit is processed:
    // the next round must not start on the dead generation.
    await within(20_000, noticed, 'the kill noticed');
    for (const s of settled) {
      if (s.status === 'fulfilled') outcomes.push('ok');
      else {
        assert.ok(s.reason instanceof CmtError && ['ENGINE_CRASHED', 'CANCELLED'].includes(s.reason.code), String(s.reason));
        outcomes.push(s.reason.code);
      }
    }
  }
  const delays = details.map((d) => Number(/in (\d+) ms/.exec(d)?.[1]));
  assert.deepEqual(delays, [150, 300, 600], details.join(' | '));
  // Over budget: 'crashed', requests fail at once, restart() recovers.
  for (let k = 0; k < 2; k++) {
    // The engine must be up before it is killed again. A request that lands while the previous kill
    // is still being noticed may itself fail with ENGINE_CRASHED (as above), so wait for 'ready'.
    if (c.state !== 'ready') await within(20_000, new Promise<void>((r) => c.on('state', (s: string) => s === 'ready' && r())), 'ready before kill');
    await within(20_000, c.status(), 'status before kill');
    const noticed = new Promise<void>((r) => c.on('state', (s: string) => s !== 'ready' && r()));
    process.kill(c.pid!, 'SIGKILL');
    await within(20_000, noticed, 'the kill noticed');
  }
  await within(20_000, new Promise<void>((r) => (c.state === 'crashed' ? r() : c.on('state', (s: string) => s === 'crashed' && r()))), 'crashed state');
  const t0 = Date.now();
  await rejectsCode(c.status(), 'ENGINE_CRASHED');
  assert.ok(Date.now() - t0 < 1_000, 'fails immediately once given up');
  await c.restart();
  assert.equal((await c.status()).files, 1);
  await c.shutdown();
  assert.equal(outcomes.length, 12);
  t.diagnostic(`requests fired 20 ms after each kill: ${outcomes.join(', ')}; backoff ${delays.join('/')} ms`);
});
