// A local S3-compatible server for the shared-bank tests and `cmt bench --sections shared-bank`:
// moto's server (training/requirements-s3.txt, installed into .venv by `scripts/setup.sh --dev`),
// started on 127.0.0.1 at a free port and always stopped (stop(), and at process exit).
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..'); // out/src/bench -> repo
export const MOTO_SERVER = process.env.CMT_MOTO_SERVER ?? path.join(REPO, '.venv', 'bin', 'moto_server');

/** Why the S3 tests cannot run here (null: they can): only a clone without `scripts/setup.sh --dev`. */
export function motoMissing(): string | null {
  return fs.existsSync(MOTO_SERVER) ? null : `${MOTO_SERVER} is missing: run \`bash scripts/setup.sh --dev\` (installs moto[server] from training/requirements-s3.txt)`;
}

export interface Moto {
  endpoint: string;
  port: number;
  /** Creates a bucket (moto takes unsigned requests). */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * Starts moto's server on 127.0.0.1 (`env`: e.g. INITIAL_NO_AUTH_ACTION_COUNT to make it check
 * credentials after that many requests) and waits until it answers.
 */
export async function startMoto(env: NodeJS.ProcessEnv = {}): Promise<Moto> {
  const port = await freePort();
  const missing = motoMissing();
  if (missing) throw new Error(missing);
  const proc = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  running.add(proc);
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
    running.delete(proc);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited (${proc.exitCode}): ${log}`);
    const ok = await fetch(`${endpoint}/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    port,
    createBucket: async (name) => {
      const r = await fetch(`${endpoint}/${encodeURIComponent(name)}`, { method: 'PUT' });
      if (!r.ok) throw new Error(`create bucket ${name}: HTTP ${r.status} ${await r.text()}`);
    },
    stop,
  };
}
