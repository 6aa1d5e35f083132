// Privacy (issue 6): no network at run time, and secrets are never memorized unless explicitly
// included. Outcomes are listed in docs/RELIABILITY.md.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/core/client';
import { Engine } from '../../src/core/engine';
import type { MemorizeSummary } from '../../src/core/protocol';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');
let tmp: string;
const clients: EngineClient[] = [];

function write(root: string, rel: string, text: string): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
}

// Preloaded into the engine child (NODE_OPTIONS=--require): records every network attempt made
// through Node's APIs (sockets, DNS, http/https/tls, UDP, fetch) as JSON lines.
const GUARD = `
const fs = require('fs'); const LOG = process.env.CMT_NET_LOG;
const rec = (api, target) => { try { fs.appendFileSync(LOG, JSON.stringify({ api, target: String(target), pid: process.pid }) + '\\n'); } catch {} };
rec('loaded', process.argv.slice(1).join(' '));
const net = require('net'); const c = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...a) { const o = a[0]; rec('net.connect', Array.isArray(o) ? JSON.stringify(o[0]) : typeof o === 'object' ? (o.path || (o.host || 'localhost') + ':' + o.port) : a.join(':')); return c.apply(this, a); };
const dns = require('dns');
for (const f of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny']) { const o = dns[f]; dns[f] = function (h, ...r) { rec('dns.' + f, h); return o.call(this, h, ...r); }; const p = dns.promises[f]; if (p) dns.promises[f] = function (h, ...r) { rec('dns.promises.' + f, h); return p.call(this, h, ...r); }; }
for (const m of ['http', 'https']) { const mod = require(m); for (const f of ['request', 'get']) { const o = mod[f]; mod[f] = function (...a) { rec(m + '.' + f, typeof a[0] === 'string' || a[0] instanceof URL ? a[0] : (a[0] && a[0].host)); return o.apply(this, a); }; } }
const tls = require('tls'); const tc = tls.connect; tls.connect = function (...a) { rec('tls.connect', JSON.stringify(a[0])); return tc.apply(this, a); };
const dgram = require('dgram'); const ds = dgram.Socket.prototype.send; dgram.Socket.prototype.send = function (...a) { rec('dgram.send', a.slice(1).join(':')); return ds.apply(this, a); };
if (globalThis.fetch) { const f = globalThis.fetch; globalThis.fetch = function (u, ...r) { rec('fetch', u); return f.call(this, u, ...r); }; }
`;

const LOOPBACK = /^(127\.|::1$|::ffff:127\.|localhost)/;

/** Non-loopback INET/INET6 addresses in strace `connect`/`sendto`/`sendmsg` lines. */
function straceRemote(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (!/AF_INET6?/.test(l)) continue;
    const m = /inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"/.exec(l);
    const addr = m ? (m[1] ?? m[2]) : '?';
    if (!LOOPBACK.test(addr)) out.push(l.trim());
  }
  return out;
}

before(() => {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-privacy-test-'));
});

