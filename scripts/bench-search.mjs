// search_memory latency on a 10K-memory bank, warm, measured as an agent sees it: the MCP SDK's client
// calls `cmt mcp` over stdio (request -> MCP server -> engine process -> fused retrieval -> response).
//
//   npm run build && node scripts/bench-search.mjs [--pack packs/default] [--memories 10000] [--queries 60] [--warmup 8]
//
// The bank is written once (cached in .cache/bench-search/<packId>-<n>/) in the bank's real schema:
// one chunk per file, the text of a real text window found on this machine (docs and docstrings
// under node_modules and .venv, as `cmt bench --sections retrieval` uses; reused from its cache
// .cache/bench-embeddings when present) with its REAL embedding by the pack's embedder, random keys
// (the default pack gives the key retriever weight 0) and random memory slots of the real size. The
// engine then runs exactly what search_memory runs: question compression, embedding, BM25, the
// definition and path indexes, the pack's fusion. Queries: the workspace-test questions and phrases
// cut from the bank's own windows, alternating. Prints p50/p95 (client) and the engine's matchMs.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const defaultPack = fs.existsSync(path.join(REPO, 'packs/default/pack.json')) ? 'packs/default' : 'test/fixtures/tiny-pack';
const PACK = path.resolve(REPO, arg('pack', defaultPack));
const N = Number(arg('memories', '10000'));
const QUERIES = Number(arg('queries', '60'));
const WARMUP = Number(arg('warmup', '8'));
if (!fs.existsSync(path.join(REPO, 'out/src/core/bank.js'))) throw new Error('run npm run build first');

const { loadPack } = require(path.join(REPO, 'out/src/core/pack.js'));
const { MemoryBank } = require(path.join(REPO, 'out/src/core/bank.js'));
const { Embedder } = require(path.join(REPO, 'out/src/core/embed.js'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

const log = (m) => process.stderr.write(`[bench-search] ${m}\n`);

/** Deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function unit(d, r) {
  const v = new Float32Array(d);
  let s = 0;
  for (let i = 0; i < d; i++) {
    v[i] = r() * 2 - 1;
    s += v[i] * v[i];
  }
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < d; i++) v[i] /= n;
  return v;
}

/** Text windows with real embeddings: `cmt bench`'s cache if it has enough for this embedder, else embedded now. */
async function realTexts(pack, want) {
  const e = pack.manifest.embedder;
  const cacheRoot = path.join(REPO, '.cache', 'bench-embeddings');
  if (e && fs.existsSync(cacheRoot)) {
    for (const tag of fs.readdirSync(cacheRoot)) {
      const dir = path.join(cacheRoot, tag);
      try {
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
        if (meta.embedder !== e.name || meta.dim !== e.dim || meta.maxTokens !== e.maxTokens) continue;
        const texts = fs.readFileSync(path.join(dir, 'texts.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const buf = fs.readFileSync(path.join(dir, 'vectors.f32'));
        const n = Math.min(texts.length, Math.floor(buf.length / (4 * e.dim)), want);
        if (n < want) continue;
        const vecs = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + n * 4 * e.dim));
        log(`${n} real embeddings from ${path.relative(REPO, dir)} (${meta.embedder}, ${meta.maxTokens} tokens)`);
        return { texts: texts.slice(0, n), vec: (i) => vecs.subarray(i * e.dim, (i + 1) * e.dim), source: `cached real embeddings (${path.relative(REPO, dir)})` };
      } catch {
        /* next */
      }
    }
  }
  // Collect windows from markdown files in the repo's docs and node_modules, embed them now.
  const texts = [];
  const seen = new Set();
  const walk = (dir, depth) => {
    if (texts.length >= want || depth > 6) return;
    let ents = [];
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const ent of ents) {
      if (texts.length >= want) return;
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p, depth + 1);
      else if (/\.(md|markdown|txt|rst)$/i.test(ent.name)) {
        let t = '';
        try {
          t = fs.readFileSync(p, 'utf8');
        } catch {
          continue;
        }
        for (const para of t.split(/\n\s*\n/)) {
          const w = para.replace(/\s+/g, ' ').trim();
          if (w.length < 60 || w.length > 600 || seen.has(w)) continue;
          seen.add(w);
          texts.push(w);
          if (texts.length >= want) return;
        }
      }
    }
  };
  walk(path.join(REPO, 'docs'), 0);
  walk(path.join(REPO, 'node_modules'), 0);
  if (texts.length < want) throw new Error(`only ${texts.length} text windows found; need ${want}`);
  let vecs = null;
  if (e) {
    const embedder = await Embedder.create(pack, 'cpu');
    const t0 = performance.now();
    vecs = [];
    for (let i = 0; i < texts.length; i += 512) {
      vecs.push(...(await embedder.embed(texts.slice(i, i + 512), { batchSize: 32 })));
      log(`embedded ${vecs.length}/${texts.length} (${(vecs.length / ((performance.now() - t0) / 1000)).toFixed(0)} texts/s)`);
    }
  }
  return { texts, vec: (i) => vecs?.[i], source: e ? 'real embeddings made now (markdown windows under docs/ and node_modules/)' : 'no embedder in this pack' };
}

