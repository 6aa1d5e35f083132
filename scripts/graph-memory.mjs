// Resident memory of each graph's onnxruntime session, made as the engine makes it (Compressor,
// Aggregator, Decoder, Embedder .create), each in a fresh process with the engine's environment, and
// the decoder's speed at a prompt length (greedy, 32 tokens after the first, EOS ignored).
//
//   npm run build && node scripts/graph-memory.mjs [--pack packs/default] [--prompt 300]
//
// Prints one JSON object: MiB resident after loading each graph (over the process before it), and
// the decoder's prefill ms and decode tokens/s. Used by docs/model-pack.md and docs/RESULTS.md.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const core = (m) => require(path.join(REPO, 'out', 'src', 'core', m));

async function child(graph, packDir, promptTokens) {
  const { loadPack } = core('pack.js');
  const pack = await loadPack(packDir, { verifyHashes: false });
  const before = rssMiB();
  const made = {
    compressor: () => core('compress.js').Compressor.create(pack, 'cpu'),
    aggregator: () => core('aggregate.js').Aggregator.create(pack, 'cpu'),
    decoder: () => core('decode.js').Decoder.create(pack, 'cpu'),
    embedder: () => core('embed.js').Embedder.create(pack, 'cpu'),
  }[graph];
  const g = await made();
  const out = { graph, sessionMiB: Math.round(rssMiB() - before) };
  if (graph === 'decoder') {
    const ids = Array.from({ length: promptTokens }, (_, i) => 100 + ((i * 131) % 40000));
    const gen = (n) => g.generate(ids, { maxNewTokens: n, numBeams: 1, stopTokenIds: [], stopStrings: [], alpha: 0, prefix: null, stopOnLoop: false });
    await gen(2); // warm-up
    let t = performance.now();
    await gen(1);
    const first = performance.now() - t;
    t = performance.now();
    await gen(33);
    const all = performance.now() - t;
    Object.assign(out, { promptTokens, prefillMs: Math.round(first), decodeTokensPerSecond: Math.round((32 / ((all - first) / 1000)) * 10) / 10 });
  }
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]));
} else {
  const packDir = path.resolve(REPO, arg('pack', 'packs/default'));
  const prompt = Number(arg('prompt', '300'));
  const { engineProcessEnv } = core('processEnv.js');
  const res = { pack: JSON.parse(fs.readFileSync(path.join(packDir, 'pack.json'), 'utf8')).packId, graphs: [] };
  for (const g of ['compressor', 'aggregator', 'decoder', 'embedder']) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', g, packDir, String(prompt)], { env: engineProcessEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    res.graphs.push(JSON.parse(out));
  }
  process.stdout.write(JSON.stringify(res, null, 1) + '\n');
}
