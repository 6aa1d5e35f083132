// Engine process entry: `node out/src/core/server.js` speaks the protocol (protocol.ts) as JSON-RPC
// over stdio. stdout carries ONLY protocol messages; every log line goes to stderr.
//
// Native modules (LanceDB, onnxruntime) are loaded lazily, and only after the CPU check: LanceDB's
// x64 build is compiled for AVX2/FMA and dies with SIGILL on older CPUs, which JavaScript cannot
// catch. On such a CPU the process stays up and answers every request with CPU_UNSUPPORTED, so the
// client reports a clear error instead of restarting a crashing child forever.

import * as fs from 'node:fs';
import type { CancellationToken } from 'vscode-jsonrpc';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { Engine } from './engine';
import {
  AskRequest,
  ExitNotification,
  ForgetRequest,
  InitializeParams,
  InitializeRequest,
  InitializeResult,
  MemorizeRequest,
  PROTOCOL_VERSION,
  ProgressNotification,
  RenameRequest,
  SearchRequest,
  ShutdownRequest,
  StatusRequest,
  TokenNotification,
  toResponseError,
} from './protocol';
import { displayUri } from './bankStore';
import { engineSwitches } from './processEnv';
import { CmtError, memorizeOptionsOf } from './types';

export interface CpuCheck {
  ok: boolean;
  reason?: string;
}

/**
 * On x64 Linux, reads /proc/cpuinfo and requires the avx2 and fma flags (LanceDB's x64 build needs
 * them). Other platforms/arches pass (arm64 builds have no such requirement; macOS/Windows x64
 * machines without AVX2 are rare and /proc is not available to check).
 * `CMT_SKIP_CPU_CHECK=1` bypasses the check; `CMT_FAKE_CPUINFO=<file>` reads flags from a file (tests).
 */
export function checkCpu(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
  readCpuinfo: () => string = () => fs.readFileSync(engineSwitches().cpuinfoPath, 'utf8'),
  skip: boolean = engineSwitches().skipCpuCheck,
): CpuCheck {
  if (skip) return { ok: true };
  if (platform !== 'linux' || arch !== 'x64') return { ok: true };
  let info: string;
  try {
    info = readCpuinfo();
  } catch {
    return { ok: true }; // cannot tell: let it try
  }
  const line = info.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return { ok: true };
  const flags = new Set(line.replace(/^flags\s*:/, '').trim().split(/\s+/));
  const missing = ['avx2', 'fma'].filter((f) => !flags.has(f));
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    reason:
      `this CPU lacks ${missing.join(' and ')} instructions, which the LanceDB memory bank's x64 build requires ` +
      `(it would crash with SIGILL). Use a CPU with AVX2 and FMA (Intel Haswell / AMD Excavator or newer), or an arm64 machine.`,
  };
}

/** The engine's warnings, on this process's stderr (the client shows them in its log). */
const stderrLog = (message: string): void => void process.stderr.write(`[cmt] ${message}\n`);

