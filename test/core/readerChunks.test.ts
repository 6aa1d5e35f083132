import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readerOrder, READER_CANDIDATES } from '../../src/core/readerChunks';

const c = (path: string, text: string) => ({ path, text });
const same = (x: { path: string; text: string }) => x;

test('the reader gets the top chunk that covers the question, not always the first', () => {
  const fused = [
    c('package.json', '  "scripts": {\n    "lint": "eslint .",\n    "test": "mocha --bail"\n  },'),
    c('package.json', '  "dependencies": {\n    "parseurl": "~1.3.3",\n    "proxy-addr": "~2.0.7",\n    "qs": "6.13.0"\n  }'),
    c('History.md', '4.21.1 / 2024-10-08\n==========\n\n  * Backported a fix for the glanto dependency resolution'),
  ];
  const order = readerOrder('Which version of `parseurl` does glanto depend on?', fused, same);
  assert.equal(order[0], fused[1]);
  // Nothing is lost or duplicated; the others keep their fused order.
  assert.deepEqual(order.slice(1), [fused[0], fused[2]]);
});

test('the first chunk stays first when it covers the question as well as any', () => {
  const fused = [
    c('svc/billing.yaml', 'service: billing\nreplicas: 3\nport: 8431'),
    c('svc/payroll.yaml', 'service: payroll\nreplicas: 5\nport: 9000'),
  ];
  assert.deepEqual(readerOrder('How many replicas does billing run?', fused, same), fused);
  // A word every candidate holds decides nothing; the rank cost keeps the fused order.
  assert.deepEqual(readerOrder('How many replicas?', fused, same), fused);
  assert.deepEqual(readerOrder('How many replicas does payroll run?', fused, same)[0], fused[1]);
});

test('only the top READER_CANDIDATES chunks compete; one chunk or none is returned as is', () => {
  const far = c('deep/parseurl.md', 'parseurl parseurl `parseurl` version ~1.3.3');
  const filler = Array.from({ length: READER_CANDIDATES }, (_, i) => c(`f${i}.txt`, `unrelated text ${i}`));
  const order = readerOrder('Which version of `parseurl`?', [...filler, far], same);
  assert.equal(order[0], filler[0]);
  assert.deepEqual(readerOrder('anything?', [], same), []);
  assert.deepEqual(readerOrder('anything?', [far], same), [far]);
});
