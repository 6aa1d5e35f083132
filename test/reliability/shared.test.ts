// A team's bank on object storage (issue 26; docs/team.md), against a real S3-compatible server
// started here (moto, test/moto.ts): a bank written by one engine process is read by another,
// read-only consumers write nothing, two writers at once leave every file exactly once, kill -9
// mid-commit, a reader answering while a writer commits and compacts, hostile names, and the
// errors (missing bucket, no network, refused credentials) naming what to fix with no secret shown.
// Sizes are small (CI); `cmt bench --sections shared-bank` runs 2 writers x 1,000 files.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { MemoryBank, tableNameForPack as tableName } from '../../src/core/bank';
import { connectOptionsFor } from '../../src/core/bankStore';
import { EngineClient } from '../../src/core/client';
import type { InitializeParams } from '../../src/core/protocol';
import { CmtError } from '../../src/core/types';
import { bankRowsPerFile, fileWriter, within } from '../helpers';
import { Moto, motoMissing, startMoto } from '../../src/bench/moto';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');
const M = JSON.parse(fs.readFileSync(path.join(PACK, 'pack.json'), 'utf8')) as { packId: string; cmt: { memorySlots: number; memoryDim: number } };
const META = { packId: M.packId, memorySlots: M.cmt.memorySlots, memoryDim: M.cmt.memoryDim };
const SECRET = 'sEcReT-test-key-9f3b2c';
const skip = motoMissing() ?? undefined;
if (skip) console.log(`# skipped: ${skip}`);

let moto: Moto;
let tmp: string;
const clients: EngineClient[] = [];
const logs: string[] = [];

function client(init: Partial<InitializeParams> & { bankUri: string }, batchSize = 4): EngineClient {
  const c = new EngineClient({
    // Each engine process its own replica folder (on by default), as on separate machines; not the user's cache.
    init: { packDir: PACK, device: 'cpu', settings: { batchSize }, ...init, access: { endpoint: moto.endpoint, replica: path.join(tmp, `replica-${clients.length}`), ...init.access } },
    backoffInitialMs: 100,
    onStderr: (l) => logs.push(l),
  });
  clients.push(c);
  return c;
}

/** A word of letters only (the code-aware terms split digits off): one per note. */
function term(dir: string, i: number): string {
  const letters = (x: string) => x.replace(/[^a-z]/g, (c) => String.fromCharCode(97 + (c.charCodeAt(0) % 26)));
  return `quillon${letters(dir)}x${letters(String(i))}`;
}

/** A workspace of `n` notes under `dir`, each with a unique term (term(dir, i)). */
function notes(root: string, dir: string, n: number): string[] {
  const w = fileWriter(root);
  const rels: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = `${dir}/note-${i}.md`;
    w(rel, `# ${dir} note ${i}\n\nThe ${term(dir, i)} value is ${i * 7}.\n\nSecond paragraph of ${dir} ${i}.\n`);
    rels.push(rel);
  }
  return rels;
}

/** Rows per file (every id once, one content hash per file), read from a fresh connection. */
function inspect(uri: string): Promise<Map<string, number>> {
  return bankRowsPerFile(uri, META, connectOptionsFor(uri, { endpoint: moto.endpoint }));
}

async function versions(uri: string, table: string): Promise<number> {
  const db = await lancedb.connect(uri, connectOptionsFor(uri, { endpoint: moto.endpoint }));
  try {
    const t = await db.openTable(table);
    const n = (await t.listVersions()).length;
    t.close();
    return n;
  } finally {
    db.close();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<string> {
  let msg = '';
  await assert.rejects(within(60_000, p, `expected ${code}`), (e: unknown) => {
    assert.ok(e instanceof CmtError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    msg = e.message;
    return true;
  });
  return msg;
}

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-shared-test-'));
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDTESTING', AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', CMT_BANK_REPLICA: path.join(tmp, 'replica-cli') });
  moto = await startMoto();
  await moto.createBucket('team');
});