function log(...args: unknown[]): void {
  process.stderr.write(`[cmt-engine ${process.pid}] ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
}

/** AbortSignal that follows a vscode-jsonrpc CancellationToken. */
function toSignal(token: CancellationToken): AbortSignal {
  const ac = new AbortController();
  if (token.isCancellationRequested) ac.abort();
  else token.onCancellationRequested(() => ac.abort());
  return ac.signal;
}

/**
 * require('./engine') loads LanceDB and onnxruntime (native). A missing or broken native binary
 * throws here: turn it into a clear CmtError (BANK_UNAVAILABLE for LanceDB, DEVICE_UNAVAILABLE for
 * onnxruntime) instead of an INTERNAL error with a bare stack.
 */
function loadEngineModule(): typeof import('./engine').Engine {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, on purpose
    return (require('./engine') as typeof import('./engine')).Engine;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/lancedb/i.test(msg)) {
      throw new CmtError('BANK_UNAVAILABLE', `cannot load the LanceDB native module (@lancedb/lancedb) for ${process.platform}-${process.arch}: ${msg}`);
    }
    if (/onnxruntime/i.test(msg)) {
      throw new CmtError('DEVICE_UNAVAILABLE', `cannot load the ONNX Runtime native module (onnxruntime-node) for ${process.platform}-${process.arch}: ${msg}`);
    }
    throw new CmtError('INTERNAL', `cannot load the engine: ${msg}`);
  }
}

/** Any failure of a request -> a ResponseError with its CmtError code (foreign errors are logged with their stack). */
const handle =
  <P, R>(fn: (p: P, token: CancellationToken) => Promise<R>) =>
  async (p: P, token: CancellationToken): Promise<R> => {
    try {
      return await fn(p, token);
    } catch (e) {
      if (!(e instanceof CmtError)) log('request failed:', (e as Error)?.stack ?? String(e));
      throw toResponseError(e);
    }
  };

/** The engine this process serves: opened by cmt/initialize (again: reopened), closed once at the end. */
class EngineHost {
  private engine: Engine | undefined;
  private opening: Promise<Engine> | undefined;
  private closing = false;

  constructor(private readonly cpu: CpuCheck) {}

  /** The open engine; CPU_UNSUPPORTED on a CPU the bank cannot run on, BAD_INPUT before initialize. */
  need(): Engine {
    if (!this.cpu.ok) throw new CmtError('CPU_UNSUPPORTED', this.cpu.reason ?? 'unsupported CPU');
    if (!this.engine) throw new CmtError('BAD_INPUT', 'engine not initialized: send cmt/initialize first');
    return this.engine;
  }

  async initialize(p: InitializeParams): Promise<InitializeResult> {
    if (!this.cpu.ok) throw new CmtError('CPU_UNSUPPORTED', this.cpu.reason ?? 'unsupported CPU');
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.engine) {
      await this.engine.close().catch(() => undefined);
      this.engine = undefined;
    }
    // Loaded here, after the CPU check (native modules).
    const EngineClass = loadEngineModule();
    this.opening = EngineClass.open({ packDir: p.packDir, bankUri: p.bankUri, device: p.device, settings: p.settings, access: p.access, log: stderrLog });
    let engine: Engine;
    try {
      engine = this.engine = await this.opening;
    } finally {
      this.opening = undefined;
    }
    log(`ready: pack ${engine.packId} on ${engine.providerReport.provider}, bank ${displayUri(p.bankUri)}${p.access?.readOnly ? ' (read-only)' : ''}`);
    return {
      protocolVersion: PROTOCOL_VERSION,
      packId: engine.packId,
      packName: engine.packName,
      provider: engine.providerReport.provider,
      providerReport: engine.providerReport,
      pid: process.pid,
    };
  }

  /** Closes the engine (once; later calls return at once). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const e = this.engine;
    this.engine = undefined;
    if (e) await e.close().catch((err) => log('close failed:', String(err)));
  }
}

/** The engine's requests: initialize, memorize, ask, search, forget, rename, status. */
function serveRequests(conn: MessageConnection, host: EngineHost): void {
  conn.onRequest(InitializeRequest, handle(async (p) => host.initialize(p)));
  conn.onRequest(
    MemorizeRequest,
    handle(async (p, token) =>
      host.need().memorize(p.paths, {
        ...memorizeOptionsOf(p),
        signal: toSignal(token),
        onProgress: (pr) => void conn.sendNotification(ProgressNotification, { requestId: p.requestId, ...pr }),
      }),
    ),
  );
  conn.onRequest(
    AskRequest,
    handle(async (p, token) =>
      host.need().ask(p.question, {
        ...(p.options ?? {}),
        signal: toSignal(token),
        onToken: (text) => void conn.sendNotification(TokenNotification, { requestId: p.requestId, text }),
      }),
    ),
  );
  conn.onRequest(
    SearchRequest,
    handle(async (p, token) => host.need().search(p.query, { k: p.k, hybrid: p.hybrid, signal: toSignal(token) })),
  );
  conn.onRequest(
    ForgetRequest,
    handle(async (p) => host.need().forget(p.path)),
  );
  conn.onRequest(
    RenameRequest,
    handle(async (p) => host.need().rename(p.from, p.to)),
  );
  conn.onRequest(StatusRequest, (token) => handle(async () => host.need().status())(undefined, token));
}

/** How the process ends: shutdown + exit, or the parent gone; and what it does not die of. */
function serveLifecycle(conn: MessageConnection, host: EngineHost): void {
  conn.onRequest(ShutdownRequest, (token) =>
    handle(async () => {
      await host.close();
      // If no exit notification follows, leave anyway.
      setTimeout(() => process.exit(0), 2000).unref();
    })(undefined, token),
  );
  conn.onNotification(ExitNotification, () => {
    void host.close().finally(() => process.exit(0));
  });
  // Parent gone (stdin closed): close the bank cleanly and leave.
  conn.onClose(() => {
    void host.close().finally(() => process.exit(0));
  });
  conn.onError(([err]) => log('connection error:', err?.message ?? String(err)));
  // Ctrl-C in a terminal reaches the whole process group: the parent decides (it cancels the
  // request or closes stdin), so the engine ignores SIGINT instead of dying mid-write.
  process.on('SIGINT', () => log('SIGINT ignored (the parent process controls the engine)'));
  process.on('uncaughtException', (err) => {
    log('uncaught exception:', err?.stack ?? String(err));
  });
  process.on('unhandledRejection', (err) => {
    log('unhandled rejection:', (err as Error)?.stack ?? String(err));
  });
}

export function main(): void {
  // Nothing may write to stdout but the protocol writer.
  console.log = (...a: unknown[]) => log(...a);
  console.info = console.log;
  console.debug = console.log;
  console.warn = (...a: unknown[]) => log('warn:', ...a);

  const cpu = checkCpu();
  if (!cpu.ok) log('refusing to load native modules:', cpu.reason ?? '');

  const conn = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  const host = new EngineHost(cpu);
  serveRequests(conn, host);
  serveLifecycle(conn, host);
  conn.listen();
  log(`engine process started (node ${process.version}, ${process.platform}-${process.arch})`);
}

if (require.main === module) main();
