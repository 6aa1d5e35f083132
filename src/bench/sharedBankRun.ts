// `cmt bench --sections shared-bank` (sharedBank.ts), the run: loaded only when the section runs (engine code).
// A bank on object storage beside a local one, on this machine.
// A local S3-compatible server (moto, moto.ts; `scripts/setup.sh --dev` installs it) stands in for
// the store. Measures (docs/team.md, docs/RESULTS.md "A shared bank"):
//   1. search and ask latency, warm, on the same N-memory bank local and on s3:// (the rows of
//      `cmt bench --sections search`'s cached 10K bank when present, else synthetic rows), with the
//      default read-consistency interval and with strong consistency (a check of the store per read);
//   2. memorize throughput of one writer, local vs s3:// (a synthetic repository, forked engine);
//   3. two writers at once against one s3:// bank (two engine processes, half their files shared):
//      every file present, every row exactly once.
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { MemoryBank } from '../core/bank';
import { BankMeta, tableNameForPack } from '../core/bankSchema';
import { BankAccess, connectOptionsFor, READ_CONSISTENCY_S } from '../core/bankStore';
import { Engine } from '../core/engine';
import { p50p95, round } from '../measure/stats';
import { startMoto } from './moto';
import { randomUnit, rng, vocabulary, wordPicker, writeSyntheticRepo } from './synth';
import type { Latency, SharedBankBench } from './sharedBank';
import type { BenchContext } from './types';
import { runWorker } from './worker';

/** The rows of the search bench's cached bank for this pack and size, else synthetic ones (random vectors, word-salad text). */
type FileItem = Parameters<MemoryBank['upsertFiles']>[0][number];

async function sourceRows(c: BenchContext, meta: BankMeta, n: number): Promise<{ data: lancedb.Table | FileItem[]; from: string; close(): void }> {
  const cached = path.join(c.repoRoot, '.cache', 'bench-search', `${meta.packId}-${n}`);
  if (fs.existsSync(path.join(cached, 'bench-search.json'))) {
    const db = await lancedb.connect(cached);
    const t = await db.openTable(tableNameForPack(meta.packId));
    return { data: t, from: `the search bench's bank (${path.relative(c.repoRoot, cached)}: real texts and embeddings)`, close: () => (t.close(), db.close()) };
  }
  const r = rng(3);
  const word = wordPicker(vocabulary(3000, 5), r);
  const rows = Array.from({ length: n }, (_, i): FileItem => {
    const p = `corpus/${String(Math.floor(i / 100)).padStart(3, '0')}/w${i}.md`;
    const text = Array.from({ length: 40 }, word).join(' ');
    const emb = meta.embedDim ? { emb: randomUnit(meta.embedDim, r) } : {};
    return { path: p, contentHash: `h${i}`, mtimeMs: 0, chunks: [{ path: p, startLine: 1, endLine: 1, text, key: randomUnit(meta.memoryDim, r), memory: randomUnit(meta.memorySlots * meta.memoryDim, r), ...emb }] };
  });
  return { data: rows, from: 'synthetic rows (random vectors, word-salad text)', close: () => undefined };
}

/** Copies the source rows into a fresh bank at `uri` (1,000 rows a commit) and builds its text index. */
async function fillBank(uri: string, meta: BankMeta, src: Awaited<ReturnType<typeof sourceRows>>, access: BankAccess): Promise<void> {
  const connectOptions = connectOptionsFor(uri, access);
  const b = await MemoryBank.open(uri, meta, { connectOptions });
  const data = src.data;
  if (Array.isArray(data)) {
    for (let at = 0; at < data.length; at += 1000) await b.upsertFiles(data.slice(at, at + 1000));
  } else {
    const db = await lancedb.connect(uri, connectOptions);
    const t = await db.openTable(tableNameForPack(meta.packId));
    const total = await data.countRows();
    for (let at = 0; at < total; at += 1000) await t.add(await data.query().offset(at).limit(1000).toArrow());
    t.close();
    db.close();
  }
  await b.refreshTextIndex(true);
  b.close();
}