after(async () => {
  for (const c of clients) c.dispose();
  await moto?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  // Secrets never reach a log line or a message (the engines' stderr of every test above).
  if (!skip) assert.ok(!logs.some((l) => l.includes(SECRET)), 'the secret key appeared in an engine log line');
});

test('a bank on S3: one process memorizes, another reads it (citations); unchanged files cost nothing; status never shows secrets', { skip }, async () => {
  const ws = path.join(tmp, 'ws1');
  notes(ws, 'docs', 6);
  const bankUri = 's3://team/first';
  const w = client({ bankUri });
  const s = await within(60_000, w.memorize({ paths: ['.'], root: ws }), 'memorize');
  assert.equal(s.memorized, 6, JSON.stringify(s));
  const r = client({ bankUri, access: { readOnly: true } });
  const hits = await within(60_000, r.search(term('docs', 4), { k: 3 }), 'search from a second process');
  assert.equal(hits.hits[0]?.path, 'docs/note-4.md');
  const st = await r.status();
  assert.equal(st.files, 6);
  assert.equal(st.readOnly, true);
  assert.ok(!JSON.stringify(st).includes(SECRET));
  // CI refresh: only changed files (by content hash) are compressed again.
  fs.appendFileSync(path.join(ws, 'docs/note-1.md'), '\nEdited.\n');
  const again = await w.memorize({ paths: ['.'], root: ws });
  assert.equal(again.memorized, 1, JSON.stringify(again));
  assert.equal(again.unchanged, 5);
  assert.deepEqual([...(await inspect(bankUri)).keys()].sort(), [0, 1, 2, 3, 4, 5].map((i) => `docs/note-${i}.md`).sort());
  await w.shutdown();
  await r.shutdown();
  // The CLI: --read-only, --bank-endpoint; status shows the bank and no secret; a write is refused with exit 3.
  const cmt = (...args: string[]) => spawnSync(process.execPath, ['bin/cmt.js', '--pack', PACK, '--bank', bankUri, '--bank-endpoint', moto.endpoint, ...args], { encoding: 'utf8', timeout: 60_000 });
  const st2 = cmt('status', '--json', '--read-only');
  assert.equal(st2.status, 0, st2.stderr);
  assert.equal((JSON.parse(st2.stdout) as { files: number }).files, 6);
  assert.ok(!(st2.stdout + st2.stderr).includes(SECRET));
  const fo = cmt('forget', 'docs/note-1.md', '--read-only');
  assert.equal(fo.status, 3, fo.stderr);
  assert.match(fo.stderr, /read-only/);
  assert.equal((await inspect(bankUri)).size, 6);
});

