// One engine child process (src/core/server.ts) and its JSON-RPC connection over stdio: what
// EngineClient (client.ts) starts on every (re)start. The child's stderr comes back line by line,
// its notifications as events, and its end (exit, kill, failed spawn) exactly once, after which
// the requests racing `died` fail with ENGINE_CRASHED.
import { ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { engineProcessEnv } from './processEnv';
import { ProgressNotification, ProgressParams, TokenNotification, TokenParams } from './protocol';
import { CmtError } from './types';

/** One engine child process and its connection. */
export interface Generation {
  proc: ChildProcess;
  conn: MessageConnection;
  /** Rejects (ENGINE_CRASHED) when the child exits; never resolves. */
  died: Promise<never>;
  dead: boolean;
  exitInfo?: string;
  expectedExit: boolean;
  ready: boolean;
}

export interface SpawnOptions {
  nodePath: string;
  serverPath: string;
  /** Extra environment (merged over the engine process's environment, processEnv.ts). */
  env?: NodeJS.ProcessEnv;
}

/** What the child says, as it says it. */
export interface ProcessEvents {
  stderr(line: string): void;
  progress(p: ProgressParams): void;
  token(t: TokenParams): void;
  /** The child is gone (once): `g` is dead, its `died` rejected and its connection disposed. */
  exit(g: Generation, code: number | null, signal: NodeJS.Signals | null): void;
}

/** Spawns the engine process and connects to it (the connection is listening when this returns). */
export function spawnEngine(opts: SpawnOptions, on: ProcessEvents): Generation {
  const proc = spawn(opts.nodePath, [opts.serverPath], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...engineProcessEnv(), ...(opts.env ?? {}), ELECTRON_RUN_AS_NODE: '1' },
    windowsHide: true,
  });
  // Writes go through a sink that drops them once the child is gone: vscode-jsonrpc turns a failed
  // write into an unhandled promise rejection (it throws inside an async Promise executor), which
  // would crash a CLI. A request whose write was dropped is failed by the `died` race instead.
  const stdin = proc.stdin;
  let gone = false;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (gone || stdin.destroyed || !stdin.writable) return cb();
      stdin.write(chunk, () => cb());
    },
  });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(sink));
  let rejectDied!: (e: CmtError) => void;
  const died = new Promise<never>((_, reject) => (rejectDied = reject));
  died.catch(() => undefined);
  const g: Generation = { proc, conn, died, dead: false, expectedExit: false, ready: false };

  forwardLines(proc, (line) => on.stderr(line));
  stdin.on('error', () => {
    gone = true; // EPIPE after the child died: reported through 'exit'
  });
  stdin.on('close', () => {
    gone = true;
  });
  const onGone = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
    gone = true;
    if (g.dead) return;
    g.dead = true;
    g.exitInfo = spawnError ? `failed to start (${spawnError.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    rejectDied(new CmtError('ENGINE_CRASHED', `engine process ${g.exitInfo}`));
    conn.dispose();
    on.exit(g, code, signal);
  };
  proc.on('exit', (code, signal) => onGone(code, signal));
  proc.on('error', (e) => onGone(null, null, e));

  conn.onNotification(ProgressNotification, (p) => on.progress(p));
  conn.onNotification(TokenNotification, (t) => on.token(t));
  conn.onError(() => undefined);
  conn.listen();
  return g;
}

/** The child's stderr, line by line. */
function forwardLines(proc: ChildProcess, line: (l: string) => void): void {
  let buf = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      line(l);
    }
  });
}