after(() => {
  for (const c of clients) c.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('no network: the engine process opens no socket to a non-loopback address during memorize + ask', async (t) => {
  const guard = path.join(tmp, 'net-guard.js');
  fs.writeFileSync(guard, GUARD);
  const netLog = path.join(tmp, 'net.jsonl');
  const straceLog = path.join(tmp, 'strace.txt');
  // Self-check: both detectors see a real connect (otherwise an empty log would prove nothing).
  // The probe only ever dials loopback (127.0.0.1:9): tests must never send traffic off this
  // machine. The non-loopback filter is checked on a synthetic strace line instead.
  const selfLog = path.join(tmp, 'self.jsonl');
  const selfStrace = path.join(tmp, 'self-strace.txt');
  const probe = "require('net').connect(9, '127.0.0.1').on('error', () => {}); setTimeout(() => process.exit(0), 50)";
  const useStrace = spawnSync('strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg', '-o', selfStrace, process.execPath, '-e', probe]).status === 0;
  if (useStrace) {
    const selfLines = fs.readFileSync(selfStrace, 'utf8').split('\n');
    assert.ok(selfLines.some((l) => /connect\(.*AF_INET.*inet_addr\("127\.0\.0\.1"\)/.test(l)), 'strace sees a real connect');
    assert.deepEqual(straceRemote(selfLines), [], 'loopback is not reported as remote');
  }
  const synthetic = 'connect(21, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("192.0.2.1")}, 16) = -1 ENETUNREACH';
  assert.equal(straceRemote([synthetic]).length, 1, 'a non-loopback address is reported');
  spawnSync(process.execPath, ['-e', probe], {
    env: { ...process.env, NODE_OPTIONS: `--require ${guard}`, CMT_NET_LOG: selfLog },
  });
  assert.match(fs.readFileSync(selfLog, 'utf8'), /net\.connect.*127\.0\.0\.1/);

  // With strace available, also trace the syscalls of every thread: native code (LanceDB's Rust,
  // onnxruntime's C++) does not go through Node's net module.
  let nodePath = process.execPath;
  if (useStrace) {
    nodePath = path.join(tmp, 'node-strace.sh');
    fs.writeFileSync(nodePath, `#!/bin/sh\nexec strace -f -qq -e trace=connect,sendto,sendmsg -o '${straceLog}' '${process.execPath}' "$@"\n`, { mode: 0o755 });
  } else {
    t.diagnostic('strace not available: only Node-level network APIs are checked');
  }

  const ws = path.join(tmp, 'net-ws');
  write(ws, 'docs/a.md', '# hollow\n\nThe hollow service uses port 4411.\n');
  write(ws, 'b.ts', 'export const WIDGET = "fnord";\n');
  const c = new EngineClient({
    init: { packDir: PACK, bankUri: path.join(tmp, 'net-bank'), device: 'auto' },
    nodePath,
    env: { NODE_OPTIONS: `--require ${guard}`, CMT_NET_LOG: netLog },
  });
  clients.push(c);
  const s = await c.memorize({ paths: ['.'], root: ws });
  assert.equal(s.memorized, 2);
  const r = await c.ask('Which port does the hollow service use?');
  assert.ok(r.citations.length >= 1);
  await c.status();
  await c.shutdown();
  await new Promise((res) => setTimeout(res, 300)); // let strace flush

  const entries = fs
    .readFileSync(netLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { api: string; target: string });
  assert.ok(entries.some((e) => e.api === 'loaded' && /server\.js/.test(e.target)), 'the guard ran inside the engine process');
  const attempts = entries.filter((e) => e.api !== 'loaded');
  const remote = attempts.filter((e) => !LOOPBACK.test(e.target.replace(/^"?\{?"?(host"?:"?)?/, '')));
  t.diagnostic(`node-level network attempts: ${attempts.length} (${JSON.stringify(attempts).slice(0, 300)})`);
  assert.deepEqual(remote, [], 'no network call from Node code');
  if (useStrace) {
    const lines = fs.readFileSync(straceLog, 'utf8').split('\n');
    const inet = lines.filter((l) => /AF_INET/.test(l));
    t.diagnostic(`strace: ${lines.length} lines, ${inet.length} AF_INET/AF_INET6 syscalls`);
    assert.deepEqual(straceRemote(lines), [], 'no syscall reaches a non-loopback address');
  }
});

const SECRETS: Record<string, string> = {
  '.env': 'API_KEY=SECRETMARK_env_0001\n',
  '.env.local': 'DB_PASSWORD=SECRETMARK_envlocal_0002\n',
  'config/prod.env': 'TOKEN=SECRETMARK_prodenv_0003\n',
  '.envrc': 'export X=SECRETMARK_envrc_0004\n',
  'certs/server.pem': '-----BEGIN PRIVATE KEY-----\nSECRETMARK_pem_0005\n-----END PRIVATE KEY-----\n',
  'certs/tls.key': 'SECRETMARK_key_0006\n',
  '.ssh/id_rsa': 'SECRETMARK_idrsa_0007\n',
  'keys/id_rsa': 'SECRETMARK_idrsa2_0008\n',
  'keys/id_ed25519.pub': 'ssh-ed25519 SECRETMARK_pub_0009\n',
  credentials: 'SECRETMARK_credentials_0010\n',
  'gcp/credentials.json': '{"k": "SECRETMARK_credjson_0011"}\n',
  '.aws/credentials': '[default]\naws_secret_access_key = SECRETMARK_aws_0012\n',
  '.git/config': '[remote "origin"]\nurl = https://user:SECRETMARK_gitcfg_0013@example.invalid/r.git\n',
  '.git-credentials': 'https://user:SECRETMARK_gitcred_0014@example.invalid\n',
  '.npmrc': '//registry.npmjs.org/:_authToken=SECRETMARK_npmrc_0015\n',
  '.netrc': 'machine x login y password SECRETMARK_netrc_0016\n',
  'deploy/secrets.yaml': 'password: SECRETMARK_secretsyaml_0017\n',
  'infra/terraform.tfstate': '{"secret": "SECRETMARK_tfstate_0018"}\n',
  'service-account-prod.json': '{"private_key": "SECRETMARK_sa_0019"}\n',
};

/** Every SECRETMARK_* string found anywhere in the bank folder's bytes (all table versions). */
function marksOnDisk(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else for (const m of fs.readFileSync(p).toString('latin1').matchAll(/SECRETMARK_[a-z0-9]+_\d{4}/g)) found.add(m[0]);
    }
  };
  walk(dir);
  return found;
}