/** Search (and ask) latency, warm, on one bank (with a replica: once it has copied the bank, the copy's time and size noted). */
async function latencyOn(c: BenchContext, label: string, uri: string, access: BankAccess, questions: string[], asks: number): Promise<Latency> {
  const t0 = performance.now();
  const engine = await Engine.open({ packDir: c.pack.dir, bankUri: uri, device: c.device, access: { replica: 'off', ...access, readOnly: true }, verifyHashes: false });
  try {
    let replica: Latency['replica'];
    for (const q of questions.slice(0, 3)) await engine.search(q); // (the first read starts the replica's copy)
    if (engine.bank.replicaState) {
      await engine.bank.whenReplicated();
      const dir = engine.bank.replicaState.dir;
      replica = { copySeconds: round((performance.now() - t0) / 1000, 1), mib: round((await dirBytes(dir)) / 2 ** 20, 1) };
      c.log(`[bench] shared-bank: ${label}: the replica copied the bank in ${replica.copySeconds} s (${replica.mib} MiB)`);
    }
    const search: number[] = [];
    for (const q of questions) {
      const t0 = performance.now();
      await engine.search(q);
      search.push(performance.now() - t0);
    }
    const ask: number[] = [];
    if (asks > 0) await engine.ask(questions[0]);
    for (const q of questions.slice(0, asks)) {
      const t0 = performance.now();
      await engine.ask(q);
      ask.push(performance.now() - t0);
    }
    c.log(`[bench] shared-bank: ${label}: search p50 ${p50p95(search, 1).p50} ms${asks ? `, ask p50 ${p50p95(ask, 0).p50} ms` : ''}`);
    return { bank: label, searchMs: p50p95(search, 1), askMs: asks ? p50p95(ask, 0) : null, ...(replica ? { replica } : {}) };
  } finally {
    await engine.close();
  }
}

function memorizeIn(c: BenchContext, root: string, paths: string[], bankUri: string, endpoint?: string): Promise<{ wallMs: number; memorized: number }> {
  return runWorker(path.join(__dirname, 'shared-worker.js'), [JSON.stringify({ packDir: c.pack.dir, root, paths, bankUri, endpoint, device: c.device })], 'shared-bank worker');
}

/** Every row of an s3 bank: files, rows, duplicate ids. */
async function countRows(uri: string, meta: BankMeta, access: BankAccess): Promise<{ files: Set<string>; rows: number; duplicates: number }> {
  const db = await lancedb.connect(uri, connectOptionsFor(uri, access));
  const t = await db.openTable(tableNameForPack(meta.packId));
  const ids = new Set<string>();
  const files = new Set<string>();
  let rows = 0;
  let duplicates = 0;
  for (const r of (await t.query().select(['id', 'path']).toArray()) as Array<{ id: string; path: string }>) {
    rows++;
    if (ids.has(String(r.id))) duplicates++;
    ids.add(String(r.id));
    files.add(String(r.path));
  }
  t.close();
  db.close();
  return { files, rows, duplicates };
}

/** The first `n` questions of the synthetic workspace test split. */
function benchQuestions(repoRoot: string, n: number): string[] {
  const qa = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/workspace-qa-test.json'), 'utf8')) as { data: Array<{ paragraphs: Array<{ qas: Array<{ question: string }> }> }> };
  return qa.data.flatMap((d) => d.paragraphs.flatMap((p) => p.qas.map((q) => q.question))).slice(0, n);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await listFiles(dir)) n += (await fsp.stat(path.join(dir, f))).size;
  return n;
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}

