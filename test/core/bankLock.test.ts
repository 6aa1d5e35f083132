import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileLock, STALE_MS } from '../../src/core/bankLock';
import { CmtError } from '../../src/core/types';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-lock-'));
}

test('one holder at a time: a second lock on the same bank waits for the first, then runs', async () => {
  const dir = tmpDir();
  const a = new FileLock(dir, 'mem_x');
  const b = new FileLock(dir, 'mem_x');
  const order: string[] = [];
  let releaseA!: () => void;
  const heldA = a.hold(async () => {
    order.push('a in');
    await new Promise<void>((r) => (releaseA = r));
    order.push('a out');
  });
  await new Promise((r) => setTimeout(r, 50));
  const heldB = b.hold(async () => {
    order.push('b in');
  });
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(order, ['a in']);
  releaseA();
  await Promise.all([heldA, heldB]);
  assert.deepEqual(order, ['a in', 'a out', 'b in']);
  assert.ok(!fs.existsSync(a.file), 'the lock is removed when released');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('re-entrant within one holder; another table of the same bank has its own lock', async () => {
  const dir = tmpDir();
  const a = new FileLock(dir, 'mem_x');
  const other = new FileLock(dir, 'mem_y', 100);
  const got = await a.hold(() => a.hold(() => other.hold(async () => 'nested')));
  assert.equal(got, 'nested');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a lock left by a dead writer is taken once stale; a live one past the wait gives BANK_UNAVAILABLE naming the file', async () => {
  const dir = tmpDir();
  const lock = new FileLock(dir, 'mem_x', 300);
  // A killed process's lock: its mtime is no longer refreshed.
  fs.mkdirSync(lock.file);
  const old = new Date(Date.now() - STALE_MS - 5_000);
  fs.utimesSync(lock.file, old, old);
  assert.equal(await lock.hold(async () => 'taken over'), 'taken over');
  // A live holder (fresh mtime) that does not let go: the wait ends with a clear error.
  fs.mkdirSync(lock.file);
  await assert.rejects(lock.hold(async () => 'never'), (e: unknown) => e instanceof CmtError && e.code === 'BANK_UNAVAILABLE' && e.message.includes(lock.file));
  fs.rmSync(dir, { recursive: true, force: true });
});