test('a reader copies the bank to its disk and reads there while it is current; changed files are copied again, removed ones dropped', { skip }, async () => {
  const ws = path.join(tmp, 'ws-replica');
  notes(ws, 'docs', 6);
  const bankUri = 's3://team/replica';
  const w = client({ bankUri });
  assert.equal((await within(60_000, w.memorize({ paths: ['.'], root: ws }), 'memorize')).memorized, 6);
  const dir = path.join(tmp, 'replica-direct');
  const connectOptions = connectOptionsFor(bankUri, { endpoint: moto.endpoint });
  const reader = await MemoryBank.open(bankUri, META, { readOnly: true, connectOptions, replicaDir: dir });
  const direct = await MemoryBank.open(bankUri, META, { readOnly: true, connectOptions });
  try {
    assert.equal(reader.replicaState?.version, null); // nothing copied before the first read
    assert.equal((await reader.textSearch(term('docs', 3), 1))[0]?.record.path, 'docs/note-3.md'); // from the store, and the copy starts
    await reader.whenReplicated();
    assert.equal(reader.replicaState?.dir, dir);
    const q = term('docs', 3);
    const ids = async (b: MemoryBank) => (await b.textSearch(q, 3)).map((h) => `${h.record.path}:${h.record.startLine}`);
    assert.deepEqual(await ids(reader), await ids(direct));
    assert.equal((await reader.textSearch(q, 1))[0]?.record.path, 'docs/note-3.md');
    const [hit] = await reader.textSearch(q, 1);
    const [full] = await reader.withMemory([hit.record]);
    assert.equal(full.memory.length, META.memorySlots * META.memoryDim); // the memory slots are in the copy
    assert.ok((reader.replicaState?.reads ?? 0) >= 3, JSON.stringify(reader.replicaState));
    // The copy is a plain local bank with the store's rows.
    const local = await MemoryBank.open(dir, META, { readOnly: true });
    assert.equal(await local.countRows(), await direct.countRows());
    local.close();
    // A writer edits one file, removes one, adds one: after the read-consistency interval the reader
    // reads the store until the replica has copied the change, then the replica again.
    fs.appendFileSync(path.join(ws, 'docs/note-1.md'), '\nThe quillonedited term.\n');
    fs.rmSync(path.join(ws, 'docs/note-2.md'));
    fileWriter(ws)('docs/note-9.md', `# nine\n\nThe ${term('docs', 9)} value is 63.\n`);
    const again = await within(60_000, w.memorize({ paths: ['.'], root: ws }), 'memorize the change');
    assert.equal(again.memorized, 2, JSON.stringify(again));
    await new Promise((r) => setTimeout(r, 5_500));
    assert.equal((await reader.textSearch(term('docs', 9), 1))[0]?.record.path, 'docs/note-9.md'); // from the store, or the caught-up copy
    await reader.whenReplicated();
    const before = reader.replicaState?.reads ?? 0;
    assert.equal((await reader.textSearch('quillonedited', 1))[0]?.record.path, 'docs/note-1.md');
    assert.equal(reader.replicaState?.reads, before + 1);
    assert.deepEqual((await reader.textSearch(term('docs', 2), 3)).filter((h) => h.record.path === 'docs/note-2.md'), []);
    const copy = await MemoryBank.open(dir, META, { readOnly: true });
    assert.deepEqual((await copy.listFiles()).map((f) => [f.path, f.contentHash]), (await direct.listFiles()).map((f) => [f.path, f.contentHash]));
    copy.close();
    // A damaged copy (its data files removed under it): the read goes to the store, the copy is made again.
    const data = path.join(dir, `${tableName(META.packId)}.lance`, 'data');
    for (const f of fs.readdirSync(data)) fs.rmSync(path.join(data, f));
    for (let i = 0; i < 2; i++) assert.equal((await reader.textSearch(term('docs', 9), 1))[0]?.record.path, 'docs/note-9.md');
    await reader.whenReplicated();
    const served = reader.replicaState?.reads ?? 0;
    assert.equal((await reader.textSearch(term('docs', 9), 1))[0]?.record.path, 'docs/note-9.md');
    assert.equal(reader.replicaState?.reads, served + 1);
    assert.ok(fs.readdirSync(data).length > 0, 'the copy was made again');
  } finally {
    reader.close();
    direct.close();
    await w.shutdown();
  }
});