test('secrets (.env*, *.pem, *.key, id_rsa*, credentials, .git/) are never memorized unless explicitly included', async (t) => {
  const ws = path.join(tmp, 'secrets-ws');
  const bankUri = path.join(tmp, 'secrets-bank');
  for (const [rel, text] of Object.entries(SECRETS)) write(ws, rel, text);
  write(ws, 'README.md', '# project\n\nThe orbelt project has no secrets in this file.\n');
  const engine = await Engine.open({ packDir: PACK, bankUri, device: 'cpu' });
  try {
    const s = await engine.memorize(['.'], { root: ws });
    assert.equal(s.memorized, 1, JSON.stringify(s));
    assert.deepEqual((await engine.bank.listFiles()).map((f) => f.path), ['README.md']);
    const reasons = new Map([...s.skipped, ...s.failed].map((i) => [i.path, i.code]));
    t.diagnostic(`skipped: ${JSON.stringify(Object.fromEntries(reasons))}`);
    assert.equal(reasons.get('.git/'), 'excluded');
    assert.equal(reasons.get('.ssh/'), 'secret');
    for (const rel of Object.keys(SECRETS)) {
      if (rel.startsWith('.git/') || rel.startsWith('.ssh/')) continue;
      assert.equal(reasons.get(rel), 'secret', rel);
    }
    // Naming a secret file directly does not bypass the rule.
    const named = Object.keys(SECRETS);
    const s2 = await engine.memorize(named, { root: ws });
    assert.equal(s2.memorized, 0, JSON.stringify(s2));
    assert.equal(s2.skipped.length, named.length);
    assert.deepEqual([...marksOnDisk(bankUri)], [], 'no secret byte anywhere in the bank folder');

    // Explicitly included: memorized (and only those).
    const include = ['.env', '*.pem', 'keys/id_rsa', '.aws/credentials', '.git/config'];
    const s3: MemorizeSummary = await engine.memorize(['.'], { root: ws, include });
    assert.equal(s3.memorized, 5, JSON.stringify(s3));
    assert.deepEqual(
      (await engine.bank.listFiles()).map((f) => f.path).sort(),
      ['.aws/credentials', '.env', '.git/config', 'README.md', 'certs/server.pem', 'keys/id_rsa'].sort(),
    );
    const onDisk = marksOnDisk(bankUri);
    assert.deepEqual([...onDisk].sort(), ['SECRETMARK_aws_0012', 'SECRETMARK_env_0001', 'SECRETMARK_gitcfg_0013', 'SECRETMARK_idrsa2_0008', 'SECRETMARK_pem_0005'].sort());
    // A later run without the include drops them again (they are now excluded), and forget + the
    // pruning leave no copy in the bank's current rows.
    const s4 = await engine.memorize(['.'], { root: ws });
    assert.equal(s4.removed, 5, JSON.stringify(s4));
    assert.deepEqual((await engine.bank.listFiles()).map((f) => f.path), ['README.md']);
    assert.deepEqual([...marksOnDisk(bankUri)], [], 'removed memories do not linger in old table versions');
    // Same for forget: include one again, forget it, nothing left on disk.
    await engine.memorize(['.env'], { root: ws, include: ['.env'] });
    assert.ok(marksOnDisk(bankUri).has('SECRETMARK_env_0001'));
    assert.ok((await engine.forget('.env')).removed > 0);
    assert.deepEqual([...marksOnDisk(bankUri)], [], 'forget scrubs the bytes from disk');
  } finally {
    await engine.close();
  }
});
