// A real MCP session, for docs/agents.md: the official SDK client starts `cmt mcp` over stdio on the
// sample workspace (a fresh bank in a temp folder), lists the tools and calls each one, plus one call
// an agent should not make. Prints the transcript as markdown on stdout.
//
//   npm run build && node scripts/mcp-transcript.mjs [--pack packs/default]   (the tiny test pack when packs/default is absent)
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--pack');
const PACK = path.resolve(REPO, i >= 0 ? process.argv[i + 1] : fs.existsSync(path.join(REPO, 'packs/default/pack.json')) ? 'packs/default' : 'test/fixtures/tiny-pack');
const ROOT = path.join(REPO, 'samples', 'workspace');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-mcp-transcript-'));
const BANK = path.join(tmp, 'bank');

const out = [];
const w = (s = '') => out.push(s);
const short = (p) => p.split(REPO + path.sep).join('').split(tmp).join('/tmp/…');
const clip = (s, n = 1400) => (s.length > n ? s.slice(0, n) + `\n… (${s.length - n} more characters)` : s);

async function step(client, name, args) {
  const t0 = performance.now();
  const r = await client.callTool({ name, arguments: args });
  const ms = performance.now() - t0;
  w(`**→ ${name}** \`${JSON.stringify(args)}\` (${ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`}${r.isError ? ', isError' : ''})`);
  w('');
  w('````text');
  w(clip(short(r.content.map((c) => c.text).join('\n'))));
  w('````');
  w('');
  return r;
}

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [path.join(REPO, 'bin', 'cmt.js'), '--pack', PACK, '--bank', BANK, 'mcp', '--root', ROOT],
  env: { ...process.env, CMT_BANK: '' },
  stderr: 'ignore',
});
const client = new Client({ name: 'mcp-transcript', version: '1.0.0' });
await client.connect(transport);
const info = client.getServerVersion();
w(`Server: \`${short(`node bin/cmt.js --pack ${PACK} --bank ${BANK} mcp --root ${ROOT}`)}\` → ${info.name} ${info.version}, MCP SDK client ${JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules/@modelcontextprotocol/sdk/package.json'), 'utf8')).version}`);
w('');
const { tools } = await client.listTools();
w(`**→ tools/list**: ${tools.map((t) => `\`${t.name}\``).join(', ')}`);
w('');
await step(client, 'search_memory', { query: 'vulis database host' });
await step(client, 'memorize', { paths: ['.'] });
await step(client, 'memory_status', {});
await step(client, 'search_memory', { query: "What's the DB hostname in vulis's config?", k: 2 });
await step(client, 'ask_memory', { question: "What's the DB hostname in vulis's config?" });
await step(client, 'ask_memory', { question: "What's the memory cap for malnoix?" });
await step(client, 'memorize', { paths: ['../../.env'] });
await step(client, 'search_memory', { query: 'port', k: 500 });
await step(client, 'forget', { path: 'notes' });
await client.close();
fs.rmSync(tmp, { recursive: true, force: true });
process.stdout.write(out.join('\n') + '\n');
