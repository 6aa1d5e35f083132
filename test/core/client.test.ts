// The engine process through EngineClient: start, status, memorize, ask; a child killed with
// SIGKILL mid-request fails the request with ENGINE_CRASHED (bounded), is restarted with backoff,
// and the bank survives. Also: CPU refusal and giving up after repeated crashes.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, EngineState } from '../../src/core/client';
import { checkCpu } from '../../src/core/server';
import { CmtError } from '../../src/core/types';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');

let tmp: string;
let ws: string;
const clients: EngineClient[] = [];

function client(extra: Partial<ConstructorParameters<typeof EngineClient>[0]> = {}): EngineClient {
  const c = new EngineClient({
    init: { packDir: PACK, bankUri: path.join(tmp, 'bank'), device: 'cpu' },
    backoffInitialMs: 100,
    backoffMaxMs: 400,
    ...extra,
  });
  clients.push(c);
  return c;
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<CmtError> {
  let err: CmtError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CmtError, `expected CmtError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    err = e;
    return true;
  });
  return err!;
}

before(() => {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-client-test-'));
  ws = path.join(tmp, 'ws');
  fs.mkdirSync(path.join(ws, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'docs', 'a.md'), '# vonvame\n\nvonvame listens on port 7311.\n');
  fs.writeFileSync(path.join(ws, 'b.txt'), 'The brarkemu cache expires after 143 minutes.\n');
});

after(() => {
  for (const c of clients) c.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('engine process: start, status, memorize, ask with streamed tokens', async () => {
  const c = client();
  const init = await c.start();
  assert.equal(c.state, 'ready');
  assert.ok(init.packId.startsWith('cmt-tiny'));
  assert.equal(typeof c.pid, 'number');
  const s0 = await c.status();
  assert.equal(s0.memories, 0);
  const progress: string[] = [];
  const m = await c.memorize({ paths: [ws], root: ws }, { onProgress: (p) => progress.push(p.path) });
  assert.equal(m.memorized, 2);
  assert.deepEqual(progress.sort(), ['b.txt', 'docs/a.md']);
  const toks: string[] = [];
  const r = await c.ask('Which port does vonvame listen on?', { topK: 2 }, { onToken: (t) => toks.push(t) });
  assert.equal(toks.join(''), r.answer);
  assert.ok(r.citations.length > 0);
  await rejectsCode(c.ask(' ', {}), 'BAD_INPUT');
  await c.shutdown();
  assert.equal(c.state, 'stopped');
});

test('SIGKILL mid-request: ENGINE_CRASHED quickly, restart with backoff, next request works', async () => {
  const c = client();
  const states: EngineState[] = [];
  c.on('state', (s: EngineState) => states.push(s));
  await c.start();
  const before = await c.status();
  const pid1 = c.pid!;
  const t0 = Date.now();
  const inFlight = c.ask('vonvame port?', { maxNewTokens: 16 });
  process.kill(pid1, 'SIGKILL');
  const err = await rejectsCode(inFlight, 'ENGINE_CRASHED');
  assert.ok(Date.now() - t0 < 5000, `rejection took ${Date.now() - t0} ms`);
  assert.match(err.message, /SIGKILL|exited|connection/);
  // The next request waits for the restarted engine.
  const after = await c.status();
  assert.equal(after.memories, before.memories, 'bank reopened with the same memories');
  assert.notEqual(c.pid, pid1);
  assert.ok(states.includes('restarting'), states.join(','));
  assert.equal(c.state, 'ready');
  assert.equal(c.restartCount, 1);
  const r = await c.ask('brarkemu cache expiry', { maxNewTokens: 2 });
  assert.ok(r.citations.length > 0);
  // Killed during memorize too.
  const mem = c.memorize({ paths: [ws], root: ws, force: true });
  process.kill(c.pid!, 'SIGKILL');
  await rejectsCode(mem, 'ENGINE_CRASHED');
  assert.equal((await c.status()).files, 2);
  c.dispose();
  assert.equal(c.state, 'disposed');
  await rejectsCode(c.status(), 'CANCELLED');
});

test('reinitialize while starting: the older start is superseded, no crash counted', async () => {
  const c = client();
  const first = c.start().then(
    () => 'ok',
    (e: CmtError) => e.code,
  );
  const second = await c.reinitialize({ packDir: PACK, bankUri: path.join(tmp, 'bank'), device: 'cpu' });
  assert.ok(second.packId);
  assert.ok(['ok', 'CANCELLED'].includes(await first));
  assert.equal(c.state, 'ready');
  assert.equal(c.restartCount, 0);
  assert.equal((await c.status()).packId, second.packId);
  await c.shutdown();
});

test('a child that keeps dying: gives up after maxRestarts with ENGINE_CRASHED', async () => {
  const bad = path.join(tmp, 'die.js');
  fs.writeFileSync(bad, 'process.exit(3);\n');
  const c = client({ serverPath: bad, maxRestarts: 2, backoffInitialMs: 20 });
  const states: EngineState[] = [];
  c.on('state', (s: EngineState) => states.push(s));
  const t0 = Date.now();
  const err = await rejectsCode(c.start(), 'ENGINE_CRASHED');
  assert.match(err.message, /gave up/);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(c.state, 'crashed');
  assert.equal(states.filter((s) => s === 'restarting').length, 2);
  await rejectsCode(c.status(), 'ENGINE_CRASHED');
});

test('initialize errors are answers, not crashes: no restart loop', async () => {
  const c = client({ init: { packDir: path.join(tmp, 'no-pack'), bankUri: path.join(tmp, 'bank2'), device: 'cpu' } });
  await rejectsCode(c.start(), 'PACK_MISSING');
  assert.equal(c.state, 'stopped');
  assert.equal(c.restartCount, 0);
});

test('CPU check refuses a CPU without avx2/fma (x64 Linux)', async () => {
  assert.equal(checkCpu('linux', 'x64', () => 'flags\t\t: fpu sse sse2 avx2 fma\n').ok, true);
  const no = checkCpu('linux', 'x64', () => 'flags\t\t: fpu sse sse2 avx\n');
  assert.equal(no.ok, false);
  assert.match(no.reason!, /avx2 and fma/);
  assert.equal(checkCpu('darwin', 'arm64', () => '').ok, true);
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  const fake = path.join(tmp, 'cpuinfo');
  fs.writeFileSync(fake, 'processor\t: 0\nflags\t\t: fpu sse sse2 avx\n');
  const c = client({ env: { CMT_FAKE_CPUINFO: fake } });
  const err = await rejectsCode(c.start(), 'CPU_UNSUPPORTED');
  assert.match(err.message, /AVX2|avx2/);
  assert.equal(c.state, 'stopped');
});