test('read-only: memorize and forget fail naming the fix, nothing is written; a bank of another pack is named', { skip }, async () => {
  const ws = path.join(tmp, 'ws-ro');
  notes(ws, 'a', 3);
  const bankUri = 's3://team/ro';
  const w = client({ bankUri });
  await w.memorize({ paths: ['.'], root: ws });
  await w.shutdown();
  const table = `mem_${M.packId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const before = await versions(bankUri, table);
  const r = client({ bankUri, access: { readOnly: true } });
  await rejectsWith(r.memorize({ paths: ['.'], root: ws }), 'BANK_UNAVAILABLE', /read-only.*--read-only/);
  await rejectsWith(r.forget('a/note-0.md'), 'BANK_UNAVAILABLE', /read-only/);
  assert.equal((await r.search(term('a', 1), { k: 1 })).hits[0]?.path, 'a/note-1.md');
  assert.equal(await versions(bankUri, table), before, 'a read-only engine committed a table version');
  assert.equal((await inspect(bankUri)).size, 3);
  await r.shutdown();
  // A consumer whose pack did not write the bank: told which pack did, and how to fix it.
  const otherPack = path.join(tmp, 'other-pack');
  fs.cpSync(PACK, otherPack, { recursive: true });
  const pj = JSON.parse(fs.readFileSync(path.join(otherPack, 'pack.json'), 'utf8'));
  fs.writeFileSync(path.join(otherPack, 'pack.json'), JSON.stringify({ ...pj, packId: 'some-other-pack' }));
  const o = client({ bankUri, packDir: otherPack, access: { readOnly: true } });
  await rejectsWith(o.start(), 'BANK_PACK_MISMATCH', new RegExp(`written by another pack \\(${M.packId}\\).*Fix: use the pack`));
  o.dispose();
});

test('two writers at once (two engine processes, separate caches): every file exactly once, none lost', { skip }, async (t) => {
  const ws = path.join(tmp, 'ws-two');
  const common = notes(ws, 'common', 24);
  const a = notes(ws, 'only-a', 12);
  const b = notes(ws, 'only-b', 12);
  const bankUri = 's3://team/two';
  const wa = client({ bankUri }, 2);
  const wb = client({ bankUri }, 2);
  await Promise.all([wa.start(), wb.start()]);
  const t0 = performance.now();
  const [sa, sb] = await within(
    180_000,
    Promise.all([wa.memorize({ paths: ['common', 'only-a'], root: ws }), wb.memorize({ paths: ['only-b', 'common'], root: ws })]),
    'two writers',
  );
  t.diagnostic(`A ${JSON.stringify(sa)}; B ${JSON.stringify(sb)}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(sa.failed.length + sb.failed.length, 0);
  const bank = await inspect(bankUri);
  assert.deepEqual([...bank.keys()].sort(), [...common, ...a, ...b].sort());
  for (const [p, rows] of bank) assert.ok(rows >= 1, p);
  await Promise.all([wa.shutdown(), wb.shutdown()]);
});

test('four writers opening a new shared bank at the same moment: one table, one lease, every write kept', { skip }, async () => {
  const uri = 's3://team/race';
  const co = connectOptionsFor(uri, { endpoint: moto.endpoint });
  const banks = await within(60_000, Promise.all([0, 1, 2, 3].map(() => MemoryBank.open(uri, META, { connectOptions: co }))), 'concurrent opens');
  const chunk = (i: number) => ({ path: `f${i}.md`, startLine: 1, endLine: 1, text: `file ${i}`, key: new Float32Array(META.memoryDim).fill(i + 1), memory: new Float32Array(META.memorySlots * META.memoryDim).fill(i) });
  await Promise.all(banks.map((b, i) => b.upsertFile(`f${i}.md`, `h${i}`, 1, [chunk(i)])));
  for (const b of banks) b.close();
  assert.deepEqual([...(await inspect(uri)).keys()].sort(), ['f0.md', 'f1.md', 'f2.md', 'f3.md']);
});