export async function benchShared(c: BenchContext): Promise<SharedBankBench> {
  const m = c.pack.manifest;
  const meta: BankMeta = { packId: m.packId, memorySlots: m.cmt.memorySlots, memoryDim: m.cmt.memoryDim, embedDim: m.embedder?.dim ?? 0 };
  const N = c.o.sharedMemories;
  const files = c.o.sharedFiles;
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-bench-shared-'));
  const moto = await startMoto();
  try {
    await moto.createBucket('bench');
    const s3 = { endpoint: moto.endpoint };
    // 1. latency
    const src = await sourceRows(c, meta, N);
    c.log(`[bench] shared-bank: a ${N}-memory bank, local and s3:// (${src.from})`);
    try {
      await fillBank(path.join(dir, 'bank-local'), meta, src, {});
      await fillBank('s3://bench/ask', meta, src, s3);
    } finally {
      src.close();
    }
    const questions = benchQuestions(c.repoRoot, c.o.sharedQueries);
    const asks = Math.max(1, Math.floor(c.o.sharedQueries / 4));
    const latency = [
      await latencyOn(c, 'local', path.join(dir, 'bank-local'), {}, questions, asks),
      await latencyOn(c, 's3, read from its local replica (the default)', 's3://bench/ask', { ...s3, replica: path.join(dir, 'replica') }, questions, asks),
      await latencyOn(c, `s3 without a replica (read consistency ${READ_CONSISTENCY_S} s)`, 's3://bench/ask', s3, questions, asks),
      await latencyOn(c, 's3 without a replica, strong consistency (a check per read)', 's3://bench/ask', { ...s3, readConsistencyS: 0 }, questions, 0),
    ];
    // Local caching that may pay: an ANN index (LanceDB keeps opened indexes in its in-memory index
    // cache, so a search reads the index once, not the whole vector column from the store each time).
    for (const [label, uri, access] of [['local', path.join(dir, 'bank-local'), {}], ['s3', 's3://bench/ask', s3]] as const) {
      const t0 = performance.now();
      const b = await MemoryBank.open(uri, meta, { connectOptions: connectOptionsFor(uri, access), vectorIndex: { minRows: 1 } });
      await b.whenIndexed();
      b.close();
      c.log(`[bench] shared-bank: ANN index on the ${label} bank built in ${round((performance.now() - t0) / 1000, 1)} s`);
      latency.push(await latencyOn(c, `${label}${label === 's3' ? ' without a replica' : ''}, with an ANN index`, uri, access, questions, 0));
    }
    // 2. memorize throughput: a fifth of the files, local and s3 alternately, twice each (fresh banks), the faster of each kept
    const repo = path.join(dir, 'repo');
    const tFiles = Math.max(4, Math.round(files / 5));
    await writeSyntheticRepo(path.join(repo, 'a'), tFiles, 11);
    const best: Record<string, number> = {};
    for (const round_ of [1, 2]) {
      for (const [label, uri, endpoint] of [['local', path.join(dir, `bank-mem${round_}`), undefined], ['s3', `s3://bench/mem${round_}`, moto.endpoint]] as const) {
        const r = await memorizeIn(c, repo, ['a'], uri, endpoint);
        c.log(`[bench] shared-bank: memorize ${tFiles} files into ${label} (run ${round_}): ${round(r.wallMs / 1000, 1)} s`);
        best[label] = Math.min(best[label] ?? Infinity, r.wallMs);
      }
    }
    const memorize = ['local', 's3'].map((label) => ({ bank: label, files: tFiles, wallMs: round(best[label], 0), filesPerSecond: round(tFiles / (best[label] / 1000), 1) }));
    // 3. two writers at once: A memorizes a2 + both, B both + b2 (the same files in `both`)
    const half = Math.ceil(files / 2);
    await writeSyntheticRepo(path.join(repo, 'a2'), half, 21);
    await writeSyntheticRepo(path.join(repo, 'both'), files - half, 22);
    await writeSyntheticRepo(path.join(repo, 'b2'), half, 23);
    const t0 = performance.now();
    const [ra, rb] = await Promise.all([memorizeIn(c, repo, ['a2', 'both'], 's3://bench/two', moto.endpoint), memorizeIn(c, repo, ['both', 'b2'], 's3://bench/two', moto.endpoint)]);
    const wallMs = round(performance.now() - t0, 0);
    const want = (await listFiles(repo)).filter((f) => !f.startsWith('a/'));
    const got = await countRows('s3://bench/two', meta, s3);
    const missing = want.filter((f) => !got.files.has(f)).length;
    c.log(`[bench] shared-bank: two writers: ${got.files.size}/${want.length} files, ${got.rows} rows, ${got.duplicates} duplicate rows, ${missing} missing, ${round(wallMs / 1000, 1)} s`);
    const twoWriters = { filesPerWriter: files, distinctFiles: want.length, filesInBank: got.files.size, rows: got.rows, duplicateRows: got.duplicates, missingFiles: missing, wallMs, memorizedA: ra.memorized, memorizedB: rb.memorized };
    const [l, s] = latency;
    return {
      memories: N,
      rowsFrom: src.from,
      latency,
      memorize,
      twoWriters,
      targets: {
        askP50Ratio: round((s.askMs?.p50 ?? 0) / Math.max(1e-9, l.askMs?.p50 ?? 1), 2),
        searchP50Ratio: round(s.searchMs.p50 / Math.max(1e-9, l.searchMs.p50), 2),
        memorizeRatio: round(memorize[1].wallMs / Math.max(1, memorize[0].wallMs), 2),
        exactlyOnce: got.duplicates === 0 && missing === 0 && got.files.size === want.length,
      },
    };
  } finally {
    await moto.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

