// Runs a benchmark's engine process (memorize-worker.js, memory-worker.js): forked with the
// environment EngineClient gives an engine (processEnv.ts), it reports {type: 'done', ...} or
// {type: 'error', message}; every message also goes to onMessage (progress, the time of 'done').
import { fork } from 'node:child_process';
import { engineProcessEnv } from '../core/processEnv';

export function runWorker<T>(script: string, args: string[], what: string, onMessage?: (msg: { type: string; [k: string]: unknown }) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: engineProcessEnv() });
    let done: T | null = null;
    child.on('message', (msg: { type: string; [k: string]: unknown }) => {
      onMessage?.(msg);
      if (msg.type === 'done') done = msg as unknown as T;
      else if (msg.type === 'error') reject(new Error(String(msg.message)));
    });
    child.on('error', reject);
    child.on('exit', (code) => (done ? resolve(done) : reject(new Error(`${what} exited with ${code}`))));
  });
}
