// Two engine processes writing the same LOCAL bank at once (the editor's engine and `cmt memorize`
// in a terminal, say): each decides from its own cache that a file is new, so without a guard
// both add its rows. Local banks write under a lock file beside the bank (bankLock.ts); this test
// fails without it. A writer killed while holding the lock does not block the next one for long.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/core/client';
import { bankRowsPerFile, fileWriter, within } from '../helpers';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');
const M = JSON.parse(fs.readFileSync(path.join(PACK, 'pack.json'), 'utf8')) as { packId: string; cmt: { memorySlots: number; memoryDim: number } };
const META = { packId: M.packId, memorySlots: M.cmt.memorySlots, memoryDim: M.cmt.memoryDim };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-local-writers-'));
const clients: EngineClient[] = [];

after(async () => {
  await Promise.all(clients.map((c) => c.shutdown().catch(() => undefined)));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function client(bankUri: string, batchSize = 2): EngineClient {
  const c = new EngineClient({ init: { packDir: PACK, device: 'cpu', settings: { batchSize }, bankUri }, backoffInitialMs: 100 });
  clients.push(c);
  return c;
}

function notes(root: string, dir: string, n: number): string[] {
  const w = fileWriter(root);
  return Array.from({ length: n }, (_, i) => {
    const rel = `${dir}/note-${i}.md`;
    w(rel, `# ${dir} note ${i}\n\nThe ${dir} value number ${i} is ${i * 7}.\n\nSecond paragraph of ${dir} ${i}.\n`);
    return rel;
  });
}

const inspect = (uri: string) => bankRowsPerFile(uri, META);

test('two engine processes writing one local bank at once: every file exactly once, none lost', async (t) => {
  const ws = path.join(tmp, 'ws-two');
  const common = notes(ws, 'common', 24);
  const a = notes(ws, 'onlya', 12);
  const b = notes(ws, 'onlyb', 12);
  const bankUri = path.join(tmp, 'bank-two');
  const wa = client(bankUri);
  const wb = client(bankUri);
  await Promise.all([wa.start(), wb.start()]);
  const [sa, sb] = await within(
    180_000,
    Promise.all([wa.memorize({ paths: ['common', 'onlya'], root: ws }), wb.memorize({ paths: ['onlyb', 'common'], root: ws })]),
    'two writers',
  );
  t.diagnostic(`A ${JSON.stringify(sa)}; B ${JSON.stringify(sb)}`);
  assert.equal(sa.failed.length + sb.failed.length, 0);
  const bank = await inspect(bankUri);
  assert.deepEqual([...bank.keys()].sort(), [...common, ...a, ...b].sort());
  await Promise.all([wa.shutdown(), wb.shutdown()]);
});

test('a local writer killed with -9 while writing does not block the next writer for long', async (t) => {
  const ws = path.join(tmp, 'ws-kill');
  const all = notes(ws, 'k', 30);
  const bankUri = path.join(tmp, 'bank-kill');
  const c = client(bankUri, 1);
  await c.start();
  let killed = false;
  await assert.rejects(
    c.memorize({ paths: ['.'], root: ws }, {
      onProgress: (p) => {
        if (!killed && p.done >= 6) {
          killed = true;
          process.kill(c.pid!, 'SIGKILL');
        }
      },
    }),
  );
  const t0 = performance.now();
  const s = await within(60_000, client(bankUri).memorize({ paths: ['.'], root: ws }), 're-run after kill -9');
  t.diagnostic(`re-run ${JSON.stringify(s)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(s.memorized + s.unchanged, all.length);
  assert.deepEqual([...(await inspect(bankUri)).keys()].sort(), [...all].sort());
});
