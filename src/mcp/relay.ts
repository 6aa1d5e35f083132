// The relay between the MCP server that VS Code starts for the extension (dist/mcp.js, main.ts) and
// the extension's own engine. Two engine processes on one LanceDB bank do not see each other's
// writes (each reads the table version it opened) and a reader can fail outright once the other
// compacts old versions away; so the server the extension offers does not start an engine of its
// own: its tools reach the extension's engine through a local socket (a Unix socket in a private
// temp folder, a named pipe on Windows), with the engine protocol's own requests (protocol.ts).
//
//   extension: serveRelay(handlers) -> { path, token }  (passed to the MCP server in its environment)
//   dist/mcp.js: new RelayEngine(path, token)         (an McpEngine, like EngineClient)
//
// The first request must be cmt/relayHello with the token; anything else closes the connection.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationToken, CancellationTokenSource, RequestType } from 'vscode-jsonrpc';
import { createMessageConnection, MessageConnection, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';
import type { EngineState } from '../core/client';
import {
  AskParams,
  AskRequest,
  AskRequestOptions,
  AskResponse,
  ForgetRequest,
  ForgetResult,
  fromWireError,
  MemorizeParams,
  MemorizeRequest,
  MemorizeSummary,
  ProgressNotification,
  ProgressParams,
  SearchRequest,
  SearchResult,
  StatusRequest,
  StatusResult,
  toResponseError,
} from '../core/protocol';
import { isInside } from '../core/paths';
import { CmtError, type SearchOptions } from '../core/types';
import type { McpEngine } from './tools';

/** The environment variables that tell dist/mcp.js where the extension's relay is. */
export const RELAY_ENV = 'CMT_MCP_RELAY';
export const RELAY_TOKEN_ENV = 'CMT_MCP_RELAY_TOKEN';

export const RelayHelloRequest = new RequestType<{ token: string }, { root: string }, void>('cmt/relayHello');

/** What the relay serves: the extension's engine, through its controller. */
export interface RelayHandlers {
  search(query: string, options: SearchOptions, signal: AbortSignal): Promise<SearchResult>;
  ask(question: string, signal: AbortSignal): Promise<AskResponse>;
  /** `paths` are absolute, inside `root`. */
  memorize(paths: string[], root: string, force: boolean, signal: AbortSignal, onProgress: (p: ProgressParams) => void): Promise<MemorizeSummary>;
  /** `abs` is absolute, inside the root. */
  forget(abs: string): Promise<ForgetResult>;
  status(): Promise<StatusResult>;
  /** The workspace root the relay serves (the MCP server's --root). */
  root(): string | undefined;
}

export interface Relay {
  path: string;
  token: string;
  close(): Promise<void>;
}

function toSignal(token: CancellationToken): AbortSignal {
  const ac = new AbortController();
  if (token.isCancellationRequested) ac.abort();
  else token.onCancellationRequested(() => ac.abort());
  return ac.signal;
}

function insideRoot(root: string, p: string): string {
  const abs = path.resolve(root, p);
  if (!isInside(root, abs)) {
    throw new CmtError('BAD_INPUT', `${p} is outside the workspace root ${root}`);
  }
  return abs;
}

/** A fresh private socket (in a 0700 folder) or named pipe; `dir` is the folder to remove afterwards. */
function relaySocket(): { sockPath: string; dir?: string } {
  if (process.platform === 'win32') return { sockPath: `\\\\.\\pipe\\cmt-memory-${crypto.randomBytes(12).toString('hex')}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-relay-'));
  fs.chmodSync(dir, 0o700);
  return { sockPath: path.join(dir, 'relay.sock'), dir };
}

/** Listens on a fresh private socket (0700 folder) or named pipe; every connection must say the token first. */
export async function serveRelay(h: RelayHandlers): Promise<Relay> {
  const token = crypto.randomBytes(24).toString('hex');
  const { sockPath, dir } = relaySocket();
  const conns = new Set<MessageConnection>();
  const server = net.createServer((socket) => {
    const conn = serveConnection(socket, h, token, (c) => conns.delete(c));
    conns.add(conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => resolve());
  });
  return {
    path: sockPath,
    token,
    close: async () => {
      for (const c of conns) c.dispose();
      await new Promise<void>((r) => server.close(() => r()));
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One MCP server's connection: cmt/relayHello with the token first, then the engine's requests, served by `h`. */
function serveConnection(socket: net.Socket, h: RelayHandlers, token: string, onClose: (c: MessageConnection) => void): MessageConnection {
  const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  let hello = false;
  const root = () => {
    const r = h.root();
    if (!r) throw new CmtError('BAD_INPUT', 'VS Code has no folder open: open the folder to serve, then restart the MCP server');
    return r;
  };
  const guard =
    <P, R>(fn: (p: P, token: CancellationToken) => Promise<R>) =>
    async (p: P, t: CancellationToken): Promise<R> => {
      if (!hello) {
        setTimeout(() => socket.destroy(), 50);
        throw toResponseError(new CmtError('BAD_INPUT', 'say hello first'));
      }
      try {
        return await fn(p, t);
      } catch (e) {
        throw toResponseError(e);
      }
    };
  conn.onRequest(RelayHelloRequest, (p) => {
    const a = Buffer.from(String(p?.token ?? ''));
    const b = Buffer.from(token);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
      setTimeout(() => socket.destroy(), 50); // after the answer
      throw toResponseError(new CmtError('BAD_INPUT', 'wrong relay token'));
    }
    hello = true;
    return { root: root() };
  });
  conn.onRequest(SearchRequest, guard(async (p, t) => h.search(p.query, { k: p.k, hybrid: p.hybrid }, toSignal(t))));
  conn.onRequest(AskRequest, guard(async (p: AskParams, t) => h.ask(p.question, toSignal(t))));
  conn.onRequest(
    MemorizeRequest,
    guard(async (p: MemorizeParams, t) => {
      const r = root();
      if (path.resolve(p.root) !== path.resolve(r)) throw new CmtError('BAD_INPUT', `this relay serves ${r}, not ${p.root}`);
      const abs = p.paths.map((x) => insideRoot(r, x));
      return h.memorize(abs, r, !!p.force, toSignal(t), (pr) => void conn.sendNotification(ProgressNotification, { ...pr, requestId: p.requestId }));
    }),
  );
  conn.onRequest(
    ForgetRequest,
    guard(async (p) => {
      const abs = insideRoot(root(), p.path);
      if (path.resolve(abs) === path.resolve(root())) throw new CmtError('BAD_INPUT', 'forget needs a file or folder inside the workspace root, not the root itself');
      return h.forget(abs);
    }),
  );
  conn.onRequest(StatusRequest, (t) => guard(async () => h.status())(undefined, t));
  conn.onClose(() => onClose(conn));
  conn.onError(() => undefined);
  socket.on('error', () => conn.dispose());
  conn.listen();
  return conn;
}

let nextId = 1;

/**
 * The extension's engine, seen from dist/mcp.js through the relay: the same members as EngineClient
 * (McpEngine). A lost connection fails the calls in flight with ENGINE_CRASHED; the next call connects again.
 */
export class RelayEngine implements McpEngine {
  private conn: Promise<MessageConnection> | undefined;
  private _state: EngineState = 'idle';

  constructor(
    private readonly sockPath: string,
    private readonly token: string,
  ) {}

  get state(): EngineState {
    return this._state;
  }

  private connect(): Promise<MessageConnection> {
    if (this.conn) return this.conn;
    const p = new Promise<MessageConnection>((resolve, reject) => {
      const socket = net.connect(this.sockPath);
      socket.once('error', (e) => {
        this.conn = undefined;
        this._state = 'stopped';
        reject(new CmtError('ENGINE_CRASHED', `the CMT Memory extension is not reachable (${e.message}): reload the VS Code window, or restart this MCP server`));
      });
      socket.once('connect', () => {
        socket.on('error', () => undefined); // a reset after connect ends the connection (onClose)
        const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
        conn.onClose(() => {
          this.conn = undefined;
          this._state = 'stopped';
          // (a no-op once resolved) the relay hung up before saying hello back
          reject(new CmtError('ENGINE_CRASHED', 'the CMT Memory extension closed the connection: reload the VS Code window, or restart this MCP server'));
        });
        conn.onError(() => undefined);
        conn.onNotification(ProgressNotification, (pr) => this.progress.get(pr.requestId ?? '')?.(pr));
        conn.listen();
        conn.sendRequest(RelayHelloRequest, { token: this.token }).then(
          () => {
            this._state = 'ready';
            resolve(conn);
          },
          (e) => {
            this.conn = undefined;
            conn.dispose();
            reject(fromWireError(e));
          },
        );
      });
    });
    this.conn = p;
    p.catch(() => undefined);
    return p;
  }

  private readonly progress = new Map<string, (p: ProgressParams) => void>();

  private async request<R>(send: (c: MessageConnection, t: CancellationToken) => Promise<R>, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) throw new CmtError('CANCELLED', 'request cancelled');
    const c = await this.connect();
    const cts = new CancellationTokenSource();
    const onAbort = () => cts.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const closed = new Promise<never>((_, reject) => {
      const d = c.onClose(() => {
        d.dispose();
        reject(new CmtError('ENGINE_CRASHED', 'the connection to the CMT Memory extension was lost during the request'));
      });
    });
    closed.catch(() => undefined);
    try {
      return await Promise.race([send(c, cts.token), closed]);
    } catch (e) {
      throw fromWireError(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      cts.dispose();
    }
  }

  search(query: string, options: SearchOptions = {}, opts: { signal?: AbortSignal } = {}): Promise<SearchResult> {
    return this.request((c, t) => c.sendRequest(SearchRequest, { query, ...options }, t), opts.signal);
  }

  /** The extension answers with its own settings (as its sidebar): `options` are not sent. */
  ask(question: string, _options: AskRequestOptions = {}, opts: { signal?: AbortSignal } = {}): Promise<AskResponse> {
    return this.request((c, t) => c.sendRequest(AskRequest, { requestId: `r${nextId++}`, question }, t), opts.signal);
  }

  async memorize(params: Omit<MemorizeParams, 'requestId'>, opts: { signal?: AbortSignal; onProgress?: (p: ProgressParams) => void } = {}): Promise<MemorizeSummary> {
    const requestId = `m${process.pid}-${nextId++}`;
    if (opts.onProgress) this.progress.set(requestId, opts.onProgress);
    try {
      return await this.request((c, t) => c.sendRequest(MemorizeRequest, { ...params, requestId }, t), opts.signal);
    } finally {
      this.progress.delete(requestId);
    }
  }

  forget(p: string, opts: { signal?: AbortSignal } = {}): Promise<ForgetResult> {
    return this.request((c, t) => c.sendRequest(ForgetRequest, { path: p }, t), opts.signal);
  }

  status(opts: { signal?: AbortSignal } = {}): Promise<StatusResult> {
    return this.request((c, t) => c.sendRequest(StatusRequest, t), opts.signal);
  }

  async restart(): Promise<void> {
    this.conn = undefined;
    await this.connect();
  }

  dispose(): void {
    void this.conn?.then((c) => c.dispose()).catch(() => undefined);
    this.conn = undefined;
  }
}