test('kill -9 mid-commit on S3: every reported file is there once; the lease of the dead writer is taken over; a re-run completes', { skip }, async (t) => {
  const ws = path.join(tmp, 'ws-kill');
  const all = notes(ws, 'k', 40);
  const bankUri = 's3://team/kill';
  const c = client({ bankUri }, 1);
  await c.start();
  const reported = new Set<string>();
  let killed = false;
  const run = c.memorize({ paths: ['.'], root: ws }, {
    onProgress: (p) => {
      reported.add(p.path);
      if (!killed && p.done >= 8) {
        killed = true;
        process.kill(c.pid!, 'SIGKILL');
      }
    },
  });
  await rejectsWith(run, 'ENGINE_CRASHED', /./);
  const bank = await inspect(bankUri);
  for (const p of reported) assert.ok(bank.has(p), `${p} reported but not in the bank`);
  const t0 = performance.now();
  const s = await within(60_000, c.memorize({ paths: ['.'], root: ws }), 're-run after kill -9');
  t.diagnostic(`in bank after the kill ${bank.size}; re-run ${JSON.stringify(s)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(s.memorized + s.unchanged, all.length);
  assert.equal(s.unchanged, bank.size);
  assert.deepEqual([...(await inspect(bankUri)).keys()].sort(), [...all].sort());
  await c.shutdown();
});

test('a reader keeps answering while a writer commits and compacts', { skip }, async () => {
  const ws = path.join(tmp, 'ws-rw');
  notes(ws, 'base', 6);
  const bankUri = 's3://team/rw';
  const w = client({ bankUri });
  await w.memorize({ paths: ['base'], root: ws });
  const r = client({ bankUri, access: { readOnly: true } }); // reads through its replica while it is current
  await r.start();
  let writing = true;
  const writer = (async () => {
    try {
      for (let round = 0; round < 3; round++) {
        notes(ws, `more${round}`, 5);
        await w.memorize({ paths: [`more${round}`], root: ws });
        await w.forget(`more${round}/note-0.md`); // compacts and drops old versions
      }
    } finally {
      writing = false;
    }
  })();
  let answered = 0;
  while (writing) {
    const h = await within(30_000, r.search(term('base', 2), { k: 2 }), 'reader search during writes');
    assert.equal(h.hits[0]?.path, 'base/note-2.md');
    answered++;
  }
  await writer;
  assert.ok(answered >= 2, `reader answered ${answered} times`);
  await new Promise((res) => setTimeout(res, 5500)); // the read-consistency interval: the reader sees the new files
  assert.equal((await r.search(term('more2', 4), { k: 1 })).hits[0]?.path, 'more2/note-4.md');
  await Promise.all([w.shutdown(), r.shutdown()]);
});

test('hostile names: a bank prefix and file paths with spaces, unicode, quotes and SQL', { skip }, async () => {
  const ws = path.join(tmp, 'ws-hostile');
  const w = fileWriter(ws);
  const names = ["spa ce/é ü 😀.md", "q'uote/'; DROP TABLE x; --.md", 'pct/100%25 [a] #1.md'];
  names.forEach((n, i) => w(n, `# hostile ${i}\n\nThe vexillum${i} count is ${i}.\n`));
  const bankUri = 's3://team/ban k ü/ü x';
  const c = client({ bankUri });
  const s = await c.memorize({ paths: ['.'], root: ws });
  assert.equal(s.memorized, 3, JSON.stringify(s));
  assert.deepEqual([...(await inspect(bankUri)).keys()].sort(), [...names].sort());
  assert.equal((await c.search('vexillum1', { k: 1 })).hits[0]?.path, names[1]);
  assert.equal((await c.forget(names[1])).removed > 0, true);
  assert.equal((await inspect(bankUri)).has(names[1]), false);
  await c.shutdown();
});

test('errors name what to fix: missing bucket, no network, refused credentials; no secret in any message; nothing left behind', { skip }, async () => {
  const open = (uri: string, endpoint: string) => MemoryBank.open(uri, META, { connectOptions: connectOptionsFor(uri, { endpoint }) });
  const cwdBefore = fs.readdirSync(process.cwd()).sort();
  const m1 = await rejectsWith(open('s3://no-such-bucket/bank', moto.endpoint), 'BANK_UNAVAILABLE', /bucket "no-such-bucket".*does not exist.*Fix: create it/);
  const m2 = await rejectsWith(open('s3://team/bank', 'http://127.0.0.1:9'), 'BANK_UNAVAILABLE', /cannot reach the object store.*127\.0\.0\.1:9.*Fix/);
  // A second server that checks credentials after two requests (the readiness check and the bucket creation).
  const strict = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '2' });
  try {
    await strict.createBucket('team');
    const m3 = await rejectsWith(open('s3://team/bank', strict.endpoint), 'BANK_UNAVAILABLE', /refused the credentials.*AWS_ACCESS_KEY_ID/);
    for (const m of [m1, m2, m3]) assert.ok(!m.includes(SECRET), `secret in: ${m}`);
  } finally {
    await strict.stop();
  }
  // Through the engine process too, with the exit path the CLI shows.
  const c = client({ bankUri: 's3://no-such-bucket/x' });
  await rejectsWith(c.start(), 'BANK_UNAVAILABLE', /does not exist/);
  c.dispose();
  assert.deepEqual(fs.readdirSync(process.cwd()).sort(), cwdBefore, 'a local folder was created for an s3:// URI');
});