async function buildBank(dir, pack) {
  const m = pack.manifest;
  const meta = { packId: m.packId, memorySlots: m.cmt.memorySlots, memoryDim: m.cmt.memoryDim, embedDim: m.embedder?.dim ?? 0 };
  const src = await realTexts(pack, N);
  const r = rng(42);
  const bank = await MemoryBank.open(dir, meta);
  const t0 = performance.now();
  const step = 500;
  for (let s = 0; s < N; s += step) {
    const items = [];
    for (let i = s; i < Math.min(N, s + step); i++) {
      const p = `corpus/${String(Math.floor(i / 100)).padStart(3, '0')}/w${i}.md`;
      const memory = new Float32Array(meta.memorySlots * meta.memoryDim);
      for (let j = 0; j < memory.length; j++) memory[j] = r() * 2 - 1;
      const emb = src.vec(i);
      items.push({ path: p, contentHash: `h${i}`, mtimeMs: 0, chunks: [{ path: p, startLine: 1, endLine: 1, text: src.texts[i], memory, key: unit(meta.memoryDim, r), ...(emb ? { emb } : {}) }] });
    }
    await bank.upsertFiles(items);
    if ((s / step) % 4 === 0) log(`wrote ${Math.min(N, s + step)}/${N} rows`);
  }
  await bank.refreshTextIndex();
  const rows = await bank.countRows();
  bank.close();
  fs.writeFileSync(path.join(dir, 'bench-search.json'), JSON.stringify({ rows, source: src.source, seconds: (performance.now() - t0) / 1000 }, null, 1));
  return { texts: src.texts, source: src.source };
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

async function main() {
  const pack = await loadPack(PACK, { verifyHashes: false });
  const id = pack.manifest.packId;
  const dir = path.join(REPO, '.cache', 'bench-search', `${id}-${N}`);
  let texts;
  let source;
  if (fs.existsSync(path.join(dir, 'bench-search.json'))) {
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'bench-search.json'), 'utf8'));
    source = info.source;
    log(`reusing the bank at ${path.relative(REPO, dir)} (${info.rows} rows, ${info.source})`);
    texts = (await realTexts(pack, N)).texts;
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    log(`writing a ${N}-memory bank for ${id} at ${path.relative(REPO, dir)}`);
    ({ texts, source } = await buildBank(dir, pack));
  }
  // Queries: real questions and phrases from the bank's own windows, alternating.
  const qa = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/workspace-qa-test.json'), 'utf8'));
  const questions = qa.data.flatMap((d) => d.paragraphs.flatMap((p) => p.qas.map((q) => q.question)));
  const r = rng(7);
  const queries = [];
  for (let i = 0; queries.length < QUERIES + WARMUP; i++) {
    if (i % 2 === 0) queries.push(questions[Math.floor(r() * questions.length)]);
    else {
      const words = texts[Math.floor(r() * texts.length)].split(' ');
      const at = Math.floor(r() * Math.max(1, words.length - 8));
      queries.push(words.slice(at, at + 6).join(' '));
    }
  }

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-bench-search-'));
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({ command: process.execPath, args: [path.join(REPO, 'bin/cmt.js'), '--pack', PACK, '--bank', dir, '--device', 'cpu', 'mcp', '--root', root], env, stderr: 'ignore' });
  const client = new Client({ name: 'bench-search', version: '1' });
  await client.connect(transport);
  const st = await client.callTool({ name: 'memory_status', arguments: {} });
  if (st.isError) throw new Error(st.content[0].text);
  log(`bank: ${st.structuredContent.memories} memories; pack ${st.structuredContent.packName} (${id}) on ${st.structuredContent.provider}`);
  const client_ms = [];
  const engine_ms = [];
  let hits = 0;
  for (let i = 0; i < queries.length; i++) {
    const t0 = performance.now();
    const res = await client.callTool({ name: 'search_memory', arguments: { query: queries[i] } });
    const ms = performance.now() - t0;
    if (res.isError) throw new Error(res.content[0].text);
    if (i < WARMUP) continue;
    client_ms.push(ms);
    engine_ms.push(res.structuredContent.matchMs);
    hits += res.structuredContent.hits.length;
  }
  await client.close();
  fs.rmSync(root, { recursive: true, force: true });
  const load = os.loadavg()[0];
  const out = {
    pack: id,
    memories: st.structuredContent.memories,
    vectors: source,
    queries: client_ms.length,
    warmup: WARMUP,
    k: 'pack default',
    meanHits: hits / client_ms.length,
    searchMemoryMs: { p50: +quantile(client_ms, 0.5).toFixed(1), p95: +quantile(client_ms, 0.95).toFixed(1), min: +Math.min(...client_ms).toFixed(1) },
    engineMatchMs: { p50: +quantile(engine_ms, 0.5).toFixed(1), p95: +quantile(engine_ms, 0.95).toFixed(1) },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg1m: +load.toFixed(2), node: process.version },
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  log(`search_memory p50 ${out.searchMemoryMs.p50} ms, p95 ${out.searchMemoryMs.p95} ms (engine matchMs p50 ${out.engineMatchMs.p50} ms) over ${out.queries} queries on ${out.memories} memories; target p50 <= 150 ms: ${out.searchMemoryMs.p50 <= 150 ? 'met' : 'NOT met'}`);
}

main().catch((e) => {
  process.stderr.write(`bench-search: ${e?.stack ?? e}\n`);
  process.exit(1);
});
