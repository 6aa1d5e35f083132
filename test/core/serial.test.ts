import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Serial } from '../../src/core/serial';

test('Serial runs jobs one at a time in call order; a failure does not stop the next job', async () => {
  const s = new Serial();
  const log: string[] = [];
  const job = (name: string, ms: number, fail = false) => () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      setTimeout(() => {
        log.push(`end ${name}`);
        if (fail) reject(new Error(name));
        else resolve(name);
      }, ms);
    });
  const a = s.run(job('a', 20));
  const b = s.run(job('b', 1, true));
  const c = s.run(job('c', 1));
  assert.equal(await a, 'a');
  await assert.rejects(b, /b/);
  assert.equal(await c, 'c');
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});
