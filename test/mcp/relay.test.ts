// The MCP server the extension offers VS Code (src/mcp/main.ts, bundled as dist/mcp.js): it has no
// engine of its own and reaches the extension's through the relay (src/mcp/relay.ts). Here the
// "extension" is this test: a relay whose handlers call a real EngineClient, as the controller does;
// the SDK's Client spawns `node out/src/mcp/main.js --root <ws>` with the relay's socket and token.
//   node --test --test-concurrency=1 out/test/mcp/relay.test.js
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EngineClient } from '../../src/core/client';
import { RELAY_ENV, RELAY_TOKEN_ENV, serveRelay, type Relay } from '../../src/mcp/relay';
import { within } from '../helpers';

const REPO = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(REPO, 'out', 'src', 'mcp', 'main.js');
const PACK = path.resolve(REPO, process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');

let tmp: string;
let ws: string;
let engine: EngineClient;
let relay: Relay;
let client: Client;

type Result = { isError?: boolean; content: Array<{ text?: string }>; structuredContent?: any; _meta?: any };
const call = async (name: string, args: Record<string, unknown>) => (await within(120_000, client.callTool({ name, arguments: args }), name)) as Result;
const textOf = (r: Result) => r.content.map((c) => c.text ?? '').join('\n');

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-relay-test-'));
  ws = path.join(tmp, 'ws');
  fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'README.md'), '# giren\n\ngiren talks to the plorgogi queue on port 5672.\n');
  fs.writeFileSync(path.join(ws, 'src', 'app.py'), 'TIMEOUT_SECONDS = 47\n');
  // enough files for two compressor batches: progress from the first arrives well before the response
  fs.mkdirSync(path.join(ws, 'notes'));
  for (let i = 0; i < 60; i++) fs.writeFileSync(path.join(ws, 'notes', `n${i}.md`), `# Note ${i}\n\nItem ${i} weighs ${i * 3} grams.\n`);
  engine = new EngineClient({ init: { packDir: PACK, bankUri: path.join(tmp, 'bank'), device: 'cpu' } });
  await within(120_000, engine.start(), 'engine start');
  relay = await serveRelay({
    search: (q, o, signal) => engine.search(q, o, { signal }),
    ask: (q, signal) => engine.ask(q, {}, { signal }),
    memorize: (paths, root, force, signal, onProgress) => {
      return engine.memorize({ paths, root, force }, { signal, onProgress });
    },
    forget: (abs) => engine.forget(path.relative(ws, abs).split(path.sep).join('/')),
    status: () => engine.status(),
    root: () => ws,
  });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({ command: process.execPath, args: [MAIN, '--root', ws, '--version', '1.2.3'], env: { ...env, [RELAY_ENV]: relay.path, [RELAY_TOKEN_ENV]: relay.token }, stderr: 'pipe' });
  client = new Client({ name: 'relay-test', version: '1' });
  await within(60_000, client.connect(transport), 'connect');
});

after(async () => {
  await client?.close().catch(() => undefined);
  await relay?.close().catch(() => undefined);
  await engine?.shutdown().catch(() => undefined);
  engine?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('dist/mcp.js lists the same five tools and serves them from the extension\'s engine', async () => {
  assert.equal(client.getServerVersion()?.version, '1.2.3');
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['ask_memory', 'forget', 'memorize', 'memory_status', 'search_memory']);
  const empty = await call('search_memory', { query: 'port' });
  assert.equal(empty._meta?.['cmtMemory/error']?.code, 'NOTHING_MEMORIZED', textOf(empty));
  const seen: number[] = [];
  const m = (await within(120_000, client.callTool({ name: 'memorize', arguments: { paths: ['.'] } }, undefined, { onprogress: (p) => void seen.push(p.progress) }), 'memorize')) as Result;
  assert.equal(m.isError, undefined, textOf(m));
  assert.equal(m.structuredContent.memorized, 62);
  assert.ok(seen.length >= 1, 'progress crosses the relay');
  const st = await call('memory_status', {});
  assert.equal(st.structuredContent.files, 62);
  const s = await call('search_memory', { query: 'plorgogi queue', k: 1 });
  assert.equal(s.structuredContent.hits[0].path, 'README.md');
  // ask_memory answers as the engine does for the extension (the relay's ask).
  const q = 'Which port does giren use?';
  const a = await call('ask_memory', { question: q });
  const direct = await engine.ask(q, {});
  assert.equal(a.structuredContent.answer, direct.answer);
  assert.deepEqual(a.structuredContent.citations, direct.citations);
  assert.equal(a.structuredContent.grounding.verdict, direct.grounding.verdict);
  const f = await call('forget', { path: 'src/app.py' });
  assert.equal(f.structuredContent.removed, 1);
  for (const bad of ['../x', '/etc/passwd', '.']) {
    const r = await call('forget', { path: bad });
    assert.equal(r._meta?.['cmtMemory/error']?.code, 'BAD_INPUT', bad);
  }
});

test('the extension gone (relay closed): calls say ENGINE_CRASHED with what to do, and the server stays up', async () => {
  await relay.close();
  const r = await call('memory_status', {});
  assert.equal(r.isError, true);
  assert.equal(r._meta?.['cmtMemory/error']?.code, 'ENGINE_CRASHED', textOf(r));
  assert.match(textOf(r), /CMT Memory extension is not reachable.*reload the VS Code window/);
  assert.equal((await client.listTools()).tools.length, 5);
});

test('started outside the extension (no relay in its environment), dist/mcp.js says so and exits 1', () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== RELAY_ENV && k !== RELAY_TOKEN_ENV) env[k] = v;
  const r = spawnSync(process.execPath, [MAIN, '--root', ws], { env, encoding: 'utf8', timeout: 30_000, input: '' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /started by the CMT Memory extension.*run `cmt mcp`/);
  assert.equal(r.stdout, '');
});
